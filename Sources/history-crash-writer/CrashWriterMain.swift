// Commits history rounds in a loop until it is killed. The durability test runs it, reads the
// rounds it reports, SIGKILLs it at a random moment, and checks every reported round survived.
//
// Usage: history-crash-writer <state-dir>
// Prints `committed <round>` after each `commit` has returned, unbuffered.
import ConsensusAPI
import Foundation
import Logging
import OasisCommon
import RuntimeHistory

/// The runtime the durability test uses.
let runtimeID = Namespace.test(seed: "history durability test ns")

@main
struct CrashWriterMain {
    static func main() async {
        guard CommandLine.arguments.count == 2 else {
            FileHandle.standardError.write(Data("usage: history-crash-writer <state-dir>\n".utf8))
            exit(2)
        }
        do {
            let history = try RuntimeHistory(
                directory: CommandLine.arguments[1], runtimeID: runtimeID,
                logger: Logger(label: "history-crash-writer"))
            var round = (try? await history.latestRound()).map { $0 + 1 } ?? 0
            // A few hundred bytes of results so each round is about 1 KiB.
            let results = RoundResults(messages: (0..<40).map { MessageEvent(module: "durability", code: 1, index: $0) })
            while true {
                var block = Block.genesis(namespace: runtimeID, timestamp: round)
                block.header.round = round
                block.header.headerType = .normal
                try await history.commit(
                    AnnotatedBlock(consensusHeight: Int64(round) + 1, block: block), roundResults: results)
                FileHandle.standardOutput.write(Data("committed \(round)\n".utf8))
                round += 1
            }
        } catch {
            FileHandle.standardError.write(Data("history-crash-writer: \(error)\n".utf8))
            exit(1)
        }
    }
}
