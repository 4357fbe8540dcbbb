public import Logging

/// The node daemon: wires consensus, the registry, hosted runtimes, the localnet executors,
/// the control API and metrics into one `ServiceGroup`.
public enum RuntimeNodeInfo {
    /// The node's name in logs and status.
    public static let name = "runtime-node"
}
