// Fuzz target: the genesis document (YAML or JSON, the embedded consensus's one input file) and
// a runtime descriptor from JSON.
//
// Besides "no crash": a genesis that parses writes itself out as JSON that parses again.
import ConsensusAPI
import Foundation
import FuzzSupport
import LocalConsensus

@main
enum FuzzGenesisMain {
    static func main() {
        runLibFuzzer { data, size in data.map { fuzzGenesis($0, size) } ?? 0 }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzGenesis(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Data(bytes: data, count: size)
    if let genesis = try? ConsensusGenesis.parse(bytes) {
        do {
            _ = try ConsensusGenesis.parse(try genesis.jsonData())
        } catch {
            fatalError("a parsed genesis does not read back from its own JSON: \(error)")
        }
    }
    if let descriptor = try? JSONDecoder().decode(RuntimeDescriptor.self, from: bytes) {
        _ = try? descriptor.validateBasic(strict: true)
        _ = try? JSONEncoder().encode(descriptor)
    }
    return 0
}
