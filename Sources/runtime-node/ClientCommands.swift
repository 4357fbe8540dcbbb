import ArgumentParser
import Foundation
import OasisCommon
import RuntimeNode

/// What every client subcommand takes.
struct ClientOptions: ParsableArguments {
    @Option(name: .customLong("datadir"), help: "The running node's data directory.")
    var dataDir: String

    @Flag(name: .customLong("json"), help: "Print JSON for scripts instead of a table.")
    var json = false

    var client: ControlClient { ControlClient(socketPath: absolutePath(dataDir) + "/" + RuntimeNode.controlSocketName) }

    /// Sends a request; a refusal prints its error and exits 1.
    func send(_ method: String, _ path: String, body: [UInt8]? = nil) async throws -> [UInt8] {
        let response: ControlResponse
        do {
            response = try await client.request(method: method, path: path, body: body)
        } catch {
            writeError("runtime-node: \(error)")
            throw NodeExit.failure
        }
        guard (200..<300).contains(response.status) else {
            writeError("runtime-node: \(response.errorMessage ?? "the node answered \(response.status)")")
            throw NodeExit.failure
        }
        return response.body
    }

    func decode<T: Decodable>(_ type: T.Type, _ body: [UInt8]) throws -> T {
        do {
            return try JSONDecoder().decode(type, from: Data(body))
        } catch {
            writeError("runtime-node: the node's answer is not what this client expects: \(error)")
            throw NodeExit.failure
        }
    }
}

/// `text` as the runtime ID of a request path. Anything else is a usage error naming the flag
/// and the value, before the client connects (so it also never reaches the path).
func runtimeID(_ text: String) throws -> String {
    do {
        return try Namespace(hex: text).description
    } catch {
        let why = text.utf8.count == 64 ? "\(error)" : "\(text.utf8.count) characters where 64 hex digits belong"
        throw usageError(
            "--runtime '\(text)' is not a runtime ID (\(why)); give its 64 hex digits as `runtime-node control status` lists them")
    }
}

/// A runtime call's options: `--runtime ID --method NAME [--args JSON]`.
struct CallOptions: ParsableArguments {
    @Option(name: .customLong("runtime"), help: "The runtime ID (64 hex digits).")
    var runtime: String

    @Option(name: .customLong("method"), help: "The method (kv-runtime: insert, remove, get).")
    var method: String

    @Option(name: .customLong("args"), help: "The arguments as JSON, e.g. '{\"key\":\"a\",\"value\":\"1\"}'.")
    var args: String?

    /// The request body; malformed `--args` is a usage error.
    func body() throws -> [UInt8] {
        var object: [String: Any] = ["method": method]
        if let args {
            do {
                object["args"] = try JSONSerialization.jsonObject(with: Data(args.utf8), options: [.fragmentsAllowed])
            } catch {
                throw usageError("--args is not valid JSON (\(args)); quote it, e.g. --args '{\"key\":\"a\"}'")
            }
        }
        return Array(try JSONSerialization.data(withJSONObject: object))
    }
}

/// Prints `body` (JSON from the node) pretty, with sorted keys.
func printJSON(_ body: [UInt8]) {
    if let object = try? JSONSerialization.jsonObject(with: Data(body), options: [.fragmentsAllowed]),
        let pretty = try? JSONSerialization.data(
            withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .fragmentsAllowed, .withoutEscapingSlashes])
    {
        print(String(decoding: pretty, as: UTF8.self))
    } else {
        print(String(decoding: body, as: UTF8.self))
    }
}

/// Rows aligned in columns, the first row a header.
func table(_ rows: [[String]]) -> String {
    guard let first = rows.first else { return "" }
    var widths = [Int](repeating: 0, count: first.count)
    for row in rows {
        for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) }
    }
    return rows.map { row in
        row.enumerated().map { i, cell in
            i == row.count - 1 ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0)
        }.joined(separator: "  ")
    }.joined(separator: "\n")
}

/// `18.5MiB`.
func mebibytes(_ bytes: UInt64) -> String {
    String(format: "%.1fMiB", Double(bytes) / 1_048_576)
}

/// `runtime-node control status`.
struct ControlCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "control", abstract: "Ask a running node about itself.", subcommands: [StatusCommand.self])

    struct StatusCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "status", abstract: "The node's status.")

        @OptionGroup var options: ClientOptions

        func run() async throws {
            let body = try await options.send("GET", "/v1/status")
            if options.json { return printJSON(body) }
            let status = try options.decode(NodeStatus.self, body)
            let c = status.consensus
            print("node       pid \(status.node.pid), data dir \(status.node.datadir), metrics \(status.node.metricsAddress ?? "off")")
            print("consensus  \(c.backend), height \(c.height), epoch \(c.epoch), chain context \(c.chainContext)")
            print("")
            var rows = [
                ["RUNTIME", "KIND", "TEE", "PROVISIONER", "STATE", "VERSION", "PID", "RESTARTS", "RSS", "ROUND", "HEIGHT"],
            ]
            for r in status.runtimes {
                rows.append([
                    r.id, r.kind, r.teeHardware, r.provisioner, r.hosted.state.rawValue, r.hosted.version ?? "-",
                    r.hosted.pid.map(String.init) ?? "-", "\(r.hosted.restarts)",
                    r.hosted.memory.map { mebibytes($0.residentBytes) } ?? "-", "\(r.history.lastRound)",
                    "\(r.history.lastConsensusHeight)",
                ])
            }
            print(table(rows))
        }
    }
}

