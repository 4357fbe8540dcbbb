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
        try await withThrowingTaskGroup(of: (UInt8, CheckTxCoalescer.Outcome).self) { group in
            group.addTask { (0, await coalescer.check([0], call: call)) }
            // The first call is in flight (waiting on the gate) before the others arrive.
            _ = await eventually(.seconds(10)) { recorder.calls.withLock { $0.count } == 1 ? true : nil }
            for n in UInt8(1)...49 {
                group.addTask { (n, await coalescer.check([n], call: call)) }
            }
            _ = await eventually(.seconds(10)) { coalescer.pendingCount == 49 ? true : nil }
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
        #expect(recorder.calls.withLock { $0.map(\.count) } == [1, 49])
    }

    @Test("a failed call fails every transaction it carried, and the next call is made afresh")
    func callFailure() async {
        let coalescer = CheckTxCoalescer(maxPerCall: 4)
        struct Down: Error {}
        let failing: CheckTxCoalescer.Call = { _ in throw Down() }
        guard case .callFailed = await coalescer.check([1], call: failing) else {
            Issue.record("want callFailed")
            return
        }
        let working: CheckTxCoalescer.Call = { $0.map { _ in nil } }
        guard case .accepted = await coalescer.check([2], call: working) else {
            Issue.record("want accepted")
            return
        }
    }
}
