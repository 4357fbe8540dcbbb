import Glibc
import Logging
import RuntimeHost
import Testing

@Suite("Runtime output and concurrency")
struct OutputTests {
    @Test("a line longer than 64 KiB is split, and every byte arrives")
    func longLine() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let text = String(repeating: "x", count: 200 * 1024) + "\nshort\n"
        let path = directory.write("long", text)
        let finished = try await run(RuntimeProcessConfiguration(
            executablePath: "/bin/cat", arguments: [path], isolation: .unconfined))
        #expect(finished.stdout.map(\.count) == [65536, 65536, 65536, 8192, 5])
        #expect(finished.stdout.joined() == text.filter { $0 != "\n" })
    }

    @Test("cancelling the output relay ends it while the runtime keeps running")
    func cancelRelay() async throws {
        let process = try await RuntimeProcess.spawn(probe(["info", "sleep"], .unconfined))
        let store = RecordingLogHandler.Store()
        let logger = Logger(label: "test") { _ in RecordingLogHandler(store: store) }
        let relay = Task { await process.relayOutput(to: logger) }
        // Wait (bounded; generous for a loaded machine) for the first line to be relayed, then cancel.
        for _ in 0..<12_000 where store.records.withLock({ $0.isEmpty }) {
            try await Task.sleep(for: .milliseconds(10))
        }
        relay.cancel()
        _ = try await bounded(process) { await relay.value }
        #expect(store.records.withLock { $0.map(\.message) }.first?.hasPrefix("info hostname=") == true)
        #expect(process.exitStatus == nil)
        #expect(await process.kill() == .signaled(signal: SIGKILL))
    }

    @Test("many concurrent spawns, unconfined and sandboxed, all start and finish")
    func concurrentSpawns() async throws {
        let outcomes = try await withThrowingTaskGroup(of: Finished.self) { group in
            for index in 0..<24 {
                let isolation = index % 3 == 0 ? Fixtures.sandboxed : .unconfined
                group.addTask { try await run(probe(["exit", String(index % 5)], isolation)) }
            }
            return try await group.reduce(into: [Finished]()) { $0.append($1) }
        }
        let codes: [Int32] = outcomes.compactMap {
            if case .exited(let code) = $0.exit { code } else { nil }
        }
        let expected: [Int32] = (0..<24).map { Int32($0 % 5) }
        #expect(codes.sorted() == expected.sorted())
    }
}
