import OasisCommon
import Synchronization
import Testing

@testable import RuntimeNode

/// Concurrent submissions share `CheckTx` calls.
@Suite("Check-tx coalescing", .timeLimit(.minutes(3)))
struct ExecutorCheckTxCoalescerTests {
    /// The calls made, and a gate the first call waits on.
    final class Recorder: Sendable {
        let calls = Mutex<[[[UInt8]]]>([])
        let gate = Latch()
    }

    /// Runs `body` while `coalescer` makes its calls with `call`; stops it afterwards.
    func withCalls(
        _ coalescer: CheckTxCoalescer, _ call: @escaping CheckTxCoalescer.Call, _ body: () async throws -> Void
    ) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await coalescer.run(call) }
            defer { coalescer.stop() }
            try await body()
        }
    }

    @Test("a lone check is one call; checks arriving during a call share the next one; outcomes go to their owners")
    func coalesces() async throws {
        let coalescer = CheckTxCoalescer(maxPerCall: 256)
        let recorder = Recorder()
        let call: CheckTxCoalescer.Call = { transactions in
            let first = recorder.calls.withLock { calls in
                calls.append(transactions)
                return calls.count == 1
            }
            if first { _ = await recorder.gate.waitUnlessCancelled() }
            // Odd first bytes are refused.
            return transactions.map { $0[0] % 2 == 1 ? "refused \($0[0])" : nil }
        }
        try await withCalls(coalescer, call) {
            try await withThrowingTaskGroup(of: (UInt8, CheckTxCoalescer.Outcome).self) { group in
                group.addTask { (0, await coalescer.check([0])) }
                // The first call is in flight (waiting on the gate) before the others arrive.
                _ = await eventually(.seconds(120)) { recorder.calls.withLock { $0.count } == 1 ? true : nil }
                for n in UInt8(1)...49 {
                    group.addTask { (n, await coalescer.check([n])) }
                }
                _ = await eventually(.seconds(120)) { coalescer.pendingCount == 49 ? true : nil }
                _ = recorder.gate.open()
                var outcomes: [UInt8: CheckTxCoalescer.Outcome] = [:]
                for try await (n, outcome) in group { outcomes[n] = outcome }
                for n in UInt8(0)...49 {
                    switch outcomes[n] {
                    case .accepted: #expect(n % 2 == 0)
                    case .refused(let text): #expect(text == "refused \(n)")
                    default: Issue.record("transaction \(n): \(String(describing: outcomes[n]))")
                    }
                }
            }
        }
        #expect(recorder.calls.withLock { $0.map(\.count) } == [1, 49])
    }

    @Test("a failed call fails every transaction it carried, and the next call is made afresh")
    func callFailure() async throws {
        let coalescer = CheckTxCoalescer(maxPerCall: 4)
        struct Down: Error {}
        let failing = Atomic<Bool>(true)
        let call: CheckTxCoalescer.Call = { transactions in
            if failing.load(ordering: .relaxed) { throw Down() }
            return transactions.map { _ in nil }
        }
        try await withCalls(coalescer, call) {
            guard case .callFailed = await coalescer.check([1]) else {
                Issue.record("want callFailed")
                return
            }
            failing.store(false, ordering: .relaxed)
            guard case .accepted = await coalescer.check([2]) else {
                Issue.record("want accepted")
                return
            }
        }
    }

    @Test("after stop, a check waiting for a call and a later one get stopped; the call in flight finishes")
    func stop() async {
        let coalescer = CheckTxCoalescer(maxPerCall: 1)
        let recorder = Recorder()
        let call: CheckTxCoalescer.Call = { transactions in
            recorder.calls.withLock { $0.append(transactions) }
            _ = await recorder.gate.waitUnlessCancelled()
            return transactions.map { _ in nil }
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await coalescer.run(call) }
            let first = Task { await coalescer.check([0]) }
            _ = await eventually(.seconds(120)) { recorder.calls.withLock { $0.count } == 1 ? true : nil }
            let second = Task { await coalescer.check([1]) }
            _ = await eventually(.seconds(120)) { coalescer.pendingCount == 1 ? true : nil }
            coalescer.stop()
            _ = recorder.gate.open()
            guard case .accepted = await first.value else {
                Issue.record("want the call in flight to finish")
                return
            }
            guard case .stopped = await second.value else {
                Issue.record("want stopped for the check still waiting")
                return
            }
            guard case .stopped = await coalescer.check([2]) else {
                Issue.record("want stopped for a check after stop")
                return
            }
            #expect(recorder.calls.withLock { $0.count } == 1)
        }
    }

    @Test("cancelling the submission that started the calls fails no other submission's check")
    func cancelledStarter() async throws {
        let coalescer = CheckTxCoalescer(maxPerCall: 256)
        let recorder = Recorder()
        let call: CheckTxCoalescer.Call = { transactions in
            let first = recorder.calls.withLock { calls in
                calls.append(transactions)
                return calls.count == 1
            }
            if first { _ = await recorder.gate.waitUnlessCancelled() }
            // A call made in a cancelled task fails, as an RHP call does.
            try Task.checkCancellation()
            return transactions.map { _ in nil }
        }
        try await withCalls(coalescer, call) {
            let starter = Task { await coalescer.check([0]) }
            _ = await eventually(.seconds(120)) { recorder.calls.withLock { $0.count } == 1 ? true : nil }
            let other = Task { await coalescer.check([1]) }
            _ = await eventually(.seconds(120)) { coalescer.pendingCount == 1 ? true : nil }
            starter.cancel()
            guard case .callFailed = await starter.value else {
                Issue.record("want callFailed for the cancelled submission")
                return
            }
            _ = recorder.gate.open()
            let outcome = await other.value
            guard case .accepted = outcome else {
                Issue.record("the other submission: \(outcome)")
                return
            }
            // The call the cancelled submission started was not cancelled with it.
            #expect(recorder.calls.withLock { $0.count } == 2)
        }
    }

    @Test("a submission gets its outcome when its call answers, while later submissions keep the calls going")
    func outcomeWithoutWaitingForLaterCalls() async throws {
        let coalescer = CheckTxCoalescer(maxPerCall: 256)
        let recorder = Recorder()
        let secondArrived = Latch()
        let call: CheckTxCoalescer.Call = { transactions in
            let count = recorder.calls.withLock { calls in
                calls.append(transactions)
                return calls.count
            }
            // The first call answers once the next submission waits; the second is held.
            if count == 1 { _ = await secondArrived.waitUnlessCancelled() }
            if count == 2 { _ = await recorder.gate.waitUnlessCancelled() }
            return transactions.map { _ in nil }
        }
        try await withCalls(coalescer, call) {
            let answered = Mutex<CheckTxCoalescer.Outcome?>(nil)
            let first = Task {
                let outcome = await coalescer.check([0])
                answered.withLock { $0 = outcome }
            }
            _ = await eventually(.seconds(120)) { recorder.calls.withLock { $0.count } == 1 ? true : nil }
            let second = Task { await coalescer.check([1]) }
            _ = await eventually(.seconds(120)) { coalescer.pendingCount == 1 ? true : nil }
            _ = secondArrived.open()
            // The bound only ends the test if the first submission waits for the held call.
            let outcome = await eventually(.seconds(120)) { answered.withLock { $0 } }
            _ = recorder.gate.open()
            guard case .accepted = outcome else {
                Issue.record("the first submission, while the second call is in flight: \(String(describing: outcome))")
                return
            }
            await first.value
            guard case .accepted = await second.value else {
                Issue.record("want accepted for the second submission")
                return
            }
        }
    }
}
