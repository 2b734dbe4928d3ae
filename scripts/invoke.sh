#!/usr/bin/env bash
# `make invoke FUNCTION=<name> EVENT=<file under events/>`: sends one sample event of events/ to a
# function of the running local stack (`make run`), through the `cargo lambda watch` it serves on
# 127.0.0.1:API_PORT (scripts/env.sh). A bare `cargo lambda invoke` targets [::1]:9000, where
# nothing listens: the address and the port are always given here.
# EVENT is relative to events/ (school-lookup/ecole.json), or to events/<FUNCTION>/ (ecole.json);
# without FUNCTION, the event's folder names the function. Prints the function's answer (JSON);
# exits non-zero when the function fails.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
function="${1:-}"
event="${2:-}"
event="${event#./}"
event="${event#events/}"

functions() { (cd functions && ls -d -- */ | tr -d / | paste -sd ' '); }
usage() {
  echo "usage : make invoke FUNCTION=<fonction> EVENT=<fichier sous events/>"
  echo "  par ex. make invoke FUNCTION=school-lookup EVENT=school-lookup/ecole.json"
  echo "  fonctions : $(functions)"
  echo "  événements : ls events/*/"
  exit 2
}
[ -n "$event" ] || usage
[ -n "$function" ] || function="${event%%/*}"
if [ -z "$function" ] || [ ! -d "functions/$function" ]; then
  echo "fonction inconnue « $function » ; fonctions : $(functions)"
  exit 2
fi
if [ ! -f "events/$event" ] && [ -f "events/$function/$event" ]; then
  event="$function/$event"
fi
if [ ! -f "events/$event" ]; then
  echo "événement introuvable : events/$event ; ceux de $function : $(ls "events/$function" 2>/dev/null | paste -sd ' ')"
  exit 2
fi

if ! (exec 3<>"/dev/tcp/127.0.0.1/$API_PORT") 2>/dev/null; then
  echo "la pile locale ne répond pas sur 127.0.0.1:$API_PORT : lancez d'abord « make run » dans un autre"
  echo "terminal et attendez « pile locale prête » (si elle tourne sur un autre port : API_PORT=<port> make invoke …)."
  exit 1
fi
[ -x .venv/bin/cargo-lambda ] || scripts/setup-tools.sh >/dev/null
exec .venv/bin/cargo-lambda lambda invoke --invoke-address 127.0.0.1 --invoke-port "$API_PORT" \
  --output-format json --data-file "events/$event" "$function"
