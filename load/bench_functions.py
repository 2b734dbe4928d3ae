#!/usr/bin/env python3
"""Performance side by side, one run, per function: cold start, peak memory, warm handler p99;
and deposit → email p95 on the local stack. Absolute times vary on this machine: ratios to the
targets and to the public anchor are what to compare.

  cold start   spawn → first poll of a mock Lambda Runtime API (infra/measure.py's RuntimeApi),
               which includes building the SDK clients and loading the school directory from S3
               (moto); median and p95 of --spawns starts. Target ≤ 20 ms; anchor 13.6 ms, the
               median init of a hello-world Rust function on AWS arm64 in public daily benchmarks.
  peak memory  VmHWM of the process through infra/measure.py's whole chain (10 dossiers created,
               saved, deposited, read; their conventions generated, their emails sent; school-lookup's
               sample events). Target ≤ 40 MB.
  warm p99     in-process, every AWS call replaced by an in-memory port (load/bench: the raw event
               → the handler → the answer), after 50 untimed rounds. Target ≤ 2 ms.
  deposit → email p95   load/load.py, one deposit at a time through `cargo lambda watch` and the
               stream poller (whose 200 ms polling interval is part of it), release functions.

Release x86_64 builds (the arm64 artefacts of `make package` cannot run here).

    .venv/bin/python load/bench_functions.py [--spawns 20] [--debug]
"""
import argparse
import json
import os
import pathlib
import re
import statistics
import subprocess
import sys
import tempfile
import uuid

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "infra"))
sys.path.insert(0, str(ROOT / "load"))
import measure  # noqa: E402  (infra/measure.py: RuntimeApi, Function, http_event)
from stack import PY, Stack, env_sh, free_port, wait_http  # noqa: E402

FUNCTIONS = ["submit-dossier", "school-lookup", "generate-convention", "send-acknowledgement", "instructeur-api",
             "notify-editor", "count-statistics", "export-schools"]
TARGET_COLD_MS, ANCHOR_COLD_MS, TARGET_RSS_MB, TARGET_P99_MS = 20.0, 13.6, 40.0, 2.0


