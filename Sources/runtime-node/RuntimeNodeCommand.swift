import ArgumentParser
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Foundation
import RuntimeNode

/// `runtime-node`: runs the node and talks to a running one.
///
/// Exit codes: 0 success; 1 a runtime failure (the node failed, or a request to it did); 2 bad
/// usage or bad configuration, with one sentence on stderr.
@main
struct RuntimeNodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runtime-node",
        abstract: "An Oasis-style node that hosts ParaTimes on an embedded single-node consensus.",
        subcommands: [
            RunCommand.self, LocalnetCommand.self, ControlCommand.self, TxCommand.self, RuntimeCommand.self,
            HistoryCommand.self, TagsCommand.self, ConfigCommand.self,
        ])

    /// Parses and runs; usage errors exit 2 (not ArgumentParser's 64), as the contract says.
    static func main() async {
        let code: Int32
        do {
            var command = try parseAsRoot(withExplicitBooleans(Array(CommandLine.arguments.dropFirst())))
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
            code = 0
        } catch let exit as NodeExit {
            code = exit.code
        } catch {
            let exitCode = Self.exitCode(for: error)
            if exitCode == .success {
                print(Self.fullMessage(for: error))
                code = 0
            } else {
                writeError(Self.fullMessage(for: error))
                code = exitCode == .validationFailure ? 2 : exitCode.rawValue
            }
        }
        Glibc.exit(code)
    }

    /// `arguments` with every bare boolean flag (``NodeFlags/booleanFlags``) written as
    /// `--flag=true`, so the flags parse as options that also take `=false`, as pflag's do.
    /// Arguments after `--` are left alone.
    static func withExplicitBooleans(_ arguments: [String]) -> [String] {
        var out: [String] = []
        var ended = false
        for argument in arguments {
            if argument == "--" { ended = true }
            out.append(!ended && NodeFlags.booleanFlags.contains(argument) ? argument + "=true" : argument)
        }
        return out
    }
}

/// Ends the command with an exit code after its message has been written.
struct NodeExit: Error {
    let code: Int32
    static let failure = NodeExit(code: 1)
    static let usage = NodeExit(code: 2)
}

/// Writes one line to stderr.
func writeError(_ text: String) {
    var line = text
    if !line.hasSuffix("\n") { line += "\n" }
    FileHandle.standardError.write(Data(line.utf8))
}

/// Fails with exit 2 and `message` on stderr.
func usageError(_ message: String) -> NodeExit {
    writeError("runtime-node: \(message)")
    return .usage
}
