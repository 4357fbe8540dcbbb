import ConsensusAPI
import Foundation
import LocalConsensus
import Logging
import OasisCommon
import RuntimeHistory
import ServiceLifecycle
import Synchronization
import Testing

let quiet = Logger(label: "local-consensus-tests") { _ in SwiftLogNoOpLogHandler() }
let computeID = try! Namespace(hex: "8000000000000000000000000000000000000000000000000000000000000000")
let otherID = try! Namespace(hex: "8000000000000000000000000000000000000000000000000000000000000002")
let keyManagerID = try! Namespace(hex: "c000000000000000000000000000000000000000000000000000000000000001")

/// A compute runtime that passes validation (the descriptor of oasis-core's genesis test).
func computeRuntime(_ id: Namespace = computeID, roundTimeout: Int64 = 20) -> RuntimeDescriptor {
    RuntimeDescriptor(
        descriptorVersion: 2, id: id, entityID: PublicKey.filled(lastByte: 5), genesis: RuntimeGenesis(stateRoot: .empty),
        kind: .compute,
        executor: ExecutorParameters(groupSize: 1, groupBackupSize: 0, allowedStragglers: 0, roundTimeout: roundTimeout),
        txnScheduler: TxnSchedulerParameters(
            algorithm: "simple", batchFlushTimeout: .seconds(1), maxBatchSize: 1, maxBatchSizeBytes: 1024,
            proposerTimeout: 20),
        storage: StorageParameters(groupSize: 1, minWriteReplication: 1, maxApplyWriteLogEntries: 100_000, maxApplyOps: 2),
        admissionPolicy: RuntimeAdmissionPolicy(anyNode: AnyNodeRuntimeAdmissionPolicy()), governanceModel: .entity)
}

func keyManagerRuntime() -> RuntimeDescriptor {
    RuntimeDescriptor(
        descriptorVersion: 2, id: keyManagerID, entityID: PublicKey.filled(lastByte: 5),
        genesis: RuntimeGenesis(stateRoot: .empty), kind: .keyManager,
        admissionPolicy: RuntimeAdmissionPolicy(anyNode: AnyNodeRuntimeAdmissionPolicy()), governanceModel: .entity)
}

extension PublicKey {
    static func filled(lastByte: UInt8) -> PublicKey {
        var bytes = [UInt8](repeating: 0, count: 32)
        bytes[31] = lastByte
        return PublicKey(raw: Bytes32(bytes)!)
    }
}

