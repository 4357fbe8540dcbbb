import Foundation
import RuntimeNode
import Testing

/// The README's configuration reference is generated: it must equal what the option
/// definitions produce (`runtime-node config reference`).
@Suite("README")
struct ReadmeTests {
    static let readme = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("README.md").path

    @Test("the configuration reference in README.md is the generated one")
    func configurationReference() throws {
        let text = try String(contentsOfFile: Self.readme, encoding: .utf8)
        let begin = try #require(text.range(of: "<!-- config-reference:begin -->\n"))
        let end = try #require(text.range(of: "\n<!-- config-reference:end -->"))
        let embedded = String(text[begin.upperBound..<end.lowerBound])
        #expect(
            embedded == NodeConfig.referenceMarkdown().trimmingCharacters(in: .whitespacesAndNewlines),
            "regenerate it with `runtime-node config reference`")
    }

    @Test("every configuration key has its --<key> flag on run and localnet, as the README says")
    func everyKeyHasAFlag() async throws {
        let scratch = ScratchDirectory()
        defer { scratch.remove() }
        for command in ["run", "localnet"] {
            let result = try await runCLI([command, "--help"], in: scratch)
            #expect(result.status == .exited(0), "runtime-node \(command) --help: \(result.err)")
            let flags = Set(result.out.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "," || $0 == "[" || $0 == "]" })
                .filter { $0.hasPrefix("--") }.map(String.init))
            for option in NodeConfig.options {
                #expect(flags.contains("--" + option.key), "runtime-node \(command) has no --\(option.key)")
            }
        }
    }

    @Test("every command of the README's tour exists in runtime-node")
    func tourCommands() async throws {
        let text = try String(contentsOfFile: Self.readme, encoding: .utf8)
        let scratch = ScratchDirectory()
        defer { scratch.remove() }
        let commands = Set(text.split(separator: "\n").compactMap { line -> [String]? in
            guard line.hasPrefix("$ runtime-node ") else { return nil }
            return line.split(separator: " ").dropFirst(2).prefix(2).map(String.init).filter { !$0.hasPrefix("-") }
        })
        #expect(commands.count >= 5)
        for command in commands {
            let result = try await runCLI(command + ["--help"], in: scratch)
            #expect(result.status == .exited(0), "runtime-node \(command.joined(separator: " ")) --help: \(result.err)")
        }
    }
}
