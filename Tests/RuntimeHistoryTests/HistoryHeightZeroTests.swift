import ConsensusAPI
import OasisCommon
import RuntimeHistory
import Testing

/// The height-0 rule of v21.1, kept on purpose (docs/HISTORY.md): while the last consensus
/// height is 0, a duplicate or lower round is accepted, overwrites, and becomes the latest.
@Suite("Runtime history at consensus height 0")
struct HistoryHeightZeroTests {
    let id = Namespace.test(seed: "history height zero ns")

    @Test("88: at height 0, round 10 then round 5 both commit and round 5 becomes the latest")
    func lowerRoundAtHeightZero() async throws {
        try await withTemporaryDirectory { dir in
            let history = try openHistory(dir, id)
            defer { history.close() }
            try await history.commit(annotated(id, round: 10, height: 0), roundResults: nil)
            try await history.commit(annotated(id, round: 5, height: 0), roundResults: nil)
            #expect(try await history.latestBlock().header.round == 5)
            #expect(try await history.metadata().lastRound == 5)
            // Round 10 is still stored; it is just no longer the latest.
            #expect(try await history.block(round: 10).header.round == 10)
        }
    }

    @Test("at height 0 the same round commits again and replaces the stored block")
    func duplicateAtHeightZeroOverwrites() async throws {
        try await withTemporaryDirectory { dir in
            let history = try openHistory(dir, id)
            defer { history.close() }
            try await history.commit(annotated(id, round: 3, height: 0), roundResults: nil)
            var replacement = makeBlock(id, round: 3, timestamp: 99)
            replacement.header.headerType = .epochTransition
            try await history.commit(AnnotatedBlock(consensusHeight: 0, block: replacement), roundResults: twoMessages)
            #expect(try await history.block(round: 3) == replacement)
            #expect(try await history.roundResults(round: 3) == twoMessages)
        }
    }

    @Test("the first commit at a non-zero height ends the exception")
    func exceptionEndsWithFirstHeight() async throws {
        try await withTemporaryDirectory { dir in
            let history = try openHistory(dir, id)
            defer { history.close() }
            try await history.commit(annotated(id, round: 10, height: 0), roundResults: nil)
            try await history.commit(annotated(id, round: 11, height: 1), roundResults: nil)
            await expectError("runtime/history: commit at lower round (current: 11 wanted: 11)") {
                try await history.commit(annotated(id, round: 11, height: 1), roundResults: nil)
            }
            await expectError("runtime/history: commit at lower round (current: 11 wanted: 5)") {
                try await history.commit(annotated(id, round: 5, height: 1), roundResults: nil)
            }
        }
    }

    @Test("the pruner never removes a latest round that moved down at height 0")
    func prunerKeepsLoweredLatest() async throws {
        try await withTemporaryDirectory { dir in
            let history = try openHistory(dir, id, configuration: HistoryConfiguration(pruner: .keepLast(0)))
            defer { history.close() }
            for round in [0, 1, 2, 3, 10, 4] as [UInt64] {
                try await history.commit(annotated(id, round: round, height: 0), roundResults: nil)
            }
            let report = await history.pruner.prunePass()
            #expect(report.outcome == .pruned)
            #expect(report.rounds == [0, 1, 2, 3])
            #expect(try await history.latestBlock().header.round == 4)
            // Round 10 lies above the latest round, so keep-last leaves it alone.
            #expect(try await history.block(round: 10).header.round == 10)
        }
    }
}
