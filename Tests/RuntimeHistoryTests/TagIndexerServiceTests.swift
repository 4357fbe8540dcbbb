import ConsensusAPI
import GRDB
import OasisCommon
import RuntimeHistory
import RuntimeStorage
import RuntimeTagIndexer
import ServiceLifecycle
import Testing

/// A transaction source serving fixed rounds; rounds it does not know fail until `heal()`.
final class FakeTransactionSource: TransactionSource {
    let rounds: LockedBox<[UInt64: RoundTransactions]>
    let reads = LockedBox<[UInt64]>([])

    init(_ rounds: [UInt64: RoundTransactions] = [:]) {
        self.rounds = LockedBox(rounds)
    }

    func transactions(for header: BlockHeader) async throws -> RoundTransactions {
        reads.mutate { $0.append(header.round) }
        guard let round = rounds.value[header.round] else { throw TestFailure("no transactions for round \(header.round)") }
        return round
    }
}

/// A transaction source whose reads of rounds it does not know never answer, until cancelled.
final class HangingTransactionSource: TransactionSource {
    let readable: [UInt64: RoundTransactions]
    let cancelled = LockedBox(0)

    init(readable: [UInt64: RoundTransactions]) {
        self.readable = readable
    }

    func transactions(for header: BlockHeader) async throws -> RoundTransactions {
        if let round = readable[header.round] { return round }
        do {
            try await Task.sleep(for: .seconds(3600))
        } catch {
            cancelled.mutate { $0 += 1 }
            throw error
        }
        throw TestFailure("a read of round \(header.round) answered")
    }
}

/// Whether something sleeps on `clock` within `limit` of real time (a bound that only ends a
/// test whose code under test hangs).
func waitForSleeper(_ clock: ManualClock, atMost limit: Duration) async -> Bool {
    let deadline = ContinuousClock.now + limit
    while clock.sleepers == 0 {
        guard ContinuousClock.now < deadline else { return false }
        try? await Task.sleep(for: .milliseconds(5))
    }
    return true
}

/// One transaction with tag `round` = `"r<round>"` for every round that has an I/O root.
func taggedRound(_ round: UInt64) -> RoundTransactions {
    let tx = TransactionArtifacts(input: Array("tx of round \(round)".utf8), batchOrder: 0)
    return RoundTransactions(
        transactions: [tx], tags: [TransactionTag(key: Array("round".utf8), value: Array("r\(round)".utf8), txHash: tx.hash)])
}

/// A block of `round` whose I/O root is not empty, so the indexer reads its transactions.
func blockWithTransactions(_ id: Namespace, round: UInt64) -> AnnotatedBlock {
    var block = makeBlock(id, round: round)
    block.header.ioRoot = Hash.digest(Array("io \(round)".utf8))
    return AnnotatedBlock(consensusHeight: Int64(round) + 1, block: block)
}

/// The SQLite index, except that its first `failures` index writes fail, as a transient error
/// (a full disk, a busy database) would.
final class FlakyTagIndexBackend: TagIndexBackend {
    let inner: SQLiteTagIndexBackend
    let failuresLeft: LockedBox<Int>

    init(_ inner: SQLiteTagIndexBackend, failures: Int = 1) {
        self.inner = inner
        failuresLeft = LockedBox(failures)
    }

    private func failIfDue() throws {
        let fail = failuresLeft.mutate { left -> Bool in
            guard left > 0 else { return false }
            left -= 1
            return true
        }
        if fail { throw TestFailure("the index write failed") }
    }

    var isEnabled: Bool { true }

    func index(_ rounds: [IndexedRound]) async throws {
        try failIfDue()
        try await inner.index(rounds)
    }

    func index(_ rounds: [IndexedRound], through round: UInt64) async throws {
        try failIfDue()
        try await inner.index(rounds, through: round)
    }

