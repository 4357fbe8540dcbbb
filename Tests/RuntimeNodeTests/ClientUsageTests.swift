import Foundation
import RuntimeNode
import RuntimeRegistry
import Testing

extension NodeProcessSuites {
/// The client commands refuse a bad argument before they connect: exit 2 and one sentence on
/// stderr naming the flag and the value. No node runs, so a command that connected anyway
/// would fail with exit 1 ("no node is running").
@Suite("runtime-node client commands refuse bad arguments", .timeLimit(.minutes(3)))
struct ClientUsageTests {
    static let id = "\(Localnet.kvRuntimeID)"

    func refuse(_ arguments: [String], mentions: String) async throws {
        let scratch = ScratchDirectory()
        defer { scratch.remove() }
        let result = try await runCLI(arguments + ["--datadir", scratch.path], in: scratch)
        #expect(result.status == .exited(2), "stderr: \(result.err)")
        let lines = result.err.split(separator: "\n")
        #expect(lines.count == 1, "want one sentence, got: \(result.err)")
        #expect(result.err.contains(mentions), "stderr: \(result.err)")
        #expect(result.out.isEmpty, "stdout: \(result.out)")
    }

    @Test(
        "a runtime ID that is not 64 hex digits, in every command that takes one",
        arguments: [
            ["tx", "submit", "--runtime", "8000", "--method", "get"],
            ["runtime", "query", "--runtime", "8000", "--method", "get"],
            ["history", "block", "--runtime", "8000"],
            ["tags", "search", "--runtime", "8000", "--key", "kv_op", "--value", "insert"],
        ])
    func shortID(_ arguments: [String]) async throws {
        try await refuse(arguments, mentions: "--runtime '8000' is not a runtime ID (4 characters")
    }

    @Test("a runtime ID of 64 characters that are not hex, or with reserved flag bits, or a path")
    func malformedIDs() async throws {
        let notHex = String(repeating: "zz", count: 32)
        try await refuse(["history", "block", "--runtime", notHex], mentions: "--runtime '\(notHex)' is not a runtime ID")
        let reserved = "ff" + String(Self.id.dropFirst(2))
        try await refuse(
            ["history", "block", "--runtime", reserved], mentions: "--runtime '\(reserved)' is not a runtime ID (malformed namespace)")
        try await refuse(["history", "block", "--runtime", "../status"], mentions: "--runtime '../status' is not a runtime ID")
    }

    @Test("--args that is not JSON")
    func malformedArgs() async throws {
        try await refuse(
            ["tx", "submit", "--runtime", Self.id, "--method", "insert", "--args", #"{"key":"#],
            mentions: #"--args is not valid JSON ({"key":)"#)
    }
}
}
