#!/usr/bin/env bash
# `make package`: release artefacts of every function of infra/template.yaml, built with
# cargo lambda for the architecture the template declares (Globals.Function.Architectures),
# zipped as Lambda takes them (target/lambda/<function>/bootstrap.zip). Prints each size and
# fails when one is over 8 MB zipped.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/cargo-lambda ] || scripts/setup-tools.sh
# cargo lambda cross-compiles with zig, which the venv ships (pip package `ziglang`).
export PATH="$PWD/.venv/bin:$PATH"

arch=$(.venv/bin/python scripts/check_infra.py --print-architecture)
mapfile -t functions < <(.venv/bin/python scripts/check_infra.py --print-functions)
case "$arch" in
  arm64) target_flag=--arm64 ;;
  x86_64) target_flag=--x86-64 ;;
  *) echo "architecture inconnue dans infra/template.yaml : $arch"; exit 1 ;;
esac

packages=()
for f in "${functions[@]}"; do packages+=(-p "$f"); done
echo "cargo lambda build --release $target_flag (${functions[*]})…"
start=$(date +%s)
cargo-lambda lambda build --release "$target_flag" --output-format zip "${packages[@]}"
echo "compilation : $(( $(date +%s) - start )) s"

limit=$((8 * 1024 * 1024))
status=0
printf '%-22s %-7s %12s %12s\n' fonction arch "zip (octets)" "bootstrap"
for f in "${functions[@]}"; do
  zip="target/lambda/$f/bootstrap.zip"
  if [ ! -f "$zip" ]; then echo "$f : $zip absent"; status=1; continue; fi
  zsize=$(stat -c %s "$zip")
  bsize=$(python3 -c 'import sys, zipfile; print(sum(i.file_size for i in zipfile.ZipFile(sys.argv[1]).infolist()))' "$zip")
  printf '%-22s %-7s %12s %12s  %s\n' "$f" "$arch" "$zsize" "$bsize" \
    "$(python3 -c "print(f'{$zsize/1048576:.2f} MiB zippé')")"
  if [ "$zsize" -gt "$limit" ]; then echo "  ✗ $f dépasse 8 MiB zippé"; status=1; fi
done
[ "$status" -eq 0 ] && echo "✓ ${#functions[@]} artefacts, chacun ≤ 8 MiB zippé ($arch)"
exit "$status"
