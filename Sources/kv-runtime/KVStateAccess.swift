import ConsensusAPI
import OasisCommon
import RuntimeStorage

/// The runtime's view of state: reads at a committed root and the roots of new trees.
///
/// Both sides hinge on the Merkle scheme of `RuntimeStorage` (reads are proofs the runtime
/// must verify against the block's state root; new roots are the scheme's hashes). Keeping it
/// behind this seam lets everything else in the runtime — transactions, tags, write logs, the
/// protocol — stand on its own.
protocol KVStateAccess: Sendable {
    /// The value of `key` in the state tree `root`; `nil` when absent.
    func value(of key: [UInt8], at root: StorageRoot) async throws -> [UInt8]?
    /// The root of `root`'s tree after `writeLog` (an empty value deletes its key).
    func stateRoot(after writeLog: WriteLog, on root: StorageRoot) async throws -> Hash
    /// The root of a fresh I/O tree holding exactly `writeLog`.
    func ioRoot(of writeLog: WriteLog) throws -> Hash
}

/// What this build uses while `RuntimeStorage` has no Merkle scheme: every state access fails
/// with one clear sentence, so check-tx, pings and state-free queries still work and execute
/// reports why it cannot.
struct UnavailableState: KVStateAccess {
    struct Missing: Error, CustomStringConvertible {
        var description: String {
            "kv-runtime: state access needs the Merkle scheme of RuntimeStorage (proof verification and roots), "
                + "which this build does not have"
        }
    }

    func value(of key: [UInt8], at root: StorageRoot) async throws -> [UInt8]? { throw Missing() }
    func stateRoot(after writeLog: WriteLog, on root: StorageRoot) async throws -> Hash { throw Missing() }
    func ioRoot(of writeLog: WriteLog) throws -> Hash { throw Missing() }
}
