#if canImport(Glibc)
internal import Glibc
#elseif canImport(Musl)
internal import Musl
#elseif canImport(Darwin)
internal import Darwin
#endif
public import ConsensusAPI
public import Logging
public import OasisCommon
public import RuntimeHistory
public import RuntimeHost
public import RuntimeHostProtocol
public import RuntimeTagIndexer

/// Why the `runtime.*` options were refused. ``description`` is oasis-core's message for the
/// same condition (callers and tests match on it); ``key`` names the option to fix.
public struct RuntimeConfigError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The option at fault (a ``ConfigKey`` string).
    public var key: String
    /// oasis-core's message.
    public var description: String

    /// An error about `key`.
    public init(key: String, _ description: String) {
        self.key = key
        self.description = description
    }
}

/// The hosting part of the configuration (`RuntimeHostConfig`): provisioners by the TEE
/// hardware a runtime's descriptor asks for, and the host configuration of every runtime in
/// `runtime.paths`.
public struct RuntimeHostConfig: Sendable {
    /// Provisioners by TEE hardware. `mock` registers only `.invalid` (no TEE).
    public var provisioners: [TEEHardware: any Provisioner]
    /// Host configurations by runtime.
    public var runtimes: [Namespace: HostConfig]

    /// A host configuration.
    public init(provisioners: [TEEHardware: any Provisioner], runtimes: [Namespace: HostConfig]) {
        self.provisioners = provisioners
        self.runtimes = runtimes
    }
}

/// What the options say about the process provisioners (unconfined, sandboxed, SGX).
public struct ProcessProvisionerSettings: Sendable {
    /// What the handshake tells runtimes about the node.
    public var hostInfo: HostInfo
    /// Run binaries unconfined (`runtime.provisioner: unconfined`), not in the sandbox.
    public var insecureNoSandbox: Bool
    /// `runtime.sandbox.binary`: bubblewrap.
    public var sandboxBinary: String
    /// `runtime.limits.memory` in bytes; nil when it is 0 (no limit).
    public var memoryLimit: UInt64?

    /// Settings from their parts.
    public init(hostInfo: HostInfo, insecureNoSandbox: Bool, sandboxBinary: String, memoryLimit: UInt64? = nil) {
        self.hostInfo = hostInfo
        self.insecureNoSandbox = insecureNoSandbox
        self.sandboxBinary = sandboxBinary
        self.memoryLimit = memoryLimit
    }
}

/// How the registry makes provisioners: the one place that knows the host module's
/// constructors, replaceable so tests and benchmarks can count or fake them.
public struct ProvisionerFactory: Sendable {
    /// The mock provisioner.
    public var mock: @Sendable () -> any Provisioner
    /// A process provisioner: unconfined or in the sandbox binary (bubblewrap), as the
    /// settings say.
    public var sandbox: @Sendable (_ settings: ProcessProvisionerSettings) throws -> any Provisioner
    /// An SGX provisioner with the loader binary.
    public var sgx: @Sendable (_ settings: ProcessProvisionerSettings, _ loader: String) throws -> any Provisioner

    /// A factory from closures.
    public init(
        mock: @escaping @Sendable () -> any Provisioner,
        sandbox: @escaping @Sendable (ProcessProvisionerSettings) throws -> any Provisioner,
        sgx: @escaping @Sendable (ProcessProvisionerSettings, String) throws -> any Provisioner
    ) {
        self.mock = mock
        self.sandbox = sandbox
        self.sgx = sgx
    }
}

/// The registry's configuration (`RuntimeConfig`), built from ``RuntimeOptions`` exactly as
/// oasis-core's `newConfig` does, with its checks in its order and its messages. Building it
/// only reads (the consensus status, the sandbox binary's metadata): nothing is written.
public struct RuntimeConfig: Sendable {
    /// Hosting; `nil` when `runtime.paths` is unset.
    public var host: RuntimeHostConfig?
    /// History pruning.
    public var history: HistoryConfiguration
    /// Which tag index each runtime gets.
    public var tagIndexer: TagIndexBackendKind

    /// A configuration from parts.
    public init(host: RuntimeHostConfig? = nil, history: HistoryConfiguration = HistoryConfiguration(),
                tagIndexer: TagIndexBackendKind = .disabled) {
        self.host = host
        self.history = history
        self.tagIndexer = tagIndexer
    }

