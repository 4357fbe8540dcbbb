// swift-tools-version: 6.1
import PackageDescription

/// Settings every target of ours shares. Swift 6 language mode (complete concurrency
/// checking) is the default for tools-version 6.
let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let grdb = Target.Dependency.product(name: "GRDB", package: "GRDB.swift")
let logging = Target.Dependency.product(name: "Logging", package: "swift-log")
let metrics = Target.Dependency.product(name: "Metrics", package: "swift-metrics")
let lifecycle = Target.Dependency.product(name: "ServiceLifecycle", package: "swift-service-lifecycle")
let asyncAlgorithms = Target.Dependency.product(name: "AsyncAlgorithms", package: "swift-async-algorithms")
let nioCore = Target.Dependency.product(name: "NIOCore", package: "swift-nio")
let nioPosix = Target.Dependency.product(name: "NIOPosix", package: "swift-nio")

let package = Package(
    name: "swift-runtime-registry",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "RuntimeRegistry", targets: ["RuntimeRegistry"]),
        .executable(name: "kv-runtime", targets: ["kv-runtime"]),
        .executable(name: "runtime-node", targets: ["runtime-node"]),
        .library(name: "RuntimeNode", targets: ["RuntimeNode"]),
        // For Benchmarks/ (a separate package): the history without the rest of the node.
        .library(name: "RuntimeState", targets: ["RuntimeHistory", "ConsensusAPI", "OasisCommon", "OasisCBOR"]),
        // For Benchmarks/: hosting runtime binaries.
        .library(name: "RuntimeHosting", targets: ["RuntimeHost", "RuntimeHostProtocol", "OasisCommon"]),
        // For Benchmarks/: child processes started without Foundation's `Process` (see the target).
        .library(name: "ProcessTesting", targets: ["ProcessTesting"]),
        // For Fuzz/: every decoder of outside input, without hosting, storage or the node.
        .library(
            name: "RuntimeWireFormats",
            targets: ["OasisCBOR", "OasisCommon", "ConsensusAPI", "RuntimeHostProtocol", "LocalConsensus"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.3"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-async-algorithms", from: "1.1.4"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // Foundation: wire format and common types.
        .target(name: "OasisCBOR", swiftSettings: strict),
        .target(
            name: "OasisCommon",
            dependencies: [
                "OasisCBOR",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
            ],
            swiftSettings: strict
        ),
        .target(name: "ConsensusAPI", dependencies: ["OasisCBOR", "OasisCommon"], swiftSettings: strict),
        // The embedded single-node consensus: genesis, epochs, registrations, roothash blocks.
        .target(
            name: "LocalConsensus",
            dependencies: [
                "OasisCBOR", "OasisCommon", "ConsensusAPI", "RuntimeSQLite", grdb, logging, lifecycle,
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: strict),

        // Per-runtime state.
        .target(
            name: "RuntimeStorage", dependencies: ["OasisCBOR", "OasisCommon", "ConsensusAPI"],
            swiftSettings: strict),
        .target(
            name: "RuntimeStorageSQLite",
            dependencies: ["RuntimeStorage", "OasisCBOR", "OasisCommon", "ConsensusAPI", "RuntimeSQLite", grdb, logging],
            swiftSettings: strict),
        // Shared opening of the per-runtime SQLite stores (WAL, durability, runtime-id stamp).
        .target(name: "RuntimeSQLite", dependencies: ["OasisCommon", grdb], swiftSettings: strict),
        .target(
            name: "RuntimeHistory",
            dependencies: ["OasisCBOR", "OasisCommon", "ConsensusAPI", "RuntimeSQLite", grdb, logging, lifecycle],
            swiftSettings: strict),
        .target(
            name: "RuntimeLocalStorage", dependencies: ["OasisCommon", "RuntimeSQLite", grdb, logging],
            swiftSettings: strict),
        .target(
            name: "RuntimeTagIndexer",
            dependencies: [
                "OasisCBOR", "OasisCommon", "ConsensusAPI", "RuntimeHistory", "RuntimeStorage", "RuntimeSQLite", grdb,
                logging, lifecycle,
            ],
            swiftSettings: strict),

        // Runtime Host Protocol and the reference runtime.
        .target(
            name: "RuntimeHostProtocol",
            dependencies: [
                "OasisCBOR", "OasisCommon", "ConsensusAPI", "RuntimeStorage", nioCore, nioPosix, logging, metrics,
                lifecycle,
            ],
            swiftSettings: strict),
        // Hosting runtimes: processes, the bubblewrap + seccomp sandbox.
        .target(name: "CSandbox", linkerSettings: [.linkedLibrary("seccomp")]),
        .target(
            name: "RuntimeHost",
            dependencies: [
                "CSandbox", "OasisCommon", "OasisCBOR", "ConsensusAPI", "RuntimeStorage", "RuntimeHostProtocol", logging,
                metrics, lifecycle,
            ],
            swiftSettings: strict),
        // Test fixture: tries sandbox escapes and reports each attempt on stdout.
        .executableTarget(name: "sandbox-probe", dependencies: ["CSandbox"]),
        // Test fixture: a Swift program on the shared Swift runtime, to run in the sandbox.
        .executableTarget(name: "sandbox-swift-probe", swiftSettings: strict),
        // Test fixture: a runtime that exits after the handshake or never answers pings.
        .executableTarget(
            name: "host-fixture-runtime", dependencies: ["RuntimeHostProtocol", "OasisCommon", logging],
            swiftSettings: strict),
        .target(
            name: "RuntimeHostProtocolTesting",
            dependencies: ["RuntimeHostProtocol", "OasisCBOR", "OasisCommon", "ProcessTesting", logging],
            swiftSettings: strict),
        // Test support: child processes with chosen standard streams, without Foundation's `Process`.
        .target(name: "ProcessTesting", dependencies: ["CSandbox"], swiftSettings: strict),
        .executableTarget(
            name: "kv-runtime",
            dependencies: [
                "RuntimeHostProtocol", "RuntimeStorage", "OasisCBOR", "OasisCommon", "ConsensusAPI", nioPosix, logging,
            ],
            swiftSettings: strict),

        // The umbrella.
        .target(
            name: "RuntimeRegistry",
            dependencies: [
                "OasisCBOR", "OasisCommon", "ConsensusAPI", "RuntimeStorage", "RuntimeStorageSQLite",
                "RuntimeHistory", "RuntimeLocalStorage", "RuntimeTagIndexer", "RuntimeHostProtocol",
                "LocalConsensus", "RuntimeHost", logging, metrics, lifecycle,
            ],
            swiftSettings: strict
        ),

        // The daemon: configuration, wiring, the localnet executor, the control API, metrics.
        .target(
            name: "RuntimeNode",
            dependencies: [
                "RuntimeRegistry", nioCore, nioPosix, .product(name: "NIOHTTP1", package: "swift-nio"), logging, metrics,
                .product(name: "Prometheus", package: "swift-prometheus"), lifecycle,
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: strict),
        .executableTarget(
            name: "runtime-node",
            dependencies: [
                "RuntimeNode", "OasisCommon", .product(name: "ArgumentParser", package: "swift-argument-parser"), logging,
            ],
            swiftSettings: strict),

        .testTarget(
            name: "OasisCBORTests", dependencies: ["OasisCBOR", "ProcessTesting"], exclude: ["peers"], swiftSettings: strict),
        .testTarget(name: "ProcessTestingTests", dependencies: ["ProcessTesting"], swiftSettings: strict),
        .testTarget(name: "OasisCommonTests", dependencies: ["OasisCommon", "OasisCBOR"], swiftSettings: strict),
        .testTarget(
            name: "ConsensusAPITests", dependencies: ["ConsensusAPI", "OasisCBOR", "OasisCommon"],
            swiftSettings: strict),
        .testTarget(
            name: "RuntimeRegistryTests",
            dependencies: [
                "RuntimeRegistry", logging, metrics, .product(name: "MetricsTestKit", package: "swift-metrics"), lifecycle,
            ],
            swiftSettings: strict),
        .testTarget(
            name: "LocalConsensusTests",
            dependencies: [
                "LocalConsensus", "RuntimeHistory", "ConsensusAPI", "OasisCommon", "OasisCBOR", grdb, logging,
                lifecycle,
            ],
            swiftSettings: strict),
        .testTarget(
            name: "RuntimeStorageTests",
            dependencies: [
                "RuntimeStorage", "RuntimeStorageSQLite", "ConsensusAPI", "OasisCommon", "OasisCBOR", grdb, logging,
            ],
            swiftSettings: strict),
        // Commits rounds until killed; the durability test SIGKILLs it.
        .executableTarget(
            name: "history-crash-writer", dependencies: ["RuntimeHistory", "ConsensusAPI", "OasisCommon", logging],
            swiftSettings: strict),
        .testTarget(
            name: "RuntimeHistoryTests",
            dependencies: [
                "RuntimeHistory", "RuntimeLocalStorage", "RuntimeTagIndexer", "RuntimeStorage", "RuntimeSQLite",
                "ConsensusAPI", "OasisCommon", "OasisCBOR", "ProcessTesting", "history-crash-writer", grdb, logging, lifecycle,
            ],
            swiftSettings: strict),
        .testTarget(
            name: "RuntimeHostTests",
            dependencies: [
                "RuntimeHost", "sandbox-probe", "sandbox-swift-probe", "CSandbox", "kv-runtime", "host-fixture-runtime",
                "RuntimeHostProtocol", "ConsensusAPI", "OasisCommon", "OasisCBOR", "RuntimeStorage", logging, lifecycle,
                .product(name: "MetricsTestKit", package: "swift-metrics"),
            ],
            swiftSettings: strict),
        .testTarget(
            name: "RuntimeHostProtocolTests",
            dependencies: [
                "RuntimeHostProtocol", "RuntimeHostProtocolTesting", "ProcessTesting", "ConsensusAPI", "OasisCommon", "OasisCBOR",
                "RuntimeStorage", "RuntimeHost", "kv-runtime", logging, nioCore, nioPosix,
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "InMemoryLogging", package: "swift-log"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
            ],
            exclude: ["peers"],
            swiftSettings: strict),
        .testTarget(
            name: "RuntimeNodeTests",
            dependencies: [
                "RuntimeNode", "RuntimeRegistry", "ProcessTesting", "runtime-node", "kv-runtime", "host-fixture-runtime", logging,
                lifecycle,
                nioCore, nioPosix, grdb,
            ],
            swiftSettings: strict),
    ]
)
