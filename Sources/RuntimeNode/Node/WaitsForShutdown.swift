import ServiceLifecycle

/// A service whose returning on its own is no event. `successTerminationBehavior: .ignore`
/// covers a service that returns while its group runs, but one that returns while the group is
/// shutting another service down fails the whole group (`serviceFinishedUnexpectedly`): a
/// disabled tag indexer or a hosting service with nothing to host returns at once, so a
/// shutdown right after the start (a SIGTERM while the node opened) ended the node with an
/// error. Wrapped, such a service waits for its own turn (or cancellation) before it returns.
struct WaitsForShutdown: Service, CustomStringConvertible {
    let service: any Service

    func run() async throws {
        try await service.run()
        try? await gracefulShutdown()
    }

    var description: String { "\(service)" }
}
