@testable import RuntimeNode
import Testing

/// Configuration inputs that crashed the loader; each must now be refused with an error.
@Suite("Fuzz regressions: node configuration", .timeLimit(.minutes(3)))
struct ConfigFuzzRegressionTests {
    // Found by reading NodeConfig.duration while writing the fuzz-config target.
    @Test(
        "a prune interval in seconds past Int64 nanoseconds is refused, not a trap converting Double to Int64",
        arguments: ["1e10", "-1e10", "1e300"])
    func hugeSeconds(text: String) async throws {
        try await ConfigFixture.with { fixture in
            let inFile = ConfigLoadingTests.loadError(
                "runtime: {history: {pruner: {interval: \(text)}}}\n", in: fixture)
            #expect(inFile.map { "\($0)" }?.contains("too long a duration") == true)
            let asFlag = ConfigLoadingTests.loadError(
                "", flags: ["runtime.history.pruner.interval": [text]], in: fixture)
            #expect(asFlag.map { "\($0)" }?.contains("too long a duration") == true)
        }
    }

    @Test(
        "a value with a C1 control character or U+FFFF is written by yaml() so that it loads back",
        arguments: ["a\u{94}b", "\u{80}\u{9F}\u{85}", "x\u{FFFF}\u{FFFE}", "\u{7F}\u{01}"])
    func controlCharactersRoundTrip(text: String) async throws {
        try await ConfigFixture.with { fixture in
            // Found by fuzz-config: the text after `:` in a supported runtime ID is kept as given.
            let supported = "\(ConfigFixture.runtimeID):\(text)"
            let config = try ConfigLoadingTests.load("", flags: ["runtime.supported": [supported]], in: fixture)
            try fixture.write(config.yaml(), to: fixture.configPath)
            #expect(try NodeConfig.load(configFile: fixture.configPath, flags: [:]) == config)
        }
    }

    @Test("a runtime.paths key longer than YAML's 1024-character implicit key is written so that it loads back")
    func longPathsKey() async throws {
        try await ConfigFixture.with { fixture in
            // Found by fuzz-config: loading keeps a paths key as given (validation refuses it
            // later), and yaml() wrote it as an implicit key, which YAML limits to 1024 characters.
            for length in [1022, 1023, 1500] {
                let key = String(repeating: "k", count: length)
                let config = try ConfigLoadingTests.load("", flags: ["runtime.paths": ["\(key)=/bin/true"]], in: fixture)
                try fixture.write(config.yaml(), to: fixture.configPath)
                #expect(try NodeConfig.load(configFile: fixture.configPath, flags: [:]) == config, "key of \(length)")
            }
        }
    }
}
