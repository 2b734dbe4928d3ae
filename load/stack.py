#!/usr/bin/env python3
"""A private copy of `make run`'s local stack, on free ports, for the proofs under load.

moto (the AWS emulator), optionally load/fault_proxy.py in front of it (the functions' SDK then
reaches AWS through the proxy; the admin commands, the stream poller and the checks talk to moto
directly, as Lambda's own machinery and an operator would), the table/bucket/SES identity created
and the shipped school directory imported by `target/debug/admin`, the four functions served by
`cargo lambda watch` (with `--concurrency`), and scripts/stream_poller.py feeding the stream
consumers with the template's filters, batch size and retries. Everything it starts is in its own
process group and stopped on exit.

As a command, it starts the stack, runs the given command with API_URL, API_PORT, MOTO_ENDPOINT,
AWS_ENDPOINT_URL (moto), FAULTS_URL (the proxy, when there is one) and the stack's names in the
environment, then stops everything:

    .venv/bin/python load/stack.py [--concurrency 8] [--faults 0.1] -- <command> [args…]
"""
import argparse
import json
import os
import pathlib
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

ROOT = pathlib.Path(__file__).resolve().parent.parent
PY = str(ROOT / ".venv" / "bin" / "python")
FUNCTIONS = ["submit-dossier", "school-lookup", "generate-convention", "send-acknowledgement"]
# What the functions get (as run.sh writes .run/functions.env): every setting of scripts/env.sh
# but the ports, which are the stack's own.
NOT_FOR_FUNCTIONS = {"API_PORT", "MOTO_PORT", "PWD", "SHLVL", "_", "AWS_DEFAULT_REGION"}


