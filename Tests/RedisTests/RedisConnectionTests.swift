// RedisConnection against a real redis-server (Debian's, installed by scripts/install-deps.sh),
// started per test on a free loopback port with persistence off.
import Foundation
import Testing
import RESP
import Reactor
@testable import RedisClient

/// A redis-server child process on 127.0.0.1 (posix_spawn, then kill + waitpid: Foundation's
/// Process.waitUntilExit spins a run loop that never finishes inside a Swift Testing task).
final class RedisServer {
    let port: Int
    let pid: pid_t

    init() throws {
        for _ in 0..<20 {
            let port = Int.random(in: 20_000..<45_000)
            let args = ["/usr/bin/redis-server", "--port", String(port), "--bind", "127.0.0.1", "--save", "",
                        "--appendonly", "no", "--loglevel", "warning"]
            var pid: pid_t = 0
            var argv: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) } + [nil]
            defer { for a in argv { free(a) } }
            guard posix_spawn(&pid, args[0], nil, nil, &argv, environ) == 0 else { continue }
            for _ in 0..<150 {
                if Self.accepts(port) { self.port = port; self.pid = pid; return }
                var status: Int32 = 0
                if waitpid(pid, &status, WNOHANG) == pid { break }     // exited: the port was taken
                usleep(20_000)
            }
            kill(pid, SIGKILL)
            waitpid(pid, nil, 0)
        }
        throw POSIXError(.EADDRINUSE)
    }

    static func accepts(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }

    /// Stops it and reaps it (safe to call twice).
    func stop() {
        kill(pid, SIGKILL)
        waitpid(pid, nil, 0)
    }
}

/// A TCP listener on 127.0.0.1 that answers the first bytes it reads with `reply`, then holds the
/// connection open: a server that misbehaves in ways redis-server will not.
final class ScriptedServer: Sendable {
    let port: Int
    private let fd: Int32

    init(reply: [UInt8]) {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                _ = bind(listener, $0, length)
                _ = getsockname(listener, $0, &length)
            }
        }
        listen(listener, 4)
        fd = listener
        port = Int(UInt16(bigEndian: address.sin_port))
        Thread.detachNewThread {
            let client = accept(listener, nil, nil)
            var buffer = [UInt8](repeating: 0, count: 4096)
            _ = read(client, &buffer, buffer.count)
            _ = reply.withUnsafeBytes { write(client, $0.baseAddress, $0.count) }
            _ = read(client, &buffer, buffer.count)           // until the client hangs up
            close(client)
        }
    }

    deinit { close(fd) }
}

/// An event loop on its own thread for one test.
func withLoop<T: Sendable>(_ body: @escaping @Sendable (EventLoop, @escaping @Sendable (T) -> Void) -> Void) async throws -> T {
    let loop = try EventLoop(index: 7)
    let thread = Thread { loop.run() }
    thread.start()
    defer { loop.stop() }
    return await withCheckedContinuation { continuation in
        loop.execute { body(loop) { continuation.resume(returning: $0) } }
    }
}

func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

@Suite(.serialized) struct RedisConnectionAgainstRedisServer {
    @Test func commandsRoundTripAndErrorRepliesLeaveTheConnectionUsable() async throws {
        let server = try RedisServer()
        defer { server.stop() }
        let port = server.port
        let results: [Result<RESPValue, RedisError>] = try await withLoop { loop, done in
            let c = try! RedisConnection(loop: loop, host: "127.0.0.1", port: port)
            var got: [Result<RESPValue, RedisError>] = []
            c.send("PING") { got.append($0) }
            c.send([bytes("SET"), bytes("k"), [0, 13, 10, 255]]) { got.append($0) }
            c.send("GET", "k") { got.append($0) }
            c.send("INCR", "k") { got.append($0) }                      // not an integer: an error reply
            c.send("HSET", "h", "f", "1") { got.append($0) }
            c.send("HGETALL", "h") { got.append($0) }                    // a RESP3 map
            c.send("GET", "missing") { got.append($0); done(got); c.close() }
        }
        #expect(results[0] == .success(.simpleString("PONG")))
        #expect(results[1] == .success(.simpleString("OK")))
        #expect(results[2] == .success(.bulkString([0, 13, 10, 255])))
        guard case .failure(.server(let message)) = results[3] else { Issue.record("\(results[3])"); return }
        #expect(message.hasPrefix("ERR value is not an integer"))
        #expect(results[4] == .success(.integer(1)))
        #expect(results[5] == .success(.map([RESPPair(.bulkString(bytes("f")), .bulkString(bytes("1")))])))
        #expect(results[6] == .success(.null))
    }

