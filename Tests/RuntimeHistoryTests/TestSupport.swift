import ConsensusAPI
import Foundation
import Logging
import OasisCommon
import RuntimeHistory
import ServiceLifecycle
import Synchronization
import Testing

/// A fresh directory for one test, removed afterwards.
func withTemporaryDirectory<T>(_ body: (String) async throws -> T) async throws -> T {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("state-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: url) }
    return try await body(url.path)
}

/// A logger that drops everything (tests assert on behaviour, not on logs).
let quietLogger = Logger(label: "state-tests") { _ in SwiftLogNoOpLogHandler() }

/// `NewGenesisBlock(id, 0)` moved to `round`.
func makeBlock(_ id: Namespace, round: UInt64, timestamp: UInt64 = 0) -> Block {
    var block = Block.genesis(namespace: id, timestamp: timestamp)
    block.header.round = round
    return block
}

func annotated(_ id: Namespace, round: UInt64, height: Int64) -> AnnotatedBlock {
    AnnotatedBlock(consensusHeight: height, block: makeBlock(id, round: round))
}

/// Two message events, as the Go tests use.
let twoMessages = RoundResults(messages: [MessageEvent(module: "", code: 0, index: 0), MessageEvent(index: 1)])

/// Expects `body` to throw an error whose text is exactly `message`.
func expectError(_ message: String, sourceLocation: SourceLocation = #_sourceLocation, _ body: () async throws -> Void)
    async
{
    do {
        try await body()
        Issue.record("expected an error \"\(message)\", got success", sourceLocation: sourceLocation)
    } catch {
        #expect("\(error)" == message, sourceLocation: sourceLocation)
    }
}

/// Expects `body` to throw an error whose text starts with `prefix`.
func expectError(prefix: String, sourceLocation: SourceLocation = #_sourceLocation, _ body: () async throws -> Void)
    async
{
    do {
        try await body()
        Issue.record("expected an error starting \"\(prefix)\", got success", sourceLocation: sourceLocation)
    } catch {
        #expect("\(error)".hasPrefix(prefix), "got \(error)", sourceLocation: sourceLocation)
    }
}

/// Expects `body` to throw exactly roothash's not-found error.
func expectNotFound(sourceLocation: SourceLocation = #_sourceLocation, _ body: () async throws -> Void) async {
    do {
        try await body()
        Issue.record("expected roothash: block not found, got success", sourceLocation: sourceLocation)
    } catch let error as CodedError {
        #expect(error == RoothashErrors.notFound, sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected roothash: block not found, got \(error)", sourceLocation: sourceLocation)
    }
}

/// Opens a history with a quiet logger.
func openHistory(
    _ dir: String, _ id: Namespace, configuration: HistoryConfiguration = HistoryConfiguration(),
    clock: any Clock<Duration> = ContinuousClock()
) throws -> RuntimeHistory {
    try RuntimeHistory(directory: dir, runtimeID: id, configuration: configuration, clock: clock, logger: quietLogger)
}

/// A prune handler that records every batch it sees, and can refuse.
final class RecordingPruneHandler: PruneHandler, Sendable {
    private let seen = Broadcaster<[UInt64]>(replayLast: false)
    private let batches = LockedBox<[[UInt64]]>([])
    let failure: String?

    init(failing failure: String? = nil) {
        self.failure = failure
    }

    func prune(rounds: [UInt64]) async throws {
        batches.mutate { $0.append(rounds) }
        seen.publish(rounds)
        if let failure { throw TestFailure(failure) }
    }

    var recorded: [[UInt64]] { batches.value }
    var allRounds: [UInt64] { recorded.flatMap { $0 } }
    func stream() -> AsyncStream<[UInt64]> { seen.subscribe() }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A value behind a lock, for test doubles.
final class LockedBox<Value: Sendable>: Sendable {
    private let stored: Mutex<Value>

    init(_ value: Value) {
        stored = Mutex(value)
    }

    var value: Value { stored.withLock { $0 } }

    func mutate<T: Sendable>(_ body: (inout Value) -> T) -> T {
        stored.withLock { body(&$0) }
    }
}

/// Keeps every log message, so a test can assert that something was logged.
final class RecordingLogs: Sendable {
    struct Entry: Sendable {
        let level: Logger.Level
        let message: String
    }

    private let entries = LockedBox<[Entry]>([])

    var all: [Entry] { entries.value }

    /// A logger writing here.
    var logger: Logger {
        Logger(label: "recording") { _ in Handler(sink: self) }
    }

    struct Handler: LogHandler {
        let sink: RecordingLogs
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            sink.entries.mutate { $0.append(Entry(level: event.level, message: "\(event.message)")) }
        }
    }
}

/// Runs `service` in a child task while `body` runs, then cancels it and waits for it to end.
func withServiceRunning(_ service: some Service, _ body: () async throws -> Void) async throws {
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await service.run() }
        try await body()
        group.cancelAll()
        try await group.waitForAll()
    }
}
