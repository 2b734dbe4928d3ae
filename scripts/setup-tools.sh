#!/usr/bin/env bash
# Installs what `make run` and `make test` need and the machine lacks. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
# The venv follows scripts/requirements.txt: reinstalled when the pinned list changes.
if [ ! -x .venv/bin/moto_server ] || ! cmp -s scripts/requirements.txt .venv/requirements.installed; then
  [ -x .venv/bin/python ] || python3 -m venv .venv
  .venv/bin/pip install -q --disable-pip-version-check -r scripts/requirements.txt
  cp scripts/requirements.txt .venv/requirements.installed
fi
if ! command -v pdftotext >/dev/null; then
  echo "installation de poppler-utils (pdftotext)…"
  (apt-get install -y -q poppler-utils || (apt-get update -q && apt-get install -y -q poppler-utils)) >/dev/null
fi
# Communes and EPCI (Licence Ouverte), read at import time, never at request time.
if [ ! -f .tools/decoupage/package/data/communes.json ]; then
  mkdir -p .tools/decoupage
  (cd .tools/decoupage && npm pack -q @etalab/decoupage-administratif@6.0.0 >/dev/null && tar xzf etalab-decoupage-administratif-6.0.0.tgz)
fi
if [ "${1:-}" = "--test" ] && ! command -v zbarimg >/dev/null; then
  echo "installation de zbar-tools (lecture du QR code des conventions)…"
  (apt-get install -y -q zbar-tools || (apt-get update -q && apt-get install -y -q zbar-tools)) >/dev/null
fi
if [ "${1:-}" = "--test" ] && ! command -v certutil >/dev/null; then
  echo "installation de libnss3-tools (base NSS de pdfsig, qui vérifie le sceau des conventions)…"
  (apt-get install -y -q libnss3-tools || (apt-get update -q && apt-get install -y -q libnss3-tools)) >/dev/null
fi
if [ "${1:-}" = "--test" ] && [ ! -x .tools/s3s/bin/s3s-fs ]; then
  echo "compilation de s3s-fs (vérifie les signatures des liens présignés)…"
  cargo install -q s3s-fs@0.14.1 --features binary --locked --root .tools/s3s
fi
if ! cargo nextest --version >/dev/null 2>&1; then
  cargo install -q cargo-nextest --locked
fi
