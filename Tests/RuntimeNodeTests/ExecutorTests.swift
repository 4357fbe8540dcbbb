import Foundation
#if canImport(Glibc)
import Glibc
#endif
import RuntimeNode
import RuntimeRegistry
import Testing

/// The localnet executor on the real stack: kv-runtime hosted unconfined through the registry,
/// the embedded consensus, SQLite storage, history and tag index.
@Suite(
    "Localnet executor", .timeLimit(.minutes(5)),
    .enabled(if: FileManager.default.isExecutableFile(atPath: kvRuntimeBinaryPath), "needs the kv-runtime binary"))
struct ExecutorTests {
    @Test("a committed insert is in round 1 of the history, answers a get query, and is indexed by its kv tag")
    func insertCommits() async throws {
        try await ExecutorNode.with { node in
            let transaction = kvTransaction("insert", key: "greeting", value: "hello")
            let result = try await node.executor.submit(transaction)
            #expect(result == SubmitResult(round: 1, txHash: Hash.digest(transaction)))

            // The history has the block, and the block's I/O root names the transaction in storage.
            let history = try #require(node.runtime.history)
            let block = try await history.block(round: 1)
            #expect(block.header.ioRoot != .empty)
            let entries = try await node.runtime.storage().entries(
                at: StorageRoot(namespace: executorRuntimeID, version: 1, type: .io, hash: block.header.ioRoot))
            let parsed = try IOTreeLayout.parse(entries)
            #expect(parsed.transactions.map(\.input) == [transaction])
            #expect(try await history.latestBlock().header.round == 1)

            #expect(try await node.executor.query(method: "get", arguments: getArguments("greeting")) == .textString("hello"))
            #expect(try await node.executor.query(method: "get", arguments: getArguments("absent")) == .null)

            let indexer = try #require(node.runtime.tagIndexer)
            var location: TransactionLocation?
            try await eventually("the tag indexer to index round 1") {
                location = try? await indexer.queries.queryTxn(key: Array("kv_key".utf8), value: Array("greeting".utf8))
                return location != nil
            }
            #expect(location == TransactionLocation(round: 1, txHash: result.txHash, txIndex: 0))

            let statistics = node.executor.statistics
            #expect(statistics.batches == 1)
            #expect(statistics.transactions == 1)
            #expect(statistics.lastRound == 1)
            #expect(statistics.queued == 0)
        }
    }

    @Test("a malformed or oversized transaction is rejected with the runtime's check-tx error and nothing is committed")
    func malformedIsRejected() async throws {
        try await ExecutorNode.with(descriptor: executorDescriptor(maxBatchSizeBytes: 1024)) { node in
            let malformed = try CBORValue.map([
                CBORMapEntry(key: .textString("method"), value: .textString("fly"))
            ]).encoded()
            let outcome = await node.executor.outcome(of: malformed)
            guard case .failed(.checkTxFailed(let text)) = outcome else {
                Issue.record("expected a check-tx rejection, got \(outcome)")
                return
            }
            #expect(text.contains("module: kv code: 1"))
            #expect(text.contains("method not found: fly"))

            let oversized = kvTransaction("insert", key: "big", value: String(repeating: "x", count: 1100))
            guard case .failed(.checkTxFailed(let why)) = await node.executor.outcome(of: oversized) else {
                Issue.record("an oversized transaction was not rejected")
                return
            }
            #expect(why.contains("max_batch_size_bytes"))

            let statistics = node.executor.statistics
            #expect(statistics.rejected == 2)
            #expect(statistics.batches == 0)
            #expect(try await node.runtime.history?.latestBlock().header.round == 0)
            #expect(try await node.consensus.latestBlock(id: executorRuntimeID, height: 0).block?.header.round == 0)
        }
    }

