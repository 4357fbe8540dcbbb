public import ConsensusAPI
public import Foundation
import OasisCommon
import Yams

/// The genesis document of the embedded consensus: the chain's parameters and the runtimes
/// registered from the start.
///
/// On disk it is YAML or JSON (oasis genesis style), with these keys:
///
/// ```yaml
/// chain_context: "…"          # optional; default: SHA-512/256 of the file, in hex
/// genesis_time: 1700000000    # optional, unix seconds of height 1; default 0
/// block_interval: 1s          # Go duration text ("500ms", "2s", "1m") or seconds as a number
/// epoch_interval: 10          # blocks per epoch, at least 2
/// debug_allow_test_runtimes: true   # optional, default true (test namespaces are the norm locally)
/// runtimes: [ … ]             # runtime descriptors in their oasis JSON form
/// ```
///
/// YAML is parsed and converted to JSON first, so descriptors always go through their oasis
/// JSON form (`JSONDecoder`).
public struct ConsensusGenesis: Sendable, Hashable {
    /// The chain domain-separation context.
    public var chainContext: String
    /// Unix time (seconds) of the genesis height; later heights add the block interval.
    public var genesisTime: UInt64
    /// Time between consensus blocks.
    public var blockInterval: Duration
    /// Blocks per epoch.
    public var epochInterval: UInt64
    /// Whether runtimes with the test flag in their ID may register.
    public var debugAllowTestRuntimes: Bool
    /// The runtimes registered at genesis, in file order.
    public var runtimes: [RuntimeDescriptor]

    /// A genesis document; ``validate()`` checks it.
    public init(
        chainContext: String, genesisTime: UInt64 = 0, blockInterval: Duration = .seconds(1), epochInterval: UInt64 = 10,
        debugAllowTestRuntimes: Bool = true, runtimes: [RuntimeDescriptor] = []
    ) {
        self.chainContext = chainContext
        self.genesisTime = genesisTime
        self.blockInterval = blockInterval
        self.epochInterval = epochInterval
        self.debugAllowTestRuntimes = debugAllowTestRuntimes
        self.runtimes = runtimes
    }

    /// The registry parameters this chain verifies registrations with: every governance model
    /// is enabled (a local chain has no governance to protect).
    public var registryParameters: RegistryConsensusParameters {
        RegistryConsensusParameters(
            debugAllowTestRuntimes: debugAllowTestRuntimes,
            enabledRuntimeGovernanceModels: [.entity, .runtime, .consensus])
    }

    /// Checks the parameters and sanity-checks every runtime as a genesis registration
    /// (`validateBasic`, `verifyRuntime`, key-manager references, unique IDs).
    public func validate() throws(LocalConsensusError) {
        guard !chainContext.isEmpty else { throw .invalidGenesis("chain_context must not be empty") }
        guard blockInterval > .zero else {
            throw .invalidGenesis("block_interval must be positive (got \(blockInterval))")
        }
        // With 1, every height is an epoch transition whose block takes it for each compute
        // runtime, so a finalized round would share a height with one: its tracked history,
        // which is handed one block per runtime and height, would never get the round.
        guard epochInterval >= 2 else {
            throw .invalidGenesis(
                "epoch_interval must be at least 2 (got \(epochInterval)): with 1 every height is an epoch "
                    + "transition, leaving no height for a runtime's rounds")
        }
        // Block timestamps are genesis_time plus the elapsed block intervals; bounding the
        // start to signed 64 bits leaves room for them (each one is still checked when made).
        guard genesisTime <= UInt64(Int64.max) else {
            throw .invalidGenesis("genesis_time must be at most \(Int64.max) (got \(genesisTime))")
        }
        for runtime in runtimes {
            if let problem = Self.genesisRoundProblem(runtime) { throw .invalidGenesis(problem) }
        }
        do {
            try RuntimeDescriptor.sanityCheckRuntimes(
                runtimes, suspended: [], params: registryParameters, isGenesis: true)
        } catch {
            throw .invalidGenesis("\(error)")
        }
    }

    /// Why a compute runtime's genesis round leaves no room for later rounds, or nil when it
    /// does. Rounds are stored as SQLite's signed 64-bit integers (as in the runtime history),
    /// so the genesis round must be below `Int64.max`: every later round then fits too, and
    /// the round after the genesis one can be computed without overflow.
    static func genesisRoundProblem(_ runtime: RuntimeDescriptor) -> String? {
        guard runtime.kind == .compute, runtime.genesis.round >= UInt64(Int64.max) else { return nil }
        return "runtime \(runtime.id) has genesis round \(runtime.genesis.round), which leaves no room for later "
            + "rounds; it must be below \(Int64.max)"
    }

