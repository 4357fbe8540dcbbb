import ConsensusAPI
import OasisCBOR
import OasisCommon
import RuntimeStorage

/// A transaction of the simple key-value runtime: CBOR `{"method": text, "args": any}`.
///
/// `insert {key, value}`, `remove {key}` and `get {key}` with text keys and values, as in
/// oasis-core's simple-keyvalue test runtime; an optional `nonce` in the arguments is ignored
/// (clients use it to make otherwise equal transactions distinct).
enum KVTransaction: Equatable {
    case insert(key: String, value: String)
    case remove(key: String)
    case get(key: String)

    /// Why an input is not a transaction this runtime knows.
    struct Malformed: Error, CustomStringConvertible {
        let description: String
    }

    init(decoding input: [UInt8]) throws(Malformed) {
        let value: CBORValue
        do {
            value = try CBORValue(decoding: input)
        } catch {
            throw Malformed(description: "malformed transaction: \(error)")
        }
        guard case .textString(let method) = value["method"] else {
            throw Malformed(description: "malformed transaction: no method")
        }
        let args = value["args"] ?? .null
        func text(_ name: String) throws(Malformed) -> String {
            guard case .textString(let s) = args[name] else {
                throw Malformed(description: "malformed transaction: \(method) needs a text \(name)")
            }
            return s
        }
        // A key is also the value of the transaction's `kv_key` tag, and an I/O tree cannot hold
        // an empty tag value (an empty value deletes), so the tag index could not find it.
        func key() throws(Malformed) -> String {
            let key = try text("key")
            guard !key.isEmpty else { throw Malformed(description: "malformed transaction: \(method) needs a non-empty key") }
            return key
        }
        switch method {
        case "insert":
            let value = try text("value")
            // The storage's write log deletes a key whose new value is empty, so an empty
            // value could not be stored as one.
            guard !value.isEmpty else {
                throw Malformed(description: "malformed transaction: insert needs a non-empty value (use remove to delete a key)")
            }
            self = .insert(key: try key(), value: value)
        case "remove": self = .remove(key: try key())
        case "get": self = .get(key: try key())
        default: throw Malformed(description: "method not found: \(method)")
        }
    }

    /// The CBOR a client sends.
    var encoded: [UInt8] {
        let (method, args): (String, [CBORMapEntry]) =
            switch self {
            case .insert(let key, let value):
                ("insert", [.init(key: .textString("key"), value: .textString(key)),
                            .init(key: .textString("value"), value: .textString(value))])
            case .remove(let key): ("remove", [.init(key: .textString("key"), value: .textString(key))])
            case .get(let key): ("get", [.init(key: .textString("key"), value: .textString(key))])
            }
        let call = CBORValue.map([
            .init(key: .textString("method"), value: .textString(method)),
            .init(key: .textString("args"), value: .map(args)),
        ])
        // Encoding a value built from text and maps cannot fail.
        return try! call.encoded()
    }

    var key: String {
        switch self {
        case .insert(let key, _), .remove(let key), .get(let key): key
        }
    }

    var operation: String {
        switch self {
        case .insert: "insert"
        case .remove: "remove"
        case .get: "get"
        }
    }
}

/// A transaction's output: CBOR `{"Success": value}` or `{"Error": text}` (v21.1 `TxnOutput`).
enum KVOutput: Equatable {
    case success(CBORValue)
    case error(String)

    var encoded: [UInt8] {
        let value: CBORValue =
            switch self {
            case .success(let v): .map([.init(key: .textString("Success"), value: v)])
            case .error(let text): .map([.init(key: .textString("Error"), value: .textString(text))])
            }
        return try! value.encoded()
    }

    /// An optional text as CBOR: text or `null`.
    static func text(_ bytes: [UInt8]?) -> CBORValue {
        bytes.map { .textString(String(decoding: $0, as: UTF8.self)) } ?? .null
    }
}

/// The result of running a batch against some state.
struct BatchResult {
    var outputs: [KVOutput]
    var artifacts: [TransactionArtifacts]
    var tags: [TransactionTag]
    /// One entry per changed key, sorted by key; an empty value deletes.
    var stateWriteLog: WriteLog
}

/// Runs transactions in order over `read`, keeping this batch's own writes in an overlay, and
/// records each transaction's tags (`kv_op`, `kv_key`) for the tag indexer. Every transaction
/// reads its key first, so the keys of all well-formed ones go to `prefetch` before any runs.
func executeBatch(
    _ inputs: [[UInt8]], isAborted: () -> Bool, prefetch: ([[UInt8]]) async -> Void = { _ in },
    read: ([UInt8]) async throws -> [UInt8]?
) async throws -> BatchResult {
    let transactions = inputs.map { input in Result { try KVTransaction(decoding: input) } }
    await prefetch(transactions.compactMap { try? $0.get() }.map { Array($0.key.utf8) })
    var overlay: [[UInt8]: [UInt8]?] = [:]
    // Whether each key read from state was there: a key the state did not hold and the batch
    // leaves deleted did not change, so it gets no entry (as oasis MKVS drops such deletes).
    var stored: [[UInt8]: Bool] = [:]
    var result = BatchResult(outputs: [], artifacts: [], tags: [], stateWriteLog: [])
    func current(_ key: [UInt8]) async throws -> [UInt8]? {
        if let written = overlay[key] { return written }
        let value = try await read(key)
        stored[key] = value != nil
        return value
    }
    for (index, input) in inputs.enumerated() {
        if isAborted() { throw BatchAborted() }
        let output: KVOutput
        let txHash = Hash.digest(input)
        do {
            let tx = try transactions[index].get()
            let key = Array(tx.key.utf8)
            switch tx {
            case .insert(_, let value):
                let previous = try await current(key)
                overlay[key] = .some(Array(value.utf8))
                output = .success(KVOutput.text(previous))
            case .remove:
                let previous = try await current(key)
                overlay[key] = .some(nil)
                output = .success(KVOutput.text(previous))
            case .get:
                output = .success(KVOutput.text(try await current(key)))
            }
            result.tags.append(TransactionTag(key: Array("kv_op".utf8), value: Array(tx.operation.utf8), txHash: txHash))
            result.tags.append(TransactionTag(key: Array("kv_key".utf8), value: key, txHash: txHash))
        } catch let malformed as KVTransaction.Malformed {
            output = .error(malformed.description)
        }
        result.outputs.append(output)
        result.artifacts.append(TransactionArtifacts(input: input, output: output.encoded, batchOrder: UInt32(index)))
    }
    // Every written key was read first (insert and remove return the previous value).
    result.stateWriteLog = overlay.filter { key, value in value != nil || stored[key] == true }
        .sorted { $0.key.lexicographicallyPrecedes($1.key) }
        .map { key, value in WriteLogEntry(key: key, value: value ?? []) }
    return result
}

/// The host aborted the batch.
struct BatchAborted: Error, CustomStringConvertible {
    var description: String { "batch aborted" }
}
