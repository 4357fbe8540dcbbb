import ConsensusAPI
import OasisCommon
@testable import RuntimeHistory
import Testing

/// Pruning: v21.1's `TestHistoryPrune` and `TestHistoryPruneError`, acceptance 91–93, and the
/// pass bounds, all on a manual clock.
@Suite("History pruner", .timeLimit(.minutes(3)))
struct HistoryPrunerTests {
    let id = Namespace.test(seed: "history prune test ns")

    /// Commits rounds 0...last, round i at height i; rounds divisible by 5 carry two messages.
    func commitRounds(_ history: RuntimeHistory, through last: UInt64, results: Bool = true) async throws {
        for round in 0...last {
            let roundResults: RoundResults? = results ? (round % 5 == 0 ? twoMessages : RoundResults()) : nil
            try await history.commit(annotated(id, round: round, height: Int64(round)), roundResults: roundResults)
        }
    }

    /// Runs the pruner service on `clock` while `body` runs, then stops it.
    func withPrunerRunning(
        _ pruner: HistoryPruner, _ clock: ManualClock, _ body: () async throws -> Void
    ) async throws {
        try await withServiceRunning(pruner) {
            await clock.waitForSleepers(count: 1)
            try await body()
        }
    }

    @Test("91: keep-last(10) over rounds 0 to 50 hands [0…40] to the handler and keeps 41 to 50")
    func keepLastTen() async throws {
        try await withTemporaryDirectory { dir in
            let clock = ManualClock()
            let history = try openHistory(
                dir, id, configuration: HistoryConfiguration(pruner: .keepLast(10), pruneInterval: .milliseconds(100)),
                clock: clock)
            defer { history.close() }
            let handler = RecordingPruneHandler()
            history.pruner.register(handler)
            try await commitRounds(history, through: 50)

            try await withPrunerRunning(history.pruner, clock) {
                var reports = history.pruner.reportsStream().makeAsyncIterator()
                clock.advance(by: .milliseconds(100))
                let report = await reports.next()
                #expect(report?.outcome == .pruned)
                #expect(report?.deleted == 41)
            }
            #expect(handler.recorded == [Array(0...40)])
            for round in UInt64(0)...40 {
                await expectNotFound { _ = try await history.block(round: round) }
                await expectNotFound { _ = try await history.roundResults(round: round) }
            }
            for round in UInt64(41)...50 {
                #expect(try await history.block(round: round).header.round == round)
                let results = try await history.roundResults(round: round)
                #expect(results?.messages.isEmpty == (round % 5 != 0))
            }
        }
    }

    @Test("92: keep-last(10) with latest round 9 prunes nothing and calls no handler")
    func belowKeepCount() async throws {
        try await withTemporaryDirectory { dir in
            let history = try openHistory(dir, id, configuration: HistoryConfiguration(pruner: .keepLast(10)))
            defer { history.close() }
            let handler = RecordingPruneHandler()
            history.pruner.register(handler)
            try await commitRounds(history, through: 9)
            let report = await history.pruner.prunePass()
            #expect(report.outcome == .nothingToPrune)
            #expect(report.latestRound == 9)
            #expect(handler.recorded.isEmpty)
            for round in UInt64(0)...9 { _ = try await history.block(round: round) }
        }
    }

    @Test("93: a handler that always fails vetoes every pass; all 51 rounds stay readable")
    func vetoKeepsEverything() async throws {
        try await withTemporaryDirectory { dir in
            let clock = ManualClock()
            let history = try openHistory(
                dir, id, configuration: HistoryConfiguration(pruner: .keepLast(10), pruneInterval: .milliseconds(100)),
                clock: clock)
            defer { history.close() }
            let handler = RecordingPruneHandler(failing: "thou shall not pass")
            history.pruner.register(handler)
            try await commitRounds(history, through: 50, results: false)

            try await withPrunerRunning(history.pruner, clock) {
                var reports = history.pruner.reportsStream().makeAsyncIterator()
                for _ in 0..<2 {
                    await clock.waitForSleepers(count: 1)
                    clock.advance(by: .milliseconds(100))
                    let report = await reports.next()
                    #expect(report?.outcome == .vetoed(handler: "RecordingPruneHandler", reason: "thou shall not pass"))
                    #expect(report?.deleted == 0)
                }
            }
            // Unlike v21.1, a vetoed pass is retried on the next tick.
            #expect(handler.recorded == [Array(0...40), Array(0...40)])
            for round in UInt64(0)...50 { _ = try await history.block(round: round) }
        }
    }

