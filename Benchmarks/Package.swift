// swift-tools-version: 6.1
import Foundation
import PackageDescription

/// SwiftPM names a path dependency after its directory, which differs between checkouts
/// (a worktree, a CI clone), so the root package's identity is computed here.
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .lastPathComponent.lowercased()

// RHP benchmarks, kept out of the main package and its test suite. Build and run in release:
//   swift run -c release rhp-bench [--kv-runtime PATH] [--round-trips N] [--pipelined N]
let package = Package(
    name: "rhp-bench",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // The raw Unix-socket ping-pong every RHP number is compared with, measured in the same run.
        .target(name: "CUDSBaseline", cSettings: [.unsafeFlags(["-O2"])]),
        .executableTarget(
            name: "rhp-bench",
            dependencies: [
                "CUDSBaseline",
                .product(name: "RuntimeRegistry", package: root),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: [.enableUpcomingFeature("ExistentialAny")]
        ),
    ]
)
