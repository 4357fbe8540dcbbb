import Foundation
import Logging
import RuntimeRegistry
import Testing

@testable import RuntimeNode

/// `RuntimeNode.shutdown()`, which the CLI calls for SIGTERM and SIGINT caught from its start.
@Suite("Node shutdown requests", .timeLimit(.minutes(3)))
struct NodeShutdownTests {
    @Test("a shutdown asked for before run() (a signal while the node opened) makes run() start and stop cleanly")
    func shutdownBeforeRun() async throws {
        try await ConfigFixture.with { fixture in
            let node = try await Self.node(fixture)
            await node.shutdown()
            // Without the request being kept, this runs until the suite's time limit.
            try await node.run(signals: false)
            // The node closed what it had opened: the data directory can be locked again.
            let again = try await whileLockLingers { try await Self.node(fixture) }
            await again.shutdown()
            try await again.run(signals: false)
        }
    }

    @Test("a shutdown asked for while the node runs stops it")
    func shutdownWhileRunning() async throws {
        try await ConfigFixture.with { fixture in
            let node = try await Self.node(fixture)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await node.run(signals: false) }
                // The control API answers once the services run.
                let answered = await eventually(.seconds(120)) { () async -> Bool? in
                    (try? await ControlClient(socketPath: node.controlSocketPath).get("/v1/status").status) == 200 ? true : nil
                }
                #expect(answered == true)
                await node.shutdown()
                try await group.waitForAll()
            }
        }
    }

    /// A node on the fixture's data directory, supporting one runtime, without metrics or logs.
    static func node(_ fixture: ConfigFixture) async throws -> RuntimeNode {
        let config = NodeConfig(
            dataDir: fixture.dataDir, runtime: RuntimeOptions(supported: [ConfigFixture.runtimeID]), metricsAddress: "")
        let logger = Logger(label: "shutdown-tests", factory: { _ in SwiftLogNoOpLogHandler() })
        return try await RuntimeNode.make(config: config, metrics: nil, logger: logger)
    }
}
