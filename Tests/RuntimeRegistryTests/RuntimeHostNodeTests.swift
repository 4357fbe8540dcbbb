import Foundation
import RuntimeRegistry
import ServiceLifecycle
import Testing

/// A notifier that does nothing until shutdown.
struct IdleNotifier: Service {
    func run() async throws {
        try? await gracefulShutdown()
    }
}

struct TestHandlerFactory: RuntimeHostHandlerFactory {
    let hostedRuntime: Runtime

    func runtime() -> Runtime { hostedRuntime }
    func newRuntimeHostHandler() -> any RequestHandler { UnsupportedRequestHandler() }
    func newNotifier(for hosted: any HostedRuntime) -> any Service { IdleNotifier() }
}

/// spec/core.md §1.12.
@Suite("Runtime host node", .timeLimit(.minutes(3)))
struct RuntimeHostNodeTests {
    @Test("provisioning asks the runtime for its host and keeps the provisioned runtime")
    func provisions() async throws {
        try await Fixture.with { fixture in
            let registry = try await fixture.registry(fixture.options([IDs.compute], paths: [IDs.compute]))
            let runtime = try registry.runtime(IDs.compute)
            let node = RuntimeHostNode(factory: TestHandlerFactory(hostedRuntime: runtime))
            #expect(node.hostedRuntime == nil)
            try await whileRunning([runtime]) {
                let provisioned = try await node.provisionHostedRuntime()
                #expect(provisioned.runtime.id == IDs.compute)
                #expect(node.hostedRuntime?.id == IDs.compute)
            }
            await registry.cleanup()
        }
    }

    @Test("a runtime without hosting: failed to get runtime host")
    func notHosted() async throws {
        try await Fixture.with { fixture in
            let registry = try await fixture.registry(fixture.options())
            let node = RuntimeHostNode(factory: TestHandlerFactory(hostedRuntime: try registry.runtime(IDs.compute)))
            #expect(await errorText { _ = try await node.provisionHostedRuntime() }
                == "failed to get runtime host: runtime/registry: runtime host not configured")
            #expect(node.hostedRuntime == nil)
            await registry.cleanup()
        }
    }
}
