#!/usr/bin/env bash
# The README's test command: set-up, then the contract freshness check, lint, type-check and
# every test suite (unit and integration) across the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh

export NX_DAEMON=false NX_NO_CLOUD=true NX_SKIP_NX_CACHE="${NX_SKIP_NX_CACHE:-${CI:-}}" NX_TUI=false

echo "== proto: regenerate and check the committed copy is fresh"
npx nx run proto:check-generated --outputStyle=static

echo "== lint"
npx nx run-many -t lint --outputStyle=static
echo "== typecheck"
npx nx run-many -t typecheck --outputStyle=static
echo "== tests"
npx nx run-many -t test --parallel=1 --outputStyle=static --args="--ci --maxWorkers=2"