    @Test("25 concurrent submissions with max_batch_size 10 all commit, in batches of at most 10")
    func concurrentSubmissionsAreBatched() async throws {
        try await ExecutorNode.with(descriptor: executorDescriptor(maxBatchSize: 10)) { node in
            let executor = node.executor
            let outcomes = await withTaskGroup(of: SubmitOutcome.self, returning: [SubmitOutcome].self) { group in
                for i in 0..<25 {
                    group.addTask { await executor.outcome(of: kvTransaction("insert", key: "k\(i)", value: "v\(i)")) }
                }
                return await group.reduce(into: []) { $0.append($1) }
            }
            let rounds = transactionsPerRound(outcomes)
            #expect(rounds.values.reduce(0, +) == 25)
            #expect(rounds.values.allSatisfy { $0 <= 10 })
            #expect(rounds.count >= 3)
            let statistics = executor.statistics
            #expect(statistics.transactions == 25)
            #expect(statistics.largestBatch <= 10)
            #expect(statistics.batches == UInt64(rounds.count))
            for i in [0, 13, 24] {
                let value = try await executor.query(method: "get", arguments: getArguments("k\(i)"))
                #expect(value == .textString("v\(i)"))
            }
        }
    }

    @Test("max_batch_size_bytes cuts batches: no batch holds more bytes than the limit")
    func bytesLimitCutsBatches() async throws {
        try await ExecutorNode.with(descriptor: executorDescriptor(maxBatchSize: 10, maxBatchSizeBytes: 1024)) { node in
            let executor = node.executor
            // About 420 bytes each: two fit in 1024 bytes, three do not.
            let transactions = (0..<5).map { kvTransaction("insert", key: "b\($0)", value: String(repeating: "v", count: 400)) }
            #expect(transactions.allSatisfy { $0.count > 1024 / 3 && $0.count <= 1024 / 2 })
            let outcomes = await withTaskGroup(of: SubmitOutcome.self, returning: [SubmitOutcome].self) { group in
                for transaction in transactions { group.addTask { await executor.outcome(of: transaction) } }
                return await group.reduce(into: []) { $0.append($1) }
            }
            let rounds = transactionsPerRound(outcomes)
            #expect(rounds.values.reduce(0, +) == 5)
            #expect(rounds.values.allSatisfy { $0 <= 2 })
            #expect(executor.statistics.largestBatch <= 2)
        }
    }

    @Test("a full queue refuses more transactions with queueFull")
    func queueFull() async throws {
        let clock = ManualClock()
        var options = LocalnetExecutor.Options()
        options.queueCapacity = 2
        try await ExecutorNode.with(
            descriptor: executorDescriptor(maxBatchSize: 10, batchFlushTimeout: .seconds(5)), clock: clock,
            options: options
        ) { node in
            let executor = node.executor
            try await withThrowingTaskGroup(of: SubmitOutcome.self) { group in
                for i in 0..<2 {
                    group.addTask { await executor.outcome(of: kvTransaction("insert", key: "q\(i)", value: "\(i)")) }
                }
                try await eventually("two queued transactions") { executor.statistics.queued == 2 }
                #expect(await executor.outcome(of: kvTransaction("insert", key: "q2", value: "2")) == .failed(.queueFull(2)))
                await clock.waitForSleepers(count: 1)
                clock.advance(by: .seconds(5))
                for try await outcome in group {
                    guard case .committed(let result) = outcome else {
                        Issue.record("not committed: \(outcome)")
                        continue
                    }
                    #expect(result.round == 1)
                }
            }
        }
    }