/// `runtime-node tx submit`.
struct TxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tx", abstract: "Transactions.", subcommands: [SubmitCommand.self])

    struct SubmitCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "submit", abstract: "Submit a transaction and wait until its block is committed.")

        @OptionGroup var options: ClientOptions
        @OptionGroup var call: CallOptions

        func run() async throws {
            let body = try await options.send("POST", "/v1/runtimes/\(try runtimeID(call.runtime))/tx", body: try call.body())
            if options.json { return printJSON(body) }
            let result = try options.decode(SubmitAnswer.self, body)
            print("committed in round \(result.round)")
            print("tx hash \(result.txHash)")
        }
    }
}

/// The JSON of ``SubmitResult`` as the client reads it.
struct SubmitAnswer: Decodable {
    var round: UInt64
    var txHash: String
    enum CodingKeys: String, CodingKey {
        case round
        case txHash = "tx_hash"
    }
}

/// `runtime-node runtime query`.
struct RuntimeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runtime", abstract: "Hosted runtimes.", subcommands: [QueryCommand.self])

    struct QueryCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "query", abstract: "Run a query on a hosted runtime at the latest block.")

        @OptionGroup var options: ClientOptions
        @OptionGroup var call: CallOptions

        func run() async throws {
            let body = try await options.send("POST", "/v1/runtimes/\(try runtimeID(call.runtime))/query", body: try call.body())
            if options.json { return printJSON(body) }
            let answer = try options.decode([String: JSONValue].self, body)
            switch answer["result"] ?? .null {
            case .null: print("(no value)")
            case .string(let text): print(text)
            case let other:
                let data = (try? JSONEncoder().encode(other)) ?? Data()
                print(String(decoding: data, as: UTF8.self))
            }
        }
    }
}

/// `runtime-node history block`.
struct HistoryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history", abstract: "A runtime's block history.", subcommands: [BlockCommand.self])

    struct BlockCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "block", abstract: "A block from history (the latest without --round).")

        @OptionGroup var options: ClientOptions

        @Option(name: .customLong("runtime"), help: "The runtime ID (64 hex digits).")
        var runtime: String

        @Option(name: .customLong("round"), help: "The round.")
        var round: UInt64?

        func run() async throws {
            let path = "/v1/runtimes/\(try runtimeID(runtime))/block" + (round.map { "?round=\($0)" } ?? "")
            let body = try await options.send("GET", path)
            let answer = try options.decode([String: JSONValue].self, body)
            if options.json {
                // The header alone, with oasis-core's JSON field names.
                let header = answer["header"] ?? .null
                return printJSON(Array((try? JSONEncoder().encode(header)) ?? Data()))
            }
            guard case .object(let header) = answer["header"] ?? .null else { return printJSON(body) }
            func text(_ value: JSONValue?) -> String {
                switch value ?? .null {
                case .string(let s): s
                case .unsigned(let u): "\(u)"
                case .integer(let i): "\(i)"
                case .null: "-"
                case let other: String(decoding: (try? JSONEncoder().encode(other)) ?? Data(), as: UTF8.self)
                }
            }
            var rows: [[String]] = [["FIELD", "VALUE"]]
            rows.append(["round", text(header["round"])])
            rows.append(["hash", text(answer["hash"])])
            rows.append(["consensus_height", text(answer["consensus_height"])])
            for key in ["header_type", "timestamp", "namespace", "previous_hash", "io_root", "state_root", "messages_hash"] {
                rows.append([key, text(header[key])])
            }
            print(table(rows))
        }
    }
}

/// `runtime-node tags search`.
struct TagsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tags", abstract: "A runtime's tag index.", subcommands: [SearchCommand.self])

    struct SearchCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "search", abstract: "Transactions that emitted a tag.")

        @OptionGroup var options: ClientOptions

        @Option(name: .customLong("runtime"), help: "The runtime ID (64 hex digits).")
        var runtime: String

        @Option(name: .customLong("key"), help: "The tag key (kv-runtime: kv_op, kv_key).")
        var key: String

        @Option(name: .customLong("value"), help: "The tag value.")
        var value: String

        func run() async throws {
            let query = "key=\(percentEncoded(key))&value=\(percentEncoded(value))"
            let body = try await options.send("GET", "/v1/runtimes/\(try runtimeID(runtime))/tags?\(query)")
            if options.json { return printJSON(body) }
            let answer = try options.decode(TagSearchAnswer.self, body)
            guard !answer.transactions.isEmpty else { return print("no transaction emitted \(key)=\(value)") }
            print(table([["ROUND", "INDEX", "TX HASH"]] + answer.transactions.map { ["\($0.round)", "\($0.txIndex)", $0.txHash] }))
        }
    }
}

/// `runtime-node config reference`.
struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config", abstract: "The configuration.", subcommands: [ReferenceCommand.self])

    struct ReferenceCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "reference", abstract: "Print the configuration reference (Markdown).")

        func run() async throws {
            print(NodeConfig.referenceMarkdown())
        }
    }
}

/// `text` percent-encoded for a query value.
func percentEncoded(_ text: String) -> String {
    var allowed = CharacterSet.alphanumerics
    allowed.insert(charactersIn: "-._~")
    return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
}
