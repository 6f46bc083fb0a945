#!/usr/bin/env bash
# Transport benchmark: a release hub pinned to CPU 0 with one event loop (to compare with the
# single-threaded anchors), the load from `affinity-hub bench` pinned to CPU 1. Prints figures.
#   scripts/bench-transport.sh            echo (1 and 64 connections, 200 B and 16 KiB) and 10k idle
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product affinity-hub 2>&1 | tail -1
BIN="$(swift build -c release --show-bin-path)/affinity-hub"
PORT=${PORT:-8095}
ulimit -n "$(ulimit -Hn)"
taskset -c 0 "$BIN" serve --port "$PORT" --loops 1 --echo-path /echo --log-level warning ${HUB_ARGS:-} &
HUB=$!
trap 'kill $HUB 2>/dev/null; wait $HUB 2>/dev/null' EXIT
sleep 0.5
L="taskset -c 1 $BIN bench"
$L echo --port "$PORT" --connections 1 --size 200 --duration 5 --server-pid $HUB
$L echo --port "$PORT" --connections 64 --size 200 --duration 10 --server-pid $HUB
$L echo --port "$PORT" --connections 64 --size 16384 --duration 5 --server-pid $HUB
$L idle --port "$PORT" --connections 10000 --server-pid $HUB
