#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Logging
import RuntimeRegistry

extension NodeConfig {
    /// The opt-out every sandbox failure suggests.
    static let unconfinedOptIn = "run unconfined with --runtime.provisioner unconfined --debug.dont_blame_oasis"

    /// Runs every check that writes nothing, in this fixed order, and throws the first failure
    /// (the node then exits 2 with its ``NodeConfigError/description`` and an untouched data
    /// directory):
    ///
    /// 1. `log.level` and `log.format` are known values, `metrics.address` is `host:port` (or
    ///    `""`), `consensus.backend` is `local`;
    /// 2. `runtime.supported` parses (`malformed runtime map item: …`) and names at most 64
    ///    runtimes (`runtime/registry: too many registered runtimes`);
    /// 3. the data directory is a writable directory, or can be created (its nearest existing
    ///    parent is a writable directory), and its control socket path fits in `sun_path`;
    /// 4. each supported runtime's existing state directory `<datadir>/runtimes/<id>` is a
    ///    directory with mode 0700 owned by this user (`common/Mkdir` messages);
    /// 5. the genesis document loads (`consensus.genesis`, default `<datadir>/genesis.yaml`);
    /// 6. the `runtime.*` checks of oasis-core's `newConfig`, with its messages, in its order
    ///    (through ``RuntimeConfig``, against the genesis instead of an open consensus);
    /// 7. every `runtime.paths` entry is a supported runtime;
    /// 8. with `runtime.paths` set and the `sandboxed` provisioner: the sandbox preflight.
    public func validate() async throws(NodeConfigError) {
        try await validate(preflight: { options in try await SandboxPreflight.check(options) })
    }

    /// ``validate()`` with the sandbox preflight replaced (tests).
    func validate(preflight: @Sendable (SandboxOptions) async throws -> Void) async throws(NodeConfigError) {
        try validateValues()
        let supported = try validateSupported()
        try validateDataDirectory(supported: supported)
        let genesisPath = consensus.genesisPath(dataDir: dataDir)
        let genesis: ConsensusGenesis
        do {
            genesis = try ConsensusGenesis.load(path: genesisPath)
        } catch {
            let hint = consensus.genesis.isEmpty
                ? "create it with `runtime-node localnet --datadir \(dataDir)` or point consensus.genesis at one"
                : "point consensus.genesis at a valid genesis document"
            throw NodeConfigError(key: "consensus.genesis", message: error.description, hint: hint)
        }

        let logger = Logger(label: "runtime-node.config", factory: { _ in SwiftLogNoOpLogHandler() })
        do {
            _ = try await RuntimeConfig.make(
                options: runtime, consensus: GenesisStatusConsensus(chainContextValue: genesis.chainContext),
                provisioners: .inert, logger: logger)
        } catch {
            throw NodeConfigError(key: error.key, message: error.description, hint: Self.hint(for: error))
        }

        guard let paths = runtime.paths else { return }
        for idText in paths.keys.sorted() {
            // RuntimeConfig has refused IDs that do not parse.
            guard let id = try? Namespace(hex: idText), supported[id] == nil else { continue }
            throw NodeConfigError(
                key: ConfigKey.paths, message: "runtime \(id) has a path but is not in runtime.supported",
                hint: "add it to runtime.supported or remove its runtime.paths entry")
        }
        guard runtime.provisioner == RuntimeProvisionerKind.sandboxed.rawValue else { return }
        do {
            try await preflight(SandboxOptions(bubblewrapPath: runtime.sandboxBinary))
        } catch {
            let text = (error as? RuntimeProcessError)?.message ?? "\(error)"
            throw NodeConfigError(
                key: ConfigKey.provisioner,
                message: "sandboxed runtimes cannot start on this host: \(Self.withoutUnconfinedHint(text))",
                hint: "fix that, or \(Self.unconfinedOptIn)")
        }
    }