    func prune(rounds: [UInt64]) async throws { try await inner.prune(rounds: rounds) }
    func lastIndexedRound() async throws -> UInt64? { try await inner.lastIndexedRound() }
    func indexedThrough() async throws -> UInt64? { try await inner.indexedThrough() }
    func close() { inner.close() }
    func queryBlock(hash blockHash: Hash) async throws -> UInt64 { try await inner.queryBlock(hash: blockHash) }
    func queryTxn(key: [UInt8], value: [UInt8]) async throws -> TransactionLocation {
        try await inner.queryTxn(key: key, value: value)
    }
    func queryTxnByIndex(round: UInt64, index: UInt32) async throws -> Hash {
        try await inner.queryTxnByIndex(round: round, index: index)
    }
    func queryTxns(_ query: TagQuery) async throws -> [UInt64: [TagQueryResult]] { try await inner.queryTxns(query) }
    func waitBlockIndexed(round: UInt64) async throws { try await inner.waitBlockIndexed(round: round) }
}

/// The next `caughtUp` event's round, skipping the `indexed` events before it.
func nextCaughtUp(_ events: inout AsyncStream<TagIndexerEvent>.Iterator) async -> UInt64?? {
    while let event = await events.next() {
        if case .caughtUp(let through) = event { return .some(through) }
    }
    return .none
}

@Suite("Tag indexer service", .timeLimit(.minutes(3)))
struct TagIndexerServiceTests {
    let id = Namespace.test(seed: "tag indexer service ns")

    @Test("500 rounds committed while the indexer was stopped are all queryable after it starts")
    func catchUpAfterDowntime() async throws {
        try await withTemporaryDirectory { dir in
            let history = try openHistory(dir, id)
            defer { history.close() }
            let source = FakeTransactionSource()
            let backend = try SQLiteTagIndexBackend(directory: dir, runtimeID: id, logger: quietLogger)
            defer { backend.close() }

            // The indexer ran for the first 10 rounds, then the node was down for 490.
            for round in UInt64(0)..<500 {
                source.rounds.mutate { $0[round] = taggedRound(round) }
                try await history.commit(blockWithTransactions(id, round: round), roundResults: nil)
                if round == 9 {
                    let indexer = TagIndexer(backend: backend, history: history, source: source, logger: quietLogger)
                    try await withServiceRunning(indexer) { try await backend.waitBlockIndexed(round: 9) }
                }
            }
            #expect(try await backend.lastIndexedRound() == 9)

            let indexer = TagIndexer(
                backend: backend, history: history, source: source,
                configuration: TagIndexer.Configuration(catchUpBatchSize: 64), logger: quietLogger)
            try await withServiceRunning(indexer) {
                try await backend.waitBlockIndexed(round: 499)
            }
            for round in UInt64(0)..<500 {
                let header = try await history.block(round: round).header
                #expect(try await backend.queryBlock(hash: header.encodedHash()) == round)
                let hit = try await backend.queryTxn(key: Array("round".utf8), value: Array("r\(round)".utf8))
                #expect(hit.round == round)
            }
            // Catch-up read each missed round once: nothing before round 10 again.
            #expect(source.reads.value.filter { $0 >= 10 }.count == 490)
        }
    }

    @Test("a configuration out of range is raised to its least: a catch-up batch of 0 still catches up")
    func boundedConfiguration() async throws {
        try await withTemporaryDirectory { dir in
            let history = try openHistory(dir, id)
            defer { history.close() }
            let source = FakeTransactionSource()
            let backend = try SQLiteTagIndexBackend(directory: dir, runtimeID: id, logger: quietLogger)
            defer { backend.close() }
            for round in UInt64(0)..<3 {
                source.rounds.mutate { $0[round] = taggedRound(round) }
                try await history.commit(blockWithTransactions(id, round: round), roundResults: nil)
            }
            let indexer = TagIndexer(
                backend: backend, history: history, source: source,
                configuration: TagIndexer.Configuration(
                    catchUpBatchSize: 0, retryInitialInterval: .zero, retryMaxInterval: .zero),
                logger: quietLogger)
            #expect(indexer.configuration.catchUpBatchSize == 1)
            #expect(indexer.configuration.retryInitialInterval == .milliseconds(1))
            #expect(indexer.configuration.retryMaxInterval == .milliseconds(1))
            try await withServiceRunning(indexer) { try await backend.waitBlockIndexed(round: 2) }
            #expect(try await backend.indexedThrough() == 2)
        }
    }

