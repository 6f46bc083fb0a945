#!/usr/bin/env bash
# Builds the libFuzzer targets with swiftc -sanitize=fuzzer,address. The pure codec modules are
# compiled straight from Sources/ (they import no socket code), so no SwiftPM flags leak into
# the main build. Output: fuzz/bin/Fuzz*
set -euo pipefail
cd "$(dirname "$0")/.."
out=fuzz/bin
obj=$out/obj
mkdir -p "$obj"
flags=(-O -g -use-ld=lld -sanitize=fuzzer,address -parse-as-library -swift-version 6 -I "$obj" -I Sources/CZlib)
module() {  # name, sources...
    local name=$1; shift
    swiftc "${flags[@]}" -module-name "$name" -emit-module -emit-module-path "$obj/$name.swiftmodule" \
        -emit-object -wmo -o "$obj/$name.o" "$@"
}
module HubBytes Sources/HubBytes/*.swift
module HTTP1 Sources/HTTP1/*.swift
module WebSocket Sources/WebSocket/*.swift
module DevEngine $(find Sources/DevEngine -name '*.swift')
module HubCore Sources/HubCore/*.swift
for target in FuzzHTTP FuzzFrames FuzzInflate FuzzExtensions FuzzJSON FuzzResponse FuzzEngineInput; do
    swiftc "${flags[@]}" -module-name "$target" fuzz/$target.swift "$obj"/HubBytes.o "$obj"/HTTP1.o "$obj"/WebSocket.o "$obj"/DevEngine.o \
        -lz -o "$out/$target"
done
# The log's recovery scan is pure (bytes in, outcomes out); the store around it does file I/O, so
# only LogRecord.swift is compiled in.
swiftc "${flags[@]}" -module-name FuzzLogRecovery fuzz/FuzzLogRecovery.swift Sources/OutcomeLog/LogRecord.swift \
    "$obj"/HubBytes.o "$obj"/HubCore.o -lz -o "$out/FuzzLogRecovery"
# The RESP3 codec is its own pure module.
module RESP Sources/RESP/*.swift
swiftc "${flags[@]}" -module-name FuzzRESP fuzz/FuzzRESP.swift "$obj"/RESP.o -o "$out/FuzzRESP"
# The scale-out store's decoders of what Redis sends (pure: StoredOutcome, ClusterSlots).
swiftc "${flags[@]}" -module-name FuzzRedisMessages fuzz/FuzzRedisMessages.swift Sources/RedisStore/StoredOutcome.swift \
    Sources/RedisStore/ClusterSlots.swift Sources/RedisStore/SentinelAnswers.swift "$obj"/RESP.o "$obj"/HubCore.o "$obj"/HubBytes.o -o "$out/FuzzRedisMessages"
echo "built: $(ls $out | grep Fuzz | tr '\n' ' ')"
