#!/usr/bin/env bash
# Set-up shared by the README's two commands: npm dependencies from the lockfile, and Debian's
# nats-server (JetStream) for the tests that need a real one, and python3-zarr for the OME-Zarr
# round trip. Idempotent; quiet when done already.
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

# Debian's zarr-python 2 reads the OME-Zarr exports back in their spec, as an independent reader.
if [ "${MITOSIS_SKIP_PYTHON_ZARR:-}" != "1" ] && ! { [ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import zarr, numpy' >/dev/null 2>&1; }; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing python3-zarr (Debian package)"
    apt-get update -qq >/dev/null 2>&1 || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-zarr >/dev/null || echo "setup: python3-zarr could not be installed; its round-trip spec will be skipped" >&2
  else
    echo "setup: python3-zarr is missing; install it (apt-get install python3-zarr) for the OME-Zarr round-trip spec" >&2
  fi
fi
