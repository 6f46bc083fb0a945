import ArgumentParser
import CallbackService
import Foundation

/// Callbacks into the engine (docs/callbacks.md).
struct CallbackOptions: ParsableArguments {
    @Option(help: "Base URL the hub writes into callback URLs and action links: its address as callers reach it (behind a proxy, with TLS). Default: the plain listener.")
    var publicUrl: String?
    @Option(help: "Job type of the HTTP custom activity. Default http-callback.") var callbackJobType: String?
    @Option(help: "Base URL for callbackEndpoint task headers that are paths (per-environment services).") var callbackBaseUrl: String?
    @Option(help: "Secret the callback URLs are derived from, 32+ characters (prefer AFFINITY_CALLBACK_SECRET). Default: generated and kept beside the durable log.")
    var callbackSecret: String?
    @Option(help: "Seconds a job waits for its callback unless its callbackTimeout header says otherwise. Default 86400.") var callbackTimeout: Int?
    @Option(help: "Seconds the endpoint has to acknowledge the hub's POST. Default 10.") var callbackRequestTimeout: Int?
    @Option(help: "Calls per second one address may make to callback URLs. Default 20.") var callbackRateLimit: Int?
    @Option(help: "PEM CA certificates to trust for https callback endpoints (default: the system's trust store).") var callbackCaFile: String?

    func configuration(_ s: Settings, defaultPublicURL: String) throws -> CallbackConfiguration {
        var publicURL = s.string("public-url", flag: publicUrl, default: defaultPublicURL)!
        while publicURL.hasSuffix("/") { publicURL.removeLast() }
        guard publicURL.hasPrefix("http://") || publicURL.hasPrefix("https://") else {
            throw ValidationError("--public-url must start with http:// or https://")
        }
        var c = CallbackConfiguration(publicURL: publicURL)
        c.jobType = s.string("callback-job-type", flag: callbackJobType, default: c.jobType)!
        c.endpointBaseURL = s.string("callback-base-url", flag: callbackBaseUrl, default: nil)
        c.callbackTimeout = .seconds(max(1, try s.int("callback-timeout", flag: callbackTimeout, default: 86_400)))
        c.requestTimeout = .seconds(max(1, try s.int("callback-request-timeout", flag: callbackRequestTimeout, default: 10)))
        c.perAddressPerSecond = max(1, try s.int("callback-rate-limit", flag: callbackRateLimit, default: c.perAddressPerSecond))
        c.caFile = s.string("callback-ca-file", flag: callbackCaFile, default: nil)
        return c
    }

    /// The configured secret; else one kept in `keptAt` (created once, 0600) so URLs issued
    /// before a restart still work after it; else (memory store) a fresh one per process.
    func secret(_ s: Settings, keptAt path: String?) throws -> [UInt8] {
        if let configured = s.string("callback-secret", flag: callbackSecret, default: nil) {
            guard configured.utf8.count >= 32 else { throw ValidationError("--callback-secret must be at least 32 characters") }
            return Array(configured.utf8)
        }
        guard let path else { return (0..<32).map { _ in UInt8.random(in: 0...255) } }
        if let existing = FileManager.default.contents(atPath: path) {
            guard existing.count >= 32 else { throw ValidationError("\(path) holds no usable callback secret (fewer than 32 bytes)") }
            return [UInt8](existing)
        }
        let fresh = (0..<32).map { _ in UInt8.random(in: 0...255) }
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw ValidationError("cannot create the callback secret \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        guard fresh.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == fresh.count, fsync(fd) == 0 else {
            throw ValidationError("cannot write the callback secret \(path): \(String(cString: strerror(errno)))")
        }
        return fresh
    }
}
