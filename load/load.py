#!/usr/bin/env python3
"""Proof under load (and under faults): N deposits through the HTTP layer of the local stack,
then every piece of stream work drained, then the invariants checked against the emulator.

Each deposit is what the form does: create the draft (POST /api/dossiers), autosave
(PATCH /api/dossiers/{id}, the signatory's habilitation included), confirm the signatory's address
(POST …/signataire/code, the code read from the emulator's sent mail, POST …/signataire/confirmation),
deposit (POST …/depot), read it back (GET), plus the reference-data calls of the form
(GET /api/ecoles/{uai}, GET /api/communes?q=). After the drain every dossier's link is followed
(GET …/convention → 302). Printed: per route count, errors, p50/p95/p99/max; deposit → email
p50/p95/p99 (server times: `depose_le` → `accuse.envoye_le`); the invariants:

  exactly N dossiers deposited, each with its address confirmed, N conventions in S3 (one object
  version each), one code email per code the client saw sent, N acknowledgement emails (one per
  dossier, to the signatory alone), 0 duplicates (numbers, objects, acknowledgements), 0 lost
  (every deposit the client saw accepted is in the table with its convention and its email).

The codes are read from moto's /moto-api/data.json, which holds every emulated resource and grows
with the run: one fetch serves every flow waiting for a code at that time (`Codes`).

With --faults RATE the functions' SDK goes through load/fault_proxy.py (HTTP 500/503, throttling
errors, connection resets, added latency on RATE of the calls); with --block K, K dossiers have a
recipient that SES refuses (MessageRejected, permanent): their batches exhaust the retries and land
in the dead-letter directory (.run/dlq/) (the refusal starts once their address is confirmed:
the code email goes through); once the cause is gone the documented command
`scripts/stream_poller.py --replay <file>` replays each, and the invariants are checked again.

    .venv/bin/python load/load.py                                  # 1000 deposits, concurrency 32
    .venv/bin/python load/load.py --faults 0.1 --block 2           # the same through the faults
    .venv/bin/python load/load.py --deposits 30 --concurrency 8    # short form (make test)
"""
import argparse
import collections
import http.client
import json
import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import boto3

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from stack import PY, ROOT, Stack  # noqa: E402

DLQ = ROOT / ".run" / "dlq"
SIRET = "21350016800025"
ECOLES = ["0350122T", "0350165P"]
RETRYABLE = {0, 500, 502, 503, 504}


def percentile(values, p):
    if not values:
        return float("nan")
    v = sorted(values)
    k = max(0, min(len(v) - 1, int(round(p / 100 * len(v) + 0.5)) - 1))
    return v[k]


class Recorder:
    def __init__(self):
        self.lock = threading.Lock()
        self.samples = collections.defaultdict(list)  # route -> [(ms, status)]

    def add(self, route, ms, status):
        with self.lock:
            self.samples[route].append((ms, status))


class Client:
    """One keep-alive connection per thread; status 0 for a transport failure."""

    def __init__(self, api_port, recorder):
        self.port = api_port
        self.rec = recorder
        self.local = threading.local()

    def conn(self, fresh=False):
        if fresh or getattr(self.local, "c", None) is None:
            self.local.c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        return self.local.c

    def call(self, route, method, path, body=None, jeton=None):
        headers = {"user-agent": "load.py"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["content-type"] = "application/json"
        if jeton:
            headers["authorization"] = f"Bearer {jeton}"
        t0 = time.perf_counter()
        try:
            c = self.conn()
            c.request(method, path, body=data, headers=headers)
            r = c.getresponse()
            raw = r.read()
            status, resp_headers = r.status, dict(r.getheaders())
        except (OSError, http.client.HTTPException):
            self.conn(fresh=True)
            status, raw, resp_headers = 0, b"", {}
        ms = (time.perf_counter() - t0) * 1000
        self.rec.add(route, ms, status)
        try:
            payload = json.loads(raw) if raw else None
        except ValueError:
            payload = None
        return status, payload, resp_headers

    def until(self, route, method, path, ok, body=None, jeton=None, tries=8):
        """Retries what a client retries: transport failures and 5xx (503 says Retry-After)."""
        for k in range(tries):
            status, payload, h = self.call(route, method, path, body, jeton)
            if status in ok or status not in RETRYABLE:
                return status, payload, h
            time.sleep(min(0.2 * 2 ** k, 3))
        return status, payload, h


CODE_SUBJECT = re.compile(r"^Code de confirmation (\d{6}) — convention ENT école$")


def sent_mail(moto, sender):
    """Every message the emulator's SES sent from `sender`, oldest first (moto's data.json)."""
    with urllib.request.urlopen(f"{moto}/moto-api/data.json", timeout=120) as r:
        data = json.loads(r.read())
    found = []

    def walk(v):
        if isinstance(v, dict):
            if v.get("source") == sender:
                found.append(v)
            else:
                for x in v.values():
                    walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)

    walk(data.get("ses", {}))
    return found


