#!/usr/bin/env bash
# Prints the time from deposit to the acknowledgement email on the local stack (`make run` first).
set -euo pipefail
API=http://127.0.0.1:${API_PORT:-9000}/api
MOTO=http://127.0.0.1:${MOTO_PORT:-5000}
count() { curl -s "$MOTO/moto-api/data.json" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["ses"]["Message"]))'; }
for k in 1 2 3 4 5; do
  R=$(curl -s -X POST $API/dossiers -H 'content-type: application/json' -d '{"collectivite":{"siret":"21350016800025"},"signataire":{"prenom":"Camille","nom":"Martin","qualite":"Maire","email":"mairie@exemple.fr"},"ecoles":[{"uai":"0350122T"},{"uai":"0350165P"}],"referent":{"designe":false}}')
  ID=$(echo "$R" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  J=$(echo "$R" | python3 -c 'import json,sys; print(json.load(sys.stdin)["jeton"])')
  before=$(count)
  t0=$(date +%s.%N)
  curl -s -o /dev/null -X POST "$API/dossiers/$ID/depot" -H "authorization: Bearer $J" -H 'content-type: application/json' -d '{"approbation":true}'
  until [ "$(count)" -gt "$before" ]; do sleep 0.05; done
  t1=$(date +%s.%N)
  size=$(curl -sL "$API/dossiers/$ID/convention?jeton=$J" | wc -c)
  printf 'deposit → email: %.3f s   PDF: %d bytes\n' "$(echo "$t1 - $t0" | bc)" "$size"
done
