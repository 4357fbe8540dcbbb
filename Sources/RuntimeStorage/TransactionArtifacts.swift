public import ConsensusAPI
import OasisCBOR
public import OasisCommon

/// A tag emitted by a transaction (`transaction.Tag`): the tag indexer indexes these.
public struct TransactionTag: Hashable, Sendable {
    public var key: [UInt8]
    public var value: [UInt8]
    /// The transaction that emitted it.
    public var txHash: Hash

    public init(key: [UInt8], value: [UInt8], txHash: Hash) {
        self.key = key
        self.value = value
        self.txHash = txHash
    }
}

/// A transaction of a batch with its output, as stored in the round's I/O tree.
public struct TransactionArtifacts: Hashable, Sendable {
    public var input: [UInt8]
    public var output: [UInt8]
    /// Position of the transaction in its batch.
    public var batchOrder: UInt32

    public init(input: [UInt8], output: [UInt8] = [], batchOrder: UInt32) {
        self.input = input
        self.output = output
        self.batchOrder = batchOrder
    }

    /// `SHA-512/256(input)`.
    public var hash: Hash { Hash.digest(input) }
}

/// Why transactions and tags cannot be laid out as an I/O tree.
public enum IOTreeLayoutError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A tag's value is empty, which an I/O tree cannot hold (an empty value deletes).
    case emptyTagValue(key: [UInt8], txHash: Hash)

    public var description: String {
        switch self {
        case .emptyTagValue(let key, let txHash):
            "transaction \(txHash) emitted tag \(Hex.encode(key)) with an empty value, which an I/O tree cannot hold; give tags non-empty values"
        }
    }
}

/// The key layout of a round's I/O tree (oasis-core `runtime/transaction`):
///
/// * `'T' ‖ txHash(32) ‖ 0x01` → CBOR `[input bytes, batch_order u32]`
/// * `'T' ‖ txHash(32) ‖ 0x02` → CBOR `[output bytes]`
/// * `'E' ‖ tagKey ‖ txHash(32)` → the tag value
public enum IOTreeLayout {
    static let transactionPrefix = UInt8(ascii: "T")
    static let tagPrefix = UInt8(ascii: "E")
    static let kindInput: UInt8 = 1
    static let kindOutput: UInt8 = 2

    /// The write log that puts `transactions` and `tags` into an empty I/O tree. A tag with an
    /// empty value is refused (``IOTreeLayoutError/emptyTagValue(key:txHash:)``): in a write log
    /// an empty value deletes its key, so the tree cannot hold one.
    public static func writeLog(transactions: [TransactionArtifacts], tags: [TransactionTag]) throws -> WriteLog {
        let encoder = CBOREncoder()
        var log: WriteLog = []
        log.reserveCapacity(transactions.count * 2 + tags.count)
        for tx in transactions {
            let hash = tx.hash.bytes
            let input: [CBORValue] = [.byteString(tx.input), .unsignedInt(UInt64(tx.batchOrder))]
            log.append(WriteLogEntry(
                key: [transactionPrefix] + hash + [kindInput], value: try encoder.encode(CBORValue.array(input))))
            log.append(WriteLogEntry(
                key: [transactionPrefix] + hash + [kindOutput],
                value: try encoder.encode(CBORValue.array([.byteString(tx.output)]))))
        }
        for tag in tags {
            // An empty value would delete the entry: the tag would vanish without a word.
            guard !tag.value.isEmpty else { throw IOTreeLayoutError.emptyTagValue(key: tag.key, txHash: tag.txHash) }
            log.append(WriteLogEntry(key: [tagPrefix] + tag.key + tag.txHash.bytes, value: tag.value))
        }
        return log
    }

    /// Reads transactions (sorted by hash) and tags (in tree-key order) back from the
    /// key/value pairs of an I/O tree. Unknown keys are ignored.
    public static func parse(_ entries: [WriteLogEntry]) throws -> (transactions: [TransactionArtifacts], tags: [TransactionTag]) {
        let decoder = CBORDecoder()
        var inputs: [Hash: (input: [UInt8], order: UInt32)] = [:]
        var outputs: [Hash: [UInt8]] = [:]
        var tags: [(key: [UInt8], tag: TransactionTag)] = []
        for entry in entries {
            guard let first = entry.key.first else { continue }
            if first == transactionPrefix, entry.key.count == 34 {
                let hash = try Hash(bytes: Array(entry.key[1..<33]))
                switch entry.key[33] {
                case kindInput:
                    let fields = try decoder.decode(CBORValue.self, from: entry.value)
                    guard case .array(let items) = fields, items.count == 2, case .byteString(let input) = items[0],
                        case .unsignedInt(let order) = items[1], let order32 = UInt32(exactly: order)
                    else { throw IOTreeError.malformedArtifact(hash) }
                    inputs[hash] = (input, order32)
                case kindOutput:
                    let fields = try decoder.decode(CBORValue.self, from: entry.value)
                    guard case .array(let items) = fields, items.count == 1, case .byteString(let output) = items[0]
                    else { throw IOTreeError.malformedArtifact(hash) }
                    outputs[hash] = output
                default:
                    continue
                }
            } else if first == tagPrefix, entry.key.count >= 33 {
                let hash = try Hash(bytes: Array(entry.key.suffix(32)))
                let tagKey = Array(entry.key[1..<(entry.key.count - 32)])
                tags.append((entry.key, TransactionTag(key: tagKey, value: entry.value, txHash: hash)))
            }
        }
        let transactions = inputs.sorted { $0.key < $1.key }.map { hash, input in
            TransactionArtifacts(input: input.input, output: outputs[hash] ?? [], batchOrder: input.order)
        }
        tags.sort { $0.key.lexicographicallyPrecedes($1.key) }
        return (transactions, tags.map(\.tag))
    }
}

/// Why an I/O tree could not be read.
public enum IOTreeError: Error, Sendable, Hashable, CustomStringConvertible {
    case malformedArtifact(Hash)

    public var description: String {
        switch self {
        case .malformedArtifact(let h): "transaction: malformed artifacts for transaction \(h)"
        }
    }
}