def is_code(m):
    return bool(CODE_SUBJECT.match(m.get("subject") or ""))


def recipient(m):
    return m["destinations"]["ToAddresses"][0]


class Codes:
    """The codes mailed to each address, from the emulator's sent mail. data.json is big under
    load: a flow waiting for its code waits for the next fetch that starts after it asked, and
    one fetch serves every flow waiting then."""

    def __init__(self, moto, sender):
        self.moto, self.sender = moto, sender
        self.cond = threading.Condition()
        self.by_address = {}
        self.started = 0  # fetches started
        self.done = 0  # the last fetch finished
        self.fetching = False
        self.fetches = 0

    def latest(self, address, count, timeout=120):
        """The last code sent to `address` once it has received `count` of them."""
        deadline = time.time() + timeout
        with self.cond:
            need = self.started + 1  # a fetch started after this call
            while True:
                have = self.by_address.get(address, [])
                if len(have) >= count:
                    return have[-1]
                if time.time() > deadline:
                    return None
                if self.done >= need:  # fetched since, still missing: look again shortly
                    need = self.started + 1
                    self.cond.wait(0.2)
                    continue
                if self.fetching:
                    self.cond.wait(1)
                    continue
                self.fetching = True
                self.started += 1
                mine = self.started
                self.cond.release()
                try:
                    fresh = collections.defaultdict(list)
                    for m in sent_mail(self.moto, self.sender):
                        c = CODE_SUBJECT.match(m.get("subject") or "")
                        if c:
                            fresh[recipient(m)].append(c.group(1))
                except (OSError, ValueError, http.client.HTTPException):
                    fresh = None
                finally:
                    self.cond.acquire()
                    self.fetching = False
                    self.fetches += 1
                if fresh is not None:
                    self.by_address = fresh
                    self.done = mine
                self.cond.notify_all()


def header(h, name):
    return next((v for k, v in h.items() if k.lower() == name), None)


def confirm_address(client, codes, did, jeton, email):
    """Sends the code to the signatory and gives it back, as the form does. Returns (codes the
    client saw sent, None or what failed)."""
    sent = 0
    for _ in range(4):
        s, _, h = client.until("POST /api/dossiers/{id}/signataire/code", "POST",
                               f"/api/dossiers/{did}/signataire/code", {202, 429}, {}, jeton)
        if s == 202:
            sent += 1
            break
        if s != 429:
            return sent, f"code {s}"
        # A send whose answer was lost (its email went, or the mail failed after the write):
        # the dossier's next code waits for the delay the server says.
        time.sleep(min(float(header(h, "retry-after") or 60), 90))
    else:
        return sent, "code 429"
    code = codes.latest(email, sent)
    if code is None:
        return sent, "code jamais reçu"
    s, _, _ = client.until("POST /api/dossiers/{id}/signataire/confirmation", "POST",
                           f"/api/dossiers/{did}/signataire/confirmation", {200, 422}, {"code": code}, jeton)
    if s == 200:
        return sent, None
    # The confirmation written, its answer lost (--lost): the view says so.
    s2, view, _ = client.until("GET /api/dossiers/{id}", "GET", f"/api/dossiers/{did}", {200}, None, jeton)
    if s2 == 200 and (view.get("signataire") or {}).get("email_confirme_le"):
        return sent, None
    return sent, f"confirmation {s}"