    /// Step 1: values that stand on their own.
    private func validateValues() throws(NodeConfigError) {
        guard Self.logFormats.contains(logFormat) else {
            throw NodeConfigError(
                key: "log.format", message: "unknown log format '\(logFormat)'",
                hint: "use one of: \(Self.logFormats.joined(separator: ", "))")
        }
        if !metricsAddress.isEmpty, let problem = Self.hostPortProblem(metricsAddress) {
            throw NodeConfigError(
                key: "metrics.address", message: problem,
                hint: "write host:port like 127.0.0.1:3000 (0.0.0.0:3000 for every interface), "
                    + "or \"\" to turn metrics off")
        }
        guard consensus.backend == LocalConsensus.backendName else {
            throw NodeConfigError(
                key: "consensus.backend", message: "unsupported consensus backend '\(consensus.backend)'",
                hint: "the only backend is \(LocalConsensus.backendName) (the embedded consensus)")
        }
    }

    /// Step 2: the supported runtimes, as the registry will read them.
    private func validateSupported() throws(NodeConfigError) -> [Namespace: String] {
        let supported: [Namespace: String]
        do {
            supported = try parseRuntimeMap(runtime.supported)
        } catch {
            throw NodeConfigError(
                key: ConfigKey.supported, message: error.description,
                hint: "each item is a runtime ID of 64 hex characters, optionally followed by :value")
        }
        guard supported.count <= maxRuntimeCount else {
            throw NodeConfigError(
                key: ConfigKey.supported, message: RegistryError.tooManyRuntimes.description,
                hint: "a node supports at most \(maxRuntimeCount) runtimes (got \(supported.count))")
        }
        return supported
    }

    /// Steps 3 and 4: the data directory and the state directories, looked at, never created.
    private func validateDataDirectory(supported: [Namespace: String]) throws(NodeConfigError) {
        guard !dataDir.isEmpty else {
            throw NodeConfigError(
                key: "datadir", message: "no data directory configured",
                hint: "pass --datadir DIR or set datadir in the config file")
        }
        if let problem = Self.creatableDirectoryProblem(dataDir) {
            throw NodeConfigError(
                key: "datadir", message: problem, hint: "choose another --datadir or fix its permissions")
        }
        // The node binds its control socket in the data directory; a path that does not fit in
        // sun_path would only fail after the directory was created.
        let socketPath = dataDir + "/" + RuntimeNode.controlSocketName
        if socketPath.utf8.count > SocketFile.maxPathLength {
            throw NodeConfigError(
                key: "datadir",
                message: "the control socket path \(socketPath) is \(socketPath.utf8.count) bytes, longer than the "
                    + "\(SocketFile.maxPathLength)-byte Unix socket limit",
                hint: "use a shorter data directory")
        }
        for id in supported.keys.sorted(by: { $0.description < $1.description }) {
            let path = runtimeStateDir(dataDir: dataDir, runtimeID: id)
            var info = stat()
            guard lstat(path, &info) == 0 else {
                let code = errno
                guard code == ENOENT || code == ENOTDIR else {
                    throw NodeConfigError(
                        key: "datadir",
                        message: DirectoryError.systemError(path: path, operation: "lstat", errno: code).description)
                }
                if let problem = Self.creatableDirectoryProblem(path) {
                    throw NodeConfigError(
                        key: "datadir", message: problem, hint: "fix the data directory's permissions")
                }
                continue
            }
            let failure: DirectoryError?
            if info.st_mode & S_IFMT != S_IFDIR {
                failure = .notADirectory(path: path)
            } else if UInt32(info.st_mode) & 0o777 != 0o700 {
                failure = .invalidPermissions(path: path, mode: UInt32(info.st_mode) & 0o777)
            } else if info.st_uid != geteuid() {
                failure = .invalidOwner(path: path, uid: UInt32(info.st_uid), expected: UInt32(geteuid()))
            } else {
                failure = nil
            }
            if let failure { throw NodeConfigError(key: "datadir", message: failure.description) }
        }
    }

