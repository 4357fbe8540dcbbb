import Foundation
import Logging
import Testing

@testable import RuntimeNode

@Suite("Data directory lock")
struct DataDirectoryLockTests {
    @Test("a second node on a data directory is refused while the first holds it, and admitted once it lets go")
    func exclusive() async throws {
        let scratch = ScratchDirectory()
        defer { scratch.remove() }
        let first = try DataDirectoryLock(directory: scratch.path)
        #expect {
            _ = try DataDirectoryLock(directory: scratch.path)
        } throws: { error in
            "\(error)" == "another node is running with the data directory \(scratch.path); stop it first"
        }
        first.release()
        let second = try await whileLockLingers { try DataDirectoryLock(directory: scratch.path) }
        second.release()
        // Nothing was written into the directory.
        #expect(scratch.listing(scratch.path).isEmpty)
    }

    @Test("a node that fails to start after taking its socket removes the socket and lets go of the directory")
    func failedStartCleansUp() async throws {
        let scratch = ScratchDirectory()
        defer { scratch.remove() }
        let dataDir = scratch.path + "/data"
        // A valid genesis but a consensus store that is not a database: the start fails after
        // the control socket is bound, when the consensus opens.
        try FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true)
        try Localnet.genesisText(Localnet.genesis()).write(toFile: dataDir + "/genesis.yaml", atomically: true, encoding: .utf8)
        try String(repeating: "not a database ", count: 100).write(
            toFile: dataDir + "/local-consensus.sqlite", atomically: true, encoding: .utf8)
        let config = NodeConfig(dataDir: dataDir, metricsAddress: "")
        await #expect {
            _ = try await RuntimeNode.make(config: config, metrics: nil, logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
        } throws: { error in
            "\(error)".contains("local-consensus") || "\(error)".contains("database")
        }
        #expect(!FileManager.default.fileExists(atPath: dataDir + "/" + RuntimeNode.controlSocketName))
        let lock = try await whileLockLingers { try DataDirectoryLock(directory: dataDir) }
        lock.release()
    }
}

/// `body`, again while it fails because the data directory is still locked, for at most two
/// minutes. A lock is let go when its descriptor closes, but a process that this test process
/// spawns at that moment (tests run side by side) holds a copy of the descriptor from its fork
/// until its exec closes it (close-on-exec); under load that can take milliseconds. A lock
/// that is never let go still fails, at the bound.
func whileLockLingers<T>(_ body: () async throws -> T) async throws -> T {
    let deadline = ContinuousClock.now + .seconds(120)
    while true {
        do {
            return try await body()
        } catch let error where "\(error)".hasPrefix("another node is running with the data directory")
            && ContinuousClock.now < deadline
        {
            try await Task.sleep(for: .milliseconds(10))
        }
    }
}