    /// Reads and validates a genesis file, YAML or JSON (JSON is YAML, so one parser reads both).
    public static func load(path: String) throws(LocalConsensusError) -> ConsensusGenesis {
        let data: Data
        do {
            data = Data(try BoundedFile.read(path, limit: maxDocumentSize))
        } catch {
            throw .invalidGenesis("cannot read genesis file '\(path)': \(error)")
        }
        do {
            return try parse(data)
        } catch {
            throw .invalidGenesis("genesis file '\(path)': \(error.reason)")
        }
    }

    /// Parses and validates a genesis document from YAML or JSON bytes.
    public static func parse(_ data: Data) throws(LocalConsensusError) -> ConsensusGenesis {
        guard let text = String(data: data, encoding: .utf8) else { throw .invalidGenesis("not UTF-8 text") }
        try requireBoundedSize(text)
        let json: Data
        do {
            guard let root = try Yams.compose(yaml: text) else {
                throw LocalConsensusError.invalidGenesis("empty document")
            }
            try requireConstructible(root, path: "")
            let tree = root.any
            // JSONSerialization traps, rather than throws, on a top level that is not a
            // container, so a document that is one bare scalar must be refused here.
            guard tree is [AnyHashable: Any] else {
                throw LocalConsensusError.invalidGenesis(
                    "the document must be a mapping of genesis fields, not a single value")
            }
            json = try JSONSerialization.data(withJSONObject: try jsonCompatible(tree, path: ""))
        } catch let error as LocalConsensusError {
            throw error
        } catch {
            throw .invalidGenesis("not valid YAML or JSON: \(error)")
        }
        let file: GenesisFile
        do {
            file = try JSONDecoder().decode(GenesisFile.self, from: json)
        } catch {
            throw .invalidGenesis("\(describe(error))")
        }
        let genesis = ConsensusGenesis(
            chainContext: file.chainContext ?? Hash.digest([UInt8](data)).description,
            genesisTime: file.genesisTime ?? 0, blockInterval: file.blockInterval.duration,
            epochInterval: file.epochInterval, debugAllowTestRuntimes: file.debugAllowTestRuntimes ?? true,
            runtimes: file.runtimes ?? [])
        try genesis.validate()
        return genesis
    }

    /// The document as JSON, in the shape ``parse(_:)`` reads.
    public func jsonData() throws -> Data {
        let file = GenesisFile(
            chainContext: chainContext, genesisTime: genesisTime, blockInterval: DurationValue(blockInterval),
            epochInterval: epochInterval, debugAllowTestRuntimes: debugAllowTestRuntimes, runtimes: runtimes)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(file)
    }
}

/// The file's shape.
private struct GenesisFile: Codable {
    var chainContext: String?
    var genesisTime: UInt64?
    var blockInterval: DurationValue
    var epochInterval: UInt64
    var debugAllowTestRuntimes: Bool?
    var runtimes: [RuntimeDescriptor]?

    enum CodingKeys: String, CodingKey {
        case chainContext = "chain_context"
        case genesisTime = "genesis_time"
        case blockInterval = "block_interval"
        case epochInterval = "epoch_interval"
        case debugAllowTestRuntimes = "debug_allow_test_runtimes"
        case runtimes
    }
}

/// A duration written as Go's `time.Duration` text (`1s`, `500ms`, `1m30s`) or as a number of
/// seconds.
struct DurationValue: Codable, Hashable {
    var duration: Duration

    init(_ duration: Duration) {
        self.duration = duration
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let seconds = try? c.decode(Double.self) {
            guard let parsed = DurationValue.nanoseconds(seconds * 1e9) else {
                throw DecodingError.dataCorruptedError(
                    in: c,
                    debugDescription: "\(seconds) seconds is not a duration this node can hold (at most 292 years)")
            }
            duration = parsed
            return
        }
        let text = try c.decode(String.self)
        guard let parsed = GoDuration.parse(text) else {
            throw DecodingError.dataCorruptedError(
                in: c, debugDescription: "'\(text)' is not a duration (write it like 500ms, 1s or 2m)")
        }
        duration = parsed
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(GoDuration.compactText(duration))
    }

    /// `value` nanoseconds, or `nil` when it is not finite or overflows `Int64` (a plain
    /// conversion would trap on such input).
    static func nanoseconds(_ value: Double) -> Duration? {
        guard value.isFinite, let whole = Int64(exactly: value.rounded(.towardZero)) else { return nil }
        return .nanoseconds(whole)
    }
}

