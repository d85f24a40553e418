#!/usr/bin/env bash
# The README's test command: set-up, then the freshness checks of generated code (proto, SIMD
# module), lint, type-check and every test suite (unit and integration) across the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
# deploy's specs render the Kustomize overlays with `kubectl kustomize` (kustomize v5).
if ! command -v kubectl >/dev/null 2>&1; then
  echo "tools/test.sh: kubectl not found; install kubectl 1.27+ (bundles kustomize v5): https://kubernetes.io/docs/tasks/tools/#kubectl" >&2
  exit 1
fi

export NX_DAEMON=false NX_NO_CLOUD=true NX_SKIP_NX_CACHE="${NX_SKIP_NX_CACHE:-${CI:-}}" NX_TUI=false

echo "== proto: regenerate and check the committed copy is fresh"
npx nx run proto:check-generated --outputStyle=static
echo "== simd: reassemble the SIMD module and check the committed binary is fresh"
npx nx run models:check-simd --outputStyle=static

echo "== lint (eslint per project, then Prettier over the tree)"
npx nx run-many -t lint --outputStyle=static
npx prettier --check . --log-level warn
echo "== typecheck"
npx nx run-many -t typecheck --outputStyle=static
echo "== tests"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
npx nx run-many -t test --parallel=1 --outputStyle=static --args="--ci --maxWorkers=2" 2>&1 | tee "$log" || status=$?
# One closing line over every project's jest summary ("Tests: 3 failed, 61 passed, 64 total").
plain=$(sed 's/\x1b\[[0-9;]*m//g' "$log")
summary=$(printf '%s\n' "$plain" | grep -E '^Tests:' || true)
count() { printf '%s\n' "$summary" | { grep -oE "[0-9]+ $1" || true; } | awk '{s += $1} END {print s + 0}'; }
passed=$(count passed)
failed=$(count failed)
skipped=$(count skipped)
# The production build and install run a job (a missing run-time dependency fails here).
production=passed
bash tools/production-check.sh || { production=FAILED; status=1; }
# CI shows the tail of the output: name the failed suites and tests there, not only in the middle.
if [ "$failed" -gt 0 ] || printf '%s\n' "$plain" | grep -qE '^ *FAIL '; then
  echo "== failed"
  printf '%s\n' "$plain" | grep -E '^ *FAIL ' | sort -u || true
  printf '%s\n' "$plain" | grep -E '^ +● ' | grep -vE '● Console$' | awk '!seen[$0]++' | head -60 || true
fi
echo "== production check (tools/production-check.sh): ${production}"
echo "${passed} passed, ${failed} failed, ${skipped} skipped"
exit "$status"