    @Test("after catching up, the indexer follows new commits; an empty I/O root indexes just the block")
    func followsLiveBlocks() async throws {
        try await withTemporaryDirectory { dir in
            let history = try openHistory(dir, id)
            defer { history.close() }
            let source = FakeTransactionSource([1: taggedRound(1)])
            let backend = try SQLiteTagIndexBackend(directory: dir, runtimeID: id, logger: quietLogger)
            defer { backend.close() }
            let indexer = TagIndexer(backend: backend, history: history, source: source, logger: quietLogger)
            try await withServiceRunning(indexer) {
                var events = indexer.events().makeAsyncIterator()
                #expect(await events.next() == .caughtUp(through: nil))
                try await history.commit(annotated(id, round: 0, height: 1), roundResults: nil)
                try await history.commit(blockWithTransactions(id, round: 1), roundResults: nil)
                try await backend.waitBlockIndexed(round: 1)
            }
            #expect(source.reads.value == [1])  // round 0 had an empty I/O root
            let block0 = try await history.block(round: 0)
            #expect(try await backend.queryBlock(hash: block0.header.encodedHash()) == 0)
            #expect(try await backend.queryTxn(key: Array("round".utf8), value: Array("r1".utf8)).round == 1)
        }
    }

    @Test("a round whose transactions cannot be read is retried on the clock, then skipped")
    func unreadableRoundSkipped() async throws {
        try await withTemporaryDirectory { dir in
            let history = try openHistory(dir, id)
            defer { history.close() }
            let clock = ManualClock()
            let source = FakeTransactionSource([2: taggedRound(2)])
            let backend = try SQLiteTagIndexBackend(directory: dir, runtimeID: id, logger: quietLogger)
            defer { backend.close() }
            let configuration = TagIndexer.Configuration(
                retryInitialInterval: .seconds(1), retryMaxInterval: .seconds(2), retryMaxElapsed: .seconds(4))
            let indexer = TagIndexer(
                backend: backend, history: history, source: source, configuration: configuration, clock: clock,
                logger: quietLogger)
            try await withServiceRunning(indexer) {
                var events = indexer.events().makeAsyncIterator()
                #expect(await events.next() == .caughtUp(through: nil))
                try await history.commit(blockWithTransactions(id, round: 1), roundResults: nil)
                // Waits of 1s, 1.5s, then 2s would pass the 4s budget: two retries, then skip.
                for wait in [Duration.seconds(1), .milliseconds(1500)] {
                    await clock.waitForSleepers(count: 1)
                    clock.advance(by: wait)
                }
                let skipped = await events.next()
                guard case .skipped(round: 1, _) = skipped else {
                    Issue.record("expected round 1 to be skipped, got \(String(describing: skipped))")
                    return
                }
                try await history.commit(blockWithTransactions(id, round: 2), roundResults: nil)
                try await backend.waitBlockIndexed(round: 2)
            }
            #expect(source.reads.value == [1, 1, 1, 2])
            await #expect(throws: CodedError.self) {
                _ = try await backend.queryTxnByIndex(round: 1, index: 0)
            }
        }
    }

    @Test("a read of a round's transactions that never answers times out, is retried, then the round is skipped",
          .timeLimit(.minutes(5)))
    func hangingReadSkipped() async throws {
        try await withTemporaryDirectory { dir in
            let history = try openHistory(dir, id)
            defer { history.close() }
            let clock = ManualClock()
            let source = HangingTransactionSource(readable: [2: taggedRound(2)])
            let backend = try SQLiteTagIndexBackend(directory: dir, runtimeID: id, logger: quietLogger)
            defer { backend.close() }
            let configuration = TagIndexer.Configuration(
                retryInitialInterval: .seconds(1), retryMaxInterval: .seconds(2), retryMaxElapsed: .seconds(4),
                attemptTimeout: .milliseconds(20))
            let indexer = TagIndexer(
                backend: backend, history: history, source: source, configuration: configuration, clock: clock,
                logger: quietLogger)
            try await withServiceRunning(indexer) {
                var events = indexer.events().makeAsyncIterator()
                #expect(await events.next() == .caughtUp(through: nil))
                try await history.commit(blockWithTransactions(id, round: 1), roundResults: nil)
                // Each attempt is cancelled after its timeout; then the usual waits of 1s and 1.5s.
                // Without a timeout the first read never ends and the indexer never sleeps: the
                // bound on the wait only ends the test then.
                for wait in [Duration.seconds(1), .milliseconds(1500)] {
                    // A starved test process can take many seconds to run the indexer again.
                    guard await waitForSleeper(clock, atMost: .seconds(120)) else {
                        Issue.record("the indexer is stuck in a read of round 1")
                        return
                    }
                    clock.advance(by: wait)
                }
                let skipped = await events.next()
                guard case .skipped(round: 1, let reason) = skipped else {
                    Issue.record("expected round 1 to be skipped, got \(String(describing: skipped))")
                    return
                }
                #expect(reason == "reading its transactions failed: no answer within 0.02 seconds")
                try await history.commit(blockWithTransactions(id, round: 2), roundResults: nil)
                try await backend.waitBlockIndexed(round: 2)
            }
            #expect(source.cancelled.value == 3)
            #expect(try await backend.indexedThrough() == 2)
        }
    }

    @Test("pruned history rounds leave the index before they leave the history")
    func pruneHandlerRemovesRounds() async throws {
        try await withTemporaryDirectory { dir in
            let history = try openHistory(dir, id, configuration: HistoryConfiguration(pruner: .keepLast(5)))
            defer { history.close() }
            let source = FakeTransactionSource()
            let backend = try SQLiteTagIndexBackend(directory: dir, runtimeID: id, logger: quietLogger)
            defer { backend.close() }
            for round in UInt64(0)..<20 {
                source.rounds.mutate { $0[round] = taggedRound(round) }
                try await history.commit(blockWithTransactions(id, round: round), roundResults: nil)
            }
            let indexer = TagIndexer(backend: backend, history: history, source: source, logger: quietLogger)
            #expect(history.pruner.handlerCount == 1)
            try await withServiceRunning(indexer) { try await backend.waitBlockIndexed(round: 19) }

            let report = await history.pruner.prunePass()
            #expect(report.rounds == Array(0...14))
            for round in UInt64(0)...14 {
                await #expect(throws: CodedError.self) {
                    _ = try await backend.queryTxn(key: Array("round".utf8), value: Array("r\(round)".utf8))
                }
            }
            for round in UInt64(15)...19 {
                #expect(try await backend.queryTxn(key: Array("round".utf8), value: Array("r\(round)".utf8)).round == round)
            }
        }
    }

    @Test("the history is not pruned past the last indexed round: a lagging indexer holds the prune back")
    func pruneWaitsForIndexer() async throws {
        try await withTemporaryDirectory { dir in
            let history = try openHistory(dir, id, configuration: HistoryConfiguration(pruner: .keepLast(5)))
            defer { history.close() }
            // Rounds 10 and later cannot be read yet, so the indexer stops before them.
            let source = FakeTransactionSource()
            for round in UInt64(0)..<20 {
                if round < 10 { source.rounds.mutate { $0[round] = taggedRound(round) } }
                try await history.commit(blockWithTransactions(id, round: round), roundResults: nil)
            }
            let backend = try SQLiteTagIndexBackend(directory: dir, runtimeID: id, logger: quietLogger)
            defer { backend.close() }
            let clock = ManualClock()
            let indexer = TagIndexer(
                backend: backend, history: history, source: source,
                configuration: TagIndexer.Configuration(catchUpBatchSize: 5), clock: clock, logger: quietLogger)

            // Nothing indexed yet: the pass is vetoed and deletes nothing.
            let early = await history.pruner.prunePass()
            #expect(early.outcome == .vetoed(
                handler: "PruneIndex", reason: "\(TagIndexerError.notIndexedYet(round: 14, indexedThrough: nil))"))
            _ = try await history.block(round: 0)

            try await withServiceRunning(indexer) {
                try await backend.waitBlockIndexed(round: 9)
                await clock.waitForSleepers(count: 1)  // retrying round 10
                let lagging = await history.pruner.prunePass()
                #expect(lagging.outcome == .vetoed(
                    handler: "PruneIndex", reason: "\(TagIndexerError.notIndexedYet(round: 14, indexedThrough: 9))"))
                _ = try await history.block(round: 0)
                #expect(try await backend.queryTxn(key: Array("round".utf8), value: Array("r0".utf8)).round == 0)

                for round in UInt64(10)..<20 { source.rounds.mutate { $0[round] = taggedRound(round) } }
                clock.advance(by: .seconds(1))
                try await backend.waitBlockIndexed(round: 19)
            }
            // Caught up: the rounds go, from the index and the history alike, and none was skipped.
            let report = await history.pruner.prunePass()
            #expect(report.outcome == .pruned)
            #expect(report.rounds == Array(0...14))
            await #expect(throws: (any Error).self) { _ = try await history.block(round: 14) }
            for round in UInt64(15)...19 {
                #expect(try await backend.queryTxn(key: Array("round".utf8), value: Array("r\(round)".utf8)).round == round)
            }
        }
    }

    @Test("a failed index write during catch-up is retried on the clock: every round is indexed, none skipped")
    func failedCatchUpWriteRetried() async throws {
        try await withTemporaryDirectory { dir in
            let history = try openHistory(dir, id, configuration: HistoryConfiguration(pruner: .keepLast(5)))
            defer { history.close() }
            let source = FakeTransactionSource()
            for round in UInt64(0)..<40 {
                source.rounds.mutate { $0[round] = taggedRound(round) }
                try await history.commit(blockWithTransactions(id, round: round), roundResults: nil)
            }
            let inner = try SQLiteTagIndexBackend(directory: dir, runtimeID: id, logger: quietLogger)
            defer { inner.close() }
            let clock = ManualClock()
            let indexer = TagIndexer(
                backend: FlakyTagIndexBackend(inner), history: history, source: source,
                configuration: TagIndexer.Configuration(catchUpBatchSize: 16, retryInitialInterval: .seconds(1)),
                clock: clock, logger: quietLogger)
            var events = indexer.events().makeAsyncIterator()
            try await withServiceRunning(indexer) {
                // The write of rounds 0 to 15 failed and waits for its retry: nothing is handled,
                // so the history may not be pruned yet.
                let retry = Task {
                    await clock.waitForSleepers(count: 1)
                    let pass = await history.pruner.prunePass()
                    clock.advance(by: .seconds(1))
                    return pass.outcome
                }
                let caughtUp = await nextCaughtUp(&events)
                #expect(caughtUp == .some(39))
                // Without the retry nothing ever sleeps on the clock: do not wait for it then.
                guard caughtUp == .some(39) else { return }
                #expect(await retry.value == .vetoed(
                    handler: "PruneIndex", reason: "\(TagIndexerError.notIndexedYet(round: 34, indexedThrough: nil))"))
            }
            for round in UInt64(0)..<40 {
                let header = try await history.block(round: round).header
                #expect(try await inner.queryBlock(hash: header.encodedHash()) == round, "round \(round)")
                #expect(try await inner.queryTxn(key: Array("round".utf8), value: Array("r\(round)".utf8)).round == round)
            }
            #expect(try await inner.indexedThrough() == 39)
            // The retry wrote the batch it had prepared: each round's transactions were read once.
            #expect(source.reads.value == Array(0..<40))
            let report = await history.pruner.prunePass()
            #expect(report.outcome == .pruned)
            #expect(report.rounds == Array(0...34))
        }
    }

    @Test("a failed write of a live round is retried, and the next round waits for it")
    func failedLiveWriteRetried() async throws {
        try await withTemporaryDirectory { dir in
            let history = try openHistory(dir, id)
            defer { history.close() }
            let source = FakeTransactionSource([0: taggedRound(0), 1: taggedRound(1)])
            let inner = try SQLiteTagIndexBackend(directory: dir, runtimeID: id, logger: quietLogger)
            defer { inner.close() }
            let clock = ManualClock()
            let indexer = TagIndexer(
                backend: FlakyTagIndexBackend(inner), history: history, source: source,
                configuration: TagIndexer.Configuration(retryInitialInterval: .seconds(1)), clock: clock,
                logger: quietLogger)
            var events = indexer.events().makeAsyncIterator()
            try await withServiceRunning(indexer) {
                #expect(await events.next() == .caughtUp(through: nil))
                try await history.commit(blockWithTransactions(id, round: 0), roundResults: nil)
                try await history.commit(blockWithTransactions(id, round: 1), roundResults: nil)
                let retry = Task {
                    await clock.waitForSleepers(count: 1)
                    clock.advance(by: .seconds(1))
                }
                let first = await events.next()
                #expect(first == .indexed(round: 0))
                #expect(await events.next() == .indexed(round: 1))
                guard first == .indexed(round: 0) else { return }
                await retry.value
            }
            #expect(try await inner.queryTxn(key: Array("round".utf8), value: Array("r0".utf8)).round == 0)
            #expect(try await inner.indexedThrough() == 1)
        }
    }

    @Test("a prune is vetoed past a round that is not indexed, even when later rounds are")
    func pruneVetoedByHole() async throws {
        try await withTemporaryDirectory { dir in
            let history = try openHistory(dir, id, configuration: HistoryConfiguration(pruner: .keepLast(5)))
            defer { history.close() }
            for round in UInt64(0)..<10 {
                try await history.commit(annotated(id, round: round, height: 1), roundResults: nil)
            }
            let backend = try SQLiteTagIndexBackend(directory: dir, runtimeID: id, logger: quietLogger)
            defer { backend.close() }
            let indexer = TagIndexer(backend: backend, history: history, source: FakeTransactionSource(), logger: quietLogger)
            // What an abandoned catch-up left behind: the later rounds indexed, rounds 0 to 4 not.
            for round in UInt64(5)..<10 {
                let header = try await history.block(round: round).header
                try await backend.index(round: round, blockHash: header.encodedHash(), transactions: [], tags: [])
            }
            let vetoed = await history.pruner.prunePass()
            #expect(vetoed.outcome == .vetoed(
                handler: "PruneIndex", reason: "\(TagIndexerError.notIndexedYet(round: 4, indexedThrough: nil))"))
            _ = try await history.block(round: 0)

            // The indexer fills the hole from the history; then the rounds may go.
            var events = indexer.events().makeAsyncIterator()
            try await withServiceRunning(indexer) { #expect(await nextCaughtUp(&events) == .some(9)) }
            let block0 = try await history.block(round: 0)
            #expect(try await backend.queryBlock(hash: block0.header.encodedHash()) == 0)
            let pruned = await history.pruner.prunePass()
            #expect(pruned.outcome == .pruned)
            #expect(pruned.rounds == Array(0...4))
        }
    }

    @Test("an index from before the watermark (schema 1) is indexed again from the history: its holes are filled")
    func schemaOneIndexRepaired() async throws {
        try await withTemporaryDirectory { dir in
            let history = try openHistory(dir, id)
            defer { history.close() }
            let source = FakeTransactionSource()
            for round in UInt64(0)..<40 {
                source.rounds.mutate { $0[round] = taggedRound(round) }
                try await history.commit(blockWithTransactions(id, round: round), roundResults: nil)
            }
            // The reviewer's index: catch-up gave up, the live loop indexed round 39 alone.
            let old = try SQLiteTagIndexBackend(directory: dir, runtimeID: id, logger: quietLogger)
            let header39 = try await history.block(round: 39).header
            try await old.index([IndexedRound(round: 39, blockHash: header39.encodedHash())])
            old.close()
            let file = try DatabaseQueue(path: dir + "/" + SQLiteTagIndexBackend.fileName)
            try await file.write { db in
                try db.execute(sql: "DROP TABLE index_state; UPDATE store_meta SET schema_version = 1")
            }
            try file.close()

            let backend = try SQLiteTagIndexBackend(directory: dir, runtimeID: id, logger: quietLogger)
            defer { backend.close() }
            #expect(try await backend.indexedThrough() == nil)
            #expect(try await backend.lastIndexedRound() == 39)
            let indexer = TagIndexer(
                backend: backend, history: history, source: source,
                configuration: TagIndexer.Configuration(catchUpBatchSize: 16), logger: quietLogger)
            var events = indexer.events().makeAsyncIterator()
            try await withServiceRunning(indexer) { #expect(await nextCaughtUp(&events) == .some(39)) }
            for round in UInt64(0)..<40 {
                #expect(try await backend.queryTxn(key: Array("round".utf8), value: Array("r\(round)".utf8)).round == round)
            }
            #expect(try await backend.indexedThrough() == 39)
        }
    }

    @Test("a failing index prune vetoes the history prune")
    func indexPruneFailureVetoes() async throws {
        try await withTemporaryDirectory { dir in
            let history = try openHistory(dir, id, configuration: HistoryConfiguration(pruner: .keepLast(1)))
            defer { history.close() }
            let backend = try SQLiteTagIndexBackend(directory: dir, runtimeID: id, logger: quietLogger)
            _ = TagIndexer(backend: backend, history: history, source: FakeTransactionSource(), logger: quietLogger)
            for round in UInt64(0)..<4 {
                try await history.commit(annotated(id, round: round, height: 1), roundResults: nil)
            }
            backend.close()
            let report = await history.pruner.prunePass()
            guard case .vetoed = report.outcome else {
                Issue.record("expected a veto, got \(report.outcome)")
                return
            }
            _ = try await history.block(round: 0)
        }
    }

    @Test("with the disabled backend the service starts nothing and waits for shutdown")
    func disabledService() async throws {
        try await withTemporaryDirectory { dir in
            let history = try openHistory(dir, id)
            defer { history.close() }
            let source = FakeTransactionSource()
            let indexer = TagIndexer(
                backend: DisabledTagIndexBackend(), history: history, source: source, logger: quietLogger)
            try await withServiceRunning(indexer) {
                try await history.commit(blockWithTransactions(id, round: 1), roundResults: nil)
            }
            #expect(source.reads.value.isEmpty)
        }
    }

    @Test("the pruner and the indexer run in a ServiceGroup and end on graceful shutdown")
    func serviceGroup() async throws {
        try await withTemporaryDirectory { dir in
            let clock = ManualClock()
            let history = try openHistory(
                dir, id, configuration: HistoryConfiguration(pruner: .keepLast(2), pruneInterval: .seconds(5)),
                clock: clock)
            defer { history.close() }
            let backend = try SQLiteTagIndexBackend(directory: dir, runtimeID: id, logger: quietLogger)
            defer { backend.close() }
            let indexer = TagIndexer(backend: backend, history: history, source: FakeTransactionSource(), logger: quietLogger)
            let group = ServiceGroup(services: [history.pruner, indexer], logger: quietLogger)
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                var reports = history.pruner.reportsStream().makeAsyncIterator()
                for round in UInt64(0)...9 {
                    try await history.commit(annotated(id, round: round, height: 1), roundResults: nil)
                }
                try await backend.waitBlockIndexed(round: 9)
                await clock.waitForSleepers(count: 1)
                clock.advance(by: .seconds(5))
                #expect(await reports.next()?.rounds == Array(0...7))
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
            }
            await #expect(throws: CodedError.self) { _ = try await backend.queryTxnByIndex(round: 3, index: 0) }
            #expect(try await backend.lastIndexedRound() == 9)
        }
    }
}
