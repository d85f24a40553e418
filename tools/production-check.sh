#!/usr/bin/env bash
# The production build and install, checked: builds the CLI and the services (nx run-many -t build, esbuild
# into dist/apps), installs the production dependencies alone into a temporary copy and runs a
# job through the built services there with plain node (tools/build/production-check.ts).
# Called by tools/test.sh; exits non-zero when the build or the check fails.
set -euo pipefail
cd "$(dirname "$0")/.."
export NX_DAEMON=false NX_NO_CLOUD=true NX_TUI=false

echo "== production: build the CLI and the services (dist/apps/<name>/main.js)"
npx nx run-many -t build -p cli,gateway,ingest,m1,m2,m3 --outputStyle=static
echo "== production: npm ci --omit=dev into a temporary copy, then a job through the built services"
npx tsx tools/build/production-check.ts
