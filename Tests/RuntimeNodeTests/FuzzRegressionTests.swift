@testable import RuntimeNode
import Testing

/// Configuration inputs that crashed the loader; each must now be refused with an error.
@Suite("Fuzz regressions: node configuration", .timeLimit(.minutes(1)))
struct ConfigFuzzRegressionTests {
    // Found by reading NodeConfig.duration while writing the fuzz-config target.
    @Test(
        "a prune interval in seconds past Int64 nanoseconds is refused, not a trap converting Double to Int64",
        arguments: ["1e10", "-1e10", "1e300"])
    func hugeSeconds(text: String) async throws {
        try await ConfigFixture.with { fixture in
            let inFile = ConfigLoadingTests.loadError("runtime: {history: {pruner: {interval: \(text)}}}\n", in: fixture)
            #expect(inFile.map { "\($0)" }?.contains("too long a duration") == true)
            let asFlag = ConfigLoadingTests.loadError("", flags: ["runtime.history.pruner.interval": [text]], in: fixture)
            #expect(asFlag.map { "\($0)" }?.contains("too long a duration") == true)
        }
    }
}
