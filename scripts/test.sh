#!/usr/bin/env bash
# The whole test suite: unit tests (Swift Testing), the hot paths' allocation budget, integration
# tests over loopback with independent clients (pytest + websockets + requests + ssl), and a short
# fuzz run of every parser.
#   FUZZ_SECONDS=0 scripts/test.sh     skips fuzzing; default 60 s per target
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --with-python

echo "== build"
log=$(mktemp)
if ! swift build --build-tests >"$log" 2>&1; then cat "$log"; exit 1; fi
# Zero warnings in our own code (dependencies' checkouts live under .build/ and are not ours).
if grep "warning:" "$log" | grep -v "/\.build/" | grep .; then echo "the build has warnings"; exit 1; fi
tail -1 "$log"

echo "== example consumer (the library as a dependency, docs/clients.md)"
if ! swift build --package-path Examples/OrderService >"$log" 2>&1; then cat "$log"; exit 1; fi
if grep "warning:" "$log" | grep -v "/\.build/" | grep .; then echo "the example has warnings"; exit 1; fi
tail -1 "$log"

echo "== unit tests"
swift test --skip-build

echo "== allocation budget of the hot paths (Benchmarks/, docs/benchmarks.md)"
if ! scripts/allocation-budget.sh >"$log" 2>&1; then grep -v "ETA" "$log" | tail -40; exit 1; fi
grep -E "EQUAL|improved" "$log"

echo "== integration tests"
HUB_BIN="$(swift build --show-bin-path)/affinity-hub" .venv/bin/python -m pytest -q tests/integration

if [ "${FUZZ_SECONDS:-60}" != "0" ]; then
    echo "== fuzz smoke run"
    fuzz/run.sh "${FUZZ_SECONDS:-60}"
fi
