#!/usr/bin/env bash
# The README's main command: set-up, then the whole method end to end on a synthetic video with
# embedded defaults (local folder storage, in-process events).
set -euo pipefail
cd "$(dirname "$0")/.."
MITOSIS_SKIP_NATS=1 bash tools/setup.sh
exec node bin/mitosis.js demo "$@"