def pct(values, p):
    v = sorted(values)
    return v[max(0, min(len(v) - 1, int(-(-p * len(v) // 100)) - 1))]


def cheap_event(name):
    if name == "submit-dossier":
        return measure.http_event("GET", f"/api/dossiers/{'0' * 32}")
    if name == "school-lookup":
        return json.loads(sorted((ROOT / "events" / "school-lookup").glob("*.json"))[0].read_text())
    if name == "instructeur-api":
        return measure.http_event("GET", "/api/instructeur/dossiers")  # no token: 401 at once
    return {"Records": []}


def start_moto():
    port = free_port()
    log = open(tempfile.mktemp(prefix="bench-moto-"), "wb")
    proc = subprocess.Popen([PY, str(ROOT / "load" / "moto_atomic.py"), "-H", "127.0.0.1", "-p", str(port)],
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    moto = f"http://127.0.0.1:{port}"
    wait_http(f"{moto}/moto-api/", 30)
    return proc, port, moto


def cold_starts(bin_dir, spawns, port):
    """Starts each function `spawns` times against moto, with the directory imported."""
    sfx = uuid.uuid4().hex[:8]
    env = {**os.environ, **env_sh({"MOTO_PORT": str(port), "TABLE_NAME": f"mesure-{sfx}-dossiers",
                                   "BUCKET_NAME": f"mesure-{sfx}-documents",
                                   "REGISTRY_BASE_URL": "http://127.0.0.1:9"}), "RUST_LOG": "warn"}
    admin = str(ROOT / "target" / "debug" / "admin")
    for args in (["setup-local"], ["import-annuaire", "data/annuaire/fr-en-annuaire-education-035.csv"]):
        subprocess.run([admin, *args], cwd=ROOT, env=env, check=True, capture_output=True)
    out = {}
    for name in FUNCTIONS:
        inits = []
        for _ in range(spawns):
            f = measure.Function(bin_dir / name, env)
            f.invoke(cheap_event(name))
            inits.append(f.stop()["init_ms"])
        out[name] = {"median": statistics.median(inits), "p95": pct(inits, 95), "min": min(inits)}
    return out


def chain_memory(bin_dir, moto):
    """infra/measure.py's whole chain: peak RSS per function (and its own cold start figure)."""
    out = subprocess.run([PY, str(ROOT / "infra" / "measure.py"), "--bin-dir", str(bin_dir)], cwd=ROOT,
                         env={**os.environ, "MOTO_ENDPOINT": moto}, capture_output=True, text=True, check=True).stdout
    rows = {}
    for line in out.splitlines():
        m = re.match(r"^(\S+)\s+(\d+) ms\s+(\d+)\s+([\d.]+) ms\s+([\d.]+) ms\s+([\d.]+) MiB", line)
        if m:
            rows[m[1]] = {"init_ms": float(m[2]), "n": int(m[3]), "p50_ms": float(m[4]), "max_ms": float(m[5]),
                          "rss_mib": float(m[6])}
    return rows, out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--spawns", type=int, default=20)
    p.add_argument("--debug", action="store_true", help="debug binaries (no release build)")
    p.add_argument("--json", default=None)
    args = p.parse_args()
    profile = "debug" if args.debug else "release"
    flag = [] if args.debug else ["--release"]
    print(f"compilation ({profile})…", flush=True)
    subprocess.run(["cargo", "build", "-q", *flag, *sum((["-p", f] for f in FUNCTIONS), [])], cwd=ROOT, check=True)
    subprocess.run(["cargo", "build", "-q", "--bin", "admin"], cwd=ROOT, check=True)
    subprocess.run(["cargo", "build", "-q", *flag], cwd=ROOT / "load" / "bench", check=True,
                   env={**os.environ, "CARGO_TARGET_DIR": str(ROOT / "target")})
    bin_dir = ROOT / "target" / profile

    print(f"démarrages à froid ({args.spawns} par fonction)…", flush=True)
    moto_proc, port, moto = start_moto()
    try:
        cold = cold_starts(bin_dir, args.spawns, port)
        print("chaîne complète (infra/measure.py) : mémoire maximale…", flush=True)
        chain, _ = chain_memory(bin_dir, moto)
    finally:
        moto_proc.terminate()
        moto_proc.wait(timeout=10)

    print("gestionnaires à chaud, en mémoire (load/bench)…", flush=True)
    warm_file = tempfile.mktemp(suffix=".json")
    subprocess.run([str(bin_dir / "bench-handlers"), "--n", "500", "--json", warm_file], check=True,
                   stdout=subprocess.DEVNULL)
    warm = json.loads(pathlib.Path(warm_file).read_text())

    print("dépôt → email, un dépôt à la fois, pile locale…", flush=True)
    e2e_file = tempfile.mktemp(suffix=".json")
    subprocess.run([PY, str(ROOT / "load" / "load.py"), "--deposits", "20", "--concurrency", "1", "--pace", "1.5",
                    "--json", e2e_file, *([] if args.debug else ["--release"])], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)
    e2e = json.loads(pathlib.Path(e2e_file).read_text())["deposit_to_email_ms"]

    print(f"\nBinaires {profile} x86_64, ce poste (2 cœurs). Ratio = mesure / cible (≤ 1 : cible tenue).")
    print(f"{'fonction':22} {'froid méd.':>10} {'p95':>8} {'÷20 ms':>7} {'÷13,6 ms':>9} │ {'mém. max':>9} {'÷40 Mo':>7}"
          f" │ {'p99 chaud':>10} {'÷2 ms':>6}")
    report = {"profile": profile, "functions": {}, "deposit_to_email_ms": e2e}
    nan = float("nan")
    for name in FUNCTIONS:
        c, m = cold[name], chain.get(name, {})
        w = warm["functions"].get(name, {"p50": nan, "p99": nan, "max": nan})
        rss_mb = m.get("rss_mib", nan) * 1.048576
        print(f"{name:22} {c['median']:7.1f} ms {c['p95']:5.1f} ms {c['median'] / TARGET_COLD_MS:7.2f}"
              f" {c['median'] / ANCHOR_COLD_MS:9.2f} │ {rss_mb:6.1f} Mo {rss_mb / TARGET_RSS_MB:7.2f}"
              f" │ {w['p99']:7.3f} ms {w['p99'] / TARGET_P99_MS:6.2f}")
        report["functions"][name] = {"cold_ms": c, "peak_rss_mb": rss_mb, "warm_ms": w,
                                     "ratios": {"cold/20ms": c["median"] / TARGET_COLD_MS,
                                                "cold/13.6ms": c["median"] / ANCHOR_COLD_MS,
                                                "rss/40MB": rss_mb / TARGET_RSS_MB,
                                                "p99/2ms": w["p99"] / TARGET_P99_MS}}
    print("(nan : non mesuré — la chaîne d’infra/measure.py et load/bench ne couvrent pas cette fonction)")
    print(f"\nDépôt → email, pile locale, un dépôt à la fois (n={e2e['n']}) : p50 {e2e['p50']:.0f} ms, "
          f"p95 {e2e['p95']:.0f} ms (dont l’intervalle de 200 ms du poller)")
    print("\nPar route, à chaud (p50 / p99) :")
    for route, r in warm["routes"].items():
        print(f"  {route:62} {r['p50']:7.3f} / {r['p99']:7.3f} ms")
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(report, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
