import Foundation
import Logging
import RuntimeRegistry
@testable import RuntimeNode
import Testing

/// `ControlRoutes` on a node made in process (not hosting anything).
@Suite("Control routes", .timeLimit(.minutes(3)))
struct ControlRoutesTests {
    @Test("a tag search on a runtime configured without a tag index is 404 with the reason, not a 500")
    func tagSearchWithoutIndex() async throws {
        try await ConfigFixture.with { fixture in
            let config = NodeConfig(
                dataDir: fixture.dataDir, runtime: RuntimeOptions(supported: [ConfigFixture.runtimeID]),
                metricsAddress: "")
            let logger = Logger(label: "routes-tests", factory: { _ in SwiftLogNoOpLogHandler() })
            let node = try await RuntimeNode.make(config: config, metrics: nil, logger: logger)
            let routes = ControlRoutes()
            routes.attach(node)
            let response = await routes.handle(ControlRequest(
                method: "GET", path: "/v1/runtimes/\(ConfigFixture.runtimeID)/tags", query: ["key": "a", "value": "b"]))
            #expect(response.status == 404)
            #expect(response.errorMessage?.contains("has no tag index") == true)
            // Running a cancelled node closes what make opened.
            let running = Task { try await node.run(signals: false) }
            running.cancel()
            _ = await running.result
        }
    }
}
