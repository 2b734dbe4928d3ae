#!/usr/bin/env bash
# `make run`: the whole product on this machine. Installs what it lacks, starts the AWS emulator,
# creates the resources under the infra's names, loads the reference data, serves the API with
# `cargo lambda watch`, feeds the stream-triggered functions, and stops all of it on Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-tools.sh
. scripts/env.sh
mkdir -p .run
pids=()
stop() {
  echo; echo "arrêt…"
  for p in "${pids[@]}"; do kill -- "-$p" 2>/dev/null || kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop EXIT INT TERM

for port in "$MOTO_PORT" "$API_PORT" "$SIGNIN_PORT"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "le port $port est déjà utilisé : arrêtez l'autre processus ou changez MOTO_PORT / API_PORT / SIGNIN_PORT"; exit 1
  fi
done

echo "compilation…"
cargo build -q --workspace --bins
# moto with DynamoDB's semantics where plain moto differs (load/moto_atomic.py: atomic requests,
# and a failed transaction that leaves the stream the poller reads in place).
setsid .venv/bin/python load/moto_atomic.py -H 127.0.0.1 -p "$MOTO_PORT" >.run/moto.log 2>&1 &
pids+=($!)
for i in $(seq 1 100); do curl -sf "$AWS_ENDPOINT_URL/moto-api/" >/dev/null && break; sleep 0.1; done
./target/debug/admin setup-local
./target/debug/admin import-annuaire data/annuaire/fr-en-annuaire-education-035.csv
for f in $ANNUAIRE_EXTRA; do ./target/debug/admin import-annuaire "$f"; done

functions_env >.run/functions.env
setsid .venv/bin/cargo-lambda lambda watch --invoke-address 127.0.0.1 --invoke-port "$API_PORT" --env-file .run/functions.env >.run/watch.log 2>&1 &
pids+=($!)
watch_pid=$!
until curl -s -o /dev/null "http://127.0.0.1:$API_PORT/api/ecoles/0350122T"; do
  kill -0 "$watch_pid" 2>/dev/null || { echo "cargo lambda watch s'est arrêté :"; tail -20 .run/watch.log; exit 1; }
  sleep 0.2
done
setsid .venv/bin/python scripts/stream_poller.py >.run/poller.log 2>&1 &
pids+=($!)
setsid python3 scripts/dev_signin.py --port "$SIGNIN_PORT" --client-id "$INSTRUCTEUR_CLIENT_ID" >.run/signin.log 2>&1 &
pids+=($!)

cat <<MSG

  Conventions ENT école / GAR — pile locale prête
  API :              http://127.0.0.1:$API_PORT/api  (par ex. http://127.0.0.1:$API_PORT/api/ecoles/0350122T)
  Émulateur AWS :    $AWS_ENDPOINT_URL   (emails envoyés : $AWS_ENDPOINT_URL/moto-api/data.json)
  Espace instructeur : http://127.0.0.1:$API_PORT/instructeur  (connexion locale sur $INSTRUCTEUR_SIGNIN_URL)
  Journaux :         .run/watch.log, .run/poller.log, .run/moto.log, .run/signin.log
  Ctrl-C arrête tout.
MSG
wait
