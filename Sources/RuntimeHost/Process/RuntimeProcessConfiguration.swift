/// How a runtime process is confined.
public enum ProcessIsolation: Sendable, Hashable {
    /// A plain child process ("naked" mode). The runtime runs with the node's privileges, so
    /// this is for development only (`--debug.dont_blame_oasis`).
    case unconfined
    /// Inside a bubblewrap sandbox with the seccomp allow-list (docs/THREAT_MODEL.md).
    case sandboxed(SandboxOptions)
}

/// Settings of the bubblewrap sandbox.
public struct SandboxOptions: Sendable, Hashable {
    /// The bubblewrap executable, e.g. `/usr/bin/bwrap`.
    public var bubblewrapPath: String
    /// The host name inside the sandbox.
    public var hostname: String
    /// Whether the sandbox gets a `/proc` (of its own pid namespace).
    public var proc: ProcFilesystem
    /// How long the preflight's trivial sandbox may take before it counts as broken.
    public var preflightTimeout: Duration

    /// Options for the bubblewrap binary at `bubblewrapPath`, with oasis-core's host name.
    public init(
        bubblewrapPath: String, hostname: String = "oasis-core", proc: ProcFilesystem = .whenNeeded,
        preflightTimeout: Duration = .seconds(10)
    ) {
        self.bubblewrapPath = bubblewrapPath
        self.hostname = hostname
        self.proc = proc
        self.preflightTimeout = preflightTimeout
    }
}

/// Whether a sandbox mounts `/proc`. oasis-core v21.1 never does, and runtimes written in Rust
/// or C do not need it; but libdispatch (the Swift concurrency runtime's executor on Linux)
/// monitors its worker threads through `/proc/<tid>/stat` and kills the process with SIGILL
/// ("workq: registered worker exited prematurely") when that file cannot be opened.
///
/// The `/proc` bubblewrap mounts belongs to the sandbox's pid namespace: it lists only the
/// sandbox's own processes. It does show host-wide read-only information (CPU, memory, kernel
/// settings); docs/THREAT_MODEL.md weighs this.
public enum ProcFilesystem: Sendable, Hashable {
    /// No `/proc` (oasis-core's sandbox).
    case never
    /// Always mount `/proc`.
    case always
    /// Mount `/proc` when the runtime links libdispatch (directly or through the Swift
    /// concurrency runtime), and not otherwise.
    case whenNeeded
}

/// What to run, and with what (oasis-core's `process.Config`).
///
/// The child's environment is exactly `environment` plus `OASIS_WORKER_HOST` when a host socket
/// is given; the node's own environment never reaches it, in either mode. Its descriptors are
/// exactly 0 (`/dev/null`), 1 and 2 (pipes read by `RuntimeProcess.stdoutLines` and
/// `stderrLines`).
public struct RuntimeProcessConfiguration: Sendable {
    /// The runtime binary on the host. Absolute paths are recommended; it is bound read-only at
    /// `/entrypoint` in sandboxed mode.
    public var executablePath: String
    /// Arguments after the program name.
    public var arguments: [String]
    /// Unconfined or sandboxed.
    public var isolation: ProcessIsolation
    /// The host side of the Runtime Host Protocol socket. Unconfined: the child gets
    /// `OASIS_WORKER_HOST=<this path>`. Sandboxed: the socket is bound read-write at
    /// `/host.sock` and the child gets `OASIS_WORKER_HOST=/host.sock`.
    public var hostSocketPath: String?
    /// Extra environment variables; nothing else is passed on.
    public var environment: [String: String]
    /// Files to create for the runtime, path → contents. Unconfined: written on the host at that
    /// path before the spawn (missing parent directories get mode 0700, the file 0600).
    /// Sandboxed: the path is inside the sandbox, filled through `--ro-bind-data`.
    public var bindData: [String: [UInt8]]
    /// Sandboxed only: read-only binds, host path → sandbox path. Ignored when unconfined.
    public var readOnlyBinds: [String: String]
    /// Sandboxed only: read-write binds, host path → sandbox path. Ignored when unconfined.
    /// bubblewrap mounts them without device access: a device node bound here cannot be
    /// opened in the sandbox (use `deviceBinds`).
    public var readWriteBinds: [String: String]
    /// Sandboxed only: device nodes, host path → sandbox path, bound with device access
    /// (`--dev-bind`, v21.1's `BindDev`), such as the SGX device. Ignored when unconfined.
    public var deviceBinds: [String: String]
    /// The most memory each process of the runtime may allocate, in bytes (`RLIMIT_DATA`, soft
    /// and hard, set before the exec and inherited by everything the runtime starts; bubblewrap
    /// and the sandbox's processes included). Linux counts the heap and private writable
    /// mappings (anonymous memory, thread stacks, malloc arenas as they are used), not reserved
    /// address space or the binary and its libraries. An allocation over it fails (`malloc`
    /// returns `NULL`, `mmap` `ENOMEM`); what the runtime does then is its own affair, usually
    /// exiting, and the supervisor restarts it. `nil`: no limit beyond the node's own.
    public var memoryLimit: UInt64?

    /// A configuration with no socket, no extra environment and no binds.
    public init(
        executablePath: String,
        arguments: [String] = [],
        isolation: ProcessIsolation,
        hostSocketPath: String? = nil,
        environment: [String: String] = [:],
        bindData: [String: [UInt8]] = [:],
        readOnlyBinds: [String: String] = [:],
        readWriteBinds: [String: String] = [:],
        deviceBinds: [String: String] = [:],
        memoryLimit: UInt64? = nil
    ) {
        self.executablePath = executablePath
        self.arguments = arguments
        self.isolation = isolation
        self.hostSocketPath = hostSocketPath
        self.environment = environment
        self.bindData = bindData
        self.readOnlyBinds = readOnlyBinds
        self.readWriteBinds = readWriteBinds
        self.deviceBinds = deviceBinds
        self.memoryLimit = memoryLimit
    }

    /// The path of the host socket inside the sandbox.
    public static let sandboxHostSocketPath = "/host.sock"
    /// The environment variable that tells a runtime where the host socket is.
    public static let hostSocketVariable = "OASIS_WORKER_HOST"

    /// The environment the runtime itself sees, as NAME=value pairs sorted by name.
    func childEnvironment() -> [(String, String)] {
        var environment = self.environment
        if let hostSocketPath {
            switch isolation {
            case .unconfined: environment[Self.hostSocketVariable] = hostSocketPath
            case .sandboxed: environment[Self.hostSocketVariable] = Self.sandboxHostSocketPath
            }
        }
        return environment.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }
}