def function_vars():
    out = subprocess.run(["env", "-i", "bash", "-c", ". scripts/env.sh; env -0"], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout
    return sorted(kv.split("=", 1)[0] for kv in out.split("\0") if "=" in kv and kv.split("=", 1)[0]
                  not in NOT_FOR_FUNCTIONS)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_http(url, seconds=60, proc=None, log=None):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except urllib.error.HTTPError:
            return  # it answered
        except Exception:  # noqa: BLE001
            if proc is not None and proc.poll() is not None:
                break
            time.sleep(0.2)
    tail = pathlib.Path(log).read_text(errors="replace")[-2000:] if log else ""
    raise SystemExit(f"{url} ne répond pas\n{tail}")


def env_sh(overrides):
    """scripts/env.sh's values (the single list of local settings), with overrides."""
    out = subprocess.run(["bash", "-c", ". scripts/env.sh; env -0"], cwd=ROOT, capture_output=True,
                         text=True, check=True, env={**os.environ, **overrides}).stdout
    return dict(kv.split("=", 1) for kv in out.split("\0") if "=" in kv)


class Stack:
    def __init__(self, concurrency=8, faults=None, lost=0.0, seed=None, keep_logs=None, moto_raw=False,
                 release=False):
        self.concurrency = concurrency
        self.release = release
        self.moto_raw = moto_raw
        self.faults = faults
        self.lost = lost
        self.seed = seed
        self.procs = []
        self.dir = pathlib.Path(keep_logs or tempfile.mkdtemp(prefix="proofs-"))
        self.dir.mkdir(parents=True, exist_ok=True)
        self.run_id = uuid.uuid4().hex[:8]

    def _start(self, name, args, env=None, cwd=ROOT):
        log = open(self.dir / f"{name}.log", "wb")
        p = subprocess.Popen(args, cwd=cwd, env=env or os.environ.copy(), stdout=log, stderr=subprocess.STDOUT,
                             start_new_session=True)
        self.procs.append((name, p))
        return p

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self):
        subprocess.run(["cargo", "build", "-q", "--workspace", "--bins"], cwd=ROOT, check=True)
        if self.release:  # the functions only (admin stays a debug tool)
            subprocess.run(["cargo", "build", "-q", "--release", "-p", "submit-dossier", "-p", "school-lookup",
                            "-p", "generate-convention", "-p", "send-acknowledgement"], cwd=ROOT, check=True)
        moto_port, api_port = free_port(), free_port()
        self.moto = f"http://127.0.0.1:{moto_port}"
        self.api_port = api_port
        self.api = f"http://127.0.0.1:{api_port}"
        # moto with DynamoDB's per-request atomicity (see load/moto_atomic.py), or plain moto.
        moto = ([str(ROOT / ".venv" / "bin" / "moto_server")] if self.moto_raw
                else [PY, str(ROOT / "load" / "moto_atomic.py")])
        self._start("moto", [*moto, "-H", "127.0.0.1", "-p", str(moto_port)])
        wait_http(f"{self.moto}/moto-api/", 30)
        self.env = env_sh({"API_PORT": str(api_port), "MOTO_PORT": str(moto_port),
                           "TABLE_NAME": f"preuves-{self.run_id}-dossiers",
                           "BUCKET_NAME": f"preuves-{self.run_id}-documents",
                           # The company registry is out of reach here: a closed local port makes
                           # every lookup take the degraded path at once (as infra/measure.py does).
                           "REGISTRY_BASE_URL": "http://127.0.0.1:9"})
        admin = str(ROOT / "target" / "debug" / "admin")
        for args in (["setup-local"], ["import-annuaire", "data/annuaire/fr-en-annuaire-education-035.csv"]):
            subprocess.run([admin, *args], cwd=ROOT, env=self.env, check=True, capture_output=True)
        functions_env = dict(self.env)
        self.faults_url = None
        if self.faults is not None:
            proxy_port = free_port()
            args = [PY, str(ROOT / "load" / "fault_proxy.py"), "--upstream", self.moto, "--port", str(proxy_port),
                    "--rate", str(self.faults), "--lost", str(self.lost)]
            if self.seed is not None:
                args += ["--seed", str(self.seed)]
            self._start("fault-proxy", args)
            self.faults_url = f"http://127.0.0.1:{proxy_port}/__faults__"
            wait_http(f"{self.faults_url}/stats", 20)
            functions_env["AWS_ENDPOINT_URL"] = f"http://127.0.0.1:{proxy_port}"
        env_file = self.dir / "functions.env"
        env_file.write_text("".join(f'{k}="{functions_env[k]}"\n' for k in function_vars()))
        watch = self._start("watch", [str(ROOT / ".venv" / "bin" / "cargo-lambda"), "lambda", "watch",
                                      "--invoke-address", "127.0.0.1", "--invoke-port", str(api_port),
                                      "--env-file", str(env_file), "--concurrency", str(self.concurrency),
                                      "--ignore-changes", "--quiet", *(["--release"] if self.release else [])])
        # The first answer comes once the function is built and has loaded the directory.
        wait_http(f"{self.api}/api/ecoles/0350122T", 300, watch, self.dir / "watch.log")
        wait_http(f"{self.api}/api/dossiers/{'0' * 32}", 300, watch, self.dir / "watch.log")
        poller = self._start("poller", [PY, str(ROOT / "scripts" / "stream_poller.py")], env=self.env)
        deadline = time.time() + 30
        while b"stream" not in (self.dir / "poller.log").read_bytes():
            if time.time() > deadline or poller.poll() is not None:
                raise SystemExit("le poller ne démarre pas :\n" + (self.dir / "poller.log").read_text())
            time.sleep(0.1)
        time.sleep(1.0)  # its first pass takes the LATEST shard iterator
        return self

    def child_env(self):
        return {**self.env, "API_URL": f"{self.api}/api", "API_PORT": str(self.api_port),
                "MOTO_ENDPOINT": self.moto, "AWS_ENDPOINT_URL": self.moto,
                **({"FAULTS_URL": self.faults_url} if self.faults_url else {})}

    def faults_control(self, action, **params):
        if not self.faults_url:
            return {}
        q = urllib.parse.urlencode(params)
        req = urllib.request.Request(f"{self.faults_url}/{action}?{q}", method="POST" if action != "stats" else "GET")
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read())

    def stop(self):
        for name, p in reversed(self.procs):
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for name, p in self.procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        self.procs = []


def main():
    argv = sys.argv[1:]
    if "--" not in argv:
        raise SystemExit(__doc__)
    cut = argv.index("--")
    p = argparse.ArgumentParser()
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--faults", type=float, default=None)
    p.add_argument("--logs", default=None, help="keep the logs in this directory")
    p.add_argument("--moto-raw", action="store_true", help="plain moto_server (no DynamoDB atomicity)")
    args = p.parse_args(argv[:cut])
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with Stack(args.concurrency, args.faults, keep_logs=args.logs, moto_raw=args.moto_raw) as stack:
        print(f"pile locale : API {stack.api}/api, moto {stack.moto}, journaux {stack.dir}", flush=True)
        rc = subprocess.run(argv[cut + 1:], cwd=ROOT, env={**os.environ, **stack.child_env()}).returncode
    sys.exit(rc)


if __name__ == "__main__":
    main()
