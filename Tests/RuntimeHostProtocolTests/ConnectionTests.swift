import Logging
import MetricsTestKit
import NIOCore
import NIOPosix
import OasisCBOR
import OasisCommon
import RuntimeHostProtocol
import RuntimeHostProtocolTesting
import Synchronization
import Testing

@Suite("RHP connection: state machine and handshake")
struct ConnectionStateTests {
    @Test("the handshake returns the runtime's version 1.2.3 and both sides become Ready")
    func handshake() async throws {
        let (logger, _) = capturingLogger()
        let guestHandler = GuestHandler()
        let pair = try await ConnectionPair.make(guestHandler: guestHandler, logger: logger)
        try await pair.running {
            let version = try await pair.handshake()
            #expect(version == Version(major: 1, minor: 2, patch: 3))
            #expect(pair.host.state == .ready)
            #expect(pair.guest.state == .ready)
            let sent = guestHandler.infoRequests.withLock { $0 }
            #expect(sent == [RuntimeInfoRequest(
                runtimeID: testRuntimeID, consensusBackend: testHostInfo.consensusBackend,
                consensusProtocolVersion: testHostInfo.consensusProtocolVersion,
                consensusChainContext: testHostInfo.consensusChainContext)])
            // The handshake itself is not counted as a handled call.
            #expect(guestHandler.handled.count == 0)
        }
    }

    @Test("a call refused before Ready takes no request id: the handshake's request is still id 0, the next call id 1")
    func refusedCallTakesNoID() async throws {
        let (logger, _) = capturingLogger()
        let (a, b) = try SocketPair.make()
        let connection = try await Connection.adopting(connectedSocket: a, handler: UnsupportedRequestHandler(), logger: logger)
        let peer = RawPeer(descriptor: b)
        for _ in 0..<3 {
            await #expect(throws: RHPErrors.notReady) { _ = try await connection.call(.runtimePingRequest) }
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await connection.run() }
            group.addTask {
                _ = try await connection.initHost(runtimeID: testRuntimeID, hostInfo: testHostInfo, timeout: .seconds(120))
            }
            let info = try #require(try await peer.receive())
            #expect(info.id == 0)
            try await peer.send(Message(
                id: info.id, type: .response,
                body: .runtimeInfoResponse(.init(protocolVersion: Version(major: 2), runtimeVersion: Version(major: 1)))))
            try await waitUntil { connection.state == .ready }
            group.addTask { _ = try? await connection.call(.runtimePingRequest) }
            let ping = try #require(try await peer.receive())
            #expect(ping.id == 1)
            try await peer.send(Message(id: ping.id, type: .response, body: .empty))
            await connection.close()
            try await group.waitForAll()
        }
    }

    @Test("protocol 3.0.0 is refused with the spec's message")
    func incompatibleVersion() async throws {
        let (logger, _) = capturingLogger()
        let pair = try await ConnectionPair.make(guestHandler: GuestHandler(protocolVersion: 3 << 32), logger: logger)
        try await pair.running {
            await #expect {
                _ = try await pair.handshake()
            } throws: { error in
                "\(error)" == "rhp: incompatible protocol version (expected: 2.0.0 got: 3.0.0)"
            }
            #expect(pair.host.state == .initializing)
        }
    }

    @Test("protocol 2.7.9 is accepted: only the major version is compared")
    func minorVersionIgnored() async throws {
        let (logger, _) = capturingLogger()
        let packed = Version(major: 2, minor: 7, patch: 9).packed
        let pair = try await ConnectionPair.make(guestHandler: GuestHandler(protocolVersion: packed), logger: logger)
        try await pair.running {
            let version = try await pair.handshake()
            #expect(version == Version(major: 1, minor: 2, patch: 3))
            #expect(pair.host.state == .ready)
        }
    }

    @Test("an Empty answer to the handshake is an unexpected response")
    func unexpectedResponse() async throws {
        let (logger, _) = capturingLogger()
        let pair = try await ConnectionPair.make(guestHandler: ClosureHandler { _ in .empty }, logger: logger)
        try await pair.running {
            await #expect {
                _ = try await pair.handshake()
            } throws: { error in
                "\(error)" == "rhp: unexpected response to RuntimeInfoRequest"
            }
        }
    }

    @Test("an uncoded error answer to the handshake is reported with its message")
    func handshakeErrorAnswer() async throws {
        struct Boom: Error, CustomStringConvertible { var description: String { "boom" } }
        let (logger, _) = capturingLogger()
        let pair = try await ConnectionPair.make(guestHandler: ClosureHandler { _ in throw Boom() }, logger: logger)
        try await pair.running {
            await #expect {
                _ = try await pair.handshake()
            } throws: { error in
                "\(error)" == "rhp: error while requesting runtime info: boom"
            }
        }
    }

    @Test("a runtime that never answers the handshake fails it at the deadline")
    func handshakeDeadline() async throws {
        let (logger, _) = capturingLogger()
        let pair = try await ConnectionPair.make(
            guestHandler: ClosureHandler { _ in
                try await Task.sleep(for: .seconds(3600))
                return .empty
            }, logger: logger)
        try await pair.running {
            pair.guest.initGuest()
            await #expect {
                _ = try await pair.host.initHost(runtimeID: testRuntimeID, hostInfo: testHostInfo, timeout: .milliseconds(100))
            } throws: { error in
                let text = "\(error)"
                return text.hasPrefix("rhp: error while requesting runtime info:") && text.contains("deadline exceeded")
            }
            #expect(pair.host.pendingCallCount == 0)
        }
    }

    @Test("a call on an uninitialised connection fails with not-ready and writes nothing")
    func callBeforeInit() async throws {
        let (logger, _) = capturingLogger()
        let (connection, peer) = try await hostWithRawPeer(logger: logger)
        await #expect {
            _ = try await connection.call(.runtimePingRequest)
        } throws: { error in
            (error as? CodedError)?.matches(RHPErrors.notReady) == true && "\(error)" == "rhp: not ready"
        }
        // Nothing was written: closing our side gives the peer EOF with no bytes before it.
        await connection.close()
        #expect(try await peer.read(count: 1) == nil)
    }

    @Test("close on an uninitialised connection returns normally and leaves the state alone")
    func closeUninitialised() async throws {
        let (logger, _) = capturingLogger()
        let (connection, _) = try await hostWithRawPeer(logger: logger)
        await connection.close()
        await connection.close()
        #expect(connection.state == .uninitialized)
    }

    @Test("after close, calls fail with not-ready on both sides, and close is idempotent")
    func callAfterClose() async throws {
        let (logger, _) = capturingLogger()
        let pair = try await ConnectionPair.make(guestHandler: GuestHandler(), logger: logger)
        try await pair.running {
            _ = try await pair.handshake()
            #expect(try await pair.host.call(.runtimePingRequest) == .runtimePingRequest)
            await pair.host.close()
            await pair.host.close()
            #expect(pair.host.state == .closed)
            await #expect {
                _ = try await pair.host.call(.runtimePingRequest)
            } throws: { error in
                (error as? CodedError)?.matches(RHPErrors.notReady) == true
            }
            await pair.guest.close()
            await #expect {
                _ = try await pair.guest.call(.runtimePingRequest)
            } throws: { error in
                (error as? CodedError)?.matches(RHPErrors.notReady) == true
            }
        }
    }

    @Test("a request from the guest before the handshake completes gets the not-ready body and skips the handler")
    func requestBeforeReady() async throws {
        let (logger, _) = capturingLogger()
        let handled = CallCounter()
        let (connection, peer) = try await hostWithRawPeer(
            handler: ClosureHandler { _ in
                handled.increment()
                return .empty
            }, logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await connection.run() }
            group.addTask {
                _ = try await connection.initHost(runtimeID: testRuntimeID, hostInfo: testHostInfo, timeout: .seconds(120))
            }
            let infoRequest = try #require(try await peer.receive())
            #expect(infoRequest.type == .request)
            #expect(infoRequest.body.kind == .runtimeInfoRequest)

            try await peer.send(Message(id: 7, type: .request, body: .hostLocalStorageGetRequest(.init(key: [1]))))
            let refusal = try #require(try await peer.readFramePayload())
            let expectedBody =
                "a1654572726f72a364636f646501666d6f64756c656c7268702f696e7465726e616c676d6573736167656e7268703a206e6f74207265616479"
            let expected = try Frame.payload(of: Message(
                id: 7, type: .response, body: try CBORDecoder().decode(Body.self, from: bytes(expectedBody))))
            #expect(refusal == expected)
            #expect(hex(refusal).contains(expectedBody))
            #expect(handled.count == 0)

            // Finish the handshake; the same request is now served.
            try await peer.send(Message(
                id: infoRequest.id, type: .response,
                body: .runtimeInfoResponse(RuntimeInfoResponse(protocolVersion: Version(major: 2), runtimeVersion: Version(major: 1)))))
            try await waitUntil { connection.state == .ready }
            try await peer.send(Message(id: 8, type: .request, body: .hostLocalStorageGetRequest(.init(key: [1]))))
            let answer = try #require(try await peer.receive())
            #expect(answer == Message(id: 8, type: .response, body: .empty))
            #expect(handled.count == 1)
            await connection.close()
            try await group.waitForAll()
        }
    }
}