func withTemporaryDirectory<T>(_ body: (String) async throws -> T) async throws -> T {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("lc-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: url) }
    return try await body(url.path)
}

func genesis(epochInterval: UInt64 = 3, runtimes: [RuntimeDescriptor] = [computeRuntime()]) -> ConsensusGenesis {
    ConsensusGenesis(chainContext: "test-chain", blockInterval: .seconds(1), epochInterval: epochInterval, runtimes: runtimes)
}

/// The next element, or a failure when the stream ends first.
func next<S: AsyncSequence & Sendable>(_ iterator: inout S.AsyncIterator, of _: S.Type = S.self) async throws -> S.Element
where S.Element: Sendable {
    guard let value = try await iterator.next() else { throw StreamEnded() }
    return value
}

struct StreamEnded: Error {}

@Suite("Local consensus", .timeLimit(.minutes(3)))
struct LocalConsensusTests {
    @Test("a YAML genesis with a descriptor in its oasis JSON form parses and validates")
    func yamlGenesis() throws {
        let yaml = """
            block_interval: 500ms
            epoch_interval: 5
            runtimes:
              - v: 2
                id: gAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=
                entity_id: AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAU=
                genesis: {state_root: xnK40e9W7Sirh8NiLFEUBpvdOte4+XN0mNDAHs7wlno=, state: null, storage_receipts: null, round: 0}
                kind: 1
                tee_hardware: 0
                versions: {version: {}}
                executor: {group_size: 1, group_backup_size: 0, allowed_stragglers: 0, round_timeout: 20, max_messages: 0}
                txn_scheduler: {algorithm: simple, batch_flush_timeout: 1000000000, max_batch_size: 1, max_batch_size_bytes: 1024, propose_batch_timeout: 20}
                storage: {group_size: 1, min_write_replication: 1, max_apply_write_log_entries: 100000, max_apply_ops: 2, checkpoint_interval: 0, checkpoint_num_kept: 0, checkpoint_chunk_size: 0}
                admission_policy: {any_node: {}}
                staking: {}
                governance_model: entity
            """
        let parsed = try ConsensusGenesis.parse(Data(yaml.utf8))
        #expect(parsed.blockInterval == .milliseconds(500))
        #expect(parsed.epochInterval == 5)
        #expect(parsed.runtimes == [computeRuntime()])
        #expect(parsed.chainContext == Hash.digest(Array(yaml.utf8)).description)
        // The JSON it writes reads back to the same document.
        #expect(try ConsensusGenesis.parse(try parsed.jsonData()) == parsed)
    }

    @Test("a genesis with a bad parameter or an invalid runtime is refused")
    func badGenesis() throws {
        #expect(
            throws: LocalConsensusError.invalidGenesis(
                "epoch_interval must be at least 2 (got 0): with 1 every height is an epoch transition, leaving no "
                    + "height for a runtime's rounds")
        ) {
            try ConsensusGenesis.parse(Data("{block_interval: 1s, epoch_interval: 0}".utf8))
        }
        var old = computeRuntime()
        old.descriptorVersion = 1
        do {
            try genesis(runtimes: [old]).validate()
            Issue.record("an old descriptor version passed")
        } catch {
            #expect("\(error)".contains("invalid runtime descriptor version"))
        }
        #expect(throws: LocalConsensusError.self) {
            try ConsensusGenesis.parse(Data("{block_interval: soon, epoch_interval: 2}".utf8))
        }
    }

    @Test("a genesis nested deeper than 64 levels is refused before Yams composes it", arguments: [false, true])
    func deepGenesis(asKey: Bool) throws {
        // 900 levels: within libyaml's own bound of 1,000, and deep enough that a stack can run
        // out as Yams composes or hashes them.
        let deep = String(repeating: "[", count: 900) + String(repeating: "]", count: 900)
        let yaml = "block_interval: 1s\nepoch_interval: 2\nx: " + (asKey ? "{? \(deep) : 1}" : deep) + "\n"
        #expect(
            throws: LocalConsensusError.invalidGenesis(
                "the document nests more than 64 levels deep (aliases count with what they stand for); "
                    + "a genesis has far fewer, so remove the nesting")
        ) {
            try ConsensusGenesis.parse(Data(yaml.utf8))
        }
    }

    @Test("a genesis of nested aliases (billion laughs) or a file that never ends is refused, not expanded")
    func boundedGenesis() throws {
        // Nine levels of nine aliases stand for 9^9 (387 million) values in ten lines.
        var yaml = "block_interval: 1s\nepoch_interval: 2\nx0: &x0 [a, a, a, a, a, a, a, a, a]\n"
        for level in 1...9 {
            yaml += "x\(level): &x\(level) [" + Array(repeating: "*x\(level - 1)", count: 9).joined(separator: ", ") + "]\n"
        }
        #expect(
            throws: LocalConsensusError.invalidGenesis(
                "the document expands to more than 1000000 values (anchors and aliases count once per use); "
                    + "a genesis has far fewer, so remove the nested aliases")
        ) {
            try ConsensusGenesis.parse(Data(yaml.utf8))
        }
        // The same anchors used as a mapping key: Yams hashes every key while composing, which
        // through 9^9 values would take hours; the count must come before Yams composes.
        #expect(
            throws: LocalConsensusError.invalidGenesis(
                "the document expands to more than 1000000 values (anchors and aliases count once per use); "
                    + "a genesis has far fewer, so remove the nested aliases")
        ) {
            try ConsensusGenesis.parse(Data((yaml + "k: {? *x9 : 1}\n").utf8))
        }
        #expect(
            throws: LocalConsensusError.invalidGenesis(
                "cannot read genesis file '/dev/zero': it is larger than 16777216 bytes")
        ) {
            try ConsensusGenesis.load(path: "/dev/zero")
        }
    }

    @Test("heights and epochs advance on the clock; watchers get the current epoch first")
    func clockDrivesEpochs() async throws {
        try await withTemporaryDirectory { dir in
            let clock = ManualClock()
            let consensus = try LocalConsensus(genesis: genesis(epochInterval: 2), directory: dir, clock: clock, logger: quiet)
            defer { consensus.close() }
            #expect(consensus.height == 1)
            var epochs = consensus.watchEpochs().makeAsyncIterator()
            #expect(await epochs.next() == EpochTime(0))
            await withTaskGroup(of: Void.self) { group in
                group.addTask { try? await consensus.run() }
                for expected in 1...3 as ClosedRange<UInt64> {
                    // Two blocks per epoch: each tick is one block.
                    for _ in 0..<2 {
                        await clock.waitForSleepers(count: 1)
                        clock.advance(by: .seconds(1))
                    }
                    #expect(await epochs.next() == EpochTime(expected))
                }
                // The loop sleeps again only once the last tick's block is written.
                await clock.waitForSleepers(count: 1)
                group.cancelAll()
            }
            #expect(consensus.height == 7)
            #expect(consensus.epoch == EpochTime(3))
        }
    }

    @Test("an update is in the registry at once and active exactly at the next epoch")
    func updateActiveAtNextEpoch() async throws {
        try await withTemporaryDirectory { dir in
            let consensus = try LocalConsensus(genesis: genesis(epochInterval: 4), directory: dir, logger: quiet)
            defer { consensus.close() }
            let original = computeRuntime()
            let updated = computeRuntime(roundTimeout: 30)
            try await consensus.registerRuntime(updated)  // height 2, epoch 0
            #expect(try consensus.registryDescriptor(id: computeID) == updated)
            #expect(try await consensus.runtimeState(id: computeID, height: 0).runtime == original)
            try await consensus.advanceBlock()  // height 3
            #expect(try await consensus.runtimeState(id: computeID, height: 0).runtime == original)
            try await consensus.advanceBlock()  // height 4: epoch 1
            #expect(consensus.epoch == EpochTime(1))
            let state = try await consensus.runtimeState(id: computeID, height: 0)
            #expect(state.runtime == updated)
            #expect(state.currentBlock?.header.headerType == .epochTransition)
            #expect(state.currentBlock?.header.round == 1)
        }
    }

    @Test("registration watchers get every registered runtime, then each event in order")
    func registrationsInOrder() async throws {
        try await withTemporaryDirectory { dir in
            let consensus = try LocalConsensus(genesis: genesis(), directory: dir, logger: quiet)
            defer { consensus.close() }
            var events = consensus.watchRuntimes().makeAsyncIterator()
            let updates = [computeRuntime(roundTimeout: 21), keyManagerRuntime(), computeRuntime(roundTimeout: 22),
                           computeRuntime(otherID)]
            for update in updates { try await consensus.registerRuntime(update) }
            var seen: [RuntimeDescriptor] = []
            for _ in 0...updates.count { seen.append(try await next(&events, of: AsyncStream<RuntimeDescriptor>.self)) }
            #expect(seen == [computeRuntime()] + updates)
            // A late watcher gets the registered runtimes in registration order.
            var late = consensus.watchRuntimes().makeAsyncIterator()
            var replay: [Namespace] = []
            for _ in 0..<3 { replay.append(try await next(&late, of: AsyncStream<RuntimeDescriptor>.self).id) }
            #expect(replay == [computeID, keyManagerID, otherID])
        }
    }

    @Test("key-manager and unknown runtimes have no roothash state and no rounds")
    func keyManagerHasNoState() async throws {
        try await withTemporaryDirectory { dir in
            let consensus = try LocalConsensus(
                genesis: genesis(runtimes: [computeRuntime(), keyManagerRuntime()]), directory: dir, logger: quiet)
            defer { consensus.close() }
            for id in [keyManagerID, otherID] {
                do {
                    _ = try await consensus.runtimeState(id: id, height: 0)
                    Issue.record("runtime state of \(id)")
                } catch {
                    #expect(RoothashErrors.invalidRuntime.matches(error))
                }
            }
            await #expect(throws: LocalConsensusError.notComputeRuntime(keyManagerID)) {
                try await consensus.finalizeRound(runtimeID: keyManagerID, ioRoot: .empty, stateRoot: .empty)
            }
            await #expect(throws: LocalConsensusError.unknownRuntime(otherID)) {
                try await consensus.finalizeRound(runtimeID: otherID, ioRoot: .empty, stateRoot: .empty)
            }
        }
    }

    @Test("blocks: genesis at registration, epoch transitions, finalized rounds; watchers see rounds increase")
    func blocks() async throws {
        try await withTemporaryDirectory { dir in
            let consensus = try LocalConsensus(genesis: genesis(epochInterval: 3), directory: dir, logger: quiet)
            defer { consensus.close() }
            var blocks = consensus.watchBlocks(id: computeID).makeAsyncIterator()
            let genesisBlock = try await next(&blocks, of: AsyncStream<AnnotatedBlock>.self)
            #expect(genesisBlock.consensusHeight == 1)
            #expect(genesisBlock.block?.header.round == 0)
            let stateRoot = Hash.digest(Array("state".utf8))
            let first = try await consensus.finalizeRound(runtimeID: computeID, ioRoot: .empty, stateRoot: stateRoot)
            #expect(first.consensusHeight == 2)
            #expect(first.block?.header.round == 1)
            #expect(first.block?.header.headerType == .normal)
            #expect(first.block?.header.previousHash == genesisBlock.block?.header.encodedHash())
            // Height 3 is an epoch transition: its block comes first, the round goes to height 4.
            let second = try await consensus.finalizeRound(runtimeID: computeID, ioRoot: .empty, stateRoot: stateRoot)
            #expect(second.consensusHeight == 4)
            #expect(second.block?.header.round == 3)
            var seen: [(UInt64, HeaderType)] = []
            for _ in 0..<3 {
                let block = try await next(&blocks, of: AsyncStream<AnnotatedBlock>.self)
                seen.append((block.block!.header.round, block.block!.header.headerType))
            }
            #expect(seen.map(\.0) == [1, 2, 3])
            #expect(seen.map(\.1) == [.normal, .epochTransition, .normal])
        }
    }

    @Test("epoch_interval 1 is refused: every height would be an epoch transition and the history would miss every round")
    func everyHeightAnEpoch() async throws {
        let refusal = LocalConsensusError.invalidGenesis(
            "epoch_interval must be at least 2 (got 1): with 1 every height is an epoch transition, leaving no "
                + "height for a runtime's rounds")
        #expect(throws: refusal) {
            try ConsensusGenesis.parse(Data("{block_interval: 1s, epoch_interval: 1}".utf8))
        }
        try await withTemporaryDirectory { dir in
            // Before, such a chain put each finalized round at the height of an epoch-transition
            // block, and its tracked history was handed only the latter.
            do {
                let consensus = try LocalConsensus(genesis: genesis(epochInterval: 1), directory: dir, logger: quiet)
                consensus.close()
                Issue.record("a chain with epoch_interval 1 was opened")
            } catch {
                #expect(error as? LocalConsensusError == refusal)
            }
        }
    }

    @Test("a shutdown that cancels a block waiting for a step in progress ends the service without an error")
    func cancelledWhileWaitingForAStep() async throws {
        try await withTemporaryDirectory { dir in
            let clock = ManualClock()
            let consensus = try LocalConsensus(genesis: genesis(epochInterval: 1000), directory: dir, clock: clock, logger: quiet)
            defer { consensus.close() }
            let inner = try RuntimeHistory(directory: dir, runtimeID: computeID, logger: quiet)
            defer { inner.close() }
            let history = HeldHistory(inner)
            try await consensus.trackRuntime(history: history)
            // A round is being finalized: its step waits for the history to take the block.
            let round = Task { try await consensus.finalizeRound(runtimeID: computeID, ioRoot: .empty, stateRoot: .empty) }
            try await history.entered.wait()
            let service = Task { try await consensus.run() }
            // The block interval passes: the service's block waits for the round's step.
            await clock.waitForSleepers(count: 1)
            clock.advance(by: .seconds(1))
            // Then the shutdown cancels the service, and the round's step ends.
            service.cancel()
            _ = history.release.open()
            _ = try await round.value
            do {
                try await service.value
            } catch {
                Issue.record("the cancelled service failed: \(error)")
            }
        }
    }

    @Test("a restarted chain continues at the same height and round; its history has no gap or duplicate")
    func restartContinues() async throws {
        try await withTemporaryDirectory { dir in
            let historyDir = dir + "/history"
            try FileManager.default.createDirectory(atPath: historyDir, withIntermediateDirectories: true)
            let chain = genesis(epochInterval: 3)

            // First run: tracked from the start, rounds and epochs.
            var consensus = try LocalConsensus(genesis: chain, directory: dir, logger: quiet)
            var history = try RuntimeHistory(directory: historyDir, runtimeID: computeID, logger: quiet)
            try await consensus.trackRuntime(history: history)
            for _ in 0..<4 { try await consensus.finalizeRound(runtimeID: computeID, ioRoot: .empty, stateRoot: .empty) }
            try await consensus.advanceBlock()
            // The node dies with the history closed while consensus (in the same process here)
            // finalizes two more rounds the history never sees.
            history.close()
            for _ in 0..<2 { try await consensus.finalizeRound(runtimeID: computeID, ioRoot: .empty, stateRoot: .empty) }
            let height = consensus.height
            let latest = try await consensus.latestBlock(id: computeID, height: 0)
            consensus.close()

            // Second run: same height and round; tracking replays what the history missed.
            consensus = try LocalConsensus(genesis: chain, directory: dir, logger: quiet)
            defer { consensus.close() }
            #expect(consensus.height == height)
            #expect(try await consensus.latestBlock(id: computeID, height: 0) == latest)
            history = try RuntimeHistory(directory: historyDir, runtimeID: computeID, logger: quiet)
            defer { history.close() }
            try await consensus.trackRuntime(history: history)
            #expect(try await history.latestAnnotatedBlock() == latest)
            let next = try await consensus.finalizeRound(runtimeID: computeID, ioRoot: .empty, stateRoot: .empty)
            // The next height, unless it is an epoch transition, whose block takes it first.
            let epochFirst: Int64 = (height + 1) % 3 == 0 ? 1 : 0
            #expect(next.consensusHeight == height + 1 + epochFirst)
            #expect(next.block?.header.round == latest.block!.header.round + 1 + UInt64(epochFirst))

            // Every round once, each the child of the one before, at increasing heights.
            let stored = try await history.annotatedBlocks(after: nil, limit: 1000)
            #expect(stored.map { $0.block!.header.round } == Array(0...next.block!.header.round))
            for (parent, child) in zip(stored, stored.dropFirst()) {
                #expect(child.block!.header.previousHash == parent.block!.header.encodedHash())
                #expect(parent.consensusHeight < child.consensusHeight)
            }
        }
    }

    @Test("a history that refuses blocks is not dropped: it is caught up, every round once and in order, once it takes them")
    func refusedBlocksCaughtUp() async throws {
        try await withTemporaryDirectory { dir in
            let consensus = try LocalConsensus(genesis: genesis(epochInterval: 1000), directory: dir, logger: quiet)
            defer { consensus.close() }
            let inner = try RuntimeHistory(directory: dir, runtimeID: computeID, logger: quiet)
            defer { inner.close() }
            let history = FlakyHistory(inner)
            try await consensus.trackRuntime(history: history)
            try await consensus.finalizeRound(runtimeID: computeID, ioRoot: .empty, stateRoot: .empty)
            #expect(try await inner.latestAnnotatedBlock().block?.header.round == 1)

            // A full disk, say: three rounds are refused, and retried at every step.
            history.refusing.store(true, ordering: .relaxed)
            for _ in 0..<3 { try await consensus.finalizeRound(runtimeID: computeID, ioRoot: .empty, stateRoot: .empty) }
            try await consensus.advanceBlock()
            #expect(try await inner.latestAnnotatedBlock().block?.header.round == 1)
            #expect(history.refused.load(ordering: .relaxed) >= 4)

            // It takes blocks again: the next step brings it up to date, and it keeps following.
            history.refusing.store(false, ordering: .relaxed)
            try await consensus.advanceBlock()
            #expect(try await inner.latestAnnotatedBlock() == (try await consensus.latestBlock(id: computeID, height: 0)))
            let last = try await consensus.finalizeRound(runtimeID: computeID, ioRoot: .empty, stateRoot: .empty)
            let stored = try await inner.annotatedBlocks(after: nil, limit: 100)
            #expect(stored.map { $0.block!.header.round } == Array(0...5))
            #expect(stored.last == last)
            for (parent, child) in zip(stored, stored.dropFirst()) {
                #expect(child.block!.header.previousHash == parent.block!.header.encodedHash())
            }
        }
    }

    @Test("an untracked history gets no more blocks; tracking it again catches it up")
    func untrack() async throws {
        try await withTemporaryDirectory { dir in
            let consensus = try LocalConsensus(genesis: genesis(epochInterval: 1000), directory: dir, logger: quiet)
            defer { consensus.close() }
            let history = try RuntimeHistory(directory: dir, runtimeID: computeID, logger: quiet)
            defer { history.close() }
            try await consensus.trackRuntime(history: history)
            try await consensus.finalizeRound(runtimeID: computeID, ioRoot: .empty, stateRoot: .empty)

            await consensus.untrackRuntime(id: computeID)
            await consensus.untrackRuntime(id: otherID)  // tracks nothing: no effect
            let missed = try await consensus.finalizeRound(runtimeID: computeID, ioRoot: .empty, stateRoot: .empty)
            #expect(try await history.latestAnnotatedBlock().block?.header.round == 1)

            try await consensus.trackRuntime(history: history)
            #expect(try await history.latestAnnotatedBlock() == missed)
        }
    }

    @Test("a history that missed many rounds is caught up in batches, every round once")
    func replayInBatches() async throws {
        try await withTemporaryDirectory { dir in
            let consensus = try LocalConsensus(genesis: genesis(epochInterval: 4), directory: dir, replayBatchSize: 3, logger: quiet)
            defer { consensus.close() }
            for _ in 0..<10 { try await consensus.finalizeRound(runtimeID: computeID, ioRoot: .empty, stateRoot: .empty) }
            let history = try RuntimeHistory(directory: dir, runtimeID: computeID, logger: quiet)
            defer { history.close() }
            var watched = history.watchBlocks().makeAsyncIterator()
            try await consensus.trackRuntime(history: history)
            let latest = try await consensus.latestBlock(id: computeID, height: 0)
            let stored = try await history.annotatedBlocks(after: nil, limit: 1000)
            #expect(stored.map { $0.block!.header.round } == Array(0...latest.block!.header.round))
            #expect(stored.last == latest)
            // Committed in order: the watch saw every round once, ascending.
            var rounds: [UInt64] = []
            while rounds.last != latest.block!.header.round, let block = await watched.next() {
                rounds.append(block.block!.header.round)
            }
            #expect(rounds == Array(0...latest.block!.header.round))
        }
    }

    @Test("a data directory made from another genesis is refused")
    func genesisMismatch() async throws {
        try await withTemporaryDirectory { dir in
            try LocalConsensus(genesis: genesis(), directory: dir, logger: quiet).close()
            var other = genesis()
            other.chainContext = "another-chain"
            #expect(throws: LocalConsensusError.self) {
                try LocalConsensus(genesis: other, directory: dir, logger: quiet)
            }
        }
    }

    @Test("a history beyond the chain's height is refused")
    func historyAhead() async throws {
        try await withTemporaryDirectory { dir in
            let consensus = try LocalConsensus(genesis: genesis(), directory: dir, logger: quiet)
            defer { consensus.close() }
            let history = try RuntimeHistory(directory: dir, runtimeID: computeID, logger: quiet)
            defer { history.close() }
            try await history.consensusCheckpoint(50)
            await #expect(throws: LocalConsensusError.historyAhead(runtime: computeID, historyHeight: 50, consensusHeight: 1)) {
                try await consensus.trackRuntime(history: history)
            }
        }
    }
}

