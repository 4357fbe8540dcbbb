import ConsensusAPI
import OasisCommon
import RuntimeHistory
import Testing

@Suite("History watch and nop history", .timeLimit(.minutes(3)))
struct HistoryWatchTests {
    let id = Namespace.test(seed: "history watch ns")

    @Test("a watcher gets the latest block first, then every commit in order")
    func watchOrder() async throws {
        try await withTemporaryDirectory { dir in
            let history = try openHistory(dir, id)
            defer { history.close() }
            try await history.commit(annotated(id, round: 1, height: 1), roundResults: nil)
            var watch = history.watchBlocks().makeAsyncIterator()
            #expect(await watch.next()?.block?.header.round == 1)
            for round in UInt64(2)...20 {
                try await history.commit(annotated(id, round: round, height: Int64(round)), roundResults: nil)
            }
            for round in UInt64(2)...20 {
                #expect(await watch.next()?.block?.header.round == round)
            }
        }
    }

    @Test("a refused commit is not published")
    func refusedNotPublished() async throws {
        try await withTemporaryDirectory { dir in
            let history = try openHistory(dir, id)
            defer { history.close() }
            try await history.commit(annotated(id, round: 5, height: 5), roundResults: nil)
            var watch = history.watchBlocks().makeAsyncIterator()
            _ = await watch.next()
            _ = try? await history.commit(annotated(id, round: 4, height: 5), roundResults: nil)
            try await history.commit(annotated(id, round: 6, height: 6), roundResults: nil)
            #expect(await watch.next()?.block?.header.round == 6)
        }
    }

    @Test("after a reopen, a watcher first gets the stored latest block")
    func watchAfterReopen() async throws {
        try await withTemporaryDirectory { dir in
            do {
                let history = try openHistory(dir, id)
                try await history.commit(annotated(id, round: 9, height: 3), roundResults: nil)
                history.close()
            }
            let history = try openHistory(dir, id)
            var watch = history.watchBlocks().makeAsyncIterator()
            #expect(await watch.next() == annotated(id, round: 9, height: 3))
            history.close()
            #expect(await watch.next() == nil)  // closing ends the watch
        }
    }

    @Test("the nop history knows its runtime and supports nothing else")
    func nopHistory() async throws {
        let history = NopHistory(runtimeID: id, logger: quietLogger)
        #expect(history.runtimeID == id)
        let message = "runtime/history: not supported"
        await expectError(message) { try await history.commit(annotated(id, round: 1, height: 1), roundResults: nil) }
        await expectError(message) { try await history.consensusCheckpoint(1) }
        await expectError(message) { _ = try await history.lastConsensusHeight() }
        await expectError(message) { _ = try await history.block(round: 1) }
        await expectError(message) { _ = try await history.latestBlock() }
        await expectError(message) { _ = try await history.roundResults(round: 1) }
        history.pruner.register(RecordingPruneHandler())
        #expect(history.pruner.handlerCount == 0)
        #expect(history.pruner.strategy == .none)
        var watch = history.watchBlocks().makeAsyncIterator()
        #expect(await watch.next() == nil)
        history.close()
    }
}
