#!/usr/bin/env python3
"""Measures what the template's MemorySize and Timeout are sized from.

Runs each function binary as Lambda runs it — a process polling the Lambda Runtime API, which
this script serves on loopback — against moto, through the whole chain: drafts created, saved
and deposited by submit-dossier, the resulting DynamoDB stream records given to
generate-convention (same filters as the template, via scripts/stream_poller.py), then to
send-acknowledgement, and school-lookup's sample events. Prints, per function: cold start
(process start → first poll, which includes loading the school directory from S3), duration of
each invocation (median / max) and peak resident memory (VmHWM).

    .venv/bin/python infra/measure.py                  # target/debug/<function> binaries
    .venv/bin/python infra/measure.py --bin-dir DIR    # DIR/<function> (e.g. an x86_64 release)

The binaries must run on this machine (the arm64 artefacts of `make package` do not run on an
x86_64 host). Uses MOTO_ENDPOINT when set, else starts moto on a free port and stops it.
"""
import json
import os
import pathlib
import queue
import statistics
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import check_infra  # noqa: E402  (free_port, wait_for)
import stream_poller  # noqa: E402  (the template's stream filters, the Lambda record shape)
sys.path.insert(0, str(ROOT / "load"))
from load import CODE_SUBJECT, recipient, sent_mail  # noqa: E402  (the code emails moto's SES sent)

REGION = "eu-west-3"
CREDS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local", "AWS_REGION": REGION,
         "AWS_DEFAULT_REGION": REGION}


