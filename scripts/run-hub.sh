#!/usr/bin/env bash
# Builds (release) and runs the hub on embedded defaults, installing system packages if missing.
# Extra arguments go to `affinity-hub serve` (see --help).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift build -c release --product affinity-hub 2>&1 | tail -1
exec "$(swift build -c release --show-bin-path)/affinity-hub" serve "$@"