    @Test("when the runtime does not answer, a submission fails with batchFailed after bounded attempts; later ones commit")
    func unresponsiveRuntimeFails() async throws {
        var options = LocalnetExecutor.Options()
        options.retryDelay = .milliseconds(10)
        // Long enough for a loaded machine to answer a running runtime's calls (the host's
        // storage answers run on the test process's busy pool), short enough for three
        // attempts on a stopped one to fail within half a minute.
        options.callTimeout = .seconds(8)
        // The supervisor's watchdog would kill the stopped runtime (after 5 s to 20 s) and a
        // restarted one would answer the later attempts: this test is about the executor alone.
        var timings = SupervisorTimings()
        timings.watchdogInterval = nil
        try await ExecutorNode.with(options: options, timings: timings) { node in
            let supervised = try #require(node.hosted.runtime as? SupervisedRuntime)
            // The runtime's start is not what this test measures: wait for it without the
            // executor's short deadline.
            _ = try await supervised.call(.runtimePingRequest, timeout: .seconds(300))
            let first = try await node.executor.submit(kvTransaction("insert", key: "first", value: "1"))
            #expect(first.round == 1)
            let pid = try #require(supervised.pid)
            // A stopped process keeps its connection but answers nothing: every call times out.
            #expect(kill(pid, SIGSTOP) == 0)
            let outcome = await node.executor.outcome(of: kvTransaction("insert", key: "never", value: "x"))
            #expect(kill(pid, SIGCONT) == 0)
            guard case .failed(.batchFailed(let why)) = outcome else {
                Issue.record("expected batchFailed, got \(outcome)")
                return
            }
            #expect(why.contains("3 times"))
            #expect(node.executor.statistics.batches == 1)
            let latest = try await node.consensus.latestBlock(id: executorRuntimeID, height: 0)
            #expect(latest.block?.header.round == 1)
            let next = try await node.executor.submit(kvTransaction("insert", key: "next", value: "2"))
            #expect(next.round == 2)
        }
    }

    @Test("the flush timeout on the executor's clock cuts a partial batch")
    func flushTimeoutCutsPartialBatch() async throws {
        let clock = ManualClock()
        try await ExecutorNode.with(
            descriptor: executorDescriptor(maxBatchSize: 10, batchFlushTimeout: .seconds(5)), clock: clock
        ) { node in
            let executor = node.executor
            try await withThrowingTaskGroup(of: SubmitOutcome.self) { group in
                for i in 0..<3 {
                    group.addTask { await executor.outcome(of: kvTransaction("insert", key: "p\(i)", value: "\(i)")) }
                }
                try await eventually("three queued transactions") { executor.statistics.queued == 3 }
                // The loop sleeps out the flush timeout; nothing is cut before it passes.
                await clock.waitForSleepers(count: 1)
                #expect(executor.statistics.batches == 0)
                clock.advance(by: .seconds(5))
                var rounds: Set<UInt64> = []
                for try await outcome in group {
                    guard case .committed(let result) = outcome else {
                        Issue.record("not committed: \(outcome)")
                        continue
                    }
                    rounds.insert(result.round)
                }
                #expect(rounds == [1])
            }
            #expect(executor.statistics.batches == 1)
            #expect(executor.statistics.largestBatch == 3)
        }
    }

    @Test("a transaction submitted while the runtime is killed commits after the restart")
    func survivesRuntimeRestart() async throws {
        try await ExecutorNode.with { node in
            let first = try await node.executor.submit(kvTransaction("insert", key: "before", value: "1"))
            #expect(first.round == 1)
            let supervised = try #require(node.hosted.runtime as? SupervisedRuntime)
            let pid = try #require(supervised.pid)
            #expect(kill(pid, SIGKILL) == 0)
            let result = try await node.executor.submit(kvTransaction("insert", key: "after", value: "2"))
            #expect(result.round == 2)
            try await eventually("the supervisor to count the restart") { supervised.restartCount >= 1 }
            #expect(supervised.pid != pid)
            #expect(try await node.executor.query(method: "get", arguments: getArguments("before")) == .textString("1"))
            #expect(try await node.executor.query(method: "get", arguments: getArguments("after")) == .textString("2"))
        }
    }