@Suite("RHP connection: calls")
struct ConnectionCallTests {
    @Test("pings and echoes travel both ways")
    func echoBothWays() async throws {
        let (logger, _) = capturingLogger()
        let hostHandled = CallCounter()
        let guestHandler = GuestHandler()
        let pair = try await ConnectionPair.make(
            hostHandler: ClosureHandler { body in
                hostHandled.increment()
                return body
            }, guestHandler: guestHandler, logger: logger)
        try await pair.running {
            _ = try await pair.handshake()
            #expect(try await pair.host.call(.empty) == .empty)
            #expect(guestHandler.handled.count == 1)
            #expect(hostHandled.count == 0)
            let get = Body.hostLocalStorageGetRequest(.init(key: [1, 2]))
            #expect(try await pair.guest.call(get) == get)
            #expect(hostHandled.count == 1)
        }
    }

    @Test("concurrent calls answered out of order each get their own answer")
    func outOfOrder() async throws {
        let (logger, _) = capturingLogger()
        let secondAnswered = Gate()
        let pair = try await ConnectionPair.make(
            guestHandler: GuestHandler { body in
                guard case .runtimeQueryRequest(let query) = body else { return .empty }
                if query.method == "first" {
                    // Held back until the second call has its answer.
                    await secondAnswered.wait()
                }
                return .runtimeQueryResponse(RuntimeQueryResponse(data: .textString(query.method)))
            }, logger: logger)
        try await pair.running {
            _ = try await pair.handshake()
            async let first = pair.host.call(.runtimeQueryRequest(RuntimeQueryRequest(method: "first")))
            try await waitUntil { pair.host.pendingCallCount == 1 }
            let second = try await pair.host.call(.runtimeQueryRequest(RuntimeQueryRequest(method: "second")))
            secondAnswered.open()
            #expect(second == .runtimeQueryResponse(RuntimeQueryResponse(data: .textString("second"))))
            #expect(try await first == .runtimeQueryResponse(RuntimeQueryResponse(data: .textString("first"))))
            #expect(pair.host.pendingCallCount == 0)
        }
    }

