#!/usr/bin/env python3
"""`make test`: the commands README.md and events/README.md print, run as printed against a local
stack of their own (load/stack.py: moto, the functions under `cargo lambda watch`, the stream
poller, on free ports), so that they cannot rot unnoticed; or, with --running, against the
stack `make run` serves (API_PORT, MOTO_PORT).

1. every `make invoke …` line the two READMEs print, verbatim (API_PORT is the stack's, in the
   environment, as `API_PORT=<port> make invoke …` would give it);
2. the `cargo-lambda lambda invoke …` lines they print, with the stack's port for 9000;
3. `make invoke` on every event file of events/, each answer checked for its shape: an HTTP
   event answers a statusCode (the one tests/api/events.rs documents for it, when it lists it;
   below 500 otherwise), a stream batch answers {"batchItemFailures": []};
4. `make invoke` with nothing listening on API_PORT says, in French, to start `make run`;
5. README.md's « Walkthrough with curl » block, then the instructeur block of « The académie's
   side » (which continues it: $API, $ID), with the stack's ports for 127.0.0.1:9000 and
   127.0.0.1:5000, in a temporary directory (`make` there means this repository's make); each
   step's expected output is checked.

    .venv/bin/python scripts/check_printed_commands.py [--logs DIR]
    .venv/bin/python scripts/check_printed_commands.py --running   # against your make run (adds sample dossiers)
"""
import argparse
import json
import os
import pathlib
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "load"))
from stack import Stack, env_sh, free_port  # noqa: E402

READMES = [ROOT / "README.md", ROOT / "events" / "README.md"]
INVOKE_TIMEOUT = 120  # seconds per command: the first call of a function starts its instance
WALK_TIMEOUT = 180

failures = []


def fail(what, detail=""):
    failures.append(what)
    print(f"  ✘ {what}" + (f"\n{detail.rstrip()}" if detail else ""), flush=True)


def code_lines(readme):
    """The lines of a README's code: inside ``` fences, or indented by four spaces."""
    fenced = False
    for line in readme.read_text().splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif fenced or line.startswith("    "):
            yield line.strip()


def printed_lines(pattern):
    """(readme, line) for every printed command line that starts with pattern."""
    return [(readme.relative_to(ROOT), line) for readme in READMES for line in code_lines(readme)
            if line.startswith(pattern)]


def sh_block_after(text, heading):
    """The first ```sh block after the line that starts with heading."""
    m = re.search(rf"^{re.escape(heading)}.*?^```sh\n(.*?)^```", text, re.S | re.M)
    if not m:
        raise SystemExit(f"README.md : pas de bloc ```sh après « {heading} »")
    return m.group(1)


def expected_statuses():
    """The HTTP status tests/api/events.rs expects of each event file, where it lists one."""
    src = (ROOT / "tests" / "api" / "events.rs").read_text()
    return {f: int(s) for f, s in re.findall(r'\("([\w-]+/[\w.-]+\.json)",\s*(\d{3})\)', src)}


