# The two commands of the README. Both install what they lack on a fresh machine.
.PHONY: run test check import-annuaire instructeur-token package

run:
	@scripts/run.sh

test:
	@scripts/test.sh

# Formatting and lints, as CI expects them.
check:
	cargo fmt --check
	cargo clippy --workspace --all-targets -- -D warnings

# Loads an annuaire export into the running local stack: make import-annuaire FILE=path.csv
import-annuaire:
	@test -n "$(FILE)" || (echo "usage : make import-annuaire FILE=<fichier.csv>"; exit 2)
	@. scripts/env.sh && cargo run -q --bin admin -- import-annuaire "$(FILE)"

# Release artefacts of every Lambda (cargo lambda, the template's architecture), with their sizes.
package:
	@scripts/package.sh

# A dev instructeur token for the local stack (make run): curl -H "Authorization: Bearer $(make -s instructeur-token)" …
instructeur-token:
	@. scripts/env.sh && cargo run -q --bin admin -- instructeur-token
