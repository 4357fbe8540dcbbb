import Foundation
import RuntimeNode
import RuntimeRegistry
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension NodeProcessSuites {
/// The real `runtime-node` binary on a temporary data directory: the localnet, the CLI, the
/// control API, metrics, shutdown and restart.
@Suite("runtime-node end to end", .serialized, .timeLimit(.minutes(5)))
struct NodeEndToEndTests {
    static let kvID = "\(Localnet.kvRuntimeID)"
    static let trackedID = "\(Localnet.trackedRuntimeID)"

    /// Status JSON from the CLI.
    func status(_ dataDir: String, _ scratch: ScratchDirectory) async throws -> [String: Any] {
        let result = try await runCLI(["control", "status", "--datadir", dataDir, "--json"], in: scratch)
        try #require(result.status == .exited(0), "control status failed: \(result.err)")
        return try jsonObject(result.out)
    }

    func runtimeRow(_ status: [String: Any], _ id: String) -> [String: Any]? {
        (status["runtimes"] as? [[String: Any]])?.first { $0["id"] as? String == id }
    }

    func hostedState(_ status: [String: Any], _ id: String) -> String? {
        (runtimeRow(status, id)?["hosted"] as? [String: Any])?["state"] as? String
    }

    /// Waits until the kv runtime is `started`; the status then.
    func awaitStarted(_ dataDir: String, _ scratch: ScratchDirectory, _ node: NodeProcess) async throws -> [String: Any] {
        let status = try await eventually(.seconds(90)) { () async throws -> [String: Any]? in
            guard FileManager.default.fileExists(atPath: dataDir + "/internal.sock") else { return nil }
            let result = try await runCLI(["control", "status", "--datadir", dataDir, "--json"], in: scratch)
            guard result.status == .exited(0), let object = try? jsonObject(result.out) else { return nil }
            return hostedState(object, Self.kvID) == "started" ? object : nil
        }
        return try #require(status, "kv-runtime never started; node stderr:\n\(node.stderr)")
    }

    func submit(_ dataDir: String, _ scratch: ScratchDirectory, key: String, value: String) async throws -> (round: UInt64, hash: String) {
        let result = try await runCLI([
            "tx", "submit", "--datadir", dataDir, "--runtime", Self.kvID, "--method", "insert",
            "--args", #"{"key":"\#(key)","value":"\#(value)"}"#, "--json",
        ], in: scratch)
        try #require(result.status == .exited(0), "tx submit failed: \(result.err)")
        let object = try jsonObject(result.out)
        let round = try #require((object["round"] as? NSNumber)?.uint64Value)
        let hash = try #require(object["tx_hash"] as? String)
        return (round, hash)
    }

    @Test("localnet: status fields, submit, history, query, tag search, metrics; SIGTERM; restart continues")
    func localnetTour() async throws {
        let scratch = ScratchDirectory()
        defer { scratch.remove() }
        let dataDir = scratch.path + "/net"
        // A memory limit far above what kv-runtime needs, however many cores (threads) it has.
        let node = try NodeProcess(
            ["localnet", "--datadir", dataDir, "--metrics.address", "127.0.0.1:0", "--runtime.limits.memory", "4GiB"],
            in: scratch)
        defer { node.cleanUp() }

        // Status JSON carries every field of API.md.
        let status = try await awaitStarted(dataDir, scratch, node)
        let consensus = try #require(status["consensus"] as? [String: Any])
        #expect(consensus["backend"] as? String == "local")
        #expect((consensus["height"] as? NSNumber)?.int64Value ?? 0 >= 1)
        #expect(consensus["epoch"] is NSNumber)
        #expect((consensus["chain_context"] as? String)?.isEmpty == false)
        let kv = try #require(runtimeRow(status, Self.kvID))
        #expect(kv["kind"] as? String == "compute")
        #expect(kv["tee_hardware"] as? String == "invalid")
        #expect(kv["provisioner"] as? String == "sandboxed")
        let hosted = try #require(kv["hosted"] as? [String: Any])
        #expect(hosted["version"] as? String == "0.1.0")
        let kvPID = try #require((hosted["pid"] as? NSNumber)?.int32Value)
        // A number; not necessarily 0: the node's supervisor has oasis-core's real-time
        // deadlines (a 5 s connect, a 1 s handshake) that a loaded machine can miss on the
        // first start. killedRuntime checks that restarts counts.
        #expect(hosted["restarts"] is NSNumber)
        // Its memory, read from /proc, and the limit it runs under.
        let memory = try #require(hosted["memory"] as? [String: Any])
        #expect((memory["resident_bytes"] as? NSNumber)?.uint64Value ?? 0 > 0)
        #expect((memory["data_bytes"] as? NSNumber)?.uint64Value ?? 0 > 0)
        #expect((memory["limit_bytes"] as? NSNumber)?.uint64Value == 4 << 30)
        let limits = (try? String(contentsOfFile: "/proc/\(kvPID)/limits", encoding: .utf8)) ?? ""
        #expect(limits.contains(/Max data size\s+4294967296\s+4294967296\s+bytes/), "\(limits)")
        let history = try #require(kv["history"] as? [String: Any])
        #expect(history["last_round"] is NSNumber)
        #expect(history["last_consensus_height"] is NSNumber)
        #expect(hostedState(status, Self.trackedID) == "not_hosted")

        // A transaction commits; its block is in history; a query reads it; the tag index finds it.
        let (round, hash) = try await submit(dataDir, scratch, key: "greeting", value: "hello")
        #expect(round >= 1)
        #expect(hash.count == 64)
        let block = try await runCLI(
            ["history", "block", "--datadir", dataDir, "--runtime", Self.kvID, "--round", "\(round)", "--json"], in: scratch)
        try #require(block.status == .exited(0), "history block failed: \(block.err)")
        let header = try jsonObject(block.out)
        #expect((header["round"] as? NSNumber)?.uint64Value == round)
        #expect(header["io_root"] is String)
        #expect(header["state_root"] is String)
        let query = try await runCLI([
            "runtime", "query", "--datadir", dataDir, "--runtime", Self.kvID, "--method", "get", "--args", #"{"key":"greeting"}"#,
        ], in: scratch)
        #expect(query.status == .exited(0))
        #expect(query.out.trimmingCharacters(in: .whitespacesAndNewlines) == "hello")
        let found = try await eventually(.seconds(120)) { () async throws -> Bool? in
            let tags = try await runCLI([
                "tags", "search", "--datadir", dataDir, "--runtime", Self.kvID, "--key", "kv_key", "--value", "greeting", "--json",
            ], in: scratch)
            return tags.status == .exited(0) && tags.out.contains(hash) ? true : nil
        }
        #expect(found == true, "the tag index never found \(hash)")

        // The runtime detail: descriptors in oasis JSON, the executor's figures.
        let detail = try await ControlClient(socketPath: dataDir + "/internal.sock").get("/v1/runtimes/\(Self.kvID)")
        let detailObject = try jsonObject(String(decoding: detail.body, as: UTF8.self))
        #expect((detailObject["registry_descriptor"] as? [String: Any])?["kind"] as? NSNumber == 1)  // oasis JSON: kind is a number
        #expect(detailObject["active_descriptor"] is [String: Any])
        #expect(((detailObject["executor"] as? [String: Any])?["transactions"] as? NSNumber)?.intValue ?? 0 >= 1)

        // /metrics is Prometheus text with the RHP counters.
        let metrics = try await ControlClient(socketPath: dataDir + "/internal.sock").get("/metrics")
        #expect(metrics.status == 200)
        let text = String(decoding: metrics.body, as: UTF8.self)
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let parts = line.split(separator: " ")
            #expect(parts.count >= 2 && Double(parts[parts.count - 1]) != nil, "not a Prometheus sample: \(line)")
        }
        #expect(text.contains("oasis_rhp_successes"))
        // … and on metrics.address over TCP.
        let nodeInfo = try #require(status["node"] as? [String: Any])
        let metricsAddress = try #require(nodeInfo["metrics_address"] as? String)
        let overTCP = try #require(httpGet(metricsAddress, "/metrics"), "nothing on \(metricsAddress)")
        #expect(overTCP.contains("oasis_rhp_successes"))

        // SIGTERM: exit 0, no runtime process left, socket removed.
        let heightBefore = try #require(
            ((try await self.status(dataDir, scratch))["consensus"] as? [String: Any])?["height"] as? NSNumber).int64Value
        node.signal(SIGTERM)
        let exit = await node.exitStatus(within: .seconds(120))
        #expect(exit == .exited(0), "node stderr:\n\(node.stderr)")
        #expect(!processExists(kvPID), "the runtime process \(kvPID) outlived the node")
        #expect(!FileManager.default.fileExists(atPath: dataDir + "/internal.sock"))

        // Restart from the written config: same history, the runtime starts again, rounds continue.
        let again = try NodeProcess(
            ["run", "--config", dataDir + "/config.yaml", "--metrics.address", ""], in: scratch, name: "again")
        defer { again.cleanUp() }
        let restarted = try await awaitStarted(dataDir, scratch, again)
        let heightAfter = ((restarted["consensus"] as? [String: Any])?["height"] as? NSNumber)?.int64Value ?? 0
        #expect(heightAfter >= heightBefore, "the chain went back from \(heightBefore) to \(heightAfter)")
        let lastRound = ((runtimeRow(restarted, Self.kvID)?["history"] as? [String: Any])?["last_round"] as? NSNumber)?
            .uint64Value
        #expect((lastRound ?? 0) >= round)
        let old = try await runCLI(
            ["history", "block", "--datadir", dataDir, "--runtime", Self.kvID, "--round", "\(round)", "--json"], in: scratch)
        #expect(old.status == .exited(0))
        #expect(try jsonObject(old.out)["io_root"] as? String == header["io_root"] as? String)
        let (next, _) = try await submit(dataDir, scratch, key: "second", value: "world")
        #expect(next > round)
        again.signal(SIGTERM)
        await again.expectCleanExit()
    }

    @Test("a SIGKILLed runtime is restarted, restarts increments, a transaction submitted meanwhile commits; JSON logs; SIGINT")
    func killedRuntime() async throws {
        let scratch = ScratchDirectory()
        defer { scratch.remove() }
        let dataDir = scratch.path + "/net"
        let node = try NodeProcess([
            "localnet", "--datadir", dataDir, "--metrics.address", "", "--runtime.provisioner", "unconfined",
            "--debug.dont_blame_oasis", "--log.format", "json",
        ], in: scratch)
        defer { node.cleanUp() }
        let status = try await awaitStarted(dataDir, scratch, node)
        let hosted = try #require(runtimeRow(status, Self.kvID)?["hosted"] as? [String: Any])
        let pid = try #require((hosted["pid"] as? NSNumber)?.int32Value)
        #expect(runtimeRow(status, Self.kvID)?["provisioner"] as? String == "unconfined")

        kill(pid, SIGKILL)
        let (round, _) = try await submit(dataDir, scratch, key: "after", value: "kill")
        #expect(round >= 1)
        let restarted = try await eventually(.seconds(120)) { () async throws -> [String: Any]? in
            let now = try await self.status(dataDir, scratch)
            let hosted = runtimeRow(now, Self.kvID)?["hosted"] as? [String: Any]
            return (hosted?["restarts"] as? NSNumber)?.intValue ?? 0 >= 1 && hostedState(now, Self.kvID) == "started"
                ? hosted : nil
        }
        let after = try #require(restarted, "restarts never incremented; stderr:\n\(node.stderr)")
        #expect((after["pid"] as? NSNumber)?.int32Value != pid)
        // log.format json: every log line is a JSON object; the node said which runtime it
        // restarted, and the runtime's own output was relayed under its runtime.id.
        let lines = node.stderr.split(separator: "\n").compactMap { try? jsonObject(String($0)) }
        #expect(!lines.isEmpty && lines.count == node.stderr.split(separator: "\n").count)
        #expect(lines.contains { $0["runtime.id"] as? String == Self.kvID && $0["runtime.stream"] != nil })
        // SIGINT stops the node as gracefully as SIGTERM.
        node.signal(SIGINT)
        await node.expectCleanExit()
    }
}
}
