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

    // Found by fuzz-config: 700 levels of `- ? - …` overflowed the stack (under
    // AddressSanitizer) as Yams hashed a mapping key that was a nested sequence; without the
    // sanitizer, the key form below at 900 levels kept Yams hashing for over ten minutes.
    // libyaml itself stops at 1,000 levels, so the loader now stops at 64.
    @Test(
        "a config nested deeper than 64 levels is refused before Yams composes it, as a key or a value",
        arguments: deepDocuments(levels: 900))
    func deepNesting(yaml: String) async throws {
        try await ConfigFixture.with { fixture in
            let error = ConfigLoadingTests.loadError(yaml, in: fixture)
            #expect(error?.key == nil)
            #expect(error?.message == "config file '\(fixture.configPath)' nests more than 64 levels deep", "\(String(describing: error))")
            #expect(error?.description.hasSuffix("a config has four, so remove the nesting") == true)
        }
    }

    @Test("an alias counts with the depth of what it stands for")
    func deepAlias() async throws {
        try await ConfigFixture.with { fixture in
            // Two anchors of 40 levels each, the second holding an alias of the first: 80 deep.
            let forty = String(repeating: "[", count: 40)
            let close = String(repeating: "]", count: 40)
            let yaml = "a: &a \(forty)1\(close)\nb: \(forty)*a\(close)\n"
            let error = ConfigLoadingTests.loadError(yaml, in: fixture)
            #expect(error?.message == "config file '\(fixture.configPath)' nests more than 64 levels deep")
            // 40 and 20 make 61 with the top mapping: within the bound, so the usual error.
            let twenty = String(repeating: "[", count: 20)
            let shallow = ConfigLoadingTests.loadError(
                "a: &a \(forty)1\(close)\nb: \(twenty)*a\(String(repeating: "]", count: 20))\n", in: fixture)
            #expect(shallow?.message.contains("nests more than") == false, "\(String(describing: shallow))")
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

/// Well-formed YAML nested `levels` deep (under libyaml's own bound of 1,000) under a key `x`:
/// block sequences, flow sequences, flow mappings, and a flow sequence as a mapping key (which
/// Yams hashes while composing).
func deepDocuments(levels: Int) -> [String] {
    let open = String(repeating: "[", count: levels)
    let close = String(repeating: "]", count: levels)
    return [
        "x:\n  " + String(repeating: "- ", count: levels) + "x\n",
        "x: \(open)\(close)\n",
        "x: " + String(repeating: "{a: ", count: levels) + "1" + String(repeating: "}", count: levels) + "\n",
        "x: {? \(open)\(close) : 1}\n",
    ]
}
