#!/usr/bin/env bash
# `make fuzz`: every fuzz target for FUZZ_SECONDS seconds each (default 300).
# With a nightly toolchain: libFuzzer, coverage-guided (cargo-fuzz, installed into .tools/ on first
# use; the first build instruments every dependency and takes a while). New corpus entries go to
# fuzz/corpus-run/<target>/ (not versioned), crashes to fuzz/artifacts/<target>/.
# Without nightly (or with FUZZ_STABLE=1): the stable driver, same targets and seeds.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${FUZZ_SECONDS:-300}"
targets=(siret uai dossier_json annuaire communes snapshot)
if [ -z "${FUZZ_STABLE:-}" ] && rustup run nightly rustc --version >/dev/null 2>&1; then
  if [ ! -x .tools/cargo-fuzz/bin/cargo-fuzz ]; then
    echo "installation de cargo-fuzz…"
    cargo install -q cargo-fuzz --locked --root .tools/cargo-fuzz
  fi
  export PATH="$PWD/.tools/cargo-fuzz/bin:$PATH"
  cd fuzz
  for t in "${targets[@]}"; do
    mkdir -p "corpus-run/$t"
    echo "== $t : libFuzzer, ${secs} s"
    FUZZ_SKIP_KNOWN=1 cargo +nightly fuzz run "$t" "corpus-run/$t" "corpus/$t" -- \
      -max_total_time="$secs" -print_final_stats=1 2>&1 | grep -E "^(stat::|#[0-9]+ +DONE|==|SUMMARY|Done)" || true
    if ls "artifacts/$t"/crash-* >/dev/null 2>&1; then echo "plantage : fuzz/artifacts/$t/"; exit 1; fi
  done
else
  echo "pas de toolchain nightly (ou FUZZ_STABLE=1) : pilote stable (profil debug : les panics doivent se dérouler)"
  CARGO_TARGET_DIR=target cargo run -q --manifest-path fuzz/Cargo.toml --no-default-features \
    --bin stable-fuzz -- --seconds "$((secs * ${#targets[@]}))"
fi
