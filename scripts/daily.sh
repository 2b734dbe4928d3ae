#!/usr/bin/env bash
# `make daily DATE=AAAA-MM-JJ`: runs the daily function (src/jobs/daily.rs) once against the
# running local stack (`make run`) as if it were that day: terminations taking effect, term
# reminders, draft-expiry warnings. Prints what it did (JSON).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
date="${1:-}"
if ! [[ "$date" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}$ ]]; then
  echo "usage : make daily DATE=AAAA-MM-JJ (par ex. make daily DATE=$(date +%Y-%m-%d))"
  exit 2
fi
if ! (exec 3<>"/dev/tcp/127.0.0.1/$API_PORT") 2>/dev/null; then
  echo "la pile locale ne répond pas sur 127.0.0.1:$API_PORT : lancez d'abord « make run » dans un autre"
  echo "terminal et attendez « pile locale prête » (si elle tourne sur un autre port : API_PORT=<port> make daily …)."
  exit 1
fi
[ -x .venv/bin/cargo-lambda ] || scripts/setup-tools.sh >/dev/null
exec .venv/bin/cargo-lambda lambda invoke --invoke-address 127.0.0.1 --invoke-port "$API_PORT" \
  --output-format json --data-ascii "{\"date\": \"$date\"}" daily
