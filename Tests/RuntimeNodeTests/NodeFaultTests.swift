import Foundation
import GRDB
import RuntimeNode
import RuntimeRegistry
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension NodeProcessSuites {
/// The node under faults: killed mid-commit, runtimes that crash in a loop or flood their
/// socket with junk, 64 hosted runtimes at once, a full disk.
@Suite("runtime-node under faults", .serialized, .timeLimit(.minutes(5)))
struct NodeFaultTests {
    static let kvID = "\(Localnet.kvRuntimeID)"

    func statusObject(_ socket: String) async throws -> [String: Any]? {
        guard let response = try? await ControlClient(socketPath: socket).get("/v1/status"), response.status == 200 else {
            return nil
        }
        return try? jsonObject(String(decoding: response.body, as: UTF8.self))
    }

    func hosted(_ status: [String: Any], _ id: String) -> [String: Any]? {
        ((status["runtimes"] as? [[String: Any]])?.first { $0["id"] as? String == id })?["hosted"] as? [String: Any]
    }

    /// The runtime's restart count in `status`.
    func restarts(_ status: [String: Any], _ id: String) -> Int {
        (hosted(status, id)?["restarts"] as? NSNumber)?.intValue ?? 0
    }

    func awaitState(_ socket: String, _ id: String, _ node: NodeProcess, _ states: Set<String> = ["started"])
        async throws -> [String: Any]
    {
        let status = try await eventually(.seconds(90)) { () async throws -> [String: Any]? in
            guard let status = try await statusObject(socket),
                let state = hosted(status, id)?["state"] as? String, states.contains(state)
            else { return nil }
            return status
        }
        return try #require(status, "runtime \(id) never reached \(states); node stderr:\n\(node.stderr)")
    }

    func insertBody(_ key: String, _ value: String) -> [UInt8] {
        Array(#"{"method":"insert","args":{"key":"\#(key)","value":"\#(value)"}}"#.utf8)
    }

    /// An executable script in `directory`.
    func script(_ name: String, _ text: String, in directory: String) throws -> String {
        let path = directory + "/" + name
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o755)
        return path
    }

    /// A genesis with the localnet runtimes plus `extra`, written to `dataDir/genesis.yaml`.
    func writeGenesis(_ dataDir: String, extra: [Namespace]) throws {
        try FileManager.default.createDirectory(
            atPath: dataDir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        var genesis = Localnet.genesis()
        genesis.runtimes += extra.map(Localnet.descriptor)
        try Localnet.genesisText(genesis).write(toFile: dataDir + "/genesis.yaml", atomically: true, encoding: .utf8)
    }

    /// A node (unconfined) hosting kv-runtime and `extra` with `binary`, on a fresh genesis in `dataDir`.
    func startNode(_ dataDir: String, hosting extra: Namespace, binary: String, in scratch: ScratchDirectory) throws
        -> NodeProcess
    {
        try writeGenesis(dataDir, extra: [extra])
        return try NodeProcess([
            "run", "--datadir", dataDir, "--metrics.address", "", "--runtime.provisioner", "unconfined",
            "--debug.dont_blame_oasis", "--runtime.supported", Self.kvID, "--runtime.supported", "\(extra)",
            "--runtime.paths", "\(Self.kvID)=\(Products.kvRuntime)", "--runtime.paths", "\(extra)=\(binary)",
        ], in: scratch)
    }

    @Test("kill -9 while transactions commit: after a restart every acknowledged round is there and the stores pass integrity_check")
    func killNineMidCommit() async throws {
        let scratch = ScratchDirectory()
        defer { scratch.remove() }
        let dataDir = scratch.path + "/net"
        let socket = dataDir + "/internal.sock"
        let node = try NodeProcess([
            "localnet", "--datadir", dataDir, "--metrics.address", "", "--runtime.provisioner", "unconfined",
            "--debug.dont_blame_oasis",
        ], in: scratch)
        defer { node.cleanUp() }
        _ = try await awaitState(socket, Self.kvID, node)

        let acknowledged = SharedBox<[UInt64: (key: String, value: String)]>([:])
        await withTaskGroup(of: Void.self) { group in
            for client in 0..<6 {
                group.addTask {
                    var n = 0
                    while !Task.isCancelled {
                        n += 1
                        guard let response = try? await ControlClient(socketPath: socket).post(
                            "/v1/runtimes/\(Self.kvID)/tx", json: self.insertBody("k\(client)-\(n)", "v\(n)")),
                            response.status == 200,
                            let object = try? jsonObject(String(decoding: response.body, as: UTF8.self)),
                            let round = (object["round"] as? NSNumber)?.uint64Value
                        else { return }
                        acknowledged.value.withLock { $0[round] = ("k\(client)-\(n)", "v\(n)") }
                    }
                }
            }
            // Generous: 15 rounds take a few seconds here, a minute or more on a loaded machine.
            _ = await eventually(.seconds(180)) { acknowledged.value.withLock { $0.count >= 15 } ? true : nil }
            node.signal(SIGKILL)
            group.cancelAll()
        }
        _ = await node.exitStatus(within: .seconds(120))
        let acked = acknowledged.value.withLock { $0 }
        #expect(acked.count >= 15)

        // The stores are consistent before anything reopens them.
        let runtimeDir = dataDir + "/runtimes/" + Self.kvID
        for file in [dataDir + "/local-consensus.sqlite", runtimeDir + "/history.sqlite", runtimeDir + "/storage.sqlite"] {
            let queue = try DatabaseQueue(path: file)
            let result = try await queue.read { try String.fetchOne($0, sql: "PRAGMA integrity_check") }
            #expect(result == "ok", "\(file): \(result ?? "nil")")
            try queue.close()
        }

        let again = try NodeProcess(
            ["run", "--config", dataDir + "/config.yaml", "--metrics.address", "", "--runtime.provisioner", "unconfined",
             "--debug.dont_blame_oasis"], in: scratch, name: "again")
        defer { again.cleanUp() }
        _ = try await awaitState(socket, Self.kvID, again)
        for round in acked.keys.sorted() {
            let block = try await ControlClient(socketPath: socket).get("/v1/runtimes/\(Self.kvID)/block?round=\(round)")
            #expect(block.status == 200, "acknowledged round \(round) is missing: \(block.errorMessage ?? "")")
        }
        // The state of an acknowledged transaction survived as well.
        if let (_, written) = acked.max(by: { $0.key < $1.key }) {
            let query = try await ControlClient(socketPath: socket).post(
                "/v1/runtimes/\(Self.kvID)/query",
                json: Array(#"{"method":"get","args":{"key":"\#(written.key)"}}"#.utf8))
            #expect(query.status == 200)
            #expect(try jsonObject(String(decoding: query.body, as: UTF8.self))["result"] as? String == written.value)
        }
        again.signal(SIGTERM)
        await again.expectCleanExit()
    }

    @Test("a runtime that crashes in a loop restarts at a bounded rate while the node stays responsive")
    func crashLoop() async throws {
        let scratch = ScratchDirectory()
        defer { scratch.remove() }
        let dataDir = scratch.path + "/net"
        let socket = dataDir + "/internal.sock"
        let crasher = Namespace.test(seed: "crasher")
        let binary = try script("crash", "#!/bin/sh\nexit 1\n", in: scratch.path)
        let node = try startNode(dataDir, hosting: crasher, binary: binary, in: scratch)
        defer { node.cleanUp() }
        _ = try await awaitState(socket, Self.kvID, node)

        let clock = ContinuousClock()
        let first = try await awaitState(socket, "\(crasher)", node, ["failed", "stopped", "starting"])
        let start = clock.now
        let restartsBefore = restarts(first, "\(crasher)")
        // The node answers and commits while the other runtime crash-loops.
        for n in 0..<3 {
            let response = try await ControlClient(socketPath: socket).post(
                "/v1/runtimes/\(Self.kvID)/tx", json: insertBody("loop\(n)", "x"))
            #expect(response.status == 200, "\(response.errorMessage ?? "")")
        }
        let later = try await eventually(.seconds(120)) { () async throws -> [String: Any]? in
            guard let status = try await statusObject(socket),
                restarts(status, "\(crasher)") >= restartsBefore + 2
            else { return nil }
            return status
        }
        let status = try #require(later)
        let elapsed = start.duration(to: clock.now)
        let restartsSince = restarts(status, "\(crasher)") - restartsBefore
        // Backoff starts at 500 ms and grows: never more than one restart per 250 ms (with jitter).
        let bound = Int(elapsed / .milliseconds(250)) + 2
        #expect(restartsSince <= bound, "\(restartsSince) restarts in \(elapsed)")
        #expect(hosted(status, "\(crasher)")?["state"] as? String != "started")
        node.signal(SIGTERM)
        await node.expectCleanExit()
    }

    @Test("a runtime that floods its socket with junk is cut off and restarted; the node and other runtimes are fine")
    func junkFlood() async throws {
        let scratch = ScratchDirectory()
        defer { scratch.remove() }
        let dataDir = scratch.path + "/net"
        let socket = dataDir + "/internal.sock"
        let flooder = Namespace.test(seed: "flooder")
        let binary = try script("flood", """
            #!/usr/bin/env python3
            import os, socket
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(os.environ["OASIS_WORKER_HOST"])
            junk = bytes([0xff]) * 4 + os.urandom(65532)
            try:
                while True:
                    s.sendall(junk)
            except OSError:
                pass

            """, in: scratch.path)
        let node = try startNode(dataDir, hosting: flooder, binary: binary, in: scratch)
        defer { node.cleanUp() }
        _ = try await awaitState(socket, Self.kvID, node)
        let cutOff = try await eventually(.seconds(120)) { () async throws -> [String: Any]? in
            guard let status = try await statusObject(socket),
                restarts(status, "\(flooder)") >= 1
            else { return nil }
            return status
        }
        let status = try #require(cutOff, "the flooding runtime was never restarted; stderr:\n\(node.stderr)")
        #expect(hosted(status, "\(flooder)")?["state"] as? String != "started")
        let response = try await ControlClient(socketPath: socket).post(
            "/v1/runtimes/\(Self.kvID)/tx", json: insertBody("calm", "yes"))
        #expect(response.status == 200, "\(response.errorMessage ?? "")")
        node.signal(SIGTERM)
        await node.expectCleanExit()
    }

    @Test("64 hosted runtimes (mock provisioner) all reach started and status answers")
    func sixtyFourRuntimes() async throws {
        let scratch = ScratchDirectory()
        defer { scratch.remove() }
        let dataDir = scratch.path + "/net"
        let socket = dataDir + "/internal.sock"
        let ids = (0..<64).map { Namespace.test(seed: "many-\($0)") }
        try FileManager.default.createDirectory(
            atPath: dataDir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let genesis = ConsensusGenesis(
            chainContext: "sixty-four", blockInterval: .seconds(1), epochInterval: 100, runtimes: ids.map(Localnet.descriptor))
        try Localnet.genesisText(genesis).write(toFile: dataDir + "/genesis.yaml", atomically: true, encoding: .utf8)
        var arguments = ["run", "--datadir", dataDir, "--metrics.address", "", "--runtime.provisioner", "mock",
                         "--debug.dont_blame_oasis"]
        for id in ids { arguments += ["--runtime.supported", "\(id)", "--runtime.paths", "\(id)=/bin/true"] }
        let node = try NodeProcess(arguments, in: scratch)
        defer { node.cleanUp() }
        let all = try await eventually(.seconds(120)) { () async throws -> [String: Any]? in
            guard let status = try await statusObject(socket),
                let rows = status["runtimes"] as? [[String: Any]], rows.count == 64,
                rows.allSatisfy({ ($0["hosted"] as? [String: Any])?["state"] as? String == "started" })
            else { return nil }
            return status
        }
        #expect(all != nil, "not every runtime started; stderr:\n\(node.stderr)")
        node.signal(SIGTERM)
        await node.expectCleanExit()
    }
}
}

/// A mutex-guarded value that closures can share.
final class SharedBox<Value: Sendable>: Sendable {
    let value: Mutex<Value>
    init(_ initial: Value) { value = Mutex(initial) }
}

/// Whether this process can mount a tmpfs (root with CAP_SYS_ADMIN): the disk-full test needs one.
enum Tmpfs {
    static let available: Bool = {
        guard getuid() == 0 else { return false }
        let scratch = ScratchDirectory()
        defer { scratch.remove() }
        guard mount("tmpfs", scratch.path, "tmpfs", 0, "size=1m") == 0 else { return false }
        umount(scratch.path)
        return true
    }()
}

extension NodeProcessSuites {
@Suite("runtime-node on a full disk", .serialized, .timeLimit(.minutes(5)), .enabled(if: Tmpfs.available))
struct NodeDiskFullTests {
    static let kvID = "\(Localnet.kvRuntimeID)"

    @Test("a full data directory gives a clear error and no corruption; with space again every acknowledged round is there")
    func diskFull() async throws {
        let scratch = ScratchDirectory()
        defer { scratch.remove() }
        let dataDir = scratch.path + "/net"
        let socket = dataDir + "/internal.sock"
        try FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true)
        try #require(mount("tmpfs", dataDir, "tmpfs", 0, "size=6m,mode=0700") == 0)
        defer { umount2(dataDir, Int32(MNT_DETACH)) }
        let node = try NodeProcess([
            "localnet", "--datadir", dataDir, "--metrics.address", "", "--runtime.provisioner", "unconfined",
            "--debug.dont_blame_oasis",
        ], in: scratch)
        defer { node.cleanUp() }
        let started = await eventually(.seconds(90)) { () async -> Bool? in
            guard let response = try? await ControlClient(socketPath: socket).get("/v1/status"), response.status == 200
            else { return nil }
            return String(decoding: response.body, as: UTF8.self).contains("\"started\"") ? true : nil
        }
        try #require(started == true, "the node never started; stderr:\n\(node.stderr)")

        // Fill the disk with transactions carrying 64 KiB values.
        let value = String(repeating: "x", count: 64 * 1024)
        var acknowledged: [UInt64] = []
        var refusal: String?
        for n in 0..<400 {
            let body = Array(#"{"method":"insert","args":{"key":"big\#(n)","value":"\#(value)"}}"#.utf8)
            guard let response = try? await ControlClient(socketPath: socket).post("/v1/runtimes/\(Self.kvID)/tx", json: body)
            else {
                refusal = "the node stopped: \(node.stderr.split(separator: "\n").last ?? "")"
                break
            }
            if response.status == 200,
                let round = (try? jsonObject(String(decoding: response.body, as: UTF8.self)))?["round"] as? NSNumber
            {
                acknowledged.append(round.uint64Value)
            } else {
                refusal = response.errorMessage ?? "status \(response.status)"
                break
            }
        }
        let reason = try #require(refusal, "400 transactions of 64 KiB fit in 6 MiB?")
        let said = reason.lowercased() + node.stderr.lowercased()
        #expect(said.contains("full") || said.contains("no space"), "unclear error: \(reason)")
        // The node either still answers or has stopped with that error; either way it goes down cleanly.
        node.signal(SIGTERM)
        _ = await node.exitStatus(within: .seconds(120))

        // Space again: the stores are intact and every acknowledged round is there.
        try #require(mount("tmpfs", dataDir, "tmpfs", UInt(MS_REMOUNT), "size=256m,mode=0700") == 0)
        let runtimeDir = dataDir + "/runtimes/" + Self.kvID
        for file in [dataDir + "/local-consensus.sqlite", runtimeDir + "/history.sqlite", runtimeDir + "/storage.sqlite"] {
            let queue = try DatabaseQueue(path: file)
            let result = try await queue.read { try String.fetchOne($0, sql: "PRAGMA integrity_check") }
            #expect(result == "ok", "\(file): \(result ?? "nil")")
            try queue.close()
        }
        let again = try NodeProcess(
            ["run", "--config", dataDir + "/config.yaml", "--metrics.address", ""], in: scratch, name: "again")
        defer { again.cleanUp() }
        let back = await eventually(.seconds(90)) { () async -> Bool? in
            guard let response = try? await ControlClient(socketPath: socket).get("/v1/status"), response.status == 200
            else { return nil }
            return String(decoding: response.body, as: UTF8.self).contains("\"started\"") ? true : nil
        }
        try #require(back == true, "the node did not come back; stderr:\n\(again.stderr)")
        for round in acknowledged {
            let block = try await ControlClient(socketPath: socket).get("/v1/runtimes/\(Self.kvID)/block?round=\(round)")
            #expect(block.status == 200, "acknowledged round \(round) is missing")
        }
        let response = try await ControlClient(socketPath: socket).post(
            "/v1/runtimes/\(Self.kvID)/tx", json: Array(#"{"method":"insert","args":{"key":"after","value":"space"}}"#.utf8))
        #expect(response.status == 200, "\(response.errorMessage ?? "")")
        again.signal(SIGTERM)
        await again.expectCleanExit()
    }
}
}
