/// The first of two operations to finish gives the result; the other is cancelled (and
/// awaited, so nothing outlives the call).
func race<T: Sendable>(
    _ first: @escaping @Sendable () async throws -> T, _ second: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask(operation: first)
        group.addTask(operation: second)
        defer { group.cancelAll() }
        return try await group.next()!
    }
}