def flow(client, codes, i, run_id, blocked, block):
    """One applicant, start to deposit. Returns ((id, jeton, recipients, codes sent), outcome)."""
    tag = "bloque" if i in blocked else "ok"
    email = f"mairie.{tag}.{run_id}.{i}.signataire@exemple.fr"
    client.until("GET /api/communes?q=", "GET", "/api/communes?q=baulon", {200})
    client.until("GET /api/ecoles/{uai}", "GET", f"/api/ecoles/{ECOLES[i % 2]}", {200})
    s, created, _ = client.until("POST /api/dossiers", "POST", "/api/dossiers", {201},
                                 {"collectivite": {"siret": SIRET}})
    if s != 201:
        return None, f"création {s}"
    did, jeton = created["id"], created["jeton"]
    s, _, _ = client.until("PATCH /api/dossiers/{id}", "PATCH", f"/api/dossiers/{did}", {200}, {
        "signataire": {"prenom": "Camille", "nom": f"Martin {i}", "qualite": "Maire", "email": email,
                       "habilitation": {"nature": "deliberation" if i % 2 else "delegation",
                                        "date": "2025-03-28", "reference": f"2025-{i:03d}"}},
        "ecoles": [{"uai": u} for u in ECOLES],
        "referent": {"designe": i % 3 == 0, **({"prenom_nom": "Jean GARCIA", "email": "jean.garcia@exemple.fr"}
                                              if i % 3 == 0 else {})},
    }, jeton)
    if s != 200:
        return did, f"enregistrement {s}"
    sent, failed = confirm_address(client, codes, did, jeton, email)
    if failed:
        return (did, jeton, 1, sent), failed
    if i in blocked:
        # From now on SES refuses this address: its acknowledgement goes to the dead-letter path.
        block(f"bloque.{run_id}.{i}.signataire")
    s, _, _ = client.until("POST /api/dossiers/{id}/depot", "POST", f"/api/dossiers/{did}/depot", {200, 409},
                           {"approbation": True}, jeton)
    deposited = s == 200
    s2, view, _ = client.until("GET /api/dossiers/{id}", "GET", f"/api/dossiers/{did}", {200}, None, jeton)
    if s == 409 and s2 == 200 and view.get("statut") == "en_construction":
        deposited = True  # the first attempt went through, its answer was lost: 409 on the retry
    recipients = 1  # the signatory alone (the référent is told on acceptance)
    return (did, jeton, recipients, sent), ("déposé" if deposited else f"dépôt {s}")


def scan(ddb, table):
    items, kw = [], {"TableName": table, "ConsistentRead": True}
    while True:
        out = ddb.scan(**kw)
        items += out["Items"]
        if "LastEvaluatedKey" not in out:
            return items
        kw["ExclusiveStartKey"] = out["LastEvaluatedKey"]


def dossiers(ddb, table):
    out = {}
    for it in scan(ddb, table):
        if "statut" not in it:
            continue
        out[it["id"]["S"]] = it
    return out


def dlq_files(table, before):
    out = []
    for f in sorted(DLQ.glob("*.json")) if DLQ.exists() else []:
        if f.name in before:
            continue
        try:
            data = json.loads(f.read_text())
        except ValueError:
            continue
        if any(f"table/{table}/" in r.get("eventSourceARN", "") for r in data.get("Records", [])):
            out.append(f)
    return out


def ids_in(files):
    ids = set()
    for f in files:
        for r in json.loads(f.read_text())["Records"]:
            ids.add(r["dynamodb"]["Keys"]["id"]["S"])
    return ids


def ts(s):
    return datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


