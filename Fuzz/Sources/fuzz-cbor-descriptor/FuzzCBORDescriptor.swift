// Fuzz target: a runtime descriptor from CBOR (as a registration arriving from consensus), and
// raw `CBORValue` parsing (query arguments, check-tx metadata).
//
// Oracles besides "no crash": the two strict validators (`CBORReader` behind `CBORValue`,
// `CBORScanner` behind `CBORDecoder`) accept the same inputs and read the same value; a value's
// canonical encoding parses back to the same encoding; a decoded descriptor re-encodes and
// decodes back to itself.
import ConsensusAPI
import FuzzSupport
import OasisCBOR

@main
enum FuzzCBORDescriptorMain {
    static func main() {
        runLibFuzzer { data, size in data.map { fuzzCBORDescriptor($0, size) } ?? 0 }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCBORDescriptor(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    checkValue(bytes)
    checkDescriptor(bytes)
    return 0
}

private func checkValue(_ bytes: [UInt8]) {
    let parsed = try? CBORValue(decoding: bytes)
    let scanned = try? CBORDecoder().decode(CBORValue.self, from: bytes)
    guard let parsed else {
        if let scanned { fatalError("CBORScanner accepts what CBORReader refuses: \(scanned)") }
        return
    }
    guard let scanned else { fatalError("CBORReader accepts what CBORScanner refuses: \(parsed)") }
    do {
        // Compared as encodings, since a NaN float is not equal to itself.
        let encoded = try parsed.encoded()
        guard try scanned.encoded() == encoded else {
            fatalError("the validators read different values: \(parsed) / \(scanned)")
        }
        guard try CBORValue(decoding: encoded).encoded() == encoded else {
            fatalError("canonical encoding is not stable for \(parsed)")
        }
    } catch {
        fatalError("a parsed value does not re-encode or re-parse: \(error) (\(parsed))")
    }
}

private func checkDescriptor(_ bytes: [UInt8]) {
    guard let descriptor = try? CBORDecoder().decode(RuntimeDescriptor.self, from: bytes) else { return }
    _ = try? descriptor.validateBasic(strict: true)
    _ = try? descriptor.validateBasic(strict: false, debugDontBlameOasis: true)
    _ = descriptor.description
    do {
        let encoded = try CBOREncoder().encode(descriptor)
        let again = try CBORDecoder().decode(RuntimeDescriptor.self, from: encoded)
        guard again == descriptor else { fatalError("round trip changed \(descriptor) into \(again)") }
    } catch {
        fatalError("a decoded descriptor does not round-trip: \(error) (\(descriptor))")
    }
}
