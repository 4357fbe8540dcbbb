import Logging
import OasisCommon
import RuntimeHostProtocol
import Testing

/// This side's own requests, as opposed to its answers, and the bound on unwritten bytes.
@Suite("RHP connection: bursts of this side's own requests")
struct OwnBurstTests {
    @Test("a burst of large calls to a peer that reads every frame does not close the connection")
    func largeCallBurstKeepsConnection() async throws {
        let (logger, _) = capturingLogger()
        // The guest reads each request and answers with a small body.
        let guestHandler = GuestHandler { _ in .runtimeRPCCallResponse(RuntimeRPCCallResponse(response: [1])) }
        // The guest takes all ten requests at once (its default bound on request bytes in
        // flight, 64 MiB, would refuse some of them, which is not what this test is about).
        let pair = try await ConnectionPair.make(
            guestHandler: guestHandler, configuration: Connection.Configuration(maxConcurrentRequestBytes: 1 << 30),
            logger: logger)
        try await pair.running {
            _ = try await pair.handshake()
            // Ten calls of 15 MiB each, made at once: 150 MiB of this side's own requests, more
            // than the default bound on unwritten bytes (64 MiB), to a peer that reads them all.
            let payload = [UInt8](repeating: 0xAB, count: 15 << 20)
            let outcomes = await withTaskGroup(of: Result<Body, any Error>.self) { group in
                for _ in 0..<10 {
                    group.addTask {
                        do {
                            return .success(try await pair.host.call(
                                .runtimeRPCCallRequest(RuntimeRPCCallRequest(request: payload)), timeout: .seconds(600)))
                        } catch {
                            return .failure(error)
                        }
                    }
                }
                var outcomes: [Result<Body, any Error>] = []
                for await outcome in group { outcomes.append(outcome) }
                return outcomes
            }
            let failures = outcomes.compactMap { outcome -> String? in
                if case .failure(let error) = outcome { return "\(error)" }
                return nil
            }
            #expect(failures.isEmpty, "calls failed: \(failures.first ?? "")")
            #expect(pair.host.state == .ready, "close reason: \(pair.host.closeReason ?? "none")")
            #expect(guestHandler.handled.count == 10)
        }
    }
}
