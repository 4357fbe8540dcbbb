import Foundation
import LocalConsensus
import Testing

/// Inputs the fuzzer (Fuzz/, target fuzz-genesis) found crashing the genesis parser; each must
/// now be refused with an error.
@Suite("Fuzz regressions: genesis")
struct GenesisFuzzRegressionTests {
    @Test(
        "a genesis document that is a single YAML scalar is refused, not a trap in JSONSerialization",
        arguments: ["blob", "5", "true", "~x", "'quoted'"])
    func scalarDocument(text: String) {
        #expect(
            throws: LocalConsensusError.invalidGenesis(
                "the document must be a mapping of genesis fields, not a single value")
        ) {
            try ConsensusGenesis.parse(Data(text.utf8))
        }
    }

    @Test("a genesis document that is a sequence is refused")
    func sequenceDocument() {
        #expect(throws: LocalConsensusError.self) { try ConsensusGenesis.parse(Data("[1, 2]".utf8)) }
    }

    @Test(
        "a mapping key that is a mapping or a sequence is refused, not a force-unwrap in Yams's constructor",
        arguments: [
            "{[a]: 1}", "? {x: 1}\n: 2\n",
            "block_interval: 1s\nepoch_interval: 2\nruntimes:\n  - versions: {version: ,{}}\n",
        ])
    func nonScalarKey(text: String) {
        #expect(throws: LocalConsensusError.self) { try ConsensusGenesis.parse(Data(text.utf8)) }
    }

    @Test(
        "a sub-millisecond block interval survives the JSON the genesis writes (500us was written as 0ms)",
        arguments: [
            Duration.microseconds(500), .nanoseconds(1_500), .milliseconds(1_250), .seconds(2), .nanoseconds(3),
        ])
    func subMillisecondInterval(interval: Duration) throws {
        let genesis = ConsensusGenesis(chainContext: "fuzz", blockInterval: interval, epochInterval: 2)
        #expect(try ConsensusGenesis.parse(try genesis.jsonData()).blockInterval == interval)
    }

    @Test(
        "a base-60 integer is refused, not an overflow in Yams's constructor",
        arguments: ["1:1:1:1:11:1:1:11:1:1:1:1:11:1:1:1", "epoch_interval: 1:30:00:00:00:00:00:00:00:00:00:00\n"])
    func sexagesimalInteger(text: String) {
        #expect(throws: LocalConsensusError.self) { try ConsensusGenesis.parse(Data(text.utf8)) }
    }

    // Found by reading the duration code while triaging the findings above, not by the fuzzer.
    @Test(
        "a block interval beyond Int64 nanoseconds is refused, not a trap converting Double to Int64",
        arguments: ["1e30", "-1e30", "99999999999h", "9223372037s", "1e400"])
    func hugeInterval(text: String) {
        #expect(throws: LocalConsensusError.self) {
            try ConsensusGenesis.parse(Data("block_interval: \(text)\nepoch_interval: 2\n".utf8))
        }
    }
}
