public import RuntimeRegistry

/// Where a submitted transaction ended up: the round of the block that committed it and the
/// transaction's hash (SHA-512/256 of its bytes, as the I/O tree and the tag index name it).
///
/// Encodes as `{"round": 7, "tx_hash": "<64 hex digits>"}`.
public struct SubmitResult: Sendable, Hashable, Codable {
    /// The round of the runtime block holding the transaction.
    public var round: UInt64
    /// `Hash.digest` of the transaction bytes.
    public var txHash: Hash

    /// A result with every field given.
    public init(round: UInt64, txHash: Hash) {
        self.round = round
        self.txHash = txHash
    }

    enum CodingKeys: String, CodingKey {
        case round
        case txHash = "tx_hash"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        round = try c.decode(UInt64.self, forKey: .round)
        let hex = try c.decode(String.self, forKey: .txHash)
        do {
            txHash = try Hash(hex: hex)
        } catch {
            throw DecodingError.dataCorruptedError(
                forKey: .txHash, in: c, debugDescription: "tx_hash must be 64 hex digits (got \"\(hex)\")")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(round, forKey: .round)
        try c.encode(txHash.description, forKey: .txHash)
    }
}
