#!/usr/bin/env bash
# schemathesis (PyPI) against the local server (its own stack on free ports, load/stack.py), from
# openapi.yaml: examples, coverage, fuzzing and stateful phases (links: created dossier → its
# routes with its jeton), every check. Installs schemathesis in its own venv (.tools/schemathesis).
#   load/schemathesis.sh              # 100 examples per operation
#   load/schemathesis.sh --short      # 15 examples per operation (make test)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .tools/schemathesis/bin/schemathesis ]; then
  python3 -m venv .tools/schemathesis
  .tools/schemathesis/bin/pip install -q --disable-pip-version-check -r load/requirements-schemathesis.txt
fi
examples=100
if [ "${1:-}" = "--short" ]; then
  examples=15
fi
# One worker: with two, CPython 3.11 sometimes fails inside schemathesis while it parses source
# in both threads at once (« SystemError: AST constructor recursion depth mismatch », seen once
# in the coverage phase), an error of the tool, not a finding.
# The instructeur routes (tag instructeur) get a third run, with a dev token of the stack
# (`admin instructeur-token`, the académie-wide instructeur) in every request.
# Two runs on the same stack: every check in the examples, coverage and fuzzing phases; the
# stateful phase without ignored_auth, a false positive there: it follows the links of
# openapi.yaml, which carry the jeton returned by POST /api/dossiers into `?jeton=` (a valid
# credential), takes that parameter for generated auth and reports the 200 as « API accepts
# invalid authentication ». The check found the real case in the other phases (a malformed
# `Authorization` header beside a valid `?jeton=`, fixed).
exec .venv/bin/python load/stack.py --concurrency 2 -- bash -c '
  st() { .tools/schemathesis/bin/schemathesis --config-file load/schemathesis.toml run openapi.yaml \
    --url "http://127.0.0.1:$API_PORT" --checks all --max-examples '"$examples"' \
    --workers 1 --request-timeout 30 --no-color --seed 1 \
    --report junit --report-dir "${TMPDIR:-/tmp}/schemathesis-report" "$@"; }
  st --phases examples,coverage,fuzzing --exclude-tag instructeur &&
  st --phases stateful --exclude-checks ignored_auth --exclude-tag instructeur &&
  st --phases examples,coverage,fuzzing --include-tag instructeur \
    -H "Authorization: Bearer $(./target/debug/admin instructeur-token)"'
