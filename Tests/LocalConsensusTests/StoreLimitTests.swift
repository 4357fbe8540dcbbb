import ConsensusAPI
import Foundation
import GRDB
import LocalConsensus
import OasisCommon
import Testing

/// The limits of the state file and of the genesis values that feed it: rounds, heights and
/// timestamps that do not fit in SQLite's signed 64-bit integers, and a stored chain that does
/// not match the genesis document.
@Suite("Local consensus limits", .timeLimit(.minutes(3)))
struct StoreLimitTests {
    func runtime(round: UInt64) -> RuntimeDescriptor {
        var runtime = computeRuntime()
        runtime.genesis.round = round
        return runtime
    }

    /// Runs `sql` on the state file in `dir`, as a damaged or hand-edited file would have it.
    func edit(_ dir: String, _ sql: String) throws {
        let queue = try DatabaseQueue(path: dir + "/local-consensus.sqlite")
        try queue.write { try $0.execute(sql: sql) }
        try queue.close()
    }

    @Test(
        "a genesis round that leaves no room for later rounds is refused",
        arguments: [UInt64(Int64.max), UInt64(Int64.max) + 1, UInt64.max])
    func genesisRoundTooLarge(round: UInt64) throws {
        let expected = LocalConsensusError.invalidGenesis(
            "runtime \(computeID) has genesis round \(round), which leaves no room for later rounds; "
                + "it must be below \(Int64.max)")
        #expect(throws: expected) { try genesis(runtimes: [runtime(round: round)]).validate() }
        try genesis(runtimes: [runtime(round: UInt64(Int64.max) - 1)]).validate()
    }