/// The largest genesis file read: one with the most runtimes (64) is a few hundred KiB.
let maxDocumentSize = 16 << 20

/// The most values (mappings, sequences, scalars and keys) a genesis document may expand to:
/// one with the most runtimes has about 10^4.
let maxDocumentValues = 1_000_000

/// The deepest nesting of collections a genesis document may have: its runtime descriptors
/// need fewer than ten levels.
let maxDocumentDepth = 64

/// Refuses a document that expands to more than ``maxDocumentValues`` values or nests deeper
/// than ``maxDocumentDepth``, before Yams composes it. Yams resolves an alias to a copy of its
/// anchor, so a few lines of nested anchors can stand for billions of values ("billion laughs"):
/// every walk of the tree would take that long, and composing alone does when such an alias is
/// a mapping key (Yams hashes each key). Composing and walking recurse once per level, so a
/// deep enough document would overflow the stack instead.
private func requireBoundedSize(_ text: String) throws(LocalConsensusError) {
    switch YAMLExpansion.measure(text, maxValues: maxDocumentValues, maxDepth: maxDocumentDepth) {
    case .within:
        break
    case .tooManyValues:
        throw .invalidGenesis(
            "the document expands to more than \(maxDocumentValues) values (anchors and aliases count "
                + "once per use); a genesis has far fewer, so remove the nested aliases")
    case .tooDeep:
        throw .invalidGenesis(
            "the document nests more than \(maxDocumentDepth) levels deep (aliases count with what they "
                + "stand for); a genesis has far fewer, so remove the nesting")
    }
}

/// Refuses what Yams's constructor (`Node.any`) would trap on rather than report: a mapping key
/// that is itself a mapping or a sequence (`{[a]: 1}`; every key is force-unwrapped as a string)
/// and a YAML 1.1 base-60 integer (`1:30`), whose value is computed with overflowing arithmetic.
private func requireConstructible(_ node: Yams.Node, path: String) throws(LocalConsensusError) {
    switch node {
    case .mapping(let mapping):
        for (key, value) in mapping {
            guard case .scalar(let scalar) = key else {
                throw .invalidGenesis(
                    "a mapping key at '\(path)' is a mapping or a sequence; keys must be plain values")
            }
            try requireConstructible(value, path: path.isEmpty ? scalar.string : "\(path).\(scalar.string)")
        }
    case .sequence(let sequence):
        for (index, item) in sequence.enumerated() { try requireConstructible(item, path: "\(path)[\(index)]") }
    case .scalar(let scalar):
        if node.tag.description == Tag.Name.int.rawValue, scalar.string.contains(":") {
            throw .invalidGenesis("'\(path)' is a base-60 integer (\(scalar.string)); write it in decimal")
        }
    case .alias:
        break
    }
}

/// YAML's value tree as values `JSONSerialization` accepts.
private func jsonCompatible(_ value: Any, path: String) throws -> Any {
    switch value {
    case let map as [AnyHashable: Any]:
        var out: [String: Any] = [:]
        for (key, item) in map {
            let name = "\(key.base)"
            out[name] = try jsonCompatible(item, path: path.isEmpty ? name : "\(path).\(name)")
        }
        return out
    case let map as [String: Any]:
        return try map.reduce(into: [String: Any]()) { $0[$1.key] = try jsonCompatible($1.value, path: "\(path).\($1.key)") }
    case let list as [Any]:
        return try list.enumerated().map { try jsonCompatible($1, path: "\(path)[\($0)]") }
    case let data as Data:
        return data.base64EncodedString()
    case let date as Date:
        return ISO8601DateFormatter().string(from: date)
    case is String, is Bool, is Int, is Double, is NSNull, is UInt64, is Int64:
        return value
    default:
        throw LocalConsensusError.invalidGenesis("unsupported YAML value at '\(path)': \(value)")
    }
}

/// A decoding error as one sentence with the field path.
private func describe(_ error: any Error) -> String {
    guard let error = error as? DecodingError else { return "\(error)" }
    func path(_ keys: [any CodingKey]) -> String {
        keys.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined().trimmingPrefix(".").description
    }
    switch error {
    case .keyNotFound(let key, let context):
        let at = path(context.codingPath + [key])
        return "missing key '\(at)'"
    case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
        return "'\(path(context.codingPath))': \(context.debugDescription)"
    @unknown default:
        return "\(error)"
    }
}
