public import ConsensusAPI
public import Foundation
public import LocalConsensus
public import OasisCommon

/// `runtime-node localnet`: a one-machine chain with the reference runtime.
///
/// The genesis registers two compute runtimes: `kv-runtime` (hosted, in the sandbox unless the
/// flags say otherwise) and a second one that the node only tracks — it has a history and
/// descriptors but no binary, so status reports it as `not_hosted`.
public enum Localnet {
    /// The hosted reference runtime: the test namespace of seed `kv-runtime`.
    public static let kvRuntimeID = Namespace.test(seed: "kv-runtime")
    /// The tracked-only runtime: the test namespace of seed `tracked-runtime`.
    public static let trackedRuntimeID = Namespace.test(seed: "tracked-runtime")

    /// The entity that "owns" the localnet runtimes.
    static let entity: PublicKey = {
        var bytes = [UInt8](repeating: 0, count: 32)
        bytes[31] = 1
        return PublicKey(raw: Bytes32(bytes)!)
    }()

    /// A compute runtime descriptor for the localnet: one executor, batches of up to 100
    /// transactions or 1 MiB, flushed 100 ms after the first transaction arrives.
    public static func descriptor(_ id: Namespace) -> RuntimeDescriptor {
        RuntimeDescriptor(
            descriptorVersion: 2, id: id, entityID: entity, genesis: RuntimeGenesis(stateRoot: .empty),
            kind: .compute, teeHardware: .invalid, versions: VersionInfo(),
            executor: ExecutorParameters(groupSize: 1, groupBackupSize: 0, allowedStragglers: 0, roundTimeout: 20),
            txnScheduler: TxnSchedulerParameters(
                algorithm: "simple", batchFlushTimeout: .milliseconds(100), maxBatchSize: 100,
                maxBatchSizeBytes: 1 << 20, proposerTimeout: 20),
            storage: StorageParameters(
                groupSize: 1, minWriteReplication: 1, maxApplyWriteLogEntries: 100_000, maxApplyOps: 2),
            admissionPolicy: RuntimeAdmissionPolicy(anyNode: AnyNodeRuntimeAdmissionPolicy()), governanceModel: .entity)
    }

    /// The localnet's genesis: a chain context unique to this data directory's creation, a
    /// block a second, ten blocks an epoch, and both runtimes.
    public static func genesis(now: Date = Date()) -> ConsensusGenesis {
        let time = UInt64(now.timeIntervalSince1970)
        return ConsensusGenesis(
            chainContext: Hash.digest(Array("runtime-node localnet \(time) \(UUID().uuidString)".utf8)).description,
            genesisTime: time, blockInterval: .seconds(1), epochInterval: 10, debugAllowTestRuntimes: true,
            runtimes: [descriptor(kvRuntimeID), descriptor(trackedRuntimeID)])
    }

    /// The genesis file's text: YAML (the JSON form is valid YAML) with a comment on top.
    public static func genesisText(_ genesis: ConsensusGenesis) throws -> String {
        let json = String(decoding: try genesis.jsonData(), as: UTF8.self)
        return "# runtime-node localnet genesis (JSON is YAML). Runtimes are in oasis-core's JSON form.\n" + json + "\n"
    }

    /// The node configuration of a localnet in `dataDir`, hosting `kvRuntime`; `flags` win.
    public static func config(dataDir: String, kvRuntime: String, flags: [String: [String]]) throws(NodeConfigError)
        -> NodeConfig
    {
        var merged = flags
        merged["datadir"] = [dataDir]
        if merged["runtime.supported"] == nil {
            merged["runtime.supported"] = ["\(kvRuntimeID)", "\(trackedRuntimeID)"]
        }
        if merged["runtime.paths"] == nil { merged["runtime.paths"] = ["\(kvRuntimeID)=\(kvRuntime)"] }
        if merged["runtime.history.tag_indexer.backend"] == nil { merged["runtime.history.tag_indexer.backend"] = ["sqlite"] }
        if merged["runtime.history.pruner.strategy"] == nil { merged["runtime.history.pruner.strategy"] = ["keep_last"] }
        if merged["runtime.history.pruner.num_kept"] == nil { merged["runtime.history.pruner.num_kept"] = ["100000"] }
        return try NodeConfig.load(configFile: nil, flags: merged)
    }