    @Test("registering a runtime whose genesis round leaves no room is refused")
    func registeredRoundTooLarge() async throws {
        try await withTemporaryDirectory { dir in
            let consensus = try LocalConsensus(genesis: genesis(runtimes: []), directory: dir, logger: quiet)
            defer { consensus.close() }
            await #expect(
                throws: LocalConsensusError.invalidRegistration(
                    "runtime \(computeID) has genesis round \(UInt64.max), which leaves no room for later rounds; "
                        + "it must be below \(Int64.max)")
            ) {
                try await consensus.registerRuntime(runtime(round: .max))
            }
            #expect(consensus.height == 1)
        }
    }

    @Test("a round above Int64.max is refused by the store; the chain keeps its latest block across a restart")
    func roundAboveInt64MaxRefused() async throws {
        try await withTemporaryDirectory { dir in
            let chain = genesis(epochInterval: 2, runtimes: [runtime(round: UInt64(Int64.max) - 1)])
            var consensus = try LocalConsensus(genesis: chain, directory: dir, logger: quiet)
            try await consensus.advanceBlock()  // height 2: epoch transition, round Int64.max
            try await consensus.advanceBlock()  // height 3
            let latest = try await consensus.latestBlock(id: computeID, height: 0)
            #expect(latest.block?.header.round == UInt64(Int64.max))
            // Height 4 is an epoch transition that would need round 2^63.
            do {
                try await consensus.advanceBlock()
                Issue.record("round \(UInt64(Int64.max) + 1) was written")
            } catch let error as LocalConsensusError {
                guard case .store(let why) = error else { throw error }
                #expect(why.contains("reached round \(UInt64(Int64.max) + 1)"))
            }
            #expect(consensus.height == 3)
            consensus.close()

            consensus = try LocalConsensus(genesis: chain, directory: dir, logger: quiet)
            defer { consensus.close() }
            #expect(consensus.height == 3)
            #expect(try await consensus.latestBlock(id: computeID, height: 0) == latest)
        }
    }

    @Test("a genesis_time above Int64.max is refused")
    func genesisTimeTooLarge() {
        var chain = genesis()
        chain.genesisTime = .max
        #expect(throws: LocalConsensusError.invalidGenesis("genesis_time must be at most \(Int64.max) (got \(UInt64.max))")) {
            try chain.validate()
        }
        #expect(throws: LocalConsensusError.self) {
            try ConsensusGenesis.parse(Data("{block_interval: 1s, epoch_interval: 2, genesis_time: \(UInt64.max)}".utf8))
        }
    }

    @Test("a block timestamp beyond Int64.max refuses the step instead of trapping")
    func timestampOverflowRefused() async throws {
        try await withTemporaryDirectory { dir in
            var chain = genesis(epochInterval: 2)
            chain.genesisTime = UInt64(Int64.max)
            let consensus = try LocalConsensus(genesis: chain, directory: dir, logger: quiet)
            defer { consensus.close() }
            // Height 2 is an epoch transition, whose block is stamped one interval later.
            do {
                try await consensus.advanceBlock()
                Issue.record("a timestamp above \(Int64.max) was made")
            } catch let error as LocalConsensusError {
                guard case .invalidGenesis(let why) = error else { throw error }
                #expect(why.contains("block timestamp of height 2"))
            }
            #expect(consensus.height == 1)
        }
    }

    @Test(
        "a stored height the chain cannot have written is refused as a corrupted store",
        arguments: [Int64.min, -5, 0, Int64.max])
    func corruptedHeight(height: Int64) async throws {
        try await withTemporaryDirectory { dir in
            try LocalConsensus(genesis: genesis(), directory: dir, logger: quiet).close()
            try edit(dir, "UPDATE chain SET height = \(height)")
            do {
                let consensus = try LocalConsensus(genesis: genesis(), directory: dir, logger: quiet)
                consensus.close()
                Issue.record("height \(height) was accepted")
            } catch let error as LocalConsensusError {
                guard case .store(let why) = error else { throw error }
                #expect(why.contains("is corrupted: its height is \(height)"))
                #expect(why.contains("restore it from a backup, or remove it"))
            }
        }
    }

    @Test(
        "a stored value of another type than its column's is refused as a corrupted store, naming the column",
        arguments: [
            ("UPDATE chain SET height = 'abc'", "its column height holds the text 'abc', not an integer"),
            ("UPDATE chain SET epoch = x'00'", "its column epoch holds a 1-byte blob, not an integer"),
            ("UPDATE chain SET schema_version = 1.5", "its column schema_version holds the real 1.5, not an integer"),
            ("UPDATE runtimes SET sequence = 'first'", "its column sequence holds the text 'first', not an integer"),
            ("UPDATE blocks SET round = 'latest'", "its column round holds the text 'latest', not an integer"),
            ("UPDATE blocks SET block = 7", "its column block holds the integer 7, not a blob"),
        ])
    func storedValueOfAnotherType(sql: String, expected: String) async throws {
        try await withTemporaryDirectory { dir in
            try LocalConsensus(genesis: genesis(), directory: dir, logger: quiet).close()
            try edit(dir, sql)
            do {
                let consensus = try LocalConsensus(genesis: genesis(), directory: dir, logger: quiet)
                consensus.close()
                Issue.record("\(sql) was accepted")
            } catch let error as LocalConsensusError {
                guard case .store(let why) = error else { throw error }
                #expect(why.contains("is corrupted: \(expected)"), "\(why)")
                #expect(why.contains("restore it from a backup, or remove it"))
            }
        }
    }

    @Test("a stored negative round (an older version's bit-cast round above Int64.max) is refused")
    func corruptedRound() async throws {
        try await withTemporaryDirectory { dir in
            try LocalConsensus(genesis: genesis(), directory: dir, logger: quiet).close()
            try edit(dir, "UPDATE blocks SET round = \(Int64.min)")
            #expect(throws: LocalConsensusError.self) {
                try LocalConsensus(genesis: genesis(), directory: dir, logger: quiet)
            }
        }
    }

    @Test("a restart with another epoch_interval is refused, so the epoch never goes backwards")
    func changedEpochInterval() async throws {
        try await withTemporaryDirectory { dir in
            var consensus = try LocalConsensus(genesis: genesis(epochInterval: 3), directory: dir, logger: quiet)
            for _ in 0..<6 { try await consensus.advanceBlock() }  // height 7, epoch 2
            #expect(consensus.epoch == EpochTime(2))
            consensus.close()

            // Same chain context, five blocks per epoch: height 8 would be epoch 1.
            do {
                consensus = try LocalConsensus(genesis: genesis(epochInterval: 5), directory: dir, logger: quiet)
                consensus.close()
                Issue.record("a changed epoch_interval was accepted")
            } catch let error as LocalConsensusError {
                guard case .invalidGenesis(let why) = error else { throw error }
                #expect(why.contains("epoch_interval 5 does not match the chain stored in"))
                #expect(why.contains("a changed genesis needs a fresh consensus directory"))
            }

            // The original genesis still opens it where it was.
            consensus = try LocalConsensus(genesis: genesis(epochInterval: 3), directory: dir, logger: quiet)
            defer { consensus.close() }
            #expect(consensus.height == 7)
            #expect(consensus.epoch == EpochTime(2))
        }
    }

    @Test("a restart with a runtime added to the genesis is refused, instead of never registering it")
    func addedGenesisRuntime() async throws {
        try await withTemporaryDirectory { dir in
            var consensus = try LocalConsensus(genesis: genesis(), directory: dir, logger: quiet)
            try await consensus.advanceBlock()
            consensus.close()

            let added = Namespace.test(seed: "added later")
            do {
                consensus = try LocalConsensus(
                    genesis: genesis(runtimes: [computeRuntime(), computeRuntime(added)]), directory: dir, logger: quiet)
                consensus.close()
                Issue.record("a runtime added to the genesis was accepted and would never be registered")
            } catch let error as LocalConsensusError {
                guard case .invalidGenesis(let why) = error else { throw error }
                #expect(why.hasPrefix("runtime \(added) is in the genesis document but not in the chain stored in"))
                #expect(why.contains("a changed genesis needs a fresh consensus directory"))
            }

            // A genesis without it opens the chain, as one must for runtimes registered after genesis.
            consensus = try LocalConsensus(genesis: genesis(runtimes: []), directory: dir, logger: quiet)
            defer { consensus.close() }
            #expect(consensus.height == 2)
        }
    }

    @Test(
        "a restart with another block_interval or genesis_time is refused, so block timestamps never go back",
        arguments: [(UInt64(1_700_000_000), Duration.milliseconds(500)), (UInt64(1_600_000_000), Duration.seconds(1))])
    func changedBlockTiming(genesisTime: UInt64, blockInterval: Duration) async throws {
        func timed(_ time: UInt64, _ interval: Duration) -> ConsensusGenesis {
            ConsensusGenesis(
                chainContext: "test-chain", genesisTime: time, blockInterval: interval, epochInterval: 3,
                runtimes: [computeRuntime()])
        }
        try await withTemporaryDirectory { dir in
            var consensus = try LocalConsensus(genesis: timed(1_700_000_000, .seconds(1)), directory: dir, logger: quiet)
            for _ in 0..<6 { try await consensus.advanceBlock() }  // height 7; the last epoch block at height 6
            consensus.close()

            do {
                consensus = try LocalConsensus(genesis: timed(genesisTime, blockInterval), directory: dir, logger: quiet)
                consensus.close()
                Issue.record("a changed genesis_time or block_interval was accepted")
            } catch let error as LocalConsensusError {
                guard case .invalidGenesis(let why) = error else { throw error }
                #expect(why.hasPrefix(
                    "genesis_time \(genesisTime) and block_interval \(GoDuration.compactText(blockInterval)) "
                        + "do not match the chain stored in"), "\(why)")
                #expect(why.contains("block at height 6 has timestamp 1700000005 there"), "\(why)")
                #expect(why.contains("a changed genesis needs a fresh consensus directory"))
            }

            // The original genesis still opens it where it was.
            consensus = try LocalConsensus(genesis: timed(1_700_000_000, .seconds(1)), directory: dir, logger: quiet)
            defer { consensus.close() }
            #expect(consensus.height == 7)
        }
    }
}
