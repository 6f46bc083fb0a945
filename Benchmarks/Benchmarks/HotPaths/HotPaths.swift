// The hub's hot paths, one benchmark each, counted in allocations (deterministic: CI fails on an
// increase) and timed (printed only). Inputs are what the shared load generator sends.
//
//   publish:   request head + body parse ─▶ PublishRequest.parse ─▶ HubCore.publish ─▶ receipt
//   fan-out:   SharedOutcome (envelope + one text frame, shared by every subscriber)
//   subscribe: handshake parse ─▶ accept ─▶ response bytes; the idle subscriber's core state
import Benchmark
import Foundation
import HTTP1
import HubBytes
import HubCore
import HubServer
import WebSocket

let counted: [BenchmarkMetric] = [.mallocCountTotal, .wallClock]

/// A publish exactly as the load generator sends it (about 200 bytes of body).
let publishBody = Array(#"{"status":"completed","data":{"lgkey":"bench_00042","lgseq":17,"pad":"\#(String(repeating: "x", count: 130))"}}"#.utf8)
let publishRequest = Array("POST /v1/outcomes/bench_00042 HTTP/1.1\r\nHost: 127.0.0.1:8094\r\nContent-Type: application/json\r\nContent-Length: \(publishBody.count)\r\n\r\n".utf8) + publishBody
let upgradeRequest = Array("GET /v1/outcomes/bench_00042?follow=1 HTTP/1.1\r\nHost: 127.0.0.1:8094\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n".utf8)

func parse(_ bytes: [UInt8]) -> HTTPRequest {
    var parser = RequestParser()
    parser.feed(bytes)
    guard case .request(let request) = parser.next() else { fatalError("the benchmark's request does not parse") }
    return request
}

func keys(_ n: Int) -> [OutcomeKey] { (0..<n).map { try! OutcomeKey(validating: "bench_\($0)") } }

nonisolated(unsafe) let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(metrics: counted, warmupIterations: 10, maxDuration: .seconds(60), maxIterations: 10_000,
                                           thresholds: [.mallocCountTotal: .init(relative: [.p90: 0], absolute: [.p90: 0])])

    // One request after another on a keep-alive connection's parser, as the server reads them.
    let connection = ConnectionParser()
    Benchmark("http-publish-request") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(connection.parse(publishRequest)) }
    }

    Benchmark("publish-body") { benchmark in
        let key = try! OutcomeKey(validating: "bench_00042")
        for _ in benchmark.scaledIterations {
            blackHole(PublishRequest.parse(key: key, body: publishBody, idempotencyKey: nil, maxDataBytes: 256 * 1024))
        }
    }

    // One publish into a key with `n` subscribers: the core's work and the fan-out list it returns.
    // The core lives across runs, so building and freeing its subscriptions is never measured.
    for subscribers in [1, 100] {
        let bench = CorePublishBench(subscribers: subscribers)
        Benchmark("core-publish-\(subscribers)-subscriber\(subscribers == 1 ? "" : "s")") { benchmark in
            for _ in benchmark.scaledIterations { blackHole(bench.publishOnce()) }
        }
    }

    Benchmark("outcome-frame") { benchmark in
        let outcome = Outcome(key: try! OutcomeKey(validating: "bench_00042"), seq: 17, id: "a3f1c2d4e5b6a7980112", status: .completed,
                              data: Array(publishBody[29..<(publishBody.count - 1)]), publishedAt: 1_800_000_000_000, expiresAt: 1_800_000_600_000)
        for _ in benchmark.scaledIterations { blackHole(SharedOutcome(outcome)) }
    }

    Benchmark("publish-receipt") { benchmark in
        let receipt = Array(#"{"key":"bench_00042","seq":17,"id":"a3f1c2d4e5b6a7980112","status":"completed","subscribers":1,"duplicate":false}"#.utf8)
        for _ in benchmark.scaledIterations {
            blackHole(HTTPResponse(status: 201, headers: [("Content-Type", "application/json")], body: receipt)
                .encode(date: "Wed, 02 Dec 2026 21:00:00 GMT", keepAlive: true))
        }
    }

    Benchmark("websocket-handshake") { benchmark in
        let config = HandshakeConfig()
        for _ in benchmark.scaledIterations {
            let request = parse(upgradeRequest)
            guard case .success(let accepted) = Handshake.accept(request, config: config) else { fatalError("handshake refused") }
            blackHole(accepted.response.encode(date: "Wed, 02 Dec 2026 21:00:00 GMT", keepAlive: true))
        }
    }

    // The hub core's state for one idle subscriber on a key of its own: resident memory grown by
    // 100,000 of them, per subscriber (the connection's buffers and objects are measured by the
    // load generator's idle mode).
    Benchmark("idle-subscriber-core", configuration: .init(metrics: [.mallocCountTotal, .custom("core bytes per idle subscriber")],
                                                                 maxIterations: 1,
                                                                 thresholds: [.mallocCountTotal: .init(relative: [.p90: 0], absolute: [.p90: 0])])) { benchmark in
        let ks = keys(100_000)
        var core = HubCore(nowMs: 0)
        let before = residentBytes()
        benchmark.startMeasurement()
        for (i, k) in ks.enumerated() { _ = core.subscribe(SubscriberRef(loop: 0, id: UInt64(i)), to: k, nowMs: 0) }
        benchmark.stopMeasurement()
        benchmark.measurement(.custom("core bytes per idle subscriber"), (residentBytes() - before) / ks.count)
        blackHole(core)
    }
}

/// A hub core with 1,000 keys, each with its subscribers, published into round-robin.
final class CorePublishBench {
    var core = HubCore(nowMs: 0)
    let keys: [OutcomeKey]
    let request: PublishRequest
    var n = 0

    init(subscribers: Int) {
        keys = (0..<1000).map { try! OutcomeKey(validating: "bench_\($0)") }
        for (i, k) in keys.enumerated() {
            for s in 0..<subscribers { _ = core.subscribe(SubscriberRef(loop: 0, id: UInt64(i * subscribers + s)), to: k, nowMs: 0) }
        }
        request = try! PublishRequest.parse(key: keys[0], body: publishBody, idempotencyKey: nil, maxDataBytes: 1 << 20).get()
    }

    func publishOnce() -> Result<PublishResult, HubError> {
        var r = request
        r.key = keys[n % keys.count]
        n += 1
        let result = core.publish(r, generatedID: "generated-id-\(n)", nowMs: Int64(n / keys.count) * 700_000)
        // Each key holds about one outcome at a time: a round later the previous one has expired.
        if n % keys.count == 0 { core.expire(nowMs: Int64(n / keys.count) * 700_000) }
        return result
    }
}

/// This process's resident memory, from /proc/self/statm (pages).
func residentBytes() -> Int {
    let fields = (try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8))?.split(separator: " ") ?? []
    return fields.count > 1 ? (Int(fields[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE))) : 0
}

/// A parser kept across requests, as a keep-alive connection keeps its own.
final class ConnectionParser {
    var parser = RequestParser()

    func parse(_ bytes: [UInt8]) -> HTTPRequest {
        parser.feed(bytes)
        guard case .request(let request) = parser.next() else { fatalError("the benchmark's request does not parse") }
        return request
    }
}
