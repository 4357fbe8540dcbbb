import ArgumentParser
import Foundation
import Logging
import RuntimeNode

/// `runtime-node run --config FILE [flags]`.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Run the node until SIGINT or SIGTERM.")

    @Option(name: .customLong("config"), help: "The YAML configuration file.")
    var configFile: String?

    @OptionGroup var flags: NodeFlags

    func run() async throws {
        let signals = TerminationSignals()
        defer { signals.cancel() }
        let config: NodeConfig
        do {
            config = try NodeConfig.load(configFile: configFile, flags: flags.overrides)
        } catch {
            throw usageError(error.description)
        }
        try await runNode(config, banner: nil, signals: signals)
    }
}

/// `runtime-node localnet [--datadir DIR] [flags]`.
struct LocalnetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "localnet",
        abstract: "Create (or reuse) a one-machine chain hosting kv-runtime, and run the node on it.",
        discussion: """
            Writes DIR/config.yaml and DIR/genesis.yaml unless they exist, then runs the node. The genesis \
            registers kv-runtime (hosted in the bubblewrap sandbox) and a second runtime that is only tracked.
            """)

    @Option(name: .customLong("kv-runtime"), help: "The kv-runtime binary (default: next to runtime-node).")
    var kvRuntime: String?

    @OptionGroup var flags: NodeFlags

    func run() async throws {
        let signals = TerminationSignals()
        defer { signals.cancel() }
        let dataDir = absolutePath(flags.dataDir ?? defaultLocalnetDirectory())
        let binary = absolutePath(kvRuntime ?? siblingExecutable("kv-runtime"))
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw usageError(
                "kv-runtime not found at \(binary); build it with `swift build --product kv-runtime` or pass --kv-runtime PATH")
        }
        var overrides = flags.overrides
        overrides["datadir"] = nil
        let config: NodeConfig
        do {
            config = try await Localnet.prepare(dataDir: dataDir, kvRuntime: binary, flags: overrides)
        } catch let error as NodeConfigError {
            throw usageError(error.description)
        }
        try await runNode(
            config, banner: Localnet.nextSteps(dataDir: dataDir, executable: siblingExecutable("runtime-node")),
            signals: signals)
    }
}

/// Runs the node with `config` until it stops; prints `banner` to stdout once it serves.
/// `signals`, caught since the command began, stop it (see ``TerminationSignals``).
func runNode(_ config: NodeConfig, banner: String?, signals: TerminationSignals) async throws {
    NodeLogging.bootstrap(format: LogFormat(rawValue: config.logFormat) ?? .logfmt, level: config.logLevel)
    let metrics = NodeMetrics.bootstrap()
    let logger = Logger(label: "runtime-node")
    let node: RuntimeNode
    do {
        node = try await RuntimeNode.make(config: config, metrics: metrics, logger: logger)
    } catch let error as NodeConfigError {
        throw usageError(error.description)
    } catch {
        writeError("runtime-node: cannot start the node: \(error)")
        throw NodeExit.failure
    }
    if let banner { FileHandle.standardOutput.write(Data((banner + "\n").utf8)) }
    do {
        let caught = signals.stream
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for await _ in caught { await node.shutdown() }
            }
            signals.nodeRuns()
            try await node.run(signals: false)
            group.cancelAll()
        }
    } catch {
        writeError("runtime-node: the node failed: \(error)")
        throw NodeExit.failure
    }
}

/// The default localnet directory: `$XDG_DATA_HOME/runtime-node/localnet`, else
/// `~/.local/share/runtime-node/localnet`.
func defaultLocalnetDirectory() -> String {
    let environment = ProcessInfo.processInfo.environment
    if let xdg = environment["XDG_DATA_HOME"], !xdg.isEmpty { return xdg + "/runtime-node/localnet" }
    return NSHomeDirectory() + "/.local/share/runtime-node/localnet"
}

/// A binary in the same directory as this one.
func siblingExecutable(_ name: String) -> String {
    let me = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    return URL(fileURLWithPath: me).deletingLastPathComponent().appendingPathComponent(name).path
}

/// `path` made absolute against the current directory.
func absolutePath(_ path: String) -> String {
    path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
}
