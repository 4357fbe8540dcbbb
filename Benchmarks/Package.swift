// swift-tools-version: 6.1
// Benchmarks live in their own package so `swift test` at the root never builds them.
// Run: cd Benchmarks && swift run -c release state-bench [--json]
import Foundation
import PackageDescription

/// SwiftPM names a path dependency after its folder, which differs between checkouts
/// (`main`, a worktree, CI's clone), so the root package's name is taken from the path.
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().lastPathComponent

let package = Package(
    name: "swift-runtime-registry-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // The raw-SQLite baseline: the same shapes through the sqlite3 C API, no Swift in between.
        .target(name: "CSQLiteBaseline", linkerSettings: [.linkedLibrary("sqlite3")]),
        .executableTarget(
            name: "state-bench",
            dependencies: [
                "CSQLiteBaseline",
                .product(name: "RuntimeState", package: root),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
    ]
)
