// swift-tools-version: 6.1
// libFuzzer targets for swift-runtime-registry: every decoder of input that comes from outside
// the node. A separate package so the root's `swift build` and `swift test` never build them;
// build and run one with scripts/fuzz (docs/FUZZING.md).
import PackageDescription

/// Each target's `main` is a Swift `@main` that starts libFuzzer (FuzzSupport). The sanitizer
/// flags come from scripts/fuzz, because the library modules under test must be instrumented too.
let fuzzTarget: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let wire = Target.Dependency.product(name: "RuntimeWireFormats", package: "swift-runtime-registry")
let support = Target.Dependency.target(name: "FuzzSupport")

let package = Package(
    name: "swift-runtime-registry-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "swift-runtime-registry", path: ".."),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // `LLVMFuzzerRunDriver`, which Swift cannot declare by itself.
        .target(name: "CLibFuzzerDriver"),
        .target(name: "FuzzSupport", dependencies: ["CLibFuzzerDriver"], swiftSettings: fuzzTarget),
        // An RHP `Message` from a frame payload: the Codable path, the direct envelope path,
        // and re-encoding whatever decodes.
        .executableTarget(name: "fuzz-cbor-message", dependencies: [wire, support], swiftSettings: fuzzTarget),
        // A runtime descriptor from CBOR (then its validation), and raw `CBORValue` parsing.
        .executableTarget(name: "fuzz-cbor-descriptor", dependencies: [wire, support], swiftSettings: fuzzTarget),
        // The genesis document (YAML or JSON) and a runtime descriptor from JSON.
        .executableTarget(name: "fuzz-genesis", dependencies: [wire, support], swiftSettings: fuzzTarget),
        // The RHP frame decoder in a channel pipeline, fed the input in chunks.
        .executableTarget(
            name: "fuzz-rhp-frame",
            dependencies: [
                wire, support, .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ],
            swiftSettings: fuzzTarget),
        // A line of a runtime's output read as a JSON log record.
        .executableTarget(
            name: "fuzz-runtime-log",
            dependencies: [
                support, .product(name: "RuntimeHosting", package: "swift-runtime-registry"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: fuzzTarget),
        // The node's YAML configuration file and command-line flags.
        .executableTarget(
            name: "fuzz-config",
            dependencies: [support, .product(name: "RuntimeNode", package: "swift-runtime-registry")],
            swiftSettings: fuzzTarget),
    ]
)
