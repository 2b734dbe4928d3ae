#!/usr/bin/env bash
# `make test`: installs what is missing, starts moto and s3s-fs on free ports, runs the whole
# suite (unit + integration, one nextest run), stops what it started.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-tools.sh --test
cargo fmt --check
cargo clippy -q --workspace --all-targets -- -D warnings
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=eu-west-3

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

moto_port=$(free_port)
# With DynamoDB's per-request atomicity (load/moto_atomic.py): plain moto's conditional writes
# race under the suite's concurrent requests (two concurrent lease claims could both succeed),
# which real DynamoDB never does; the tests check our conditions, not moto's races.
.venv/bin/python load/moto_atomic.py -H 127.0.0.1 -p "$moto_port" >"$work/moto.log" 2>&1 &
pids+=($!)
s3s_port=$(free_port)
mkdir -p "$work/s3s"
export S3S_ACCESS_KEY=AKIDS3SFS S3S_SECRET_KEY=s3s-fs-secret-for-tests
.tools/s3s/bin/s3s-fs --host 127.0.0.1 --port "$s3s_port" --access-key "$S3S_ACCESS_KEY" --secret-key "$S3S_SECRET_KEY" "$work/s3s" >"$work/s3s.log" 2>&1 &
pids+=($!)
export MOTO_ENDPOINT="http://127.0.0.1:$moto_port" S3S_ENDPOINT="http://127.0.0.1:$s3s_port"
for i in $(seq 1 100); do
  curl -sf "$MOTO_ENDPOINT/moto-api/" >/dev/null && curl -s "$S3S_ENDPOINT" >/dev/null && break
  sleep 0.1
done

export RUST_BACKTRACE=0
.venv/bin/python scripts/check_infra.py
cargo nextest run --workspace --no-fail-fast "$@"
scripts/browser-test.sh

# Proofs, short forms (README « Preuves : charge, pannes, entrées hostiles »; the long forms are
# make load / faults / schemathesis / fuzz): 20 deposits at concurrency 8 through 10 % of AWS
# faults, one batch sent to the dead-letter path and replayed, invariants checked; schemathesis
# on every operation; every fuzz target for a few seconds on the stable driver.
.venv/bin/python load/load.py --deposits 20 --concurrency 8 --faults 0.1 --block 1
load/schemathesis.sh --short
CARGO_TARGET_DIR=target cargo run -q --manifest-path fuzz/Cargo.toml --no-default-features --bin stable-fuzz -- --seconds 20

# The commands README.md and events/README.md print (make invoke on every sample event, the curl
# walkthrough and the instructeur commands), run as printed against a stack of their own.
.venv/bin/python scripts/check_printed_commands.py
# Every crate the README names compiles: load/bench (make bench-functions) has its own workspace.
CARGO_TARGET_DIR=target cargo build -q --manifest-path load/bench/Cargo.toml