    /// Why `path` cannot be used as a directory the node writes in, or `nil`: it must be a
    /// writable directory, or not exist below a writable directory (its nearest existing
    /// ancestor). `access(2)` decides "writable", so a read-only file system counts.
    static func creatableDirectoryProblem(_ path: String) -> String? {
        var info = stat()
        if stat(path, &info) == 0 {
            guard info.st_mode & S_IFMT == S_IFDIR else { return "'\(path)' exists and is not a directory" }
            guard access(path, W_OK | X_OK) == 0 else {
                return "directory '\(path)' is not writable: \(String(cString: strerror(errno)))"
            }
            return nil
        }
        let code = errno
        guard code == ENOENT || code == ENOTDIR else {
            return "cannot use '\(path)': \(String(cString: strerror(code)))"
        }
        var ancestor = NodeConfigText.directory(of: path)
        while stat(ancestor, &info) != 0 {
            let code = errno
            guard code == ENOENT || code == ENOTDIR else {
                return "cannot create '\(path)': '\(ancestor)': \(String(cString: strerror(code)))"
            }
            let parent = NodeConfigText.directory(of: ancestor)
            guard parent != ancestor else { return "cannot create '\(path)': no parent directory exists" }
            ancestor = parent
        }
        guard info.st_mode & S_IFMT == S_IFDIR else {
            return "cannot create '\(path)': '\(ancestor)' is not a directory"
        }
        guard access(ancestor, W_OK | X_OK) == 0 else {
            return "cannot create '\(path)': '\(ancestor)' is not writable: \(String(cString: strerror(errno)))"
        }
        return nil
    }

    /// Why `address` is not `host:port`, or `nil`. The host may be a name, an IPv4 address or
    /// a bracketed IPv6 address; it may not be empty.
    static func hostPortProblem(_ address: String) -> String? {
        let host: Substring
        let port: Substring
        if address.hasPrefix("[") {
            guard let close = address.firstIndex(of: "]"), address[address.index(after: close)...].hasPrefix(":") else {
                return "'\(address)' is not host:port"
            }
            host = address[address.index(after: address.startIndex)..<close]
            port = address[address.index(close, offsetBy: 2)...]
        } else {
            guard let colon = address.lastIndex(of: ":") else { return "'\(address)' is not host:port (no port)" }
            host = address[..<colon]
            port = address[address.index(after: colon)...]
            guard !host.contains(":") else { return "'\(address)' is not host:port (write IPv6 hosts as [::1]:3000)" }
        }
        guard !host.isEmpty else { return "'\(address)' has no host" }
        guard UInt16(port) != nil else { return "'\(address)' has no valid port (0-65535)" }
        return nil
    }

    /// What to do about a `runtime.*` refusal.
    static func hint(for error: RuntimeConfigError) -> String? {
        let message = error.description
        switch error.key {
        case ConfigKey.provisioner where message.hasSuffix("requires use of unsafe debug flags"):
            return "set debug.dont_blame_oasis (--debug.dont_blame_oasis) to allow it outside production, "
                + "or use the sandboxed provisioner"
        case ConfigKey.provisioner where message.hasPrefix("unsupported runtime provisioner"):
            return "use sandboxed, unconfined or mock"
        case ConfigKey.sandboxBinary:
            return "install bubblewrap or set runtime.sandbox.binary to its path, or \(unconfinedOptIn)"
        case ConfigKey.paths where message.hasPrefix("bad runtime identifier"),
            ConfigKey.sgxSignatures where message.hasPrefix("bad runtime identifier"):
            return "runtime IDs are 64 hex characters"
        case ConfigKey.paths where message == "no runtimes configured":
            return "add ID: PATH entries under runtime.paths, or leave runtime.paths unset to run without hosting"
        case ConfigKey.historyPrunerStrategy:
            return "use none or keep_last"
        case ConfigKey.historyPrunerInterval:
            return "use at least 1s, e.g. 2m"
        case ConfigKey.tagIndexerBackend:
            return "use \"\" (none), sqlite or bleve"
        case ConfigKey.memoryLimit:
            return "use 0 for no limit, or a size like 512MiB (kv-runtime needs about 48MiB on two cores)"
        default:
            return nil
        }
    }

    /// The preflight's own suggestion taken out, so the sentence ends with ours once.
    static func withoutUnconfinedHint(_ text: String) -> String {
        let hint = "or run with --runtime.provisioner unconfined --debug.dont_blame_oasis"
        var out = text
        for form in [" (\(hint))", ", \(hint)", "; \(hint)", hint] {
            out = out.replacingOccurrences(of: form, with: "")
        }
        return out
    }
}
