// swift-tools-version: 6.1
// Allocation counts on the hub's hot paths, measured with ordo-one/benchmark (malloc counting
// through its interposer). A separate package so the hub's own build never pays for the tool.
//   swift package --package-path Benchmarks benchmark                     (run, print the tables)
//   swift package --package-path Benchmarks benchmark thresholds check    (what CI runs)
// Counts are deterministic, so CI fails on any increase; times are printed, never checked.
import Foundation
import PackageDescription

/// The repository's folder name: the identity SwiftPM gives a path dependency.
let hubPackage = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("..").standardizedFileURL.lastPathComponent

let package = Package(
    name: "AffinityHubBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "HotPaths",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "HubCore", package: hubPackage),
                .product(name: "HubServer", package: hubPackage),
                .product(name: "HTTP1", package: hubPackage),
                .product(name: "WebSocket", package: hubPackage),
            ],
            path: "Benchmarks/HotPaths",
            swiftSettings: [.swiftLanguageMode(.v6)],
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]),
    ]
)