    @Test("a veto by the second handler deletes nothing although the first handler agreed")
    func secondHandlerVeto() async throws {
        try await withTemporaryDirectory { dir in
            let history = try openHistory(dir, id, configuration: HistoryConfiguration(pruner: .keepLast(2)))
            defer { history.close() }
            let first = RecordingPruneHandler()
            let second = RecordingPruneHandler(failing: "busy")
            history.pruner.register(first)
            history.pruner.register(second)
            try await commitRounds(history, through: 5)
            let report = await history.pruner.prunePass()
            #expect(report.outcome == .vetoed(handler: "RecordingPruneHandler", reason: "busy"))
            #expect(first.recorded == [[0, 1, 2, 3]])
            #expect(second.recorded == [[0, 1, 2, 3]])
            for round in UInt64(0)...5 { _ = try await history.block(round: round) }
        }
    }

    @Test("a pass prunes at most maxRoundsPerPass rounds, in delete batches of deleteBatchSize")
    func passAndBatchBounds() async throws {
        try await withTemporaryDirectory { dir in
            let clock = ManualClock()
            let configuration = HistoryConfiguration(
                pruner: .keepLast(10), pruneInterval: .seconds(1), maxRoundsPerPass: 25, deleteBatchSize: 10)
            let history = try openHistory(dir, id, configuration: configuration, clock: clock)
            defer { history.close() }
            let handler = RecordingPruneHandler()
            history.pruner.register(handler)
            try await commitRounds(history, through: 50)

            try await withPrunerRunning(history.pruner, clock) {
                var reports = history.pruner.reportsStream().makeAsyncIterator()
                clock.advance(by: .seconds(1))
                let first = await reports.next()
                #expect(first?.rounds == Array(0...24))
                #expect(first?.batches == 3)  // 10 + 10 + 5
                #expect(first?.deleted == 25)
                #expect(first?.backlogRemains == true)
                await expectNotFound { _ = try await history.block(round: 24) }
                let kept = try await history.block(round: 25)
                #expect(kept.header.round == 25)

                await clock.waitForSleepers(count: 1)
                clock.advance(by: .seconds(1))
                let second = await reports.next()
                #expect(second?.rounds == Array(25...40))
                #expect(second?.batches == 2)
                #expect(second?.backlogRemains == false)

                await clock.waitForSleepers(count: 1)
                clock.advance(by: .seconds(1))
                #expect(await reports.next()?.outcome == .nothingToPrune)
            }
            #expect(handler.recorded == [Array(0...24), Array(25...40)])
        }
    }

    @Test("unbounded pass and batch sizes (Int.max) prune everything old enough in one batch")
    func unboundedPass() async throws {
        try await withTemporaryDirectory { dir in
            let configuration = HistoryConfiguration(
                pruner: .keepLast(10), maxRoundsPerPass: .max, deleteBatchSize: .max)
            let history = try openHistory(dir, id, configuration: configuration)
            defer { history.close() }
            try await commitRounds(history, through: 50)

            let report = await history.pruner.prunePass()
            #expect(report.outcome == .pruned)
            #expect(report.rounds == Array(0...40))
            #expect(report.deleted == 41)
            #expect(report.batches == 1)
            #expect(report.backlogRemains == false)
        }
    }

    @Test("keep-last(0) never removes the latest block")
    func latestNeverRemoved() async throws {
        try await withTemporaryDirectory { dir in
            let clock = ManualClock()
            let history = try openHistory(
                dir, id, configuration: HistoryConfiguration(pruner: .keepLast(0), pruneInterval: .seconds(1)),
                clock: clock)
            defer { history.close() }
            try await history.commit(annotated(id, round: 0, height: 1), roundResults: nil)
            try await withPrunerRunning(history.pruner, clock) {
                var reports = history.pruner.reportsStream().makeAsyncIterator()
                clock.advance(by: .seconds(1))
                #expect(await reports.next()?.outcome == .nothingToPrune)  // round 0 is the latest
                let onlyBlock = try await history.latestBlock()
                #expect(onlyBlock.header.round == 0)

                for round in UInt64(1)...7 {
                    try await history.commit(annotated(id, round: round, height: Int64(round) + 1), roundResults: nil)
                }
                await clock.waitForSleepers(count: 1)
                clock.advance(by: .seconds(1))
                #expect(await reports.next()?.rounds == Array(0...6))
                await clock.waitForSleepers(count: 1)
                clock.advance(by: .seconds(1))
                #expect(await reports.next()?.outcome == .nothingToPrune)
            }
            #expect(try await history.latestBlock().header.round == 7)
            #expect(try await history.block(round: 7).header.round == 7)
        }
    }

