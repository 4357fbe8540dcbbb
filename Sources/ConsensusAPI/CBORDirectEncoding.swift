public import OasisCBOR
import OasisCommon

// Direct CBOR writers for the types on RHP's hot path (a block header rides in every query,
// check-tx and execute request). Each writes exactly the bytes its `encode(to:)` gives through
// `CBOREncoder`, keys in canonical order (length first, then bytewise); tests compare both.

extension BlockHeader {
    /// Appends the header's canonical CBOR to `writer`, without Codable.
    public func writeCBOR(into writer: inout CBORWriter) {
        writer.writeHead(5, 10)
        writer.writeText("round")
        writer.writeHead(0, round)
        writer.writeText("io_root")
        writer.writeBytes(ioRoot.bytes)
        writer.writeText("version")
        writer.writeHead(0, UInt64(version))
        writer.writeText("namespace")
        writer.writeBytes(namespace.bytes)
        writer.writeText("timestamp")
        writer.writeHead(0, timestamp)
        writer.writeText("state_root")
        writer.writeBytes(stateRoot.bytes)
        writer.writeText("header_type")
        writer.writeHead(0, UInt64(headerType.rawValue))
        writer.writeText("messages_hash")
        writer.writeBytes(messagesHash.bytes)
        writer.writeText("previous_hash")
        writer.writeBytes(previousHash.bytes)
        writer.writeText("storage_signatures")
        guard let storageSignatures else {
            writer.writeNull()
            return
        }
        writer.writeHead(4, UInt64(storageSignatures.count))
        for signature in storageSignatures {
            writer.writeHead(5, 2)
            writer.writeText("signature")
            writer.writeBytes(signature.signature.bytes)
            writer.writeText("public_key")
            writer.writeBytes(signature.publicKey.bytes)
        }
    }
}

extension Block {
    /// Appends the block's canonical CBOR (`{header}`) to `writer`, without Codable.
    public func writeCBOR(into writer: inout CBORWriter) {
        writer.writeHead(5, 1)
        writer.writeText("header")
        header.writeCBOR(into: &writer)
    }
}

extension LightBlock {
    /// Appends the light block's canonical CBOR (`{meta, height}`) to `writer`, without Codable.
    public func writeCBOR(into writer: inout CBORWriter) {
        writer.writeHead(5, 2)
        writer.writeText("meta")
        writer.writeBytes(meta)
        writer.writeText("height")
        writer.writeInt(height)
    }
}
