#!/usr/bin/env bash
# Browser tests of the public form and of the académie's pages: starts its own stack on free
# ports (moto, resources, school directory, `cargo lambda watch`, stream poller, as
# scripts/run.sh does), installs Debian's chromium and the pinned npm packages if missing, runs
# tests/browser/ (a whole applicant path, the instructeur's pages and the messagerie, with axe
# checks on every page and state), prints the screenshots, stops what it started.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-tools.sh
if [ ! -x /usr/bin/chromium ]; then
  echo "installation de chromium (Debian)…"
  (apt-get install -y -q chromium || (apt-get update -q && apt-get install -y -q chromium)) >/dev/null
fi
if [ ! -d web/node_modules/playwright-core ] || [ ! -d web/node_modules/axe-core ]; then
  (cd web && npm ci --ignore-scripts --no-audit --no-fund --silent)
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
registry_port=$(free_port)
export MOTO_PORT="$(free_port)" API_PORT="$(free_port)" SIGNIN_PORT="$(free_port)" REGISTRY_BASE_URL="http://127.0.0.1:$registry_port"
# An académie of two départements (data/exemples/: the 22's schools are fictitious), so that the
# scenario's last part checks the scope of an instructeur of one département.
export ACADEMIE_CONFIG="${ACADEMIE_CONFIG:-data/exemples/academie-22-35.json}"
. scripts/env.sh
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -- "-$p" 2>/dev/null || kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM
# Company registry: a local fake that knows Baulon and is "down" for any other SIRET.
setsid node tests/browser/registry-fake.mjs "$registry_port" >"$work/registry.log" 2>&1 &
pids+=($!)
# The instructeurs' sign-in, as make run serves it.
setsid python3 scripts/dev_signin.py --port "$SIGNIN_PORT" --client-id "$INSTRUCTEUR_CLIENT_ID" >"$work/signin.log" 2>&1 &
pids+=($!)

cargo build -q --workspace --bins
# As make run: moto with DynamoDB's semantics (load/moto_atomic.py).
setsid .venv/bin/python load/moto_atomic.py -H 127.0.0.1 -p "$MOTO_PORT" >"$work/moto.log" 2>&1 &
pids+=($!)
for i in $(seq 1 100); do curl -sf "$AWS_ENDPOINT_URL/moto-api/" >/dev/null && break; sleep 0.1; done
./target/debug/admin setup-local >/dev/null
./target/debug/admin import-annuaire data/annuaire/fr-en-annuaire-education-035.csv >/dev/null
./target/debug/admin import-annuaire data/exemples/annuaire-fictif-22.csv >/dev/null

functions_env >"$work/functions.env"
setsid .venv/bin/cargo-lambda lambda watch --ignore-changes --invoke-address 127.0.0.1 --invoke-port "$API_PORT" --env-file "$work/functions.env" >"$work/watch.log" 2>&1 &
pids+=($!)
watch_pid=$!
until curl -s -o /dev/null "http://127.0.0.1:$API_PORT/api/ecoles/0350122T"; do
  kill -0 "$watch_pid" 2>/dev/null || { echo "cargo lambda watch s'est arrêté :"; tail -20 "$work/watch.log"; exit 1; }
  sleep 0.2
done
# Both HTTP functions answer before the browser starts (cargo lambda starts each on first use).
for i in $(seq 1 900); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$API_PORT/")" = 200 ] && break
  [ "$i" = 900 ] && { echo "la page d'accueil ne répond pas :"; tail -20 "$work/watch.log"; exit 1; }
  sleep 0.2
done
# …and the stream functions too (an empty batch), so that no instance starts mid-test.
for f in generate-convention send-acknowledgement; do
  curl -s -o /dev/null -X POST -H 'content-type: application/json' -d '{"Records":[]}' \
    "http://127.0.0.1:$API_PORT/2015-03-31/functions/$f/invocations"
done
setsid .venv/bin/python scripts/stream_poller.py >"$work/poller.log" 2>&1 &
pids+=($!)

# The instructeur signs in with a dev token, as `make instructeur-token` prints it.
INSTRUCTEUR_TOKEN="$(./target/debug/admin instructeur-token)"
export INSTRUCTEUR_TOKEN
export BASE_URL="http://127.0.0.1:$API_PORT" SHOTS_DIR="${SHOTS_DIR:-$PWD/target/browser-screenshots}"
status=0
node tests/browser/run.mjs || status=$?
if [ "$status" -ne 0 ]; then
  mkdir -p "$SHOTS_DIR/logs" && cp "$work"/*.log "$SHOTS_DIR/logs/"
  echo "--- fin de watch.log (journaux complets dans $SHOTS_DIR/logs) ---"; tail -15 "$work/watch.log"
fi
exit "$status"