    @Test("a guest serving requests on its event loop answers concurrent calls out of order and many at once")
    func servedOnEventLoop() async throws {
        let (logger, _) = capturingLogger()
        let secondAnswered = Gate()
        let (a, b) = try SocketPair.make()
        let host = try await Connection.adopting(connectedSocket: a, handler: UnsupportedRequestHandler(), logger: logger)
        let guest = try await Connection.adopting(
            connectedSocket: b,
            handler: GuestHandler { body in
                if case .runtimeQueryRequest(let query) = body, query.method == "first" { await secondAnswered.wait() }
                return body
            },
            configuration: Connection.Configuration(servesRequestsOnEventLoop: true), logger: logger)
        let pair = ConnectionPair(host: host, guest: guest)
        try await pair.running {
            _ = try await pair.handshake()
            async let first = pair.host.call(.runtimeQueryRequest(RuntimeQueryRequest(method: "first")))
            try await waitUntil { pair.host.pendingCallCount == 1 }
            let second = try await pair.host.call(.runtimeQueryRequest(RuntimeQueryRequest(method: "second")))
            secondAnswered.open()
            #expect(second == .runtimeQueryRequest(RuntimeQueryRequest(method: "second")))
            #expect(try await first == .runtimeQueryRequest(RuntimeQueryRequest(method: "first")))
            try await withThrowingTaskGroup(of: Void.self) { group in
                for i in 0..<100 {
                    group.addTask {
                        let body = Body.runtimeRPCCallRequest(RuntimeRPCCallRequest(request: [UInt8(i)]))
                        let answer = try await pair.host.call(body)
                        #expect(answer == body)
                    }
                }
                try await group.waitForAll()
            }
        }
    }