    /// `newConfig` (spec/core.md §1.3), after two checks of ours that run whether or not
    /// `runtime.paths` is set: the provisioner is a known one (`unsupported runtime
    /// provisioner: …`) and every `runtime.sgx.signatures` key is a runtime ID (`bad runtime
    /// identifier '…': …`);
    /// 1. only when `runtime.paths` is set: consensus status and chain context, the
    ///    provisioners (mock/unconfined need `debug.dont_blame_oasis`; sandboxed stats the
    ///    sandbox binary; SGX runtimes get the SGX provisioner only with a loader), one host
    ///    config per path entry, and at least one entry;
    /// 2. the pruner strategy (any case); 3. the prune interval (at least 1s);
    /// 4. the tag indexer backend (`""`, `sqlite`, or `bleve` read as `sqlite`, any case).
    /// Before all of them, as the provisioner: the memory limit (0, or at least
    /// ``RuntimeOptions/minimumMemoryLimit``), which only this implementation has.
    public static func make(
        options: RuntimeOptions, consensus: any ConsensusBackend, provisioners factory: ProvisionerFactory,
        logger: Logger
    ) async throws(RuntimeConfigError) -> RuntimeConfig {
        var config = RuntimeConfig()
        // Checked whether or not runtime.paths is set (oasis-core checks neither without it),
        // so a misspelt value is refused instead of ignored.
        guard RuntimeProvisionerKind(rawValue: options.provisioner) != nil else {
            throw RuntimeConfigError(key: ConfigKey.provisioner, "unsupported runtime provisioner: \(options.provisioner)")
        }
        guard options.memoryLimit == 0 || options.memoryLimit >= RuntimeOptions.minimumMemoryLimit else {
            throw RuntimeConfigError(
                key: ConfigKey.memoryLimit,
                "runtime/registry: the memory limit must be 0 (no limit) or at least "
                    + "\(ByteSize.text(RuntimeOptions.minimumMemoryLimit)) (got \(ByteSize.text(options.memoryLimit)))")
        }
        let signatures = try parseSignatures(options.sgxSignatures)
        if let paths = options.paths {
            config.host = try await makeHost(
                options: options, paths: paths, signatures: signatures, consensus: consensus, factory: factory)
        }

        let strategy: PrunerStrategy
        do {
            strategy = try PrunerStrategy(name: options.historyPrunerStrategy, numKept: options.historyPrunerNumKept)
        } catch {
            throw RuntimeConfigError(
                key: ConfigKey.historyPrunerStrategy,
                "runtime/registry: unknown history pruner strategy: \(options.historyPrunerStrategy)")
        }
        guard options.historyPrunerInterval >= .seconds(1) else {
            throw RuntimeConfigError(
                key: ConfigKey.historyPrunerInterval,
                "runtime/registry: history prune interval must be >= 1s (got \(GoDuration.string(options.historyPrunerInterval)))")
        }
        config.history = HistoryConfiguration(pruner: strategy, pruneInterval: options.historyPrunerInterval)

        do {
            config.tagIndexer = try TagIndexBackendKind(configName: options.tagIndexerBackend, logger: logger)
        } catch {
            throw RuntimeConfigError(
                key: ConfigKey.tagIndexerBackend,
                "runtime/registry: unknown tag indexer backend: \(options.tagIndexerBackend)")
        }
        return config
    }

    /// `runtime.sgx.signatures` by parsed runtime ID, so a key matches its `runtime.paths` entry
    /// however its hex is written; a key that is not a runtime ID is refused like one in
    /// `runtime.paths` (sorted, so the same bad key is reported every time).
    private static func parseSignatures(
        _ signatures: [String: String]
    ) throws(RuntimeConfigError) -> [Namespace: String] {
        var parsed: [Namespace: String] = [:]
        for (idText, path) in signatures.sorted(by: { $0.key < $1.key }) {
            do {
                parsed[try Namespace(hex: idText)] = path
            } catch {
                throw RuntimeConfigError(key: ConfigKey.sgxSignatures, "bad runtime identifier '\(idText)': \(error)")
            }
        }
        return parsed
    }

