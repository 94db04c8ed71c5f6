#!/usr/bin/env bash
# Installs everything the suite needs on a fresh Debian machine, then typechecks, builds and runs every test.
# Ends with the plain line "N passed, N failed" that CI reads (tap's own summary is not read).
set -uo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*" >&2; }

step "install the real Prometheus, Alertmanager and helm binaries"
bash scripts/install-test-tools.sh || { echo "0 passed, 1 failed"; exit 1; }

step "install the Node 24 runtime and the locked dependencies"
npm ci --no-audit --no-fund || { echo "0 passed, 1 failed"; exit 1; }
# tap bakes its plugin list into node_modules; a fresh install still has the default (ts-node) one.
npx tap build >/dev/null || { echo "0 passed, 1 failed"; exit 1; }

passed=0
failed=0

step "typecheck (strict) and build"
if npx tsc -p tsconfig.test.json --noEmit && npm run build --silent; then passed=$((passed + 1)); else failed=$((failed + 1)); fi

step "lint (typescript-eslint: pure-core import boundaries, no floating promises)"
if npx eslint .; then passed=$((passed + 1)); else failed=$((failed + 1)); fi

step "tap: the inner ring (npm test) and the outer ring (npm run test:e2e) in one run"
report=$(mktemp)
npx tap --reporter=tap --no-color --exclude='**/fixtures/**' test 2>&1 | tee "$report"
tap_status=${PIPESTATUS[0]}
# Every assertion ("ok N" / "not ok N" at any depth), as tap counts them in its summary; a property test asserts once.
summary=$(grep -E '^# \{ total: ' "$report" | tail -n 1)
tap_pass=$(sed -n 's/.*pass: \([0-9]*\).*/\1/p' <<<"$summary")
tap_fail=$(sed -n 's/.*fail: \([0-9]*\).*/\1/p' <<<"$summary")
passed=$((passed + ${tap_pass:-0}))
failed=$((failed + ${tap_fail:-0}))
if [[ -z "$summary" ]] || { [[ "$tap_status" != 0 ]] && [[ "${tap_fail:-0}" == 0 ]]; }; then failed=$((failed + 1)); fi
rm -f "$report"

echo "$passed passed, $failed failed"
[[ "$failed" == 0 ]]