def drain(ddb, ses, table, accepted, dlq_before, timeout, label, codes_sent):
    """Waits until every deposited dossier has its email, or is held in the dead-letter directory.

    Watched cheaply (SES's send count, the dead-letter files): a full scan of the table takes
    seconds on moto and would hold its DynamoDB lock (load/moto_atomic.py) meanwhile. The count
    includes the `codes_sent` code emails, all sent before the deposits."""
    started = time.time()
    expected = codes_sent + sum(r for _, r, _ in accepted.values())
    last, last_print, last_scan = None, 0.0, 0.0
    seen_state, changed_at = None, time.time()
    while True:
        sent = ses.get_send_quota()["SentLast24Hours"]
        held = ids_in(dlq_files(table, dlq_before))
        held_rcpt = sum(accepted[i][1] for i in held if i in accepted)
        state = (sent, len(held))
        if state != seen_state:
            seen_state, changed_at = state, time.time()
        elif time.time() - changed_at > 120:
            print(f"  {label} : plus rien ne bouge depuis 120 s ({int(sent)}/{expected} destinataires servis)",
                  flush=True)
            return time.time() - started, held
        if state != last and (time.time() - last_print > 15 or (last and state[1] != last[1])
                              or sent + held_rcpt >= expected):
            print(f"  {label} : {int(sent)}/{expected} destinataires servis, {len(held)} dossiers en lettre morte "
                  f"({time.time() - started:.0f} s)", flush=True)
            last, last_print = state, time.time()
        if sent + held_rcpt >= expected and time.time() - last_scan > 10:
            last_scan = time.time()
            ds = dossiers(ddb, table)
            done = {i for i, d in ds.items() if "accuse" in d}
            waiting = set(accepted) - done - held
            if not waiting:
                time.sleep(3)  # late duplicates would show up now
                return time.time() - started, held - done
        if time.time() - started > timeout:
            print("  délai dépassé", flush=True)
            return time.time() - started, held
        time.sleep(2)


def check(stack, ddb, s3, accepted, codes_seen, exact_codes, report):
    """The invariants, from the emulator's own state. Returns the list of failures.

    `codes_seen`: the code sends the client saw accepted (202); with `exact_codes` (no answer
    lost after the emulator acted) the code emails must be exactly those."""
    env = stack.env
    ds = dossiers(ddb, env["TABLE_NAME"])
    deposited = {i: d for i, d in ds.items() if d["statut"]["S"] != "brouillon"}
    versions = []
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=env["BUCKET_NAME"], Prefix="conventions/"):
        versions += [v["Key"] for v in page.get("Versions", [])]
    sent = sent_mail(stack.moto, env["SENDER_EMAIL"])
    code_mails = [m for m in sent if is_code(m)]
    mails = [m for m in sent if not is_code(m)]  # the acknowledgements (nothing else is sent here)
    per_dest = collections.Counter(recipient(m) for m in mails)
    codes_per_dest = collections.Counter(recipient(m) for m in code_mails)
    email_of = {i: d["depot"]["M"]["signataire"]["M"]["email"]["S"] for i, d in deposited.items()}
    confirmed = sum(1 for d in deposited.values()
                    if d["depot"]["M"]["signature"]["M"].get("email_confirme_le", {}).get("S"))
    numeros = collections.Counter(d["numero"]["S"] for d in ds.values())
    keys = {i: d["convention"]["M"]["cle"]["S"] for i, d in deposited.items() if "convention" in d}
    n = len(accepted)
    lines = [
        ("dossiers déposés (table)", len(deposited), n),
        ("dépôts acceptés vus par le client", len(accepted), n),
        ("dépôts dont l’adresse du signataire est confirmée", confirmed, n),
        ("dossiers déposés dont l’adresse a reçu un code",
         sum(1 for e in email_of.values() if codes_per_dest[e] >= 1), n),
        ("emails de code envoyés" + ("" if exact_codes else " (au moins)"),
         len(code_mails) if exact_codes else min(len(code_mails), codes_seen), codes_seen),
        ("conventions dans S3 (versions d’objets)", len(versions), n),
        ("clés S3 distinctes", len(set(versions)), n),
        ("emails d’accusé de réception envoyés", len(mails), n),
        ("dossiers avec exactement 1 accusé", sum(1 for e in email_of.values() if per_dest[e] == 1), n),
        ("doublons de convention ou d’accusé",
         len(versions) - len(set(versions)) + sum(c - 1 for c in per_dest.values() if c > 1), 0),
        ("numéros de dossier en double", sum(c - 1 for c in numeros.values() if c > 1), 0),
        ("perdus (dépôt accepté sans dossier, convention ou email)",
         sum(1 for i in accepted if i not in deposited or i not in keys or per_dest[email_of.get(i)] == 0), 0),
        ("dépôts non demandés par le client", len(set(deposited) - set(accepted)), 0),
    ]
    for numero, c in numeros.items():
        if c > 1:
            same = [(i, d["statut"]["S"], d["cree_le"]["S"]) for i, d in ds.items() if d["numero"]["S"] == numero]
            print(f"  numéro {numero} donné {c} fois : {same}")
    failures = []
    for label, got, want in lines:
        ok = got == want
        print(f"  {'✔' if ok else '✘'} {label:60} {got:>6}   (attendu {want})")
        if not ok:
            failures.append(label)
    missing = [i for i in accepted if i in deposited and per_dest[email_of[i]] != 1]
    for i in missing[:10]:
        d = deposited[i]
        print(f"    {i} : {per_dest[email_of[i]]} accusé(s), étape {d['etape']['S']}, "
              f"bail {'oui' if 'accuse_bail' in d else 'non'}, accusé {'oui' if 'accuse' in d else 'non'}")
    if set(keys.values()) != set(versions):
        failures.append("objets S3 ≠ conventions enregistrées")
        print("  ✘ objets S3 ≠ conventions enregistrées")
    report["invariants"] = {label: got for label, got, _ in lines}
    return failures, deposited


