import ConsensusAPI
import OasisCBOR
import OasisCommon

/// A direct CBOR codec for the one shape the history stores, `AnnotatedBlock`.
///
/// The generic `CBOREncoder`/`CBORDecoder` build a value tree and go through `Codable`; for a
/// ~1 KiB block that costs several times the SQLite lookup itself (see docs/PERFORMANCE.md). This
/// codec writes and reads the canonical bytes directly. It is a fast path only:
/// * ``encode(_:)`` produces exactly the generic encoder's bytes (tests compare them), and
/// * ``decode(_:)`` returns nil for anything but the canonical layout it writes (unknown or
///   missing keys, other types, trailing bytes), so callers fall back to the generic decoder.
enum AnnotatedBlockCodec {
    // MARK: Encoding

    static func encode(_ annotated: AnnotatedBlock) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(1200)
        // Canonical order: keys by length, then bytes.
        out.head(major: 5, 2)
        out.text("block")
        if let block = annotated.block {
            out.head(major: 5, 1)
            out.text("header")
            encode(block.header, into: &out)
        } else {
            out.append(0xf6)
        }
        out.text("consensus_height")
        out.integer(annotated.consensusHeight)
        return out
    }

    private static func encode(_ header: BlockHeader, into out: inout [UInt8]) {
        out.head(major: 5, 10)
        out.text("round")
        out.head(major: 0, header.round)
        out.text("io_root")
        out.bytes(header.ioRoot.bytes)
        out.text("version")
        out.head(major: 0, UInt64(header.version))
        out.text("namespace")
        out.bytes(header.namespace.bytes)
        out.text("timestamp")
        out.head(major: 0, header.timestamp)
        out.text("state_root")
        out.bytes(header.stateRoot.bytes)
        out.text("header_type")
        out.head(major: 0, UInt64(header.headerType.rawValue))
        out.text("messages_hash")
        out.bytes(header.messagesHash.bytes)
        out.text("previous_hash")
        out.bytes(header.previousHash.bytes)
        out.text("storage_signatures")
        if let signatures = header.storageSignatures {
            out.head(major: 4, UInt64(signatures.count))
            for signature in signatures {
                out.head(major: 5, 2)
                out.text("signature")
                out.bytes(signature.signature.bytes)
                out.text("public_key")
                out.bytes(signature.publicKey.bytes)
            }
        } else {
            out.append(0xf6)
        }
    }

    // MARK: Decoding

    /// The block in `bytes`, or nil when they are not in the layout ``encode(_:)`` writes.
    static func decode(_ bytes: [UInt8]) -> AnnotatedBlock? {
        bytes.withUnsafeBufferPointer { buffer in
            var reader = Reader(buffer: buffer)
            guard let annotated = reader.annotatedBlock(), reader.offset == buffer.count else { return nil }
            return annotated
        }
    }

    private struct Reader {
        let buffer: UnsafeBufferPointer<UInt8>
        var offset = 0

        init(buffer: UnsafeBufferPointer<UInt8>) {
            self.buffer = buffer
        }

        mutating func annotatedBlock() -> AnnotatedBlock? {
            guard mapCount() == 2, key("block") else { return nil }
            var block: Block?
            if !null() {
                guard mapCount() == 1, key("header"), let header = header() else { return nil }
                block = Block(header: header)
            }
            guard key("consensus_height"), let height = integer() else { return nil }
            return AnnotatedBlock(consensusHeight: height, block: block)
        }

        mutating func header() -> BlockHeader? {
            guard mapCount() == 10,
                key("round"), let round = unsigned(),
                key("io_root"), let ioRoot = hash(),
                key("version"), let version = unsigned(), let version16 = UInt16(exactly: version),
                key("namespace"), let namespaceBytes = bytes32(),
                key("timestamp"), let timestamp = unsigned(),
                key("state_root"), let stateRoot = hash(),
                key("header_type"), let type = unsigned(), let type8 = UInt8(exactly: type),
                key("messages_hash"), let messagesHash = hash(),
                key("previous_hash"), let previousHash = hash(),
                key("storage_signatures")
            else { return nil }
            // The generic decoder refuses namespaces with reserved flags; so does this one.
            let namespace = Namespace(unchecked: namespaceBytes)
            guard namespace.isValid else { return nil }
            var signatures: [Signature]?
            if !null() {
                guard let count = head(major: 4), count <= UInt64(buffer.count) else { return nil }
                var list: [Signature] = []
                list.reserveCapacity(Int(count))
                for _ in 0..<count {
                    guard mapCount() == 2, key("signature"), let signature = byteString(count: 64),
                        key("public_key"), let publicKey = bytes32(),
                        let raw = try? RawSignature(bytes: signature)
                    else { return nil }
                    list.append(Signature(publicKey: PublicKey(raw: publicKey), signature: raw))
                }
                signatures = list
            }
            return BlockHeader(
                version: version16, namespace: namespace, round: round, timestamp: timestamp,
                headerType: HeaderType(rawValue: type8), previousHash: previousHash, ioRoot: ioRoot,
                stateRoot: stateRoot, messagesHash: messagesHash, storageSignatures: signatures)
        }

        /// A head of `major`; its argument.
        mutating func head(major: UInt8) -> UInt64? {
            guard offset < buffer.count, buffer[offset] >> 5 == major else { return nil }
            let info = buffer[offset] & 0x1f
            offset += 1
            switch info {
            case 0..<24:
                return UInt64(info)
            case 24, 25, 26, 27:
                let size = 1 << Int(info - 24)
                guard buffer.count - offset >= size else { return nil }
                var value: UInt64 = 0
                for _ in 0..<size {
                    value = value << 8 | UInt64(buffer[offset])
                    offset += 1
                }
                return value
            default:
                return nil
            }
        }

        mutating func mapCount() -> UInt64? { head(major: 5) }

        mutating func unsigned() -> UInt64? { head(major: 0) }

        mutating func integer() -> Int64? {
            guard offset < buffer.count else { return nil }
            if buffer[offset] >> 5 == 1 {
                guard let n = head(major: 1), n <= UInt64(Int64.max) else { return nil }
                return -1 - Int64(n)
            }
            guard let n = head(major: 0) else { return nil }
            return Int64(exactly: n)
        }

        mutating func null() -> Bool {
            guard offset < buffer.count, buffer[offset] == 0xf6 else { return false }
            offset += 1
            return true
        }

        /// Consumes the text string `name`, or nothing.
        mutating func key(_ name: StaticString) -> Bool {
            let start = offset
            let count = name.utf8CodeUnitCount
            guard let length = head(major: 3), length == UInt64(count), buffer.count - offset >= count else {
                offset = start
                return false
            }
            let expected = UnsafeBufferPointer(start: name.utf8Start, count: count)
            for i in 0..<count where buffer[offset + i] != expected[i] {
                offset = start
                return false
            }
            offset += count
            return true
        }

        mutating func byteString(count: Int) -> [UInt8]? {
            guard let length = head(major: 2), length == UInt64(count), buffer.count - offset >= count else { return nil }
            defer { offset += count }
            return Array(buffer[offset..<(offset + count)])
        }

        mutating func bytes32() -> Bytes32? {
            guard let length = head(major: 2), length == 32, buffer.count - offset >= 32 else { return nil }
            defer { offset += 32 }
            return Bytes32(buffer[offset..<(offset + 32)])
        }

        mutating func hash() -> Hash? {
            bytes32().map { Hash(raw: $0) }
        }
    }
}