    @Test("many concurrent calls all complete and leave no pending entries")
    func manyConcurrent() async throws {
        let (logger, _) = capturingLogger()
        let pair = try await ConnectionPair.make(guestHandler: GuestHandler(), logger: logger)
        try await pair.running {
            _ = try await pair.handshake()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for i in 0..<200 {
                    group.addTask {
                        let body = Body.runtimeRPCCallRequest(RuntimeRPCCallRequest(request: [UInt8(i & 0xff), UInt8(i >> 8)]))
                        let answer = try await pair.host.call(body)
                        #expect(answer == body)
                    }
                }
                try await group.waitForAll()
            }
            #expect(pair.host.pendingCallCount == 0)
        }
    }

    @Test("a call past its deadline fails and leaves nothing in the pending table; a late answer is dropped")
    func deadline() async throws {
        let (logger, logs) = capturingLogger()
        let release = Gate()
        let pair = try await ConnectionPair.make(
            guestHandler: GuestHandler { body in
                await release.wait()
                return body
            }, logger: logger)
        try await pair.running {
            _ = try await pair.handshake()
            await #expect {
                _ = try await pair.host.call(.runtimePingRequest, timeout: .milliseconds(50))
            } throws: { error in
                guard case ConnectionError.deadlineExceeded(let call, _) = error else { return false }
                return call == .runtimePingRequest
            }
            #expect(pair.host.pendingCallCount == 0)
            // The late answer arrives, is logged and dropped; the connection stays up.
            release.open()
            try await waitUntil { logs.contains(message: "rhp: dropping a response that matches no pending call") }
            #expect(pair.host.state == .ready)
            #expect(try await pair.host.call(.empty) == .empty)
        }
    }

    @Test("one deadline timer serves calls with different deadlines: a short call behind a long one still times out, again after the timer fired")
    func deadlinesOfDifferentLengths() async throws {
        let (logger, _) = capturingLogger()
        let (connection, peer) = try await hostWithRawPeer(logger: logger)
        try await withReadyHost(connection, peer) {
            try await withThrowingTaskGroup(of: Void.self) { group in
                // A long call sets the timer an hour ahead.
                group.addTask {
                    await #expect(throws: ConnectionError.self) {
                        _ = try await connection.call(.runtimeAbortRequest, timeout: .seconds(3600))
                    }
                }
                _ = try #require(try await peer.receive())
                // Short calls made after it must move the timer forward, the second one after
                // the timer has fired for the first.
                for _ in 0..<2 {
                    await #expect {
                        _ = try await connection.call(.runtimePingRequest, timeout: .milliseconds(50))
                    } throws: { error in
                        guard case ConnectionError.deadlineExceeded(let call, _) = error else { return false }
                        return call == .runtimePingRequest
                    }
                    _ = try #require(try await peer.receive())
                }
                #expect(connection.pendingCallCount == 1)
                peer.shutdownBoth()
                try await group.waitForAll()
            }
            #expect(connection.pendingCallCount == 0)
        }
    }

    @Test("a cancelled call fails with CancellationError and leaves nothing in the pending table")
    func cancellation() async throws {
        let (logger, _) = capturingLogger()
        let pair = try await ConnectionPair.make(
            guestHandler: GuestHandler { _ in
                try await Task.sleep(for: .seconds(3600))
                return .empty
            }, logger: logger)
        try await pair.running {
            _ = try await pair.handshake()
            let call = Task { try await pair.host.call(.runtimePingRequest) }
            try await waitUntil { pair.host.pendingCallCount == 1 }
            call.cancel()
            await #expect(throws: CancellationError.self) { _ = try await call.value }
            #expect(pair.host.pendingCallCount == 0)
        }
    }

    @Test(
        "a call from a task already cancelled fails with CancellationError, writes nothing and leaves nothing behind",
        arguments: [false, true])
    func callFromCancelledTask(onEventLoop: Bool) async throws {
        let (logger, _) = capturingLogger()
        let (connection, peer) = try await hostWithRawPeer(logger: logger)
        try await withReadyHost(connection, peer) {
            let executor: (any TaskExecutor)? = onEventLoop ? connection.eventLoopTaskExecutor : nil
            let cancelled = Task(executorPreference: executor) {
                withUnsafeCurrentTask { $0?.cancel() }
                // (A deadline, so that a call wrongly written fails the test instead of hanging it.)
                _ = try await connection.call(.runtimePingRequest, timeout: .seconds(120))
            }
            await #expect(throws: CancellationError.self) { try await cancelled.value }
            #expect(connection.pendingCallCount == 0)

            // The next frame the peer sees is the next call's: the cancelled one was never written.
            let next = Task { try await connection.call(.runtimeAbortRequest, timeout: .seconds(120)) }
            let written = try #require(try await peer.receive())
            #expect(written.body.kind == .runtimeAbortRequest)
            #expect(written.id == 2, "the handshake took id 0 and the cancelled call id 1")
            try await peer.send(Message(id: written.id, type: .response, body: .empty))
            #expect(try await next.value == .empty)
        }
    }

    @Test("when the peer closes, every pending call fails promptly and the connection is closed")
    func peerClose() async throws {
        let (logger, _) = capturingLogger()
        let (connection, peer) = try await hostWithRawPeer(logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await connection.run() }
            group.addTask {
                _ = try await connection.initHost(runtimeID: testRuntimeID, hostInfo: testHostInfo, timeout: .seconds(120))
            }
            let info = try #require(try await peer.receive())
            try await peer.send(Message(
                id: info.id, type: .response,
                body: .runtimeInfoResponse(.init(protocolVersion: Version(major: 2), runtimeVersion: Version(major: 1)))))
            try await waitUntil { connection.state == .ready }

            // Three calls with an hour-long deadline; only the close can end them in time.
            let failures = Locked<[String]>([])
            try await withThrowingTaskGroup(of: Void.self) { calls in
                for _ in 0..<3 {
                    calls.addTask {
                        do {
                            _ = try await connection.call(.runtimePingRequest, timeout: .seconds(3600))
                        } catch {
                            failures.withLock { $0.append("\(error)") }
                        }
                    }
                }
                for _ in 0..<3 { _ = try #require(try await peer.receive()) }
                peer.shutdownBoth()
                try await waitUntil(.seconds(300), "pending calls failing") { failures.withLock { $0.count } == 3 }
                try await calls.waitForAll()
            }
            #expect(failures.withLock { $0.count } == 3)
            #expect(failures.withLock { $0.allSatisfy { $0.contains("connection closed") } })
            #expect(connection.state == .closed)
            #expect(connection.pendingCallCount == 0)
            await #expect {
                _ = try await connection.call(.runtimePingRequest)
            } throws: { error in
                "\(error)".contains("connection closed")
            }
            try await group.waitForAll()
        }
    }

    @Test("when the guest connection closes, the host's pending calls fail promptly and both sides end closed")
    func guestCloses() async throws {
        let (logger, _) = capturingLogger()
        let guestHandler = GuestHandler { _ in
            try await Task.sleep(for: .seconds(3600))
            return .empty
        }
        let pair = try await ConnectionPair.make(guestHandler: guestHandler, logger: logger)
        try await pair.running {
            _ = try await pair.handshake()
            let failures = Locked<[String]>([])
            try await withThrowingTaskGroup(of: Void.self) { calls in
                for _ in 0..<2 {
                    calls.addTask {
                        do {
                            _ = try await pair.host.call(.runtimePingRequest, timeout: .seconds(3600))
                        } catch {
                            failures.withLock { $0.append("\(error)") }
                        }
                    }
                }
                // Both requests are with the guest's handler, so both were written.
                try await waitUntil { guestHandler.handled.count == 2 }
                await pair.guest.close()
                try await waitUntil(.seconds(300), "pending calls failing") { failures.value.count == 2 }
                try await calls.waitForAll()
            }
            // The reason is EOF or a reset, depending on whether the guest had unread bytes.
            #expect(failures.value.allSatisfy { $0.hasPrefix("rhp: connection closed: ") }, "\(failures.value)")
            try await waitUntil { pair.host.state == .closed }
            #expect(pair.guest.state == .closed)
            #expect(pair.host.pendingCallCount == 0)
        }
    }

    @Test("a response matching no call is dropped; the connection stays up and other calls complete")
    func unknownResponseID() async throws {
        let (logger, logs) = capturingLogger()
        let (connection, peer) = try await hostWithRawPeer(logger: logger)
        try await withReadyHost(connection, peer) {
            async let call = connection.call(.runtimePingRequest)
            let request = try #require(try await peer.receive())
            try await peer.send(Message(id: request.id + 1000, type: .response, body: .empty))
            try await peer.send(Message(id: request.id, type: .response, body: .empty))
            #expect(try await call == .empty)
            #expect(logs.contains(message: "rhp: dropping a response that matches no pending call"))
        }
    }

    @Test("messages of type 0 and 7 are logged and ignored; the connection stays up")
    func unknownMessageTypes() async throws {
        let (logger, logs) = capturingLogger()
        let (connection, peer) = try await hostWithRawPeer(logger: logger)
        try await withReadyHost(connection, peer) {
            try await peer.send(Message(id: 1, type: .invalid, body: .empty))
            try await peer.send(Message(id: 2, type: MessageType(rawValue: 7), body: .empty))
            async let call = connection.call(.runtimePingRequest)
            let request = try #require(try await peer.receive())
            try await peer.send(Message(id: request.id, type: .response, body: .empty))
            #expect(try await call == .empty)
            #expect(logs.entries.filter { "\($0.message)" == "rhp: ignoring a message of unknown type" }.count == 2)
            #expect(connection.state == .ready)
        }
    }

    @Test("handler errors reach the wire: coded ones keep module and code, others become unknown/1")
    func handlerErrorMapping() async throws {
        struct Plain: Error, CustomStringConvertible { var description: String { "method not supported" } }
        let coded = CodedError.register(module: "m", code: 9, message: "m: nine")
        let (logger, _) = capturingLogger()
        let (connection, peer) = try await hostWithRawPeer(
            handler: ClosureHandler { body in
                guard case .hostLocalStorageGetRequest(let get) = body else { return .empty }
                if get.key == [1] { throw coded.wrapping("while doing things") }
                throw Plain()
            }, logger: logger)
        try await withReadyHost(connection, peer) {
            try await peer.send(Message(id: 1, type: .request, body: .hostLocalStorageGetRequest(.init(key: [1]))))
            let first = try #require(try await peer.receive())
            #expect(first == Message(
                id: 1, type: .response, body: .error(ErrorBody(module: "m", code: 9, message: "m: nine: while doing things"))))
            try await peer.send(Message(id: 2, type: .request, body: .hostLocalStorageGetRequest(.init(key: [2]))))
            let second = try #require(try await peer.receive())
            #expect(second == Message(
                id: 2, type: .response, body: .error(ErrorBody(module: "unknown", code: 1, message: "method not supported"))))
        }
    }

    @Test("error answers reach the caller: registered codes as their error value, others as the wire message")
    func callerErrorMapping() async throws {
        let registered = CodedError.register(module: "rhp-test", code: 3, message: "rhp-test: three")
        let (logger, _) = capturingLogger()
        let pair = try await ConnectionPair.make(
            guestHandler: GuestHandler { body in
                guard case .runtimeQueryRequest(let query) = body else { return body }
                switch query.method {
                case "registered": return .error(ErrorBody(module: "rhp-test", code: 3, message: "ignored text"))
                case "zero": return .error(ErrorBody(module: "x", code: 0, message: "code zero"))
                default: return .error(ErrorBody(module: "dispatcher", code: 1, message: "batch aborted"))
                }
            }, logger: logger)
        try await pair.running {
            _ = try await pair.handshake()
            await #expect {
                _ = try await pair.host.call(.runtimeQueryRequest(.init(method: "aborted")))
            } throws: { error in
                "\(error)" == "batch aborted" && (error as? RemoteError)?.module == "dispatcher"
            }
            await #expect {
                _ = try await pair.host.call(.runtimeQueryRequest(.init(method: "registered")))
            } throws: { error in
                (error as? CodedError) == registered
            }
            await #expect {
                _ = try await pair.host.call(.runtimeQueryRequest(.init(method: "zero")))
            } throws: { error in
                "\(error)" == "code zero"
            }
        }
    }

    @Test("a 2,000,000-byte RPC request is echoed back byte-identical")
    func bigMessage() async throws {
        let (logger, _) = capturingLogger()
        let pair = try await ConnectionPair.make(guestHandler: GuestHandler(), logger: logger)
        try await pair.running {
            _ = try await pair.handshake()
            var payload = [UInt8](repeating: 0, count: 2_000_000)
            for i in payload.indices { payload[i] = UInt8(truncatingIfNeeded: i &* 31) }
            let body = Body.runtimeRPCCallRequest(RuntimeRPCCallRequest(request: payload))
            #expect(try await pair.host.call(body) == body)
        }
    }

    /// Fails every write while `failing` is set, as a socket whose writes fail would, but
    /// leaves the channel open.
    final class FailingWrites: ChannelOutboundHandler, Sendable {
        typealias OutboundIn = ByteBuffer
        struct Refused: Error, CustomStringConvertible {
            var description: String { "test: write refused" }
        }

        let failing = Atomic<Bool>(false)

        func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
            if failing.load(ordering: .relaxed) {
                promise?.fail(Refused())
            } else {
                context.write(data, promise: promise)
            }
        }
    }

    @Test("requests over the limit of concurrent requests are refused at once; pings and later requests are served")
    func concurrentRequestLimit() async throws {
        let (logger, _) = capturingLogger()
        let (a, b) = try SocketPair.make()
        let gate = Gate()
        let handled = CallCounter()
        let handler = PingingClosureHandler { _ in
            handled.increment()
            await gate.wait()
            return .empty
        }
        let metrics = TestMetrics()
        let connection = try await Connection.adopting(
            connectedSocket: a, handler: handler,
            configuration: Connection.Configuration(metricsFactory: metrics, maxConcurrentRequests: 2), logger: logger)
        let peer = RawPeer(descriptor: b)
        try await withReadyHost(connection, peer) {
            let request = Body.hostLocalStorageGetRequest(HostLocalStorageGetRequest(key: [1]))
            for id: UInt64 in 100...102 { try await peer.send(Message(id: id, type: .request, body: request)) }
            // Two wait in the handler; the third is answered at once, without it.
            let refused = try #require(try await peer.receive())
            #expect(refused.id == 102)
            #expect(refused.body == .error(ErrorBody(
                module: "unknown", code: 1,
                message: "rhp: too many requests in flight (at most 2 requests or 67108864 bytes are handled at once); "
                    + "send more once earlier ones are answered")))
            // A ping is answered on the event loop and does not count.
            try await peer.send(Message(id: 103, type: .request, body: .runtimePingRequest))
            #expect(try await peer.receive() == Message(id: 103, type: .response, body: .empty))
            try await waitUntil { handled.count == 2 }  // the handler tasks may start after the refusal
            #expect(try metrics.expectCounter("oasis_rhp_refused_requests").totalValue == 1)

            gate.open()
            let answered = [try await peer.receive(), try await peer.receive()].compactMap { $0 }
            #expect(Set(answered.map(\.id)) == [100, 101])
            #expect(answered.allSatisfy { $0.body == .empty })
            // Both slots are free again.
            for id: UInt64 in 104...105 { try await peer.send(Message(id: id, type: .request, body: request)) }
            let later = [try await peer.receive(), try await peer.receive()].compactMap { $0 }
            #expect(Set(later.map(\.id)) == [104, 105])
            #expect(later.allSatisfy { $0.body == .empty })
            #expect(handled.count == 4)
        }
    }

    @Test("requests over the bound on payload bytes in flight are refused, but one request of any size gets through alone")
    func concurrentRequestBytes() async throws {
        let (logger, _) = capturingLogger()
        let (a, b) = try SocketPair.make()
        let (large, small) = (Gate(), Gate())
        let handler = PingingClosureHandler { request in
            if case .runtimeRPCCallRequest(let call) = request, call.request.count > 10_000 {
                await large.wait()
            } else {
                await small.wait()
            }
            return request
        }
        let connection = try await Connection.adopting(
            connectedSocket: a, handler: handler,
            configuration: Connection.Configuration(maxConcurrentRequestBytes: 10_000), logger: logger)
        let peer = RawPeer(descriptor: b)
        try await withReadyHost(connection, peer) {
            func call(_ size: Int) -> Body {
                .runtimeRPCCallRequest(RuntimeRPCCallRequest(request: [UInt8](repeating: 7, count: size)))
            }
            // 20,000 bytes: over the bound, but alone, so it is admitted. Anything more waits.
            try await peer.send(Message(id: 1, type: .request, body: call(20_000)))
            try await peer.send(Message(id: 2, type: .request, body: call(10)))
            let refused = try #require(try await peer.receive())
            #expect(refused.id == 2)
            guard case .error(let error) = refused.body else {
                Issue.record("expected a refusal, got \(refused.body)")
                return
            }
            #expect(error.message.hasPrefix("rhp: too many requests in flight (at most 256 requests or 10000 bytes"))

            large.open()
            #expect(try await peer.receive() == Message(id: 1, type: .response, body: call(20_000)))
            // Small ones fit together (about 3,050 bytes of payload each) until the next would
            // pass the bound.
            for id: UInt64 in 3...6 { try await peer.send(Message(id: id, type: .request, body: call(3_000))) }
            let refusedToo = try #require(try await peer.receive())
            #expect(refusedToo.id == 6)
            #expect(refusedToo.body.kind == .error)
            small.open()
            var answers: [UInt64: Body] = [:]
            for _ in 0..<3 {
                let answer = try #require(try await peer.receive())
                answers[answer.id] = answer.body
            }
            #expect(answers == [3: call(3_000), 4: call(3_000), 5: call(3_000)])
        }
    }

    @Test("a peer that sends requests but does not read the answers is cut off once the unwritten bytes pass the bound")
    func peerNotReading() async throws {
        let (logger, logs) = capturingLogger()
        let (a, b) = try SocketPair.make()
        // Every request but a ping is answered with 1 MiB.
        let handler = PingingClosureHandler { _ in
            .runtimeRPCCallResponse(RuntimeRPCCallResponse(response: [UInt8](repeating: 0xAB, count: 1 << 20)))
        }
        let bound = Frame.headerSize + Frame.maxPayloadSize + 1
        let connection = try await Connection.adopting(
            connectedSocket: a, handler: handler,
            configuration: Connection.Configuration(maxUnwrittenBytes: bound), logger: logger)
        let peer = RawPeer(descriptor: b)
        try await withReadyHost(connection, peer) {
            // Requests go out in small groups, with pings between them, and nothing is read:
            // about 17 MiB of answers are left waiting after some 20 requests (less what the
            // socket buffers take).
            var id: UInt64 = 100
            for _ in 0..<200 where connection.state != .closed {
                do {
                    try await peer.send(Message(
                        id: id, type: .request, body: .runtimeRPCCallRequest(RuntimeRPCCallRequest(request: [1]))))
                    try await peer.send(Message(id: id + 1, type: .request, body: .runtimePingRequest))
                } catch {
                    break  // the connection is gone
                }
                id += 2
                try await Task.sleep(for: .milliseconds(5))
            }
            try await waitUntil { connection.state == .closed }
            #expect(connection.closeReason?.contains("the peer does not read what is written to it") == true,
                    "close reason: \(connection.closeReason ?? "none")")
            #expect(logs.closeReasons.contains { $0.contains("more than \(bound) bytes of answers wait to be sent") })
        }
    }

    @Test("a peer that reads keeps its connection however many large answers it asks for")
    func readingPeerKeepsConnection() async throws {
        let (logger, _) = capturingLogger()
        let (a, b) = try SocketPair.make()
        let handler = PingingClosureHandler { _ in
            .runtimeRPCCallResponse(RuntimeRPCCallResponse(response: [UInt8](repeating: 0xCD, count: 1 << 20)))
        }
        let connection = try await Connection.adopting(
            connectedSocket: a, handler: handler,
            configuration: Connection.Configuration(maxUnwrittenBytes: Frame.headerSize + Frame.maxPayloadSize + 1),
            logger: logger)
        let peer = RawPeer(descriptor: b)
        try await withReadyHost(connection, peer) {
            // 40 MiB of answers in all, more than twice the bound, each read as it comes.
            for id: UInt64 in 1...40 {
                try await peer.send(Message(
                    id: id, type: .request, body: .runtimeRPCCallRequest(RuntimeRPCCallRequest(request: [1]))))
                let answer = try #require(try await peer.receive())
                #expect(answer.id == id)
            }
            #expect(connection.state == .ready)
        }
    }

    @Test("a peer that reads in bursts keeps its connection: the count of answers starts again when the channel drains")
    func burstyReaderKeepsConnection() async throws {
        let (logger, _) = capturingLogger()
        let (a, b) = try SocketPair.make()
        let handled = Locked(0)
        let handler = PingingClosureHandler { _ in
            defer { handled.withLock { $0 += 1 } }
            return .runtimeRPCCallResponse(RuntimeRPCCallResponse(response: [UInt8](repeating: 0xCD, count: 1 << 20)))
        }
        let bound = Frame.headerSize + Frame.maxPayloadSize + 1
        let connection = try await Connection.adopting(
            connectedSocket: a, handler: handler, configuration: Connection.Configuration(maxUnwrittenBytes: bound),
            logger: logger)
        let peer = RawPeer(descriptor: b)
        try await withReadyHost(connection, peer) {
            // Each burst leaves 28 MiB of answers unread: the channel passes its 16 MiB
            // watermark and about 12 MiB of answers are counted, under the bound. Counted
            // across bursts they would pass it in the second one.
            let burst = 28
            var id: UInt64 = 1
            for round in 1...3 {
                for _ in 0..<burst {
                    try await peer.send(Message(
                        id: id, type: .request, body: .runtimeRPCCallRequest(RuntimeRPCCallRequest(request: [1]))))
                    id += 1
                }
                try await waitUntil { handled.value == round * burst }
                for _ in 0..<burst {
                    let answer = try #require(try await peer.receive())
                    #expect(answer.type == .response)
                }
            }
            #expect(connection.state == .ready, "close reason: \(connection.closeReason ?? "none")")
        }
    }

    @Test(
        "a failed write fails its caller at once with the write's error and leaves nothing behind; later calls still work",
        arguments: [false, true])
    func failedWrite(onEventLoop: Bool) async throws {
        let (logger, _) = capturingLogger()
        let (a, b) = try SocketPair.make()
        let failer = FailingWrites()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(ChannelOptions.autoRead, value: false)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(failer) }
            }
            .withConnectedSocket(a).get()
        let connection = try await Connection.wrapping(channel: channel, handler: UnsupportedRequestHandler(), logger: logger)
        let peer = RawPeer(descriptor: b)
        try await withReadyHost(connection, peer) {
            let executor: (any TaskExecutor)? = onEventLoop ? connection.eventLoopTaskExecutor : nil
            failer.failing.store(true, ordering: .relaxed)
            // Nothing answers: only the failed write can end the call before its deadline.
            let refused = Task(executorPreference: executor) {
                _ = try await connection.call(.runtimePingRequest, timeout: .seconds(120))
            }
            await #expect {
                try await refused.value
            } throws: { error in
                guard case ConnectionError.writeFailed(let detail) = error else { return false }
                return detail.contains("write refused")
            }
            #expect(connection.pendingCallCount == 0)
            #expect(connection.state == .ready)

            failer.failing.store(false, ordering: .relaxed)
            let next = Task(executorPreference: executor) { try await connection.call(.runtimeAbortRequest, timeout: .seconds(300)) }
            let written = try #require(try await peer.receive())
            #expect(written.body.kind == .runtimeAbortRequest)
            try await peer.send(Message(id: written.id, type: .response, body: .empty))
            #expect(try await next.value == .empty)
        }
    }

    @Test("a request too large to send fails its caller at once, writes nothing and keeps the connection up")
    func oversizeRequest() async throws {
        let (logger, _) = capturingLogger()
        let pair = try await ConnectionPair.make(guestHandler: GuestHandler(), logger: logger)
        try await pair.running {
            _ = try await pair.handshake()
            let body = Body.runtimeRPCCallRequest(RuntimeRPCCallRequest(request: [UInt8](repeating: 0, count: Frame.maxPayloadSize)))
            await #expect {
                _ = try await pair.host.call(body)
            } throws: { error in
                guard case FrameError.messageTooLarge = error else { return false }
                return true
            }
            #expect(pair.host.pendingCallCount == 0)
            #expect(try await pair.host.call(.runtimePingRequest) == .runtimePingRequest)
        }
    }
}

