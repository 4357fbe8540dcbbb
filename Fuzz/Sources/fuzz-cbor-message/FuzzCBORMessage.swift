// Fuzz target: an RHP `Message` from one frame payload, as a peer could send it.
//
// Oracles besides "no crash": the frame path (`Frame.decodePayload`: one strict pass with the
// fast paths, else a strict parse that names the error), the in-place decoder the connection
// uses (payload-free envelopes read directly), the decoder with its fast paths and the plain
// `Codable` path accept the same inputs and produce the same message; whatever decodes
// re-encodes, both encoders (the frame's, with its direct writers, and `CBOREncoder`) write
// the same bytes, and those bytes decode back to the same message. Messages are compared by their
// canonical encoding, since a NaN is not equal to itself (and canonical CBOR has one NaN).
// Decoding that ignores unknown fields (a runtime's) has its own oracles: its paths agree with
// each other, it accepts whatever strict decoding accepts and reads the same message, and what
// it reads re-encodes to bytes that strict decoding reads back unchanged.
import FuzzSupport
import OasisCBOR
@testable import RuntimeHostProtocol

@main
enum FuzzCBORMessageMain {
    static func main() {
        runLibFuzzer { data, size in data.map { fuzzCBORMessage($0, size) } ?? 0 }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCBORMessage(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let viaCodable = try? CBORDecoder().decode(Message.self, from: bytes)
    let viaFrame = try? Frame.decodePayload(bytes)
    guard sameMessage(viaCodable, viaFrame) else {
        fatalError(
            "decoders disagree: Codable \(String(describing: viaCodable)), frame \(String(describing: viaFrame))")
    }
    // So must the decoder without its fast paths (the envelope and queries read directly).
    var codableOnly = CBORDecoder.Options.strict
    codableOnly.usesFastDecoding = false
    let viaCodableOnly = try? CBORDecoder(options: codableOnly).decode(Message.self, from: bytes)
    guard sameMessage(viaCodableOnly, viaFrame) else {
        fatalError(
            "fast paths disagree: Codable only \(String(describing: viaCodableOnly)), frame \(String(describing: viaFrame))")
    }
    // The in-place reader (a fast path for bodies without a payload) must agree as well.
    let inPlace = bytes.withUnsafeBytes { try? Frame.decodePayload($0) }
    guard sameMessage(inPlace, viaFrame) else {
        fatalError("in-place decoder disagrees: \(String(describing: inPlace)), frame \(String(describing: viaFrame))")
    }
    checkIgnoringUnknownFields(bytes, strict: viaFrame)
    guard let message = viaFrame else { return 0 }

    let direct: [UInt8]
    let generic: [UInt8]
    do {
        direct = try Frame.payload(of: message)
        generic = try CBOREncoder().encode(message)
    } catch {
        fatalError("a decoded message does not encode: \(error) (\(message))")
    }
    guard direct == generic else {
        fatalError("envelope encoders disagree for \(message)")
    }
    do {
        let again = try Frame.decodePayload(direct)
        guard sameMessage(again, message) else { fatalError("round trip changed \(message) into \(again)") }
    } catch {
        fatalError("a re-encoded message does not decode: \(error) (\(message))")
    }
    return 0
}

/// Equal, or both absent, or both encoding to the same canonical bytes.
func sameMessage(_ a: Message?, _ b: Message?) -> Bool {
    guard let a, let b else { return a == nil && b == nil }
    return a == b || (try? CBOREncoder().encode(a)) == (try? CBOREncoder().encode(b))
}

/// The oracles of decoding that ignores unknown fields (`Connection.Configuration.ignoresUnknownFields`).
func checkIgnoringUnknownFields(_ bytes: [UInt8], strict: Message?) {
    let lenient = CBORDecoder.Options(allowsUnknownFields: true)
    var lenientCodableOnly = lenient
    lenientCodableOnly.usesFastDecoding = false
    let viaFrame = try? Frame.decodePayload(bytes, options: lenient)
    let viaCodableOnly = try? CBORDecoder(options: lenientCodableOnly).decode(Message.self, from: bytes)
    let inPlace = bytes.withUnsafeBytes { try? Frame.decodePayload($0, options: lenient) }
    guard sameMessage(viaFrame, viaCodableOnly), sameMessage(viaFrame, inPlace) else {
        fatalError(
            "lenient decoders disagree: frame \(String(describing: viaFrame)), Codable only "
                + "\(String(describing: viaCodableOnly)), in place \(String(describing: inPlace))")
    }
    if let strict, !sameMessage(viaFrame, strict) {
        fatalError("lenient decoding read \(String(describing: viaFrame)) where strict decoding read \(strict)")
    }
    guard let message = viaFrame else { return }
    do {
        let again = try Frame.decodePayload(try Frame.payload(of: message))
        guard sameMessage(again, message) else { fatalError("lenient round trip changed \(message) into \(again)") }
    } catch {
        fatalError("a leniently decoded message does not round-trip strictly: \(error) (\(message))")
    }
}
