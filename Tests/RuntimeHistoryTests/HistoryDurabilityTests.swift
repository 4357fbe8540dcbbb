import Foundation
import GRDB
import OasisCommon
import ProcessTesting
import RuntimeHistory
import Testing

/// A committed round survives `kill -9`: a child process commits in a loop, reporting each
/// round after `commit` returned; it is SIGKILLed at a random point 20 times.
@Suite("History durability", .timeLimit(.minutes(5)))
struct HistoryDurabilityTests {
    /// The writer executable, built next to the test bundle.
    var writerPath: String {
        let bundle = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        return bundle.appendingPathComponent("history-crash-writer").path
    }

    @Test("every round whose commit returned survives SIGKILL, 20 times, and the file stays intact")
    func killNineTwentyTimes() async throws {
        #expect(FileManager.default.isExecutableFile(atPath: writerPath), "build history-crash-writer first")
        try await withTemporaryDirectory { dir in
            var generator = SystemRandomNumberGenerator()
            var everCommitted: Set<UInt64> = []
            for run in 0..<20 {
                // Kill after a random number of reported commits, so the child is somewhere in
                // the middle of its next commit.
                let killAfter = Int.random(in: 1...40, using: &generator)
                let (reported, killed) = try await onOwnThread { [self] in
                    try runWriterAndKill(dir: dir, afterLines: killAfter)
                }
                #expect(killed, "run \(run): the writer was not ended by SIGKILL")
                #expect(reported.count >= killAfter, "run \(run)")
                everCommitted.formUnion(reported)

                let db = try DatabaseQueue(path: dir + "/history.sqlite")
                #expect(try await db.read { try String.fetchAll($0, sql: "PRAGMA integrity_check") } == ["ok"], "run \(run)")
                try db.close()

                let history = try RuntimeHistory(
                    directory: dir, runtimeID: Namespace.test(seed: "history durability test ns"), logger: quietLogger)
                for round in everCommitted.sorted() {
                    #expect(try await history.block(round: round).header.round == round, "run \(run) round \(round)")
                }
                #expect(try await history.latestRound() >= everCommitted.max()!)
                history.close()
            }
        }
    }

    /// Starts the writer, reads its reports until `afterLines` have arrived, SIGKILLs it,
    /// then drains what it printed before dying. Returns every reported round.
    func runWriterAndKill(dir: String, afterLines: Int) throws -> (reported: [UInt64], killed: Bool) {
        let child = try ChildProcess.launch(executable: writerPath, arguments: [dir], standardOutput: .pipe)
        var buffer: [UInt8] = []
        var lines = 0
        var killed = false
        while true {
            let chunk = child.readOutput(.standardOutput)  // blocks until data or EOF
            if chunk.isEmpty { break }
            buffer += chunk
            lines += chunk.count { $0 == UInt8(ascii: "\n") }
            if !killed && lines >= afterLines {
                child.signal(SIGKILL)
                killed = true
            }
        }
        let killedBySignal = child.waitUntilExit() == .signaled(SIGKILL)
        let text = String(decoding: buffer, as: UTF8.self)
        // A line cut off by the kill is not a report.
        let reported = text.split(separator: "\n", omittingEmptySubsequences: true).compactMap { line -> UInt64? in
            guard line.hasPrefix("committed "), text.contains(line + "\n") else { return nil }
            return UInt64(line.dropFirst("committed ".count))
        }
        return (reported, killedBySignal)
    }
}
