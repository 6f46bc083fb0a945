// swift-tools-version:6.0
// The folder tree is the architecture; dependencies point down:
//   C shims → HubBytes → pure codecs (HTTP1, WebSocket) and HubCore → Reactor → TLS → HubServer → affinity-hub
// A pure codec target lists no Reactor dependency, so it cannot import one.
import PackageDescription

let strict: [SwiftSetting] = [.swiftLanguageMode(.v6)]

let package = Package(
    name: "AffinityHub",
    products: [
        .executable(name: "affinity-hub", targets: ["affinity-hub"]),
        .executable(name: "affinity-demo", targets: ["affinity-demo"]),
        .library(name: "HTTP1", targets: ["HTTP1"]),
        .library(name: "WebSocket", targets: ["WebSocket"]),
        .library(name: "AffinityClient", targets: ["AffinityClient", "CamundaClient", "HubBytes"]),
        .library(name: "CamundaClient", targets: ["CamundaClient", "HubBytes"]),
        // The hub's core and server, for embedding and for the allocation benchmarks (Benchmarks/).
        .library(name: "HubCore", targets: ["HubCore", "HubBytes"]),
        .library(name: "HubServer", targets: ["HubServer"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        // The metrics facade (libraries record, the application chooses the backend) and its
        // Prometheus backend for the hub's /metrics.
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // Linux syscalls Swift cannot call comfortably (packed epoll_event, variadic fcntl).
        .target(name: "CSystemShims"),
        // The system's OpenSSL 3 (libssl-dev) and zlib (zlib1g-dev); static-inline shims for macros.
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl",
                       providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib",
                       providers: [.apt(["zlib1g-dev"])]),

        // Byte utilities with no I/O: SHA-1, base64, UTF-8 validation, refcounted output chunks.
        .target(name: "HubBytes", swiftSettings: strict),
        // Pure protocol codecs: bytes in, values or actions out. No sockets.
        .target(name: "HTTP1", dependencies: ["HubBytes"], swiftSettings: strict),
        .target(name: "WebSocket", dependencies: ["HubBytes", "HTTP1", "CZlib"], swiftSettings: strict),

        // RESP3, the Redis protocol: an incremental parser and an encoder. Pure (the scale-out store's codec).
        .target(name: "RESP", swiftSettings: strict),

        // The hub's state machine: keys, outcomes, retention, subscriptions, acks. Pure: time is passed in.
        .target(name: "HubCore", dependencies: ["HubBytes"], swiftSettings: strict),

        // Publisher API keys and HS256 subscription tokens (HMAC from the system's OpenSSL).
        .target(name: "Auth", dependencies: ["HubBytes", "COpenSSL"], swiftSettings: strict),
        // The embedded dev engine: BPMN subset, FEEL subset, jobs, messages, incidents. Pure (time passed in).
        .target(name: "DevEngine", dependencies: ["HubBytes"], swiftSettings: strict),
        // The durable outcome store: an append-only log with group commit (file I/O, no sockets).
        .target(name: "OutcomeLog", dependencies: ["HubCore", "HubBytes", "CZlib", .product(name: "Logging", package: "swift-log")],
                swiftSettings: strict),

        // The epoll reactor: event loops, sockets, timers, the transport seam.
        .target(name: "Reactor", dependencies: ["CSystemShims", "HubBytes"], swiftSettings: strict),
        // TLS decorates a TCP socket behind the reactor's transport protocol.
        .target(name: "TLS", dependencies: ["Reactor", "COpenSSL", "HubBytes"], swiftSettings: strict),
        // Wiring: connections speaking HTTP/1.1 and WebSocket over the reactor.
        .target(name: "HubServer",
                dependencies: ["Reactor", "TLS", "HTTP1", "WebSocket", "HubBytes", "HubCore", "Auth",
                               .product(name: "Logging", package: "swift-log"), .product(name: "Metrics", package: "swift-metrics")],
                swiftSettings: strict),
        // Outgoing HTTP/1.1 and WebSocket on the reactor, for the engine client and the hub client.
        .target(name: "HTTPClient", dependencies: ["Reactor", "TLS", "HTTP1", "WebSocket", "HubBytes", "CSystemShims"], swiftSettings: strict),
        // A Redis connection on the reactor (RESP3, pipelined, pushes): the scale-out store's transport.
        .target(name: "RedisClient", dependencies: ["RESP", "HTTPClient", "Reactor", "TLS", "HubBytes"], swiftSettings: strict),
        // Scale-out: the hub's outcomes in Redis, shared by every node (atomic Lua publish, sharded
        // pub/sub per key, gap fill, reconnect with back-off).
        .target(name: "RedisStore", dependencies: ["RedisClient", "RESP", "HTTPClient", "HubServer", "HubCore", "HubBytes", "Reactor", "TLS",
                                                   .product(name: "Logging", package: "swift-log")], swiftSettings: strict),
        // Camunda 8 REST API v2 client (async/await) with none/basic/OAuth auth and safe retries.
        .target(name: "CamundaClient", dependencies: ["HTTPClient", "HTTP1", "HubBytes", "Reactor", .product(name: "Metrics", package: "swift-metrics")],
                swiftSettings: strict),
        // The hub's outcome worker: publish-outcome jobs → stored, delivered outcomes → completed jobs.
        .target(name: "OutcomeWorker", dependencies: ["CamundaClient", "HubServer", "HubCore", "HubBytes",
                                                      .product(name: "Logging", package: "swift-log")], swiftSettings: strict),
        // The client library: a hub connection that resumes, outcome waits and callbacks, and
        // "start an instance and await its outcome" on the engine client.
        .target(name: "AffinityClient", dependencies: ["HTTPClient", "CamundaClient", "HubBytes", "Auth", "Reactor",
                                                       .product(name: "Metrics", package: "swift-metrics")], swiftSettings: strict),
        // Callbacks into the engine, pure: capability tokens, callback records, what each call means.
        .target(name: "Callbacks", dependencies: ["HubBytes", "HubCore", "Auth"], swiftSettings: strict),
        // The HTTP custom-activity contract served by the hub: the http-callback worker and the callback URLs.
        .target(name: "CallbackService", dependencies: ["Callbacks", "CamundaClient", "HTTPClient", "HubServer", "HubCore", "HubBytes",
                                                        "HTTP1", "Reactor", .product(name: "Logging", package: "swift-log")],
                swiftSettings: strict),
        // The dev engine's REST v2 subset, served by the hub's own HTTP layer.
        .target(name: "Webhooks", dependencies: ["HubBytes", "HubCore", "Auth"], swiftSettings: strict),
        .target(name: "WebhookService", dependencies: ["Webhooks", "HTTPClient", "HubServer", "HubCore", "HubBytes", "HTTP1", "Auth", "Reactor",
                                                       .product(name: "Logging", package: "swift-log"), .product(name: "Metrics", package: "swift-metrics")],
                swiftSettings: strict),
        .target(name: "DevEngineServer", dependencies: ["DevEngine", "HubServer", "Auth", "HTTP1", "HubBytes", "Reactor"], swiftSettings: strict),
        .executableTarget(name: "affinity-hub",
                          dependencies: ["HubServer", "HubCore", "OutcomeLog", "Auth", "OutcomeWorker", "CamundaClient", "DevEngineServer", "DevEngine",
                                         "Callbacks", "CallbackService", "WebhookService", "Webhooks", "RedisStore",
                                         .product(name: "ArgumentParser", package: "swift-argument-parser"),
                                         .product(name: "Metrics", package: "swift-metrics"), .product(name: "Prometheus", package: "swift-prometheus"),
                                         .product(name: "Logging", package: "swift-log")],
                          swiftSettings: strict),

        // The order-fulfilment demo: REST server + service-task workers (demo/README.md).
        .executableTarget(name: "affinity-demo",
                          dependencies: ["AffinityClient", "CamundaClient", "HubServer", "HubBytes", "HTTP1", "HTTPClient", "Reactor",
                                         .product(name: "ArgumentParser", package: "swift-argument-parser"),
                                         .product(name: "Logging", package: "swift-log")],
                          swiftSettings: strict),

        .testTarget(name: "HubBytesTests", dependencies: ["HubBytes"], swiftSettings: strict),
        .testTarget(name: "RedisTests", dependencies: ["RESP", "RedisClient", "RedisStore", "HubServer", "HubCore", "Reactor"], swiftSettings: strict),
        .testTarget(name: "HTTP1Tests", dependencies: ["HTTP1"], swiftSettings: strict),
        .testTarget(name: "WebSocketTests", dependencies: ["WebSocket", "HTTP1"], swiftSettings: strict),
        .testTarget(name: "HubCoreTests", dependencies: ["HubCore", "HubBytes", "OutcomeLog", .product(name: "Logging", package: "swift-log")],
                    swiftSettings: strict),
        .testTarget(name: "DevEngineTests", dependencies: ["DevEngine", "HubBytes"], swiftSettings: strict),
        // The clients against the dev engine and the hub, in-process over loopback.
        .testTarget(name: "EngineClientTests",
                    dependencies: ["CamundaClient", "AffinityClient", "HTTPClient", "DevEngineServer", "DevEngine", "HubServer", "HubCore",
                                   "HubBytes", "HTTP1", "Auth", "OutcomeWorker", .product(name: "Logging", package: "swift-log")],
                    swiftSettings: strict),
        .testTarget(name: "AuthTests", dependencies: ["Auth"], swiftSettings: strict),
        .testTarget(name: "CallbacksTests", dependencies: ["Callbacks", "CallbackService", "HubCore", "HubBytes"], swiftSettings: strict),
        .testTarget(name: "WebhooksTests", dependencies: ["Webhooks", "HubCore", "HubBytes", "Auth"], swiftSettings: strict),
        .testTarget(name: "ReactorTests", dependencies: ["Reactor", "HubServer", .product(name: "MetricsTestKit", package: "swift-metrics")], swiftSettings: strict),
    ]
)