/// A history that refuses every commit while `refusing` is set, as one on a full disk would.
final class FlakyHistory: RoothashHistory {
    let inner: RuntimeHistory
    let refusing = Atomic<Bool>(false)
    let refused = Atomic<Int>(0)

    init(_ inner: RuntimeHistory) {
        self.inner = inner
    }

    struct Refused: Error {}

    var runtimeID: Namespace { inner.runtimeID }

    func lastConsensusHeight() async throws -> Int64 {
        try await inner.lastConsensusHeight()
    }

    func commit(_ block: AnnotatedBlock, roundResults: RoundResults?) async throws {
        try refuseIfAsked()
        try await inner.commit(block, roundResults: roundResults)
    }

    func commit(rounds: [FinalizedRound]) async throws {
        try refuseIfAsked()
        try await inner.commit(rounds: rounds)
    }

    func consensusCheckpoint(_ height: Int64) async throws {
        try refuseIfAsked()
        try await inner.consensusCheckpoint(height)
    }

    private func refuseIfAsked() throws {
        guard refusing.load(ordering: .relaxed) else { return }
        refused.add(1, ordering: .relaxed)
        throw Refused()
    }
}

/// A history whose first single-block commit opens `entered` and waits for `release`.
final class HeldHistory: RoothashHistory {
    let inner: RuntimeHistory
    let entered = Latch()
    let release = Latch()

    init(_ inner: RuntimeHistory) {
        self.inner = inner
    }

    var runtimeID: Namespace { inner.runtimeID }

    func lastConsensusHeight() async throws -> Int64 {
        try await inner.lastConsensusHeight()
    }

    func commit(_ block: AnnotatedBlock, roundResults: RoundResults?) async throws {
        if entered.open() { try await release.wait() }
        try await inner.commit(block, roundResults: roundResults)
    }

    func commit(rounds: [FinalizedRound]) async throws {
        try await inner.commit(rounds: rounds)
    }

    func consensusCheckpoint(_ height: Int64) async throws {
        try await inner.consensusCheckpoint(height)
    }
}