    @Test func pipelinedRepliesComeBackInOrder() async throws {
        let server = try RedisServer()
        defer { server.stop() }
        let port = server.port
        let counts: [Int64] = try await withLoop { loop, done in
            let c = try! RedisConnection(loop: loop, host: "127.0.0.1", port: port)
            var got: [Int64] = []
            for i in 1...5_000 {
                c.send("INCR", "counter") { result in
                    if case .success(.integer(let n)) = result { got.append(n) }
                    if i == 5_000 { done(got); c.close() }
                }
            }
        }
        #expect(counts == Array(1...5_000))
    }

    @Test func shardedPubSubMessagesArriveAsPushes() async throws {
        let server = try RedisServer()
        defer { server.stop() }
        let port = server.port
        let pushes: [RESPValue] = try await withLoop { loop, done in
            let subscriber = try! RedisConnection(loop: loop, host: "127.0.0.1", port: port)
            let publisher = try! RedisConnection(loop: loop, host: "127.0.0.1", port: port)
            var got: [RESPValue] = []
            subscriber.onPush = { push in
                got.append(push)
                if got.count == 1 { publisher.send("SPUBLISH", "{order-42}:outcomes", "seq 1") { _ in } }
                if got.count == 2 { done(got); subscriber.close(); publisher.close() }
            }
            subscriber.sendWithoutReply([bytes("SSUBSCRIBE"), bytes("{order-42}:outcomes")])
        }
        #expect(pushes[0] == .push([.bulkString(bytes("ssubscribe")), .bulkString(bytes("{order-42}:outcomes")), .integer(1)]))
        #expect(pushes[1] == .push([.bulkString(bytes("smessage")), .bulkString(bytes("{order-42}:outcomes")), .bulkString(bytes("seq 1"))]))
    }

    @Test func aSilentServerTimesTheCommandOutAndFailsTheRest() async throws {
        let server = try RedisServer()
        defer { server.stop() }
        let port = server.port
        let results: [String] = try await withLoop { loop, done in
            let c = try! RedisConnection(loop: loop, host: "127.0.0.1", port: port, commandTimeoutMs: 300)
            var got: [String] = []
            c.onClosed = { [c] in got.append("closed: \($0)"); done(got); _ = c }   // holds c until it ends
            c.send("BLPOP", "nothing-here", "0") { got.append("\($0)") }   // blocks forever
            c.send("PING") { got.append("\($0)") }
        }
        #expect(results.count == 3)
        #expect(results[0] == "failure(RedisClient.RedisError.timedOut)")
        #expect(results[1].contains("connectionClosed"))
        #expect(results[2].hasPrefix("closed: no reply within 300 ms"))
    }

    @Test func aServerThatGoesAwayFailsWhatWaitsAndSaysSo() async throws {
        let server = try RedisServer()
        let (port, pid) = (server.port, server.pid)
        let results: [String] = try await withLoop { loop, done in
            let c = try! RedisConnection(loop: loop, host: "127.0.0.1", port: port)
            var got: [String] = []
            c.onClosed = { [c] in got.append("closed: \($0)"); done(got); _ = c }   // holds c until it ends
            c.send("PING") { _ in
                c.send("BLPOP", "nothing-here", "0") { got.append("\($0)") }
                kill(pid, SIGKILL)
            }
        }
        server.stop()
        #expect(results.count == 2)
        #expect(results[0].contains("connectionClosed"))
        #expect(results[1].hasPrefix("closed: "))

        // Nobody listening any more: the connect fails on the loop, and so does what was sent.
        let refused: [String] = try await withLoop { loop, done in
            let c = try! RedisConnection(loop: loop, host: "127.0.0.1", port: port)
            var got: [String] = []
            c.onClosed = { [c] in got.append("closed: \($0)"); done(got); _ = c }   // holds c until it ends
            c.send("PING") { got.append("\($0)") }
        }
        #expect(refused.count == 2)          // PING, then the close (HELLO fails silently: it closes)
        #expect(refused.first?.contains("connectionClosed") == true)
        #expect(refused.last?.contains("refused") == true)
    }

    /// What the codec refuses, or a reply nobody asked for, ends the connection with the reason,
    /// and every waiting command fails: the stream can no longer be trusted to be in step.
    @Test(arguments: [("?garbage\r\n", "does not parse"), ("$999999999999\r\n", "does not parse"),
                      ("+OK\r\n+OK\r\n+OK\r\n", "a reply nobody asked for")])
    func aMisbehavingServerIsCutOff(reply: String, reason: String) async throws {
        let server = ScriptedServer(reply: Array(reply.utf8))
        let port = server.port
        let results: [String] = try await withLoop { loop, done in
            let c = try! RedisConnection(loop: loop, host: "127.0.0.1", port: port)
            var got: [String] = []
            c.onClosed = { [c] in got.append("closed: \($0)"); done(got); _ = c }
            c.send("PING") { got.append("\($0)") }
        }
        #expect(results.last?.contains(reason) == true, "\(results)")
        #expect(results.count == 2 || reason == "a reply nobody asked for")
        _ = server
    }
}
