import Foundation
import OasisCBOR
import OasisCommon
import ProcessTesting
import RuntimeHostProtocol
import RuntimeHostProtocolTesting
import Testing

/// The independent runtime written in Python (cbor2), next to this file.
let pythonPeerScript = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("peers/runtime_peer.py").path

/// Whether python3 with cbor2 is available to run the peer.
let pythonPeerAvailable: Bool = {
    guard
        let child = try? ChildProcess.launch(
            executable: "python3", arguments: ["-c", "import cbor2"], standardOutput: .null, standardError: .null)
    else { return false }
    return child.waitUntilExit().succeeded
}()

/// The host's handler for the peer's requests: a local-storage read of `k` gives `v`; the
/// peer's "verified" write is recorded.
final class PeerHostHandler: RequestHandler {
    let verified = Gate()

    func handle(_ request: Body) async throws -> Body {
        switch request {
        case .hostLocalStorageGetRequest(let get) where get.key == Array("k".utf8):
            return .hostLocalStorageGetResponse(HostLocalStorageGetResponse(value: Array("v".utf8)))
        case .hostLocalStorageSetRequest(let set) where set.key == Array("verified".utf8):
            verified.open()
            return .hostLocalStorageSetResponse
        default:
            throw MethodNotSupported()
        }
    }
}

@Suite("RHP host against an independent Python runtime", .enabled(if: pythonPeerAvailable, "needs python3 with cbor2"))
struct PythonPeerTests {
    /// Runs the peer in `scenario` under our host, then checks that it exited 0 (its own checks passed).
    func withPeer(
        _ scenario: String, handler: PeerHostHandler = PeerHostHandler(),
        _ body: @Sendable (HostedRuntime) async throws -> Void
    ) async throws {
        let (logger, _) = capturingLogger()
        let status = try await withHostedRuntime(
            executable: "python3", arguments: [pythonPeerScript, scenario],
            environment: ["RHP_EXPECT_RUNTIME_ID": testRuntimeID.description],
            runtimeID: testRuntimeID, handler: handler, logger: logger
        ) { hosted in
            #expect(hosted.runtimeVersion == Version(major: 1, minor: 2, patch: 3))
            try await body(hosted)
            await hosted.connection.close()
            return try await withDeadline(.seconds(120), "the Python peer exiting") { await hosted.process.exitStatus() }
        }
        #expect(status == .exited(0), "the Python peer reported a failure on stderr (scenario \(scenario))")
    }

    @Test("the Python runtime completes the handshake, answers pings and queries, and gets its own request served")
    func handshakeAndPings() async throws {
        let handler = PeerHostHandler()
        try await withPeer("handshake-ping", handler: handler) { hosted in
            for _ in 0..<5 {
                let answer = try await hosted.connection.call(.runtimePingRequest)
                #expect(answer == .empty)
            }
            let answer = try await hosted.connection.call(.runtimeQueryRequest(RuntimeQueryRequest(method: "hello")))
            #expect(answer == .runtimeQueryResponse(RuntimeQueryResponse(data: .textString("hello"))))
            await #expect {
                _ = try await hosted.connection.call(.runtimeShutdownRequest)
            } throws: { error in
                "\(error)" == "method not supported"
            }
            // The peer checked our answer to its local-storage read and said so.
            try await withDeadline(.seconds(120), "the peer's acknowledgement") { await handler.verified.wait() }
        }
    }

    @Test("three concurrent calls that the Python runtime answers in reverse order each get their own answer")
    func outOfOrder() async throws {
        try await withPeer("out-of-order") { hosted in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for method in ["a", "b", "c"] {
                    group.addTask {
                        let answer = try await hosted.connection.call(.runtimeQueryRequest(RuntimeQueryRequest(method: method)))
                        #expect(answer == .runtimeQueryResponse(RuntimeQueryResponse(data: .textString(method))))
                    }
                }
                try await group.waitForAll()
            }
            #expect(hosted.connection.pendingCallCount == 0)
        }
    }

    @Test("when the Python runtime closes mid-call, the call fails promptly and the connection is closed")
    func closeMidCall() async throws {
        try await withPeer("close-mid-call") { hosted in
            await #expect {
                _ = try await hosted.connection.call(.runtimePingRequest, timeout: .seconds(3600))
            } throws: { error in
                "\(error)".contains("connection closed")
            }
            #expect(hosted.connection.state == .closed)
        }
    }

    @Test("a request the Python runtime sends before the handshake completes gets the exact not-ready reply")
    func notReady() async throws {
        try await withPeer("not-ready") { hosted in
            let answer = try await hosted.connection.call(.runtimePingRequest)
            #expect(answer == .empty)
        }
    }
}