def route_table(rec, report):
    print(f"  {'route':48} {'n':>6} {'erreurs':>8} {'p50':>8} {'p95':>8} {'p99':>8} {'max':>8}  (ms)")
    out = {}
    for route, samples in rec.samples.items():
        ms = [m for m, _ in samples]
        errors = sum(1 for _, s in samples if s in RETRYABLE)
        row = {"n": len(ms), "errors": errors, "p50": percentile(ms, 50), "p95": percentile(ms, 95),
               "p99": percentile(ms, 99), "max": max(ms)}
        out[route] = row
        print(f"  {route:48} {row['n']:6d} {errors:8d} {row['p50']:8.1f} {row['p95']:8.1f} {row['p99']:8.1f}"
              f" {row['max']:8.1f}")
    report["routes"] = out


def fetch_pdf_head(url, attempts=6):
    """(starts with %PDF-, retries). The presigned URL goes through the fault proxy like every
    S3 call of the stack, so it gets the same injected 5xx and resets; a browser would reload,
    S3 clients retry 503 SlowDown: retry those, never a 4xx (a bad signature must fail)."""
    if not url:
        print("  URL présignée : pas de Location")
        return False, 0
    for attempt in range(attempts):
        try:
            with urllib.request.urlopen(url, timeout=30) as r:
                return r.read(5) == b"%PDF-", attempt
        except urllib.error.HTTPError as e:
            if e.code < 500 or attempt == attempts - 1:
                print(f"  URL présignée : HTTP {e.code}")
                return False, attempt
        except (OSError, http.client.HTTPException) as e:  # URLError, resets, timeouts, cut bodies
            if attempt == attempts - 1:
                print(f"  URL présignée : {e}")
                return False, attempt
        time.sleep(0.2 * (attempt + 1))
    return False, attempts


