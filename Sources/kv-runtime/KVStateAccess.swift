import ConsensusAPI
import OasisCommon
import RuntimeStorage

/// The runtime's view of state: reads at a committed root and the roots of new trees.
///
/// The runtime uses ``HostState`` (reads through the host, verified against the block's roots,
/// with the Merkle scheme of `RuntimeStorage`). Keeping it behind this seam lets everything
/// else in the runtime — transactions, tags, write logs, the protocol — be tested on its own.
protocol KVStateAccess: Sendable {
    /// The value of `key` in the state tree `root`; `nil` when absent.
    func value(of key: [UInt8], at root: StorageRoot) async throws -> [UInt8]?
    /// The root of `root`'s tree after `writeLog` (an empty value deletes its key).
    func stateRoot(after writeLog: WriteLog, on root: StorageRoot) async throws -> Hash
    /// The root of a fresh I/O tree holding exactly `writeLog`.
    func ioRoot(of writeLog: WriteLog) throws -> Hash
    /// Readies the values of `keys` in `root`'s tree for the reads that follow; errors are left
    /// to those reads.
    func prefetch(_ keys: [[UInt8]], at root: StorageRoot) async
}

extension KVStateAccess {
    /// Nothing to ready by default.
    func prefetch(_ keys: [[UInt8]], at root: StorageRoot) async {}
}
