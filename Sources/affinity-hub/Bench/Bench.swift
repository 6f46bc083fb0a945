// `affinity-hub bench`: load from this process against a hub on loopback, printing figures.
// Measures; never asserts times. Run the server pinned to one core and this on the other
// (scripts/bench-transport.sh does both).
import ArgumentParser
import Foundation
import Reactor

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure the transport against a running hub (loopback only).",
        subcommands: [Echo.self, Idle.self, CoreScaling.self])
}

/// Refuses anything but loopback: load is only ever aimed at this machine.
func requireLoopback(_ host: String) throws {
    guard host.hasPrefix("127.") else { throw ValidationError("bench targets loopback (127.0.0.0/8) only") }
}

/// Sets up `body` on a fresh event loop, then runs the loop on this thread until `stop`.
/// (Before `run`, the calling thread is the loop's thread.)
func withLoop(_ body: (EventLoop) -> Void) throws {
    let loop = try EventLoop(index: 0)
    body(loop)
    loop.run()
}

/// User + system CPU time of a process, in clock ticks (/proc/PID/stat fields 14 and 15).
func cpuTicks(pid: Int32) -> Int? {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let close = stat.lastIndex(of: ")") else { return nil }
    let fields = stat[stat.index(after: close)...].split(separator: " ")
    guard fields.count > 13, let u = Int(fields[11]), let s = Int(fields[12]) else { return nil }
    return u + s
}

/// VmRSS of a process in KiB.
func residentKiB(pid: Int32) -> Int? {
    guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
    for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
        return Int(line.split(separator: " ").dropFirst().first ?? "")
    }
    return nil
}

struct Echo: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Echo round trips: C connections, each one message in flight.")
    @Option var host = "127.0.0.1"
    @Option var port: Int
    @Option var path = "/echo"
    @Option(help: "Concurrent connections.") var connections = 64
    @Option(help: "Message size, bytes.") var size = 200
    @Option(help: "Measured seconds (after 1 s warm-up).") var duration = 10.0
    @Option(help: "The hub's PID: also report its CPU % and CPU µs per round trip.") var serverPid: Int32?

    func run() throws {
        try requireLoopback(host)
        let payload = [UInt8](repeating: 0x61, count: size)
        let report = BenchReport()
        let (host, port, path, connections, duration, pid) = (host, port, path, connections, duration, serverPid)
        let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))
        try withLoop { loop in
            var clients: [BenchClient] = []
            for _ in 0..<connections {
                if let c = try? BenchClient(loop: loop, host: host, port: port, path: path, mode: .echo(payload: payload), report: report) {
                    clients.append(c)
                }
            }
            let start = HubClock.monotonicNanoseconds
            _ = loop.scheduleTimer(afterMilliseconds: 1000) {
                report.reset()
                report.serverTicksAtStart = pid.flatMap { cpuTicks(pid: $0) }
            }
            _ = loop.scheduleTimer(afterMilliseconds: 1000 + Int(duration * 1000)) {
                let seconds = Double(HubClock.monotonicNanoseconds - start) / 1e9 - 1
                print(String(format: "echo: %d connections, %d-byte messages, %.1f s: %d round trips, %.0f msg/s, p50 %d µs, p99 %d µs, p99.9 %d µs, failed %d",
                             report.established, payload.count, seconds, report.messages, Double(report.messages) / seconds,
                             report.percentile(0.5), report.percentile(0.99), report.percentile(0.999), report.failed))
                if let pid, let t0 = report.serverTicksAtStart, let t1 = cpuTicks(pid: pid) {
                    let cpuSeconds = Double(t1 - t0) / ticksPerSecond
                    print(String(format: "server CPU: %.0f %% of one core, %.2f µs per round trip (receive + send)",
                                 100 * cpuSeconds / seconds, 1e6 * cpuSeconds / Double(max(1, report.messages))))
                }
                for c in clients { c.close() }
                loop.stop()
            }
        }
    }
}

struct Idle: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Open N idle WebSockets and report the server's memory per connection.")
    @Option var host = "127.0.0.1"
    @Option var port: Int
    @Option var path = "/echo"
    @Option(help: "Idle connections to hold.") var connections = 10_000
    @Option(help: "The hub's PID (its VmRSS is read from /proc).") var serverPid: Int32
    @Option(help: "Seconds to hold them before measuring.") var hold = 3.0

    func run() throws {
        try requireLoopback(host)
        Process.raiseFileLimit()
        guard let before = residentKiB(pid: serverPid) else { throw ValidationError("no process \(serverPid)") }
        let report = BenchReport()
        let (host, port, path, connections, hold, pid) = (host, port, path, connections, hold, serverPid)
        try withLoop { loop in
            var clients: [BenchClient] = []
            var opened = 0
            // Open in batches so the server's accept backlog is not the thing measured.
            func openBatch() {
                for _ in 0..<min(500, connections - opened) {
                    if let c = try? BenchClient(loop: loop, host: host, port: port, path: path, mode: .idle, report: report) { clients.append(c) }
                    opened += 1
                }
                if opened < connections { _ = loop.scheduleTimer(afterMilliseconds: 20) { openBatch() } }
            }
            openBatch()
            func check() {
                if report.established + report.failed < connections { _ = loop.scheduleTimer(afterMilliseconds: 100) { check() }; return }
                _ = loop.scheduleTimer(afterMilliseconds: Int(hold * 1000)) {
                    let after = residentKiB(pid: pid) ?? before
                    let per = Double(after - before) / Double(max(1, report.established))
                    print(String(format: "idle: %d established, %d failed; server RSS %d → %d KiB: %.2f KiB per idle WebSocket",
                                 report.established, report.failed, before, after, per))
                    for c in clients { c.close() }
                    loop.stop()
                }
            }
            check()
        }
    }
}
