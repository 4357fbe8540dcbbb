// swift-tools-version: 6.1
import PackageDescription

/// Settings every target of ours shares: Swift 6 language mode is the default for
/// tools-version 6; these add the upcoming features we rely on.
let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "swift-runtime-registry",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "RuntimeRegistry", targets: ["RuntimeRegistry"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
    ],
    targets: [
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
        .target(
            name: "RuntimeRegistry",
            dependencies: ["OasisCBOR", "OasisCommon", "ConsensusAPI"],
            swiftSettings: strict
        ),

        .testTarget(name: "OasisCBORTests", dependencies: ["OasisCBOR"], swiftSettings: strict),
        .testTarget(name: "OasisCommonTests", dependencies: ["OasisCommon"], swiftSettings: strict),
        .testTarget(name: "ConsensusAPITests", dependencies: ["ConsensusAPI"], swiftSettings: strict),
    ]
)