extension [UInt8] {
    /// A canonical (shortest) CBOR head.
    fileprivate mutating func head(major: UInt8, _ value: UInt64) {
        let type = major << 5
        switch value {
        case 0..<24:
            append(type | UInt8(value))
        case 24...0xff:
            append(type | 24)
            append(UInt8(value))
        case 0x100...0xffff:
            append(type | 25)
            appendBigEndian(UInt16(value))
        case 0x1_0000...0xffff_ffff:
            append(type | 26)
            appendBigEndian(UInt32(value))
        default:
            append(type | 27)
            appendBigEndian(value)
        }
    }

    private mutating func appendBigEndian<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.bigEndian) { append(contentsOf: $0) }
    }

    fileprivate mutating func text(_ string: StaticString) {
        head(major: 3, UInt64(string.utf8CodeUnitCount))
        append(contentsOf: UnsafeBufferPointer(start: string.utf8Start, count: string.utf8CodeUnitCount))
    }

    fileprivate mutating func bytes(_ bytes: [UInt8]) {
        head(major: 2, UInt64(bytes.count))
        append(contentsOf: bytes)
    }

    fileprivate mutating func integer(_ value: Int64) {
        if value < 0 {
            head(major: 1, UInt64(-(value + 1)))
        } else {
            head(major: 0, UInt64(value))
        }
    }
}