def run(cmd, env, timeout=INVOKE_TIMEOUT, cwd=ROOT):
    try:
        return subprocess.run(cmd, shell=isinstance(cmd, str), executable="/bin/bash" if isinstance(cmd, str) else None,
                              cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        return subprocess.CompletedProcess(cmd, 124, e.stdout or "", (e.stderr or "") + f"\n(délai de {timeout} s dépassé)")


def load_event(rel):
    path = ROOT / "events" / rel
    return json.loads(path.read_text()) if rel and path.is_file() else {}


def check_answer(name, rel, proc, statuses):
    """The answer's shape for the kind of the event events/<rel>; 'http', 'stream' or 'daily'
    when right."""
    event = load_event(rel)
    if proc.returncode != 0:
        fail(f"{name} : code de sortie {proc.returncode}", proc.stdout[-1500:] + proc.stderr[-1500:])
        return None
    try:
        answer = json.loads(proc.stdout)
    except json.JSONDecodeError:
        fail(f"{name} : réponse qui n'est pas du JSON", proc.stdout[-1500:])
        return None
    if rel.startswith("daily/"):
        # The daily scheduled function answers what it did (src/jobs/daily.rs).
        if not (isinstance(answer, dict) and "date" in answer and answer.get("echecs_courriel") == 0):
            fail(f"{name} : compte rendu du passage quotidien attendu", proc.stdout[-1500:])
            return None
        return "daily"
    if "Records" in event:
        if answer != {"batchItemFailures": []}:
            fail(f"{name} : lot de flux en échec", json.dumps(answer, ensure_ascii=False)[:1500])
            return None
        return "stream"
    status = answer.get("statusCode") if isinstance(answer, dict) else None
    if not isinstance(status, int):
        fail(f"{name} : pas de statusCode", proc.stdout[-1500:])
        return None
    want = statuses.get(rel)
    if (want is not None and status != want) or (want is None and status >= 500):
        fail(f"{name} : statut {status}, attendu {want or '< 500'}", str(answer.get("body"))[:1500])
        return None
    return "http"


def check_invokes(stack, env):
    statuses = expected_statuses()
    # 1. The printed `make invoke` lines, verbatim.
    lines = printed_lines("make invoke ")
    for readme in READMES:
        if not any(r == readme.relative_to(ROOT) for r, _ in lines):
            fail(f"{readme.relative_to(ROOT)} n'imprime plus aucune ligne « make invoke … »")
    for readme, line in lines:
        args = dict(a.split("=", 1) for a in shlex.split(line.split("#")[0])[2:] if "=" in a)
        rel = args.get("EVENT", "").removeprefix("events/")
        if not (ROOT / "events" / rel).is_file():  # EVENT may also be relative to events/<FUNCTION>/
            rel = f"{args.get('FUNCTION', '')}/{rel}"
        check_answer(f"{readme} : {line}", rel, run(line, env), statuses)
    # 2. The printed cargo-lambda lines, with the stack's port.
    raw = printed_lines(".venv/bin/cargo-lambda lambda invoke") + printed_lines("cargo lambda invoke")
    for readme, line in raw:
        cmd = line.replace("--invoke-port 9000", f"--invoke-port {stack.api_port}")
        event = re.search(r"--data-file\s+events/(\S+)", line)
        check_answer(f"{readme} : {line}", event[1] if event else "", run(cmd, env), statuses)
    # 2b. The printed `make daily DATE=…` lines, verbatim: the daily function's report.
    daily = printed_lines("make daily ")
    for readme, line in daily:
        check_answer(f"{readme} : {line}", "daily/date.json", run(line, env), statuses)
    # 3. Every event file of events/.
    kinds = {"http": 0, "stream": 0, "daily": 0}
    files = sorted(p.relative_to(ROOT / "events") for p in (ROOT / "events").glob("*/*.json"))
    for rel in files:
        function = rel.parts[0]
        proc = run(["make", "-s", "--no-print-directory", "invoke", f"FUNCTION={function}", f"EVENT={rel}"], env)
        kind = check_answer(str(rel), str(rel), proc, statuses)
        if kind:
            kinds[kind] += 1
    # 4. Nothing on the port: the French hint.
    closed = run(["make", "-s", "--no-print-directory", "invoke", "FUNCTION=school-lookup",
                  "EVENT=school-lookup/ecole.json"], {**env, "API_PORT": str(free_port())})
    if closed.returncode == 0 or "make run" not in closed.stdout:
        fail("make invoke sans pile : pas de message demandant « make run »", closed.stdout + closed.stderr)
    checked = sum(1 for f in files if str(f) in statuses)
    return (f"{len(lines)} « make invoke », {len(raw)} « cargo-lambda lambda invoke » et "
            f"{len(daily)} « make daily » imprimés ; "
            f"{len(files)} événements de events/ ({len({f.parts[0] for f in files})} fonctions) : "
            f"{kinds['http']} réponses HTTP ({checked} au statut de tests/api/events.rs), "
            f"{kinds['stream']} lots de flux sans échec, {kinds['daily']} passages quotidiens")


def check_walkthrough(stack, env):
    readme = (ROOT / "README.md").read_text()
    walk = sh_block_after(readme, "## Walkthrough with curl")
    instructeur = sh_block_after(readme, "## The académie's side")
    moto_port = stack.moto.rsplit(":", 1)[1]
    script = (walk + instructeur).replace("127.0.0.1:9000", f"127.0.0.1:{stack.api_port}") \
                                 .replace("127.0.0.1:5000", f"127.0.0.1:{moto_port}")
    # `make` from the temporary directory is this repository's; the last line reports the id.
    shim = f"make() {{ command make -C {shlex.quote(str(ROOT))} --no-print-directory \"$@\"; }}\n"
    with tempfile.TemporaryDirectory(prefix="parcours-") as tmp:
        proc = run(["bash", "-e", "-c", shim + script + '\necho; echo "ID=$ID"\n'], env, WALK_TIMEOUT, cwd=tmp)
        out = proc.stdout
        csv = pathlib.Path(tmp, "ecoles.csv").read_text(errors="replace") if pathlib.Path(tmp, "ecoles.csv").exists() else ""
    m = re.search(r"^ID=([0-9a-f]{32})$", out, re.M)
    ident = m[1] if m else "?"
    expected = [
        ("1. création : id et jeton", bool(m)),
        ("2-3. enregistrement et dépôt : statut en_construction", '"statut":"en_construction"' in out),
        ("4. email d'accusé de réception", re.search(r"Dossier n° ENT-\d+ : convention .* déposée", out)),
        ("5. convention PDF téléchargée et lue", re.search(r"Convention n° ENT-\d+", out)),
        ("5. convention : habilitation imprimée", "agissant en vertu de la délibération n° 2026-014" in out),
        ("5. convention : adresse confirmée par le code", "confirmée par un code à usage unique" in out),
        ("liste de l'académie : le dossier y est", f'"id":"{ident}"' in out),
        ("décision passer_en_instruction", '"statut":"en_instruction"' in out),
        ("décision refuser", '"statut":"refuse"' in out),
        ("export ecoles.csv (en-tête)", csv.lstrip("\ufeff").startswith("uai;nom_ecole;")),
    ]
    missing = [what for what, ok in expected if not ok]
    if proc.returncode != 0 or missing:
        fail(f"parcours curl du README (code {proc.returncode}) : " + (", ".join(missing) or "erreur"),
             "--- sortie ---\n" + out[-3000:] + "\n--- erreurs ---\n" + proc.stderr[-2000:])
    steps = sum(1 for line in (walk + instructeur).splitlines() if re.match(r"^(curl|R=|ID=|JETON=|TOKEN=|for )", line))
    return f"parcours curl du README : {steps} commandes, {len(expected) - len(missing)}/{len(expected)} vérifications"


class Running:
    """The stack `make run` already serves (--running): its ports from the environment."""

    def __init__(self):
        self.env = env_sh({})
        self.api_port = int(self.env["API_PORT"])
        self.moto = f"http://127.0.0.1:{self.env['MOTO_PORT']}"
        self.dir = ROOT / ".run"
        if subprocess.run(["curl", "-s", "-o", "/dev/null", f"http://127.0.0.1:{self.api_port}/"]).returncode != 0:
            raise SystemExit(f"make run ne répond pas sur 127.0.0.1:{self.api_port} : lancez-le d'abord")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass

    def child_env(self):
        return self.env


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--logs", default=None, help="keep the stack's logs in this directory")
    p.add_argument("--running", action="store_true",
                   help="against the stack of a running `make run` (API_PORT, MOTO_PORT) instead of one of its own")
    args = p.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # the stack stops on the way out
    t0 = time.monotonic()
    where = "make run" if args.running else "une pile locale"
    print(f"commandes imprimées par README.md et events/README.md, contre {where}…", flush=True)
    with (Running() if args.running else Stack(concurrency=2, keep_logs=args.logs)) as stack:
        started = time.monotonic() - t0
        env = {**os.environ, **stack.child_env()}
        env.pop("MAKEFLAGS", None)  # make invoke is run as a user would, not as a sub-make of make test
        env.pop("MAKELEVEL", None)
        summary = []
        for check in (check_invokes, check_walkthrough):
            before = len(failures)
            line = check(stack, env)
            summary.append(f"  {'✘' if len(failures) > before else '✔'} {line}")
        if failures:
            watch = stack.dir / "watch.log"
            print("--- fin de watch.log ---\n" + watch.read_text(errors="replace")[-2000:])
    print("\n".join(summary))
    print(f"  pile démarrée en {started:.0f} s, {time.monotonic() - t0:.0f} s en tout", flush=True)
    if failures:
        print(f"{len(failures)} commande(s) imprimée(s) en échec")
        sys.exit(1)


if __name__ == "__main__":
    main()