    @Test("a batch queued when the runtime is killed executes on the restarted runtime")
    func queuedBatchSurvivesKill() async throws {
        let clock = ManualClock()
        try await ExecutorNode.with(
            descriptor: executorDescriptor(maxBatchSize: 10, batchFlushTimeout: .seconds(5)), clock: clock
        ) { node in
            let executor = node.executor
            let supervised = try #require(node.hosted.runtime as? SupervisedRuntime)
            try await withThrowingTaskGroup(of: SubmitOutcome?.self) { group in
                group.addTask { await executor.outcome(of: kvTransaction("insert", key: "queued", value: "q")) }
                try await eventually("a queued transaction") { executor.statistics.queued == 1 }
                let pid = try #require(supervised.pid)
                #expect(kill(pid, SIGKILL) == 0)
                // Until the supervisor has seen the process go, it still hands out the dead
                // connection, and every attempt fails at once on it. The loop below runs the
                // executor's pauses between attempts (500 ms on its clock) in about 10 ms of
                // real time, so on a loaded machine all of them could come before the
                // supervisor notices, and the batch fails. Once it has, calls wait for the
                // restarted runtime (the old connection and pid go together).
                try await eventually("the supervisor to see the runtime go") { supervised.pid != pid }
                // Time moves on the executor's clock (flush timeout, pauses between attempts)
                // until the submission is done.
                group.addTask {
                    while !Task.isCancelled {
                        clock.advance(by: .seconds(1))
                        try await Task.sleep(for: .milliseconds(20))
                    }
                    return nil
                }
                let outcome = try await group.next() ?? nil
                group.cancelAll()
                guard case .committed(let result) = outcome else {
                    Issue.record("not committed: \(String(describing: outcome))")
                    return
                }
                #expect(result.round == 1)
            }
            #expect(supervised.restartCount >= 1)
            let value = try await executor.query(method: "get", arguments: getArguments("queued"))
            #expect(value == .textString("q"))
        }
    }

    @Test("graceful shutdown fails queued submitters with stopped, and later submissions too")
    func shutdownFailsQueued() async throws {
        let clock = ManualClock()
        try await ExecutorNode.with(
            descriptor: executorDescriptor(maxBatchSize: 10, batchFlushTimeout: .seconds(5)), clock: clock
        ) { node in
            let executor = node.executor
            try await withThrowingTaskGroup(of: SubmitOutcome.self) { group in
                for i in 0..<2 {
                    group.addTask { await executor.outcome(of: kvTransaction("insert", key: "s\(i)", value: "\(i)")) }
                }
                try await eventually("two queued transactions") { executor.statistics.queued == 2 }
                await node.shutdownHosting()
                for try await outcome in group {
                    #expect(outcome == .failed(.stopped))
                }
            }
            #expect(await executor.outcome(of: kvTransaction("insert", key: "late", value: "x")) == .failed(.stopped))
            #expect(executor.statistics.queued == 0)
            #expect(executor.statistics.batches == 0)
            #expect(try await node.consensus.latestBlock(id: executorRuntimeID, height: 0).block?.header.round == 0)
        }
    }
}

@Suite("Executor values")
struct ExecutorValueTests {
    @Test("a submit result encodes as {round, tx_hash} with the hash in hex, and decodes back")
    func submitResultJSON() throws {
        let result = SubmitResult(round: 7, txHash: Hash.digest(Array("abc".utf8)))
        let json = try JSONEncoder().encode(result)
        let object = try #require(try JSONSerialization.jsonObject(with: json) as? [String: Any])
        #expect(object["round"] as? Int == 7)
        #expect(object["tx_hash"] as? String == "53048e2681941ef99b2e29b76b4c7dabe4c2d0c634fc6d46e0e2f13107e7af23")
        #expect(try JSONDecoder().decode(SubmitResult.self, from: json) == result)
    }

    @Test("executor errors say what happened")
    func errorText() {
        #expect("\(ExecutorError.stopped)" == "transaction not committed: the executor is shutting down")
        #expect("\(ExecutorError.queueFull(10_000))".contains("10000 transactions waiting"))
        #expect("\(ExecutorError.checkTxFailed("module: kv code: 1 message: x"))".contains("module: kv code: 1"))
    }
}

/// How many of `outcomes` committed in each round; an outcome that did not commit is an issue.
func transactionsPerRound(_ outcomes: [SubmitOutcome]) -> [UInt64: Int] {
    var rounds: [UInt64: Int] = [:]
    for outcome in outcomes {
        guard case .committed(let result) = outcome else {
            Issue.record("not committed: \(outcome)")
            continue
        }
        rounds[result.round, default: 0] += 1
    }
    return rounds
}