/// Runs `body` with `connection` Ready (the raw peer answered the handshake) and `run()` going.
func withReadyHost(
    _ connection: Connection, _ peer: RawPeer, _ body: @Sendable () async throws -> Void
) async throws {
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await connection.run() }
        group.addTask {
            _ = try await connection.initHost(runtimeID: testRuntimeID, hostInfo: testHostInfo, timeout: .seconds(120))
        }
        let info = try #require(try await peer.receive())
        try await peer.send(Message(
            id: info.id, type: .response,
            body: .runtimeInfoResponse(.init(protocolVersion: Version(major: 2), runtimeVersion: Version(major: 1)))))
        try await waitUntil { connection.state == .ready }
        do {
            try await body()
        } catch {
            await connection.close()
            throw error
        }
        await connection.close()
        try await group.waitForAll()
    }
}

/// Answers pings on the event loop, as `kv-runtime` does, and everything else with `body`.
struct PingingClosureHandler: RequestHandler {
    let body: @Sendable (Body) async throws -> Body

    init(_ body: @escaping @Sendable (Body) async throws -> Body) {
        self.body = body
    }

    func immediateAnswer(to request: Body) -> Body? {
        if case .runtimePingRequest = request { return .empty }
        return nil
    }

    func handle(_ request: Body) async throws -> Body {
        try await body(request)
    }
}

