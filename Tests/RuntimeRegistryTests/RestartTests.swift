import Foundation
import RuntimeRegistry
import Testing

/// A node stopped and started again over the same data directory.
@Suite("Registry restart", .timeLimit(.minutes(3)))
struct RestartTests {
    @Test("after a restart the chain continues at the same height and round, and the history has every round once")
    func restart() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("registry-restart-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let dataDir = root.path
        try FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true)
        let genesis = ConsensusGenesis(
            chainContext: "restart", blockInterval: .seconds(1), epochInterval: 3, runtimes: [computeDescriptor()])
        let options = RuntimeOptions(supported: [IDs.compute.description])

        // First run.
        var consensus = try LocalConsensus(genesis: genesis, directory: dataDir, logger: quietLogger)
        var registry = try await Registry.make(dataDir: dataDir, options: options, consensus: consensus, logger: quietLogger)
        for _ in 0..<5 { try await consensus.finalizeRound(runtimeID: IDs.compute, ioRoot: .empty, stateRoot: .empty) }
        // The node goes down: the registry first, so consensus's last block misses the history.
        await registry.cleanup()
        try await consensus.finalizeRound(runtimeID: IDs.compute, ioRoot: .empty, stateRoot: .empty)
        let height = consensus.height
        let latest = try await consensus.latestBlock(id: IDs.compute, height: 0)
        consensus.close()

        // Second run over the same directory.
        consensus = try LocalConsensus(genesis: genesis, directory: dataDir, logger: quietLogger)
        defer { consensus.close() }
        #expect(consensus.height == height)
        registry = try await Registry.make(dataDir: dataDir, options: options, consensus: consensus, logger: quietLogger)
        let history = try #require(try registry.runtime(IDs.compute).history)
        #expect(try await history.latestAnnotatedBlock() == latest)
        let next = try await consensus.finalizeRound(runtimeID: IDs.compute, ioRoot: .empty, stateRoot: .empty)
        #expect(next.consensusHeight > height)
        #expect(try await history.latestAnnotatedBlock() == next)
        let rounds = try await history.annotatedBlocks(after: nil, limit: 1000).map { $0.block!.header.round }
        #expect(rounds == Array(0...next.block!.header.round))
        await registry.cleanup()
    }
}
