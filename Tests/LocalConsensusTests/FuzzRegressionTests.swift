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
            throws: LocalConsensusError.invalidGenesis("the document must be a mapping of genesis fields, not a single value")
        ) {
            try ConsensusGenesis.parse(Data(text.utf8))
        }
    }

    @Test("a genesis document that is a sequence is refused")
    func sequenceDocument() {
        #expect(throws: LocalConsensusError.self) { try ConsensusGenesis.parse(Data("[1, 2]".utf8)) }
    }
}
