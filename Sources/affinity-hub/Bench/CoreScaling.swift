// `affinity-hub bench cores`: how the hub's shared state scales with threads, in this process (no
// sockets). Each thread plays the loop of its own connections: subscribe a key, publish its
// terminal outcome, ack it (released early), unsubscribe; keys are the thread's own, as keys
// spread over loops in the server. With one shard every call takes the same lock, which is what
// the hub was before sharding; with many, two threads rarely meet. With a hub per thread nothing
// is shared at all: what this machine gives two threads, the ceiling to compare with.
import ArgumentParser
import Dispatch
import Foundation
import HubCore
import HubServer
import Synchronization

struct CoreScaling: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "cores",
        abstract: "Hub operations per second from 1..N threads, with one shard and with many (no sockets).")

    @Option(parsing: .upToNextOption, help: "Thread counts to run.") var threads: [Int] = [1, 2]
    @Option(parsing: .upToNextOption, help: "Shard counts to compare (1 = one lock for everything; 0 = a hub per thread, nothing shared: the machine's ceiling).") var shards: [Int] = [0, 1, 16]
    @Option(help: "Seconds per run.") var seconds: Double = 3
    @Option(help: "Runs per setting; the best is reported (the machine's noise only ever slows a run down).") var repetitions = 3
    @Option(help: "Distinct keys per thread.") var keysPerThread = 10_000

    func run() throws {
        print("shards  threads  cycles/s   ops/s      vs 1 thread")
        for shardCount in shards {
            var single = 0.0
            for threadCount in threads {
                let best = (0..<max(1, repetitions)).map { _ in cyclesPerSecond(shards: shardCount, threads: threadCount) }.max() ?? 0
                if threadCount == threads.first { single = best / Double(threadCount) }
                let ratio = single > 0 ? best / single : 0
                print(String(format: "%6d  %7d  %9.0f  %9.0f  %.2fx", shardCount, threadCount, best, best * 4, ratio))
            }
        }
        print("(a cycle = subscribe + publish + ack + unsubscribe, 4 hub calls; \(seconds) s per run, best of \(repetitions))")
    }

    /// One run: every thread cycles over its own keys until the time is up.
    private func cyclesPerSecond(shards shardCount: Int, threads threadCount: Int) -> Double {
        let hubs = shardCount == 0 ? (0..<threadCount).map { _ in Hub(shards: 1) } : [Hub(shards: shardCount)]
        let keys = (0..<threadCount).map { t in (0..<keysPerThread).map { try! OutcomeKey(validating: "t\(t)-order-\($0)") } }
        let stop = Atomic<Bool>(false)
        let done = Atomic<Int>(0)
        let refused = Refusals()
        let data = Array(#"{"approved":true,"total":129.5}"#.utf8)
        let started = DispatchTime.now().uptimeNanoseconds
        let timer = Thread {
            Thread.sleep(forTimeInterval: seconds)
            stop.store(true, ordering: .relaxed)
        }
        timer.start()
        DispatchQueue.concurrentPerform(iterations: threadCount) { t in
            let hub = hubs[t % hubs.count]
            // Each thread's own bytes, as each request brings its own: one array shared by both
            // threads would have them fight over its reference count on every outcome copy.
            var own: [UInt8] = []
            own.append(contentsOf: data)
            let subscriber = hub.newSubscriber(onLoop: t)
            var cycles = 0
            var i = 0
            while !stop.load(ordering: .relaxed) {
                for _ in 0..<64 {
                    let key = keys[t][i]
                    i = i + 1 == keysPerThread ? 0 : i + 1
                    _ = hub.subscribe(subscriber, to: key, after: nil)
                    // The memory store answers at once, on this thread.
                    hub.publish(PublishRequest(key: key, status: .completed, data: own)) { result in
                        if case .failure = result { refused.count.add(1, ordering: .relaxed) }
                    }
                    hub.ack(subscriber, key: key, seq: .max, session: nil)
                    hub.unsubscribe(subscriber, from: key)
                    cycles += 1
                }
            }
            done.add(cycles, ordering: .relaxed)
        }
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        if refused.count.load(ordering: .relaxed) > 0 { print("  (\(refused.count.load(ordering: .relaxed)) publishes refused)") }
        return Double(done.load(ordering: .relaxed)) / elapsed
    }
}

private final class Refusals: Sendable {
    let count = Atomic<Int>(0)
}