/// A one-shot latch: `wait()` returns once `open()` has been called.
final class Gate: Sendable {
    private let state = Mutex<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func open() {
        let waiters = state.withLock { state in
            state.open = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    func wait() async {
        await withCheckedContinuation { continuation in
            let isOpen = state.withLock { state in
                if state.open { return true }
                state.waiters.append(continuation)
                return false
            }
            if isOpen { continuation.resume() }
        }
    }
}

@Suite("RHP connection: programming errors")
struct ConnectionMisuseTests {
    @Test("initialising a connection a second time is a precondition failure")
    func secondInitTraps() async {
        await #expect(processExitsWith: .failure) {
            let (a, _) = try SocketPair.make()
            let connection = try await Connection.adopting(
                connectedSocket: a, handler: UnsupportedRequestHandler(), logger: Logger(label: "exit-test"))
            connection.initGuest()
            connection.initGuest()
        }
    }

    @Test("initialising a closed connection is a precondition failure")
    func initAfterCloseTraps() async {
        await #expect(processExitsWith: .failure) {
            let (a, _) = try SocketPair.make()
            let connection = try await Connection.adopting(
                connectedSocket: a, handler: UnsupportedRequestHandler(), logger: Logger(label: "exit-test"))
            connection.initGuest()
            await connection.close()
            connection.initGuest()
        }
    }
}
