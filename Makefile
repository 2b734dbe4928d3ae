# The two commands of the README. Both install what they lack on a fresh machine.
.PHONY: run test check invoke daily import-annuaire instructeur-token package bench-convention bench-reference docs-sample

run:
	@scripts/run.sh

test:
	@scripts/test.sh

# Formatting and lints, as CI expects them.
check:
	cargo fmt --check
	cargo clippy --workspace --all-targets -- -D warnings

# One sample event of events/ sent to a function of the running local stack (make run), on API_PORT:
#   make invoke FUNCTION=school-lookup EVENT=school-lookup/ecole.json
invoke:
	@scripts/invoke.sh "$(FUNCTION)" "$(EVENT)"

# The daily scheduled function, once, against the running local stack as if it were DATE:
#   make daily DATE=2031-09-03   (terminations taking effect, term reminders, draft warnings)
daily:
	@scripts/daily.sh "$(DATE)"

# Loads an annuaire export into the running local stack: make import-annuaire FILE=path.csv
import-annuaire:
	@test -n "$(FILE)" || (echo "usage : make import-annuaire FILE=<fichier.csv>"; exit 2)
	@. scripts/env.sh && cargo run -q --bin admin -- import-annuaire "$(FILE)"

# Convention PDF: genpdf vs Typst vs WeasyPrint on the same content, one table (release build).
bench-convention:
	@scripts/setup-tools.sh >/dev/null
	@.venv/bin/pip install -q --disable-pip-version-check typst==0.15.2 weasyprint==70.0
	@cargo build -q --release --bin bench-convention
	@./target/release/bench-convention | .venv/bin/python scripts/bench_typesetters.py

# Reference data at national scale (generated data set): load, memory, lookups (release build).
bench-reference:
	@cargo run -q --release --bin bench-reference

# Sample convention under docs/ (PDF and PNG pages).
docs-sample:
	@cargo run -q --bin bench-convention -- --sample docs
	@pdftoppm -r 70 -png docs/convention-exemple.pdf docs/convention-page
	@pdftoppm -r 70 -png -f 2 -l 2 docs/convention-contresignee-exemple.pdf docs/convention-contresignee-page

# Release artefacts of every Lambda (cargo lambda, the template's architecture), with their sizes.
package:
	@scripts/package.sh

# A dev instructeur token for the local stack (make run): curl -H "Authorization: Bearer $(make -s instructeur-token)" …
# DEPARTEMENT=35 (or DEPARTEMENT=22,35) for an instructeur of those départements only.
instructeur-token:
	@. scripts/env.sh && DEPARTEMENT="$(DEPARTEMENT)" cargo run -q --bin admin -- instructeur-token

# Proofs under load, faults and hostile input; performance side by side (README « Preuves »).
# N and C change the number of deposits and the concurrency: make load N=200 C=16.
.PHONY: load faults fuzz schemathesis bench-functions bench-scale
load:
	@scripts/setup-tools.sh && .venv/bin/python load/load.py --deposits $(or $(N),1000) --concurrency $(or $(C),32)

faults:
	@scripts/setup-tools.sh && .venv/bin/python load/load.py --deposits $(or $(N),1000) --concurrency $(or $(C),32) --faults 0.1 --block 2

# FUZZ_SECONDS per target (300); libFuzzer with a nightly toolchain, else the stable driver.
fuzz:
	@fuzz/run.sh

schemathesis:
	@scripts/setup-tools.sh && load/schemathesis.sh

bench-functions:
	@scripts/setup-tools.sh && .venv/bin/python load/bench_functions.py

# 20,000 dossiers / 45,000 schools in memory: list, statistics, exports, largest item (README).
bench-scale:
	@CARGO_TARGET_DIR=target cargo run -q --release --manifest-path load/bench/Cargo.toml -- --scale
