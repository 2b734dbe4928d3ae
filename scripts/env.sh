# Shared settings of the local stack (sourced by the other scripts). Ports can be changed:
#   API_PORT (default 9000), MOTO_PORT (default 5000), SIGNIN_PORT (default 9100).
export API_PORT="${API_PORT:-9000}"
export MOTO_PORT="${MOTO_PORT:-5000}"
export SIGNIN_PORT="${SIGNIN_PORT:-9100}"
export AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_REGION=eu-west-3 AWS_DEFAULT_REGION=eu-west-3
export AWS_ENDPOINT_URL="http://127.0.0.1:${MOTO_PORT}"
# Same names as the infra's defaults (infra/template.yaml, parameter StageName=local).
export TABLE_NAME="${TABLE_NAME:-conventions-ent-local-dossiers}"
export BUCKET_NAME="${BUCKET_NAME:-conventions-ent-local-documents-123456789012}"
export PUBLIC_BASE_URL="${PUBLIC_BASE_URL:-http://127.0.0.1:${API_PORT}}"
export SENDER_EMAIL="${SENDER_EMAIL:-ne-pas-repondre@ac-rennes.fr}"
export CONTACT_EMAIL="${CONTACT_EMAIL:-ent-ecole@ac-rennes.fr}"
export LINK_SECRET="${LINK_SECRET:-secret-local-de-developpement-uniquement}"
export PRESIGN_TTL_SECONDS="${PRESIGN_TTL_SECONDS:-300}"
# The académie's seal (src/seal/): its KMS key and the SSM parameter of its certificate chain,
# named as the infra names them for stack conventions-ent-local; `admin setup-local` creates the
# key in the emulator and a self-signed certificate (« environnement local ») made through it.
export SEAL_KEY_ID="${SEAL_KEY_ID:-alias/conventions-ent-local-sceau}"
export SEAL_CERTIFICATE_PARAMETER="${SEAL_CERTIFICATE_PARAMETER:-/conventions-ent-local/sceau/certificat}"
# Dev instructeur tokens (make instructeur-token); the local stack only, never on AWS.
export DEV_JWT_SECRET="${DEV_JWT_SECRET:-cle-locale-des-jetons-instructeur-de-developpement}"
# Where instructeurs sign in: scripts/dev_signin.py stands in for Cognito's hosted pages locally
# (same paths, tokens signed with DEV_JWT_SECRET). On AWS the template points them at Cognito.
export INSTRUCTEUR_SIGNIN_URL="${INSTRUCTEUR_SIGNIN_URL:-http://127.0.0.1:${SIGNIN_PORT}}"
export INSTRUCTEUR_CLIENT_ID="${INSTRUCTEUR_CLIENT_ID:-espace-instructeur-local}"
# The ENT editor's webhook (empty: none). Try it locally with any HTTP receiver.
export WEBHOOK_URL="${WEBHOOK_URL:-}"
export WEBHOOK_SECRET="${WEBHOOK_SECRET:-whsec_c2VjcmV0LWxvY2FsLWR1LXdlYmhvb2stZGUtbWFrZS1ydW4=}"
# The key the ENT editor signs its answers with (POST /api/editeur/ecoles, Standard Webhooks);
# scripts/webhook_receiver.py --repondre signs with it.
export EDITOR_ANSWER_SECRET="${EDITOR_ANSWER_SECRET:-whsec_cmVwb25zZS1sb2NhbGUtZGUtbC1lZGl0ZXVyLWVudCE=}"
# Several editors, one per territory (src/editeurs.rs): the JSON itself, or the path of its
# file (relative paths are from the repository). Empty: the single editor above. Two local
# editors: EDITEURS_CONFIG=data/exemples/editeurs-22-35.json (data/exemples/README.md).
export EDITEURS_CONFIG="${EDITEURS_CONFIG:-}"
# Days a refused or classé sans suite dossier is kept after the decision (0: kept; accepted
# conventions are always kept). See README « Conservation ».
export DOSSIER_RETENTION_DAYS="${DOSSIER_RETENTION_DAYS:-0}"
export DIGEST_WAITING_DAYS="${DIGEST_WAITING_DAYS:-15}"
# Company registry (recherche-entreprises). Unreachable from a closed network: the lookups then
# run in degraded mode (verifie: false), as they would during an outage.
export REGISTRY_BASE_URL="${REGISTRY_BASE_URL:-https://recherche-entreprises.api.gouv.fr}"
# The académie and its départements (src/academie.rs): the JSON itself, or the path of its file
# (relative paths are from the repository). Default: the shipped département, Ille-et-Vilaine.
# Two départements: ACADEMIE_CONFIG=data/exemples/academie-22-35.json make run (data/exemples/).
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export ACADEMIE_CONFIG="${ACADEMIE_CONFIG:-data/academie/rennes.json}"
case "$ACADEMIE_CONFIG" in
  /* | "{"*) ;;
  *) ACADEMIE_CONFIG="$repo_root/$ACADEMIE_CONFIG" ;;
esac
case "$EDITEURS_CONFIG" in
  "" | /* | "{"*) ;;
  *) EDITEURS_CONFIG="$repo_root/$EDITEURS_CONFIG" ;;
esac
# More directory files imported by make run after the shipped extract (space-separated paths),
# e.g. ANNUAIRE_EXTRA=data/exemples/annuaire-fictif-22.csv for the second département's schools.
export ANNUAIRE_EXTRA="${ANNUAIRE_EXTRA:-}"

# What the functions get (`cargo lambda watch --env-file`, written by run.sh and browser-test.sh):
# every setting above that src/config.rs reads, plus the emulator's endpoint and credentials.
functions_env() {
  local v
  for v in TABLE_NAME BUCKET_NAME PUBLIC_BASE_URL SENDER_EMAIL CONTACT_EMAIL LINK_SECRET PRESIGN_TTL_SECONDS \
           REGISTRY_BASE_URL DEV_JWT_SECRET INSTRUCTEUR_SIGNIN_URL INSTRUCTEUR_CLIENT_ID WEBHOOK_URL \
           WEBHOOK_SECRET EDITOR_ANSWER_SECRET DOSSIER_RETENTION_DAYS DIGEST_WAITING_DAYS ACADEMIE_CONFIG EDITEURS_CONFIG \
           SEAL_KEY_ID SEAL_CERTIFICATE_PARAMETER \
           AWS_ENDPOINT_URL AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_REGION; do
    printf '%s="%s"\n' "$v" "${!v}"
  done
}
