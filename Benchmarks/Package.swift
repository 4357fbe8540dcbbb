// swift-tools-version: 6.1
// Benchmarks for swift-runtime-registry. A separate package so the root's `swift test` never
// builds them; run them in release mode (scripts/bench).
import PackageDescription

let package = Package(
    name: "swift-runtime-registry-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "swift-runtime-registry", path: ".."),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.3"),
    ],
    targets: [
        .target(name: "BenchSupport"),
        .executableTarget(
            name: "cbor-bench",
            dependencies: [
                "BenchSupport",
                .product(name: "RuntimeRegistry", package: "swift-runtime-registry"),
                .product(name: "ProcessTesting", package: "swift-runtime-registry"),
            ],
            resources: [.copy("cbor2_bench.py")]
        ),
        // The raw-SQLite baseline of state-bench: the same shapes through the sqlite3 C API.
        .target(name: "CSQLiteBaseline", linkerSettings: [.linkedLibrary("sqlite3")]),
        .executableTarget(
            name: "state-bench",
            dependencies: [
                "BenchSupport", "CSQLiteBaseline",
                .product(name: "RuntimeState", package: "swift-runtime-registry"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The raw Unix-socket ping-pong every RHP number is compared with, measured in the same run.
        .target(name: "CUDSBaseline", cSettings: [.unsafeFlags(["-O2"])]),
        .executableTarget(
            name: "rhp-bench",
            dependencies: [
                "BenchSupport", "CUDSBaseline",
                .product(name: "RuntimeRegistry", package: "swift-runtime-registry"),
                .product(name: "ProcessTesting", package: "swift-runtime-registry"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: [.enableUpcomingFeature("ExistentialAny")]
        ),
        // Spawn-to-started of the runtime host next to a raw C spawn + accept + handshake.
        .target(name: "CSpawnBaseline", cSettings: [.unsafeFlags(["-O2"])]),
        // The C child of host-bench's floor baseline: echoes one frame.
        .executableTarget(name: "child-ping", cSettings: [.unsafeFlags(["-O2"])]),
        .executableTarget(
            name: "host-bench",
            dependencies: [
                "BenchSupport", "CSpawnBaseline",
                .product(name: "RuntimeHosting", package: "swift-runtime-registry"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: [.enableUpcomingFeature("ExistentialAny")]
        ),
        // A registry with 64 runtimes on the embedded consensus: start time, memory, descriptor fan-out.
        .executableTarget(
            name: "registry-bench",
            dependencies: [
                "BenchSupport",
                .product(name: "RuntimeRegistry", package: "swift-runtime-registry"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: [.enableUpcomingFeature("ExistentialAny")]
        ),
        // Sustained localnet throughput: submit → check-tx → batch → execute → apply → block → history.
        .executableTarget(
            name: "node-bench",
            dependencies: [
                "BenchSupport", "CSQLiteBaseline",
                .product(name: "RuntimeNode", package: "swift-runtime-registry"),
                .product(name: "RuntimeRegistry", package: "swift-runtime-registry"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: [.enableUpcomingFeature("ExistentialAny")]
        ),
    ]
)