    /// The configuration file's name in the data directory.
    public static let configFileName = "config.yaml"
    /// The genesis file's name in the data directory.
    public static let genesisFileName = "genesis.yaml"

    /// Makes (or reuses) the localnet in `dataDir` and returns the configuration to run.
    ///
    /// When `DIR/config.yaml` exists it is read (with `flags` on top) and kept, and so is
    /// `DIR/genesis.yaml`. Otherwise the configuration is built, validated against a genesis
    /// in a temporary file, and only then are the directory, `genesis.yaml` and
    /// `config.yaml` written — a bad flag leaves nothing behind.
    ///
    /// - Throws: ``NodeConfigError`` for a bad configuration.
    public static func prepare(dataDir: String, kvRuntime: String, flags: [String: [String]]) async throws -> NodeConfig {
        let configPath = dataDir + "/" + configFileName
        let genesisPath = dataDir + "/" + genesisFileName
        let manager = FileManager.default
        if manager.fileExists(atPath: configPath) {
            var overrides = flags
            overrides["datadir"] = overrides["datadir"] ?? [dataDir]
            let config = try NodeConfig.load(configFile: configPath, flags: overrides)
            if !manager.fileExists(atPath: config.consensus.genesisPath(dataDir: config.dataDir)) {
                throw NodeConfigError(
                    key: "consensus.genesis",
                    message: "the genesis file \(config.consensus.genesisPath(dataDir: config.dataDir)) is missing; remove \(configPath) to make a new localnet")
            }
            return config
        }

        var config = try self.config(dataDir: dataDir, kvRuntime: kvRuntime, flags: flags)
        let text = try genesisText(genesis())
        let scratch = NSTemporaryDirectory() + "runtime-node-genesis-\(UUID().uuidString).yaml"
        try Data(text.utf8).write(to: URL(fileURLWithPath: scratch))
        defer { try? manager.removeItem(atPath: scratch) }
        var check = config
        check.consensus.genesis = scratch
        try await check.validate()

        try makeDirectory(config.dataDir)
        if !manager.fileExists(atPath: genesisPath) {
            try Data(text.utf8).write(to: URL(fileURLWithPath: genesisPath))
        }
        config.consensus.genesis = ""
        let header = "# runtime-node configuration written by `runtime-node localnet`; flags given to `runtime-node run` override it.\n"
        try Data((header + config.yaml()).utf8).write(to: URL(fileURLWithPath: configPath))
        return config
    }

    /// What to try once the localnet runs.
    public static func nextSteps(dataDir: String, executable: String = "runtime-node") -> String {
        let d = shellQuoted(dataDir)
        let id = "\(kvRuntimeID)"
        return """
            The localnet is running. In another terminal, try:

              \(executable) control status --datadir \(d)
              \(executable) tx submit --datadir \(d) --runtime \(id) --method insert --args '{"key":"greeting","value":"hello"}'
              \(executable) runtime query --datadir \(d) --runtime \(id) --method get --args '{"key":"greeting"}'
              \(executable) history block --datadir \(d) --runtime \(id)
              \(executable) tags search --datadir \(d) --runtime \(id) --key kv_key --value greeting
              curl --unix-socket \(d)/internal.sock http://localhost/metrics

            Stop it with Ctrl-C; `\(executable) run --config \(d)/config.yaml` runs the same node again.
            """
    }
}

/// `text` quoted for a POSIX shell when it needs quoting.
func shellQuoted(_ text: String) -> String {
    let safe = text.allSatisfy { $0.isLetter || $0.isNumber || "/._-+:=@".contains($0) }
    return safe && !text.isEmpty ? text : "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
}
