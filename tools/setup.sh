#!/usr/bin/env bash
# Set-up shared by the README's two commands: npm dependencies from the lockfile, and Debian's
# nats-server (JetStream) for the tests that need a real one. Idempotent; quiet when done already.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
fi

if [ "${MITOSIS_SKIP_NATS:-}" != "1" ] && ! command -v nats-server >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing nats-server (Debian package)"
    apt-get update -qq >/dev/null 2>&1 || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nats-server >/dev/null
  else
    echo "setup: nats-server is missing; install it (apt-get install nats-server) for the integration tests" >&2
  fi
fi