class RuntimeApi:
    """The Lambda Runtime API (2018-06-01), one function process at a time."""

    def __init__(self):
        self.pending = queue.Queue()
        self.done = {}
        self.first_poll = None
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                if not self.path.endswith("/runtime/invocation/next"):
                    return self.send_error(404)
                if api.first_poll is None:
                    api.first_poll = time.perf_counter()
                request_id, payload = api.pending.get()
                body = json.dumps(payload).encode()
                api.done[request_id] = {"start": time.perf_counter()}
                self.send_response(200)
                self.send_header("Lambda-Runtime-Aws-Request-Id", request_id)
                self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 30000))
                self.send_header("Lambda-Runtime-Invoked-Function-Arn",
                                 "arn:aws:lambda:eu-west-3:123456789012:function:mesure")
                self.send_header("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                parts = self.path.split("/")
                if "init" in parts:
                    api.done["init"] = {"error": body.decode(errors="replace")}
                else:
                    request_id, kind = parts[-2], parts[-1]
                    api.done[request_id].update(end=time.perf_counter(), kind=kind, body=body)
                self.send_response(202)
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.address = f"127.0.0.1:{self.server.server_address[1]}"

    def invoke(self, payload, alive, timeout=60):
        request_id = str(uuid.uuid4())
        self.pending.put((request_id, payload))
        deadline = time.time() + timeout
        while "end" not in self.done.get(request_id, {}):
            if time.time() > deadline or not alive():
                raise RuntimeError(f"pas de réponse de la fonction ({self.done.get('init', '')})")
            time.sleep(0.001)
        d = self.done[request_id]
        if d["kind"] != "response":
            raise RuntimeError(f"erreur de la fonction : {d['body'][:300]!r}")
        return json.loads(d["body"] or b"null"), (d["end"] - d["start"]) * 1000


class Function:
    def __init__(self, binary, env):
        self.name = binary.name
        self.api = RuntimeApi()
        self.started = time.perf_counter()
        self.proc = subprocess.Popen([str(binary)], env={**env, "AWS_LAMBDA_RUNTIME_API": self.api.address,
                                                         "AWS_LAMBDA_FUNCTION_NAME": self.name,
                                                         "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
                                                         "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                                                         "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{self.name}",
                                                         "AWS_LAMBDA_LOG_STREAM_NAME": "mesure"},
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.durations = []

    def invoke(self, payload):
        try:
            result, ms = self.api.invoke(payload, lambda: self.proc.poll() is None)
        except RuntimeError:
            self.proc.kill()
            raise SystemExit(f"{self.name} : {self.proc.stderr.read().decode(errors='replace')[:1500]}")
        self.durations.append(ms)
        return result

    def stop(self):
        hwm = 0
        for line in pathlib.Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                hwm = int(line.split()[1]) / 1024
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self.api.server.shutdown()
        init = (self.api.first_poll - self.started) * 1000 if self.api.first_poll else float("nan")
        d = sorted(self.durations)
        return {"function": self.name, "init_ms": init, "n": len(d), "p50_ms": statistics.median(d),
                "max_ms": d[-1], "peak_rss_mib": hwm}


def http_event(method, path, body=None, jeton=None):
    e = json.loads((ROOT / "events" / "submit-dossier" / "creer.json").read_text())
    e["rawPath"] = e["requestContext"]["http"]["path"] = path
    e["requestContext"]["http"]["method"] = method
    e["requestContext"]["requestId"] = str(uuid.uuid4())
    e["body"] = json.dumps(body) if body is not None else None
    if jeton:
        e["headers"]["authorization"] = f"Bearer {jeton}"
    return e


DOSSIER = {
    "signataire": {"prenom": "Camille", "nom": "Martin", "qualite": "Maire", "email": "mairie@exemple.fr",
                   "habilitation": {"nature": "deliberation", "date": "2025-03-28", "reference": "2025-017"}},
    "ecoles": [{"uai": "0350122T"}, {"uai": "0350165P"}],
    "referent": {"designe": True, "prenom_nom": "Jean GARCIA", "email": "jean.garcia@exemple.fr"},
}


def stream_records(endpoint, table, after):
    kw = dict(endpoint_url=endpoint, region_name=REGION, aws_access_key_id="local", aws_secret_access_key="local")
    arn = boto3.client("dynamodb", **kw).describe_table(TableName=table)["Table"]["LatestStreamArn"]
    streams = boto3.client("dynamodbstreams", **kw)
    out = []
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"],
                                        ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        while it:
            resp = streams.get_records(ShardIterator=it)
            out += [stream_poller.to_lambda_record(r, arn, REGION) for r in resp.get("Records", [])]
            it = resp.get("NextShardIterator") if resp.get("Records") else None
    seen = {r["eventID"] for r in after}
    return [r for r in out if r["eventID"] not in seen]


def main(argv):
    bin_dir = pathlib.Path(argv[argv.index("--bin-dir") + 1]) if "--bin-dir" in argv else ROOT / "target" / "debug"
    runs = 10
    started = None
    endpoint = os.environ.get("MOTO_ENDPOINT")
    if not endpoint:
        port = check_infra.free_port()
        endpoint = f"http://127.0.0.1:{port}"
        started = subprocess.Popen([str(ROOT / ".venv" / "bin" / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        check_infra.wait_for(f"{endpoint}/moto-api/")
        suffix = uuid.uuid4().hex[:8]
        # The variables the template sets (one source of names), valued as `make run` does.
        names = check_infra.load_template()["Globals"]["Function"]["Environment"]["Variables"]
        out = subprocess.run(["bash", "-c", "unset TABLE_NAME BUCKET_NAME; . scripts/env.sh; env -0"],
                             cwd=ROOT, capture_output=True, text=True, check=True).stdout
        local = dict(kv.split("=", 1) for kv in out.split("\0") if "=" in kv)
        # Secrets are read from Secrets Manager on AWS (the template names them, `*_SECRET_ID`);
        # locally their values come from scripts/env.sh, as `make run` gives them.
        secrets = {k: v for k, v in local.items() if k.endswith("_SECRET")}
        env = {**os.environ, **CREDS, **{k: local[k] for k in names if k in local}, **secrets, "RUST_LOG": "warn",
               "AWS_ENDPOINT_URL": endpoint, "TABLE_NAME": f"mesure-{suffix}-dossiers",
               "BUCKET_NAME": f"mesure-{suffix}-documents",
               # The company registry is on the internet, out of reach here: a closed local port
               # makes every lookup take the degraded path at once (its own cost is bounded by
               # its 2 s timeout, see src/adapters/registry.rs).
               "REGISTRY_BASE_URL": "http://127.0.0.1:9"}
        admin = ROOT / "target" / "debug" / "admin"
        subprocess.run([str(admin), "setup-local"], env=env, check=True, capture_output=True)
        subprocess.run([str(admin), "import-annuaire", "data/annuaire/fr-en-annuaire-education-035.csv"],
                       env=env, cwd=ROOT, check=True, capture_output=True)
        print(f"binaires : {bin_dir} ; moto : {endpoint} ; {runs} dossiers déposés")
        results = []

        submit = Function(bin_dir / "submit-dossier", env)
        for i in range(runs):
            created = submit.invoke(http_event("POST", "/api/dossiers", {"collectivite": {"siret": "21350016800025"}}))
            d = json.loads(created["body"])
            # One address per dossier: its code, read from the email moto's SES sent, confirms it.
            email = f"mairie.mesure.{suffix}.{i}@exemple.fr"
            body = {**DOSSIER, "signataire": {**DOSSIER["signataire"], "email": email}}
            submit.invoke(http_event("PATCH", f"/api/dossiers/{d['id']}", body, d["jeton"]))
            submit.invoke(http_event("POST", f"/api/dossiers/{d['id']}/signataire/code", {}, d["jeton"]))
            codes = [CODE_SUBJECT.match(m.get("subject") or "") for m in sent_mail(endpoint, env["SENDER_EMAIL"])
                     if recipient(m) == email]
            codes = [c[1] for c in codes if c]
            if not codes:
                raise SystemExit(f"aucun code envoyé à {email}")
            submit.invoke(http_event("POST", f"/api/dossiers/{d['id']}/signataire/confirmation", {"code": codes[-1]},
                                     d["jeton"]))
            deposed = submit.invoke(http_event("POST", f"/api/dossiers/{d['id']}/depot", {"approbation": True}, d["jeton"]))
            if deposed.get("statusCode") != 200:
                raise SystemExit(f"dépôt refusé : {deposed.get('statusCode')} {deposed.get('body', '')[:400]}")
            submit.invoke(http_event("GET", f"/api/dossiers/{d['id']}", None, d["jeton"]))
        results.append(submit.stop())

        consumers = {c[0]: c for c in stream_poller.stream_consumers()}
        seen = []
        for name in ("generate-convention", "send-acknowledgement"):
            _, patterns, batch, _ = consumers[name]
            records = stream_records(endpoint, env["TABLE_NAME"], seen)
            seen += records
            selected = [r for r in records if any(stream_poller.matches(p, r) for p in patterns)]
            fn = Function(bin_dir / name, env)
            for r in selected:  # one record per invocation: the per-dossier cost
                answer = fn.invoke({"Records": [r]})
                if answer and answer.get("batchItemFailures"):
                    raise SystemExit(f"{name} : échec {answer}")
            results.append(fn.stop())
            time.sleep(0.2)

        lookup = Function(bin_dir / "school-lookup", env)
        events = sorted((ROOT / "events" / "school-lookup").glob("*.json"))
        for _ in range(runs):
            for e in events:
                lookup.invoke(json.loads(e.read_text()))
        results.append(lookup.stop())

        print(f"{'fonction':22} {'démarrage':>10} {'appels':>7} {'médiane':>9} {'max':>9} {'mémoire max':>12}")
        for r in results:
            print(f"{r['function']:22} {r['init_ms']:8.0f} ms {r['n']:7d} {r['p50_ms']:6.1f} ms {r['max_ms']:6.1f} ms"
                  f" {r['peak_rss_mib']:8.1f} MiB")
    finally:
        if started:
            started.terminate()
            started.wait(timeout=10)


if __name__ == "__main__":
    main(sys.argv[1:])
