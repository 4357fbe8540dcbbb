public import OasisCommon

/// Why the embedded consensus refused something.
public enum LocalConsensusError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The genesis document is malformed or fails validation.
    case invalidGenesis(String)
    /// The data directory holds the state of a chain made from another genesis document.
    case genesisMismatch(path: String, stored: String, genesis: String)
    /// No runtime with this ID is registered.
    case unknownRuntime(Namespace)
    /// Rounds are finalized only for compute runtimes.
    case notComputeRuntime(Namespace)
    /// A registration or update was refused by the registry rules.
    case invalidRegistration(String)
    /// A tracked history has seen a later consensus height than this chain has reached.
    case historyAhead(runtime: Namespace, historyHeight: Int64, consensusHeight: Int64)
    /// The state database failed.
    case store(String)
    /// The consensus was closed.
    case closed

    /// The text without the `local consensus:` prefix.
    public var reason: String {
        switch self {
        case .invalidGenesis(let why): why
        case .genesisMismatch(let path, let stored, let genesis):
            "the state in '\(path)' belongs to chain \(stored), but the genesis document gives chain \(genesis); "
                + "use the genesis file the data directory was created with, or remove '\(path)' to start a new chain"
        case .unknownRuntime(let id): "runtime \(id) is not registered"
        case .notComputeRuntime(let id): "runtime \(id) is not a compute runtime; only compute runtimes have rounds"
        case .invalidRegistration(let why): "registration refused: \(why)"
        case .historyAhead(let runtime, let historyHeight, let consensusHeight):
            "the history of runtime \(runtime) is at consensus height \(historyHeight), beyond this chain's height "
                + "\(consensusHeight); the consensus state is older than the runtime's history (restore it, or "
                + "remove the runtime's history.sqlite to rebuild it)"
        case .store(let why): "state database: \(why)"
        case .closed: "the consensus is closed"
        }
    }

    public var description: String {
        switch self {
        case .invalidGenesis(let why): "local consensus: invalid genesis: \(why)"
        default: "local consensus: \(reason)"
        }
    }
}
