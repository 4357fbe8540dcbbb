// swift-tools-version: 6.1
// Benchmarks for swift-runtime-registry. A separate package so the root's `swift test` never
// builds them; run them in release mode (scripts/bench).
import PackageDescription

let package = Package(
    name: "swift-runtime-registry-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "swift-runtime-registry", path: ".."),
    ],
    targets: [
        .target(name: "BenchSupport"),
        .executableTarget(
            name: "cbor-bench",
            dependencies: [
                "BenchSupport",
                .product(name: "RuntimeRegistry", package: "swift-runtime-registry"),
            ],
            resources: [.copy("cbor2_bench.py")]
        ),
    ]
)