    private static func makeHost(
        options: RuntimeOptions, paths: [String: String], signatures: [Namespace: String],
        consensus: any ConsensusBackend, factory: ProvisionerFactory
    ) async throws(RuntimeConfigError) -> RuntimeHostConfig {
        let status: ConsensusStatus
        do {
            status = try await consensus.status()
        } catch {
            throw RuntimeConfigError(key: ConfigKey.paths, "failed to get consensus layer status: \(error)")
        }
        let chainContext: String
        do {
            chainContext = try await consensus.chainContext()
        } catch {
            throw RuntimeConfigError(key: ConfigKey.paths, "failed to get chain context: \(error)")
        }
        let hostInfo = HostInfo(
            consensusBackend: status.backend, consensusProtocolVersion: status.version.packed,
            consensusChainContext: chainContext)

        var provisioners: [TEEHardware: any Provisioner] = [:]
        switch RuntimeProvisionerKind(rawValue: options.provisioner) {
        case .mock:
            guard options.debugDontBlameOasis else {
                throw RuntimeConfigError(key: ConfigKey.provisioner, "mock provisioner requires use of unsafe debug flags")
            }
            provisioners[.invalid] = factory.mock()
        case .unconfined, .sandboxed:
            let unconfined = options.provisioner == RuntimeProvisionerKind.unconfined.rawValue
            if unconfined {
                guard options.debugDontBlameOasis else {
                    throw RuntimeConfigError(
                        key: ConfigKey.provisioner, "unconfined provisioner requires use of unsafe debug flags")
                }
            } else {
                var info = stat()
                if stat(options.sandboxBinary, &info) != 0 {
                    throw RuntimeConfigError(
                        key: ConfigKey.sandboxBinary,
                        "failed to stat sandbox binary: stat \(options.sandboxBinary): \(goErrnoText(errno))")
                }
            }
            let settings = ProcessProvisionerSettings(
                hostInfo: hostInfo, insecureNoSandbox: unconfined, sandboxBinary: options.sandboxBinary,
                memoryLimit: options.memoryLimit == 0 ? nil : options.memoryLimit)
            do {
                provisioners[.invalid] = try factory.sandbox(settings)
            } catch {
                throw RuntimeConfigError(key: ConfigKey.provisioner, "failed to create runtime provisioner: \(error)")
            }
            if options.sgxLoader.isEmpty {
                do {
                    provisioners[.intelSGX] = try factory.sandbox(settings)
                } catch {
                    throw RuntimeConfigError(key: ConfigKey.provisioner, "failed to create runtime provisioner: \(error)")
                }
            } else {
                do {
                    provisioners[.intelSGX] = try factory.sgx(settings, options.sgxLoader)
                } catch {
                    throw RuntimeConfigError(key: ConfigKey.sgxLoader, "failed to create SGX runtime provisioner: \(error)")
                }
            }
        case nil:
            throw RuntimeConfigError(key: ConfigKey.provisioner, "unsupported runtime provisioner: \(options.provisioner)")
        }

        var runtimes: [Namespace: HostConfig] = [:]
        // Sorted so that with several bad entries the same one is reported every time.
        for (idText, path) in paths.sorted(by: { $0.key < $1.key }) {
            let id: Namespace
            do {
                id = try Namespace(hex: idText)
            } catch {
                throw RuntimeConfigError(key: ConfigKey.paths, "bad runtime identifier '\(idText)': \(error)")
            }
            let signature = signatures[id] ?? ""
            let extra: HostExtra = signature.isEmpty
                ? .sgx(signaturePath: nil, unsafeDebugGenerateSigstruct: true)
                : .sgx(signaturePath: signature, unsafeDebugGenerateSigstruct: false)
            runtimes[id] = HostConfig(runtimeID: id, path: path, extra: extra)
        }
        guard !runtimes.isEmpty else { throw RuntimeConfigError(key: ConfigKey.paths, "no runtimes configured") }
        return RuntimeHostConfig(provisioners: provisioners, runtimes: runtimes)
    }
}

/// Go's text for an errno (`no such file or directory`): strerror with a lower-case start.
func goErrnoText(_ code: Int32) -> String {
    let text = String(cString: strerror(code))
    guard let first = text.first else { return text }
    return first.lowercased() + text.dropFirst()
}