def main():
    # Ctrl-C and `kill` stop the stack this started (its context manager), nothing else.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    p = argparse.ArgumentParser(description="Preuve sous charge (et sous pannes).")
    p.add_argument("--deposits", type=int, default=1000)
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--faults", type=float, default=None, help="share of AWS calls that fail (e.g. 0.1)")
    p.add_argument("--lost", type=float, default=0.0,
                   help="share of AWS calls whose answer is lost after the emulator acted (off by default)")
    p.add_argument("--block", type=int, default=0, help="dossiers whose email SES refuses (dead-letter path)")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--release", action="store_true", help="release builds of the functions")
    p.add_argument("--pace", type=float, default=0.0,
                   help="one deposit at a time, this many seconds apart (deposit → email without a queue)")
    p.add_argument("--json", default=None, help="write the figures to this file")
    p.add_argument("--moto-raw", action="store_true",
                   help="plain moto_server, whose DynamoDB writes race (see load/moto_atomic.py)")
    args = p.parse_args()
    if args.block and args.faults is None:
        args.faults = 0.0  # blocking needs the proxy
    n = args.deposits
    blocked = set() if not args.block else {int((k + 0.5) * n / args.block) for k in range(args.block)}
    report = {"deposits": n, "concurrency": args.concurrency, "faults": args.faults, "lost": args.lost,
              "blocked": len(blocked)}
    dlq_before = {f.name for f in DLQ.glob("*.json")} if DLQ.exists() else set()
    with Stack(args.concurrency, args.faults, args.lost, args.seed, moto_raw=args.moto_raw,
               release=args.release) as stack:
        env = stack.env
        kw = dict(endpoint_url=stack.moto, region_name=env["AWS_REGION"], aws_access_key_id="local",
                  aws_secret_access_key="local")
        ddb, s3, ses = boto3.client("dynamodb", **kw), boto3.client("s3", **kw), boto3.client("ses", **kw)
        print(f"pile : API {stack.api}, moto {stack.moto}"
              f"{f', proxy de pannes {stack.faults_url} ({args.faults:.0%} des appels)' if stack.faults_url else ''}"
              f", journaux {stack.dir}", flush=True)
        # Warm-up (not counted): brings up `concurrency` instances of the HTTP functions.
        warm = Client(stack.api_port, Recorder())
        with ThreadPoolExecutor(args.concurrency) as pool:
            list(pool.map(lambda _: (warm.call("w", "GET", "/api/ecoles/0350122T"),
                                     warm.call("w", "GET", f"/api/dossiers/{'0' * 32}")),
                          range(args.concurrency * 2)))
        rec = Recorder()
        client = Client(stack.api_port, rec)
        codes = Codes(stack.moto, env["SENDER_EMAIL"])

        def block(match):
            stack.faults_control("block", service="ses", match=match)

        def one(i):
            return flow(client, codes, i, stack.run_id, blocked, block)

        print(f"{n} dépôts, concurrence {args.concurrency}…", flush=True)
        t0 = time.time()
        if args.pace:
            results = []
            for i in range(n):
                results.append(one(i))
                time.sleep(args.pace)
        else:
            with ThreadPoolExecutor(args.concurrency) as pool:
                results = list(pool.map(one, range(n)))
        load_s = time.time() - t0
        outcomes = collections.Counter(o for _, o in results)
        accepted = {r[0]: (r[1], r[2], r[3]) for r, o in results if o == "déposé"}
        codes_seen = sum(r[3] for r, _ in results if isinstance(r, tuple))
        codes_sent = sum(1 for m in sent_mail(stack.moto, env["SENDER_EMAIL"]) if is_code(m))
        print(f"  charge : {load_s:.1f} s, {sum(len(v) for v in rec.samples.values()) / load_s:.0f} requêtes/s, "
              f"issues {dict(outcomes)}; {codes_sent} codes envoyés, lus en {codes.fetches} lectures de data.json",
              flush=True)
        report["code_fetches"] = codes.fetches
        drain_s, held = drain(ddb, ses, env["TABLE_NAME"], accepted, dlq_before, 300 + n * 1.5, "vidage",
                              codes_sent)
        report["load_seconds"], report["drain_seconds"] = load_s, drain_s
        files = dlq_files(env["TABLE_NAME"], dlq_before)
        if files:
            print(f"  lettres mortes : {len(files)} lots ({len(held)} dossiers) — cause levée, rejeu :")
            stack.faults_control("unblock")
            replayed = stack.dir / "dlq-rejouees"
            replayed.mkdir(exist_ok=True)
            for f in files:
                cmd = [PY, "scripts/stream_poller.py", "--replay", str(f.relative_to(ROOT))]
                print(f"    API_PORT={stack.api_port} {' '.join(cmd[1:])}", flush=True)
                subprocess.run(cmd, cwd=ROOT, env={**os.environ, **env}, check=True, capture_output=True)
                shutil.move(str(f), replayed / f.name)
            drain(ddb, ses, env["TABLE_NAME"], accepted, {x.name for x in DLQ.glob("*.json")} | dlq_before, 300,
                  "après rejeu", codes_sent)
        report["dead_letter_batches"] = len(files)
        report["dead_letter_dossiers"] = len(held)
        # Every link works: the convention route answers a 302 to a presigned URL.
        with ThreadPoolExecutor(args.concurrency) as pool:
            links = list(pool.map(lambda dj: client.until("GET /api/dossiers/{id}/convention", "GET",
                                                          f"/api/dossiers/{dj[0]}/convention", {302}, None,
                                                          dj[1][0])[0],
                                  accepted.items()))
        sample = next(iter(accepted.items()), None)
        if sample:
            _, _, h = client.until("(contrôle)", "GET", f"/api/dossiers/{sample[0]}/convention", {302}, None,
                                   sample[1][0])
            pdf_ok, pdf_retries = fetch_pdf_head(h.get("location") or h.get("Location") or "")
        print(f"\nRoutes (latence vue par le client, fonctions {'release' if args.release else 'debug'}"
              " servies par cargo lambda watch) :")
        rec.samples.pop("(contrôle)", None)
        route_table(rec, report)
        ds = dossiers(ddb, env["TABLE_NAME"])
        lat = [(ts(d["accuse"]["M"]["envoye_le"]["S"]) - ts(d["depose_le"]["S"])) * 1000
               for i, d in ds.items() if "accuse" in d and i not in held]
        report["deposit_to_email_ms"] = {"n": len(lat), "p50": percentile(lat, 50), "p95": percentile(lat, 95),
                                         "p99": percentile(lat, 99)}
        print(f"\nDépôt → email {'(un dépôt à la fois)' if args.pace else '(sous charge : file du poller comprise)'}"
              f" (depose_le → accuse.envoye_le, hors lettres mortes, n={len(lat)}) : "
              f"p50 {percentile(lat, 50):.0f} ms, p95 {percentile(lat, 95):.0f} ms, p99 {percentile(lat, 99):.0f} ms"
              f" — vidage {drain_s:.0f} s après la fin de la charge")
        if stack.faults_url:
            st = stack.faults_control("stats")
            counts = st["counts"]
            calls = sum(v for k, v in counts.items() if not k.startswith(("fault", "proxy")))
            faults = {k[6:]: v for k, v in counts.items() if k.startswith("fault.") and k.count(".") == 1}
            report["proxy"] = {"calls": calls, "faults": faults, "proxy_errors": counts.get("proxy.error", 0)}
            print(f"\nProxy de pannes : {calls} appels AWS des fonctions, pannes injectées {faults}"
                  f", erreurs du proxy {counts.get('proxy.error', 0)}")
            lost = {k[5:]: v for k, v in counts.items() if k.startswith("lost.")}
            if lost:
                print(f"  réponses perdues après action de l’émulateur, par opération : {lost}")
        print("\nInvariants :")
        failures, _ = check(stack, ddb, s3, accepted, codes_seen, args.lost == 0, report)
        bad_links = sum(1 for s in links if s != 302)
        print(f"  {'✔' if bad_links == 0 else '✘'} {'liens de convention → 302':60} {len(links) - bad_links:>6}"
              f"   (attendu {len(accepted)})")
        if sample:
            print(f"  {'✔' if pdf_ok else '✘'} {'URL présignée → PDF':60} {'oui' if pdf_ok else 'non':>6}"
                  f"   ({pdf_retries} nouvel(s) essai(s) après une panne injectée)")
            failures += [] if pdf_ok else ["URL présignée"]
        if bad_links:
            failures.append("liens")
        if len(accepted) != n:
            failures.append("dépôts refusés ou perdus côté client")
            print(f"  ✘ parcours client en échec : {dict(outcomes)}")
        report["failures"] = failures
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(report, indent=1, ensure_ascii=False))
    print("\n" + ("RÉUSSI" if not failures else f"ÉCHEC : {', '.join(failures)}"))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
