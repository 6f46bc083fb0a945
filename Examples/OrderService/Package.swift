// swift-tools-version: 6.0
// An application that uses AffinityHub's client library as a dependency, the way docs/clients.md
// tells users to: CI builds it and runs it against a hub, so the documented manifest and snippets
// stay true. Here the dependency is this repository by path; an application writes
//   .package(url: "https://github.com/<owner>/affinity-hub.git", branch: "main")
// and `package: "affinity-hub"` (SwiftPM names a dependency after the last part of its URL or path).
import Foundation
import PackageDescription

/// The repository's folder name: the identity SwiftPM gives a path dependency.
let hubPackage = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardizedFileURL.lastPathComponent

let package = Package(
    name: "OrderService",
    platforms: [.macOS(.v15)],
    dependencies: [.package(path: "../..")],
    targets: [
        .executableTarget(
            name: "OrderService",
            dependencies: [
                .product(name: "AffinityClient", package: hubPackage),
                .product(name: "CamundaClient", package: hubPackage),
            ],
            resources: [.copy("order.bpmn")],
            swiftSettings: [.swiftLanguageMode(.v6)]),
    ]
)
