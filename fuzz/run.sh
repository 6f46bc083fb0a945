#!/usr/bin/env bash
# Runs every fuzz target for N seconds (default 60) from its seed corpus; fails on any crash.
#   fuzz/run.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
# The Swift runtime's backtracer would fight libFuzzer's and ASan's crash handling.
export SWIFT_BACKTRACE=enable=no
rm -f fuzz/bin/crash-* fuzz/bin/leak-* fuzz/bin/oom-* fuzz/bin/timeout-*
fuzz/build.sh
for pair in FuzzHTTP:http FuzzFrames:frames FuzzInflate:inflate FuzzExtensions:extensions FuzzJSON:json FuzzResponse:response FuzzEngineInput:engine FuzzLogRecovery:log FuzzRESP:resp FuzzRedisMessages:redis; do
    target=${pair%%:*}; seeds=fuzz/seeds/${pair##*:}
    corpus=fuzz/corpus-${pair##*:}
    mkdir -p "$corpus"
    echo "-- $target for ${secs}s"
    fuzz/bin/$target -max_total_time="$secs" -max_len=65536 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix=fuzz/bin/ "$corpus" "$seeds" $(ls -d fuzz/regressions/${pair##*:} 2>/dev/null) 2>&1 | grep -E "^(Done|stat::number_of_executed_units|stat::peak_rss|==|SUMMARY|ERROR)|crash|deadly" || true
    if compgen -G "fuzz/bin/[clot][rei][am]*-*" >/dev/null; then
        echo "$target found a failing input:"; ls fuzz/bin/ | grep -E '^(crash|leak|oom|timeout)-'
        exit 1
    fi
done
echo "fuzz: no crashes"