    @Test("commits go through between the delete batches of a pass")
    func commitsInterleaveWithBatches() async throws {
        try await withTemporaryDirectory { dir in
            let configuration = HistoryConfiguration(pruner: .keepLast(5), deleteBatchSize: 10)
            let history = try openHistory(dir, id, configuration: configuration)
            defer { history.close() }
            try await commitRounds(history, through: 49)
            let next = LockedBox<UInt64>(50)
            history.pruner.afterBatch.withLock { hook in
                hook = { _ in
                    let round = next.mutate { value -> UInt64 in
                        defer { value += 1 }
                        return value
                    }
                    try? await history.commit(annotated(history.runtimeID, round: round, height: Int64(round)), roundResults: nil)
                }
            }
            let report = await history.pruner.prunePass()
            #expect(report.batches == 5)
            #expect(report.deleted == 45)
            // Each batch let one commit in; the latest moved on while the pass ran.
            #expect(try await history.latestBlock().header.round == 54)
        }
    }

    @Test("a prune handler may commit while the pass waits for it: no write lock is held")
    func handlerRunsOutsideWriteTransaction() async throws {
        try await withTemporaryDirectory { dir in
            let history = try openHistory(dir, id, configuration: HistoryConfiguration(pruner: .keepLast(1)))
            defer { history.close() }
            try await commitRounds(history, through: 3)
            history.pruner.register(CommittingHandler(history: history, round: 4))
            let report = await history.pruner.prunePass()
            #expect(report.outcome == .pruned)
            #expect(try await history.latestBlock().header.round == 4)
        }
    }

    @Test("the none strategy discards handlers and never prunes")
    func noneStrategy() async throws {
        try await withTemporaryDirectory { dir in
            let history = try openHistory(dir, id)
            defer { history.close() }
            let handler = RecordingPruneHandler()
            history.pruner.register(handler)
            #expect(history.pruner.handlerCount == 0)
            try await commitRounds(history, through: 20)
            #expect(await history.pruner.prunePass().outcome == .nothingToPrune)
            _ = try await history.block(round: 0)
        }
    }

    @Test("the pruner service stops on cancellation while sleeping on its clock")
    func serviceStops() async throws {
        try await withTemporaryDirectory { dir in
            let clock = ManualClock()
            let history = try openHistory(
                dir, id, configuration: HistoryConfiguration(pruner: .keepLast(1)), clock: clock)
            defer { history.close() }
            try await withPrunerRunning(history.pruner, clock) {}
            #expect(clock.sleepers == 0)
        }
    }

    @Test("once its history is closed the pruner service stops pruning instead of failing a pass on every tick")
    func closedHistoryIdles() async throws {
        try await withTemporaryDirectory { dir in
            let clock = ManualClock()
            let logs = RecordingLogs()
            let history = try RuntimeHistory(
                directory: dir, runtimeID: id,
                configuration: HistoryConfiguration(pruner: .keepLast(1), pruneInterval: .seconds(1)), clock: clock,
                logger: logs.logger)
            try await commitRounds(history, through: 5)
            try await withPrunerRunning(history.pruner, clock) {
                // The runtime stops (its history closes) while the node runs on.
                history.close()
                clock.advance(by: .seconds(1))
                let stopped = "history pruner stopped: the history is closed"
                let clock = ContinuousClock()
                let end = clock.now + .seconds(120)
                while !logs.all.contains(where: { $0.message == stopped || $0.level >= .error }), clock.now < end {
                    try await Task.sleep(for: .milliseconds(5))
                }
                #expect(logs.all.contains { $0.message == stopped && $0.level == .info })
                #expect(!logs.all.contains { $0.level >= .warning }, "\(logs.all.map(\.message))")
            }
        }
    }

    @Test("strategy names parse case-insensitively and unknown ones are refused")
    func strategyNames() throws {
        #expect(try PrunerStrategy(name: "None", numKept: 5) == .none)
        #expect(try PrunerStrategy(name: "KEEP_LAST", numKept: 600) == .keepLast(600))
        #expect(throws: HistoryError.invalidConfiguration(
            "unknown history pruner strategy: keep_first (want none or keep_last)")) {
            try PrunerStrategy(name: "keep_first", numKept: 1)
        }
    }

    @Test("a non-positive prune interval is refused when opening")
    func badInterval() async throws {
        try await withTemporaryDirectory { dir in
            await expectError(prefix: "runtime/history: invalid configuration: runtime.history.pruner.interval must be positive") {
                _ = try openHistory(dir, id, configuration: HistoryConfiguration(pruneInterval: .zero))
            }
        }
    }
}

/// Commits a round from inside the handler.
struct CommittingHandler: PruneHandler {
    let history: RuntimeHistory
    let round: UInt64

    func prune(rounds: [UInt64]) async throws {
        try await history.commit(annotated(history.runtimeID, round: round, height: Int64(round)), roundResults: nil)
    }
}
