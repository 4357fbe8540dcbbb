#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Logging
import NIOCore
import NIOPosix
@testable import RuntimeNode
import ServiceLifecycle
import Synchronization
import Testing

/// Helpers for the control and observability tests: temp dirs, a served control socket, raw bytes.
enum ControlTestSupport {
    static let quietLogger = Logger(label: "control-test") { _ in SwiftLogNoOpLogHandler() }

    /// A fresh directory with a short path (`sun_path` holds 107 bytes).
    static func makeTempDir() throws -> String {
        var template = Array("/tmp/ctl-XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw POSIXError(.init(rawValue: errno) ?? .EIO)
        }
        return String(cString: made)
    }

    static func removeTree(_ path: String) {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// Runs `server` in a `ServiceGroup`, runs `body`, then shuts the group down gracefully and
    /// waits for it.
    static func serving<Server: Service, T: Sendable>(
        _ server: Server, _ body: () async throws -> T
    ) async throws -> T {
        let group = ServiceGroup(
            configuration: .init(services: [server], logger: quietLogger))
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            do {
                let result = try await body()
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
                return result
            } catch {
                await group.triggerGracefulShutdown()
                try? await tasks.waitForAll()
                throw error
            }
        }
    }

    /// A bound control server in a temp dir, served while `body` runs.
    static func withControlServer<T: Sendable>(
        handler: @escaping ControlHandler = echoHandler, limits: HTTPServerCore.Limits = patientLimits,
        _ body: (String, ControlClient) async throws -> T
    ) async throws -> T {
        let dir = try makeTempDir()
        defer { removeTree(dir) }
        let path = dir + "/internal.sock"
        let server = ControlServer(
            socketPath: path, handler: handler, logger: quietLogger, drainTimeout: ControlServer.drainTimeout,
            limits: limits)
        try await server.bind()
        return try await serving(server) { try await body(path, ControlClient(socketPath: path)) }
    }

    /// What the echo handler saw, as JSON.
    struct Echo: Codable, Equatable {
        var method: String
        var path: String
        var query: [String: String]
        var body: String
    }

    /// Routes like a small control API: `/v1/echo` echoes the request, `/v1/post-only` wants
    /// POST, anything else is 404.
    static let echoHandler: ControlHandler = { request in
        switch request.path {
        case "/v1/echo":
            return .json(
                Echo(
                    method: request.method, path: request.path, query: request.query,
                    body: String(decoding: request.body, as: UTF8.self)))
        case "/v1/post-only":
            guard request.method == "POST" else {
                return .error(status: 405, "\(request.method) is not allowed on \(request.path)")
            }
            return .text("posted \(request.body.count) bytes")
        default:
            return .error(status: 404, "no such path: \(request.path)")
        }
    }

    /// Sends `bytes` on a fresh connection and reads until the server closes it (bounded).
    static func rawExchange(_ bytes: [UInt8], unixPath: String? = nil, tcpPort: Int? = nil) async throws -> String {
        let bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        let initializer: @Sendable (any Channel) -> EventLoopFuture<NIOAsyncChannel<ByteBuffer, ByteBuffer>> = {
            channel in
            channel.eventLoop.makeCompletedFuture {
                try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
            }
        }
        let channel =
            if let unixPath {
                try await bootstrap.connect(unixDomainSocketPath: unixPath, channelInitializer: initializer)
            } else {
                try await bootstrap.connect(host: "127.0.0.1", port: tcpPort ?? 0, channelInitializer: initializer)
            }
        return try await withThrowingTaskGroup(of: String?.self) { group in
            group.addTask {
                try await channel.executeThenClose { inbound, outbound in
                    try await outbound.write(ByteBuffer(bytes: bytes))
                    var received: [UInt8] = []
                    for try await buffer in inbound {
                        received.append(contentsOf: buffer.readableBytesView)
                    }
                    return String(decoding: received, as: UTF8.self)
                }
            }
            group.addTask {
                try await Task.sleep(for: .seconds(120))
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let text = first else {
                throw ControlClientError(.timedOut, "the raw exchange got no close within 120 seconds")
            }
            return text
        }
    }

    /// A raw connection to the Unix socket at `path`.
    static func connectRaw(_ path: String) async throws -> NIOAsyncChannel<ByteBuffer, ByteBuffer> {
        try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(unixDomainSocketPath: path) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
    }

    /// Head and idle bounds far beyond any scheduling stall, the tests' default. The client runs
    /// in the test process, whose pool a CPU-bound suite starves for a minute or more: the
    /// default 10 s head bound then runs out between connecting and writing, and the server
    /// closes the connection before the request arrives. Tests of the bounds set their own.
    static let patientLimits = HTTPServerCore.Limits(
        headTimeout: .seconds(600), bodyTimeout: .seconds(600), idleTimeout: .seconds(600))

    /// Whether the server closes a fresh connection on which `bytes` were sent, without an
    /// answer, within 120 s. The server may close before the bytes are written; that counts too.
    static func closedByServer(_ path: String, after bytes: [UInt8]) async throws -> Bool {
        let channel = try await connectRaw(path)
        return try await withThrowingTaskGroup(of: Bool?.self) { group in
            group.addTask {
                try await channel.executeThenClose { inbound, outbound in
                    var received: [UInt8] = []
                    do {
                        if !bytes.isEmpty { try await outbound.write(ByteBuffer(bytes: bytes)) }
                        for try await buffer in inbound { received.append(contentsOf: buffer.readableBytesView) }
                    } catch let error as ChannelError where error == .ioOnClosedChannel {
                        // Closed before the write.
                    } catch let error as IOError where error.errnoCode == ECONNRESET || error.errnoCode == EPIPE {
                        // Closed with the bytes unread.
                    }
                    return received.isEmpty
                }
            }
            group.addTask {
                try await Task.sleep(for: .seconds(120))
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let closed = first else { return false }
            return closed
        }
    }

    /// Sends one keep-alive `GET /v1/echo` and reads its whole answer (the JSON ends with "}").
    static func echoKeepAlive(
        _ inbound: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator,
        _ outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
    ) async throws -> (String, NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator) {
        var iterator = inbound
        try await outbound.write(ByteBuffer(string: "GET /v1/echo HTTP/1.1\r\nHost: x\r\n\r\n"))
        var received = ""
        while !received.hasSuffix("}"), let buffer = try await iterator.next() {
            received += String(buffer: buffer)
        }
        return (received, iterator)
    }

    /// `GET path`, then finishes `started`, so a test waiting for its handler to start cannot
    /// wait forever when the request fails first.
    static func askThenFinish(
        path: String, _ target: String, _ started: AsyncStream<Void>.Continuation
    ) async -> Result<ControlResponse, any Error> {
        defer { started.finish() }
        do {
            return .success(try await ControlClient(socketPath: path).get(target))
        } catch {
            return .failure(error)
        }
    }

    /// Leaves a socket file that nothing listens on, as a killed node would.
    static func makeStaleSocket(at path: String) throws {
        close(try boundSocket(at: path))
    }

    /// A Unix stream socket bound to `path`; the caller closes it.
    static func boundSocket(at path: String) throws -> Int32 {
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        try #require(descriptor >= 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in path.utf8.enumerated() { raw[index] = byte }
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard result == 0 else {
            close(descriptor)
            throw SystemError(call: "bind", errno: errno)
        }
        return descriptor
    }

    struct SystemError: Error {
        let call: String
        let errno: Int32
    }
}

@Suite("ControlServer")
struct ControlServerTests {
    typealias Support = ControlTestSupport

    @Test("a request is routed through the handler and its JSON comes back")
    func routesThroughHandler() async throws {
        try await Support.withControlServer { _, client in
            let response = try await client.get("/v1/echo")
            #expect(response.status == 200)
            #expect(response.contentType == "application/json")
            let echo = try JSONDecoder().decode(Support.Echo.self, from: Data(response.body))
            #expect(echo == Support.Echo(method: "GET", path: "/v1/echo", query: [:], body: ""))
        }
    }

    @Test("the socket file is mode 0600")
    func socketMode() async throws {
        try await Support.withControlServer { path, _ in
            var info = stat()
            #expect(lstat(path, &info) == 0)
            #expect(info.st_mode & 0o777 == 0o600)
            #expect(info.st_mode & S_IFMT == S_IFSOCK)
        }
    }

    @Test("query parameters arrive percent-decoded, without the query in the path")
    func queryDecoding() async throws {
        try await Support.withControlServer { _, client in
            let response = try await client.get("/v1/echo?runtime=8000%2Fab&note=a+b%20c&flag&round=3&round=4")
            let echo = try JSONDecoder().decode(Support.Echo.self, from: Data(response.body))
            #expect(echo.path == "/v1/echo")
            #expect(echo.query == ["runtime": "8000/ab", "note": "a b c", "flag": "", "round": "4"])
        }
    }

    @Test("a query that is not valid percent-encoding gets 400")
    func badQuery() async throws {
        try await Support.withControlServer { _, client in
            let response = try await client.get("/v1/echo?x=%zz")
            #expect(response.status == 400)
            #expect(response.errorMessage?.contains("percent-encoded") == true)
        }
    }

    @Test("a POST body reaches the handler")
    func postBody() async throws {
        try await Support.withControlServer { _, client in
            let response = try await client.post("/v1/echo", json: Array(#"{"key":"k","value":"v"}"#.utf8))
            let echo = try JSONDecoder().decode(Support.Echo.self, from: Data(response.body))
            #expect(echo.method == "POST")
            #expect(echo.body == #"{"key":"k","value":"v"}"#)

            let text = try await client.post("/v1/post-only", json: Array("12345".utf8))
            #expect(text.status == 200)
            #expect(text.contentType == "text/plain; charset=utf-8")
            #expect(String(decoding: text.body, as: UTF8.self) == "posted 5 bytes")
        }
    }

    @Test("404 and 405 from the handler reach the client with their messages")
    func handlerErrors() async throws {
        try await Support.withControlServer { _, client in
            let missing = try await client.get("/v1/nothing")
            #expect(missing.status == 404)
            #expect(missing.errorMessage == "no such path: /v1/nothing")
            let wrongMethod = try await client.get("/v1/post-only")
            #expect(wrongMethod.status == 405)
            #expect(wrongMethod.errorMessage == "GET is not allowed on /v1/post-only")
        }
    }

    @Test("malformed HTTP gets 400 and a closed connection, and the server keeps serving")
    func malformedRequest() async throws {
        try await Support.withControlServer { path, client in
            let reply = try await Support.rawExchange(Array("THIS IS NOT HTTP\r\n\r\n".utf8), unixPath: path)
            #expect(reply.hasPrefix("HTTP/1.1 400"))
            let garbage = try await Support.rawExchange([0, 1, 2, 255, 13, 10, 13, 10], unixPath: path)
            #expect(garbage.hasPrefix("HTTP/1.1 400"))
            let response = try await client.get("/v1/echo")
            #expect(response.status == 200)
        }
    }

    @Test("a body over 1 MiB gets 413, one at the limit is accepted")
    func oversizedBody() async throws {
        try await Support.withControlServer { _, client in
            let tooLarge = try await client.post("/v1/post-only", json: [UInt8](repeating: 0x61, count: (1 << 20) + 1))
            #expect(tooLarge.status == 413)
            #expect(tooLarge.errorMessage?.contains("larger than the limit") == true)
            let atLimit = try await client.post("/v1/post-only", json: [UInt8](repeating: 0x61, count: 1 << 20))
            #expect(atLimit.status == 200)
            #expect(String(decoding: atLimit.body, as: UTF8.self) == "posted \(1 << 20) bytes")
        }
    }

    @Test("a declared Content-Length over the limit gets 413")
    func declaredOversize() async throws {
        try await Support.withControlServer { path, _ in
            let request = "POST /v1/echo HTTP/1.1\r\nHost: x\r\nContent-Length: \((1 << 20) + 1)\r\n\r\n"
            // The server reads the promised body and drops it before answering.
            let reply = try await Support.rawExchange(Array(request.utf8) + [UInt8](repeating: 0x62, count: (1 << 20) + 1), unixPath: path)
            #expect(reply.hasPrefix("HTTP/1.1 413"))
        }
    }

    @Test("a stale socket file left by a dead process is replaced")
    func staleSocketReplaced() async throws {
        let dir = try Support.makeTempDir()
        defer { Support.removeTree(dir) }
        let path = dir + "/internal.sock"
        try Support.makeStaleSocket(at: path)
        #expect(SocketFile.entry(at: path) != .missing)
        let server = ControlServer(
            socketPath: path, handler: Support.echoHandler, logger: Support.quietLogger,
            drainTimeout: ControlServer.drainTimeout, limits: Support.patientLimits)
        try await server.bind()
        try await Support.serving(server) {
            let response = try await ControlClient(socketPath: path).get("/v1/echo")
            #expect(response.status == 200)
        }
    }

    @Test("a second server on a live socket path is refused with one sentence")
    func secondServerRefused() async throws {
        try await Support.withControlServer { path, client in
            let second = ControlServer(socketPath: path, handler: Support.echoHandler, logger: Support.quietLogger)
            let error = await #expect(throws: ControlServerError.self) { try await second.bind() }
            #expect(error?.kind == .inUse)
            #expect(error?.description == "another node is running on \(path)")
            // The first server still owns the socket.
            let again = try await client.get("/v1/echo")
            #expect(again.status == 200)
        }
    }

    @Test("graceful shutdown stops serving and removes the socket file")
    func gracefulShutdownRemovesSocket() async throws {
        let dir = try Support.makeTempDir()
        defer { Support.removeTree(dir) }
        let path = dir + "/internal.sock"
        // run() binds by itself when bind() was not called.
        let server = ControlServer(socketPath: path, handler: Support.echoHandler, logger: Support.quietLogger)
        try await Support.serving(server) {
            // Bounded wait for run() to bind (generous: a loaded machine can take seconds to
            // start the service).
            var answered = false
            var lastError = ""
            let end = ContinuousClock.now + .seconds(120)
            while !answered && ContinuousClock.now < end {
                do { answered = try await ControlClient(socketPath: path).get("/v1/echo").status == 200 } catch { lastError = "\(error)" }
                if !answered { try await Task.sleep(for: .milliseconds(10)) }
            }
            #expect(answered, "\(lastError)")
        }
        #expect(SocketFile.entry(at: path) == .missing)
        let error = await #expect(throws: ControlClientError.self) {
            try await ControlClient(socketPath: path).get("/v1/echo")
        }
        #expect(error?.kind == .notRunning)
    }

    @Test("graceful shutdown lets an in-flight request finish")
    func inFlightRequestFinishes() async throws {
        let dir = try Support.makeTempDir()
        defer { Support.removeTree(dir) }
        let path = dir + "/internal.sock"
        let (started, startedContinuation) = AsyncStream.makeStream(of: Void.self)
        let (release, releaseContinuation) = AsyncStream.makeStream(of: Void.self)
        // The drain must outlast the test's release of the request whatever a loaded machine's
        // stalls: with the default 5 s the drain could cancel the handler and close the
        // connection before its answer is written.
        let server = ControlServer(
            socketPath: path,
            handler: { _ in
                startedContinuation.yield()
                for await _ in release { break }
                return .text("finished")
            }, logger: Support.quietLogger, drainTimeout: .seconds(600), limits: Support.patientLimits)
        try await server.bind()
        let group = ServiceGroup(configuration: .init(services: [server], logger: Support.quietLogger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            async let response = Support.askThenFinish(path: path, "/slow", startedContinuation)
            for await _ in started { break }  // ends early if the request failed before the handler
            await group.triggerGracefulShutdown()
            releaseContinuation.yield()
            let finished = try await response.get()
            #expect(finished.status == 200)
            #expect(String(decoding: finished.body, as: UTF8.self) == "finished")
            try await tasks.waitForAll()
        }
        #expect(SocketFile.entry(at: path) == .missing)
    }

    @Test("a request still running after the drain timeout is cancelled and the server stops")
    func stuckRequestCancelled() async throws {
        let dir = try Support.makeTempDir()
        defer { Support.removeTree(dir) }
        let path = dir + "/internal.sock"
        let (started, startedContinuation) = AsyncStream.makeStream(of: Void.self)
        let (never, neverContinuation) = AsyncStream.makeStream(of: Void.self)
        defer { neverContinuation.finish() }
        let server = ControlServer(
            socketPath: path,
            handler: { _ in
                startedContinuation.yield()
                for await _ in never {}  // ends only when the drain cancels this task
                return .text("cancelled")
            }, logger: Support.quietLogger, drainTimeout: .milliseconds(100))
        try await server.bind()
        let group = ServiceGroup(configuration: .init(services: [server], logger: Support.quietLogger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var started = started.makeAsyncIterator()
            async let response = try? Support.askThenFinish(path: path, "/stuck", startedContinuation).get()
            _ = await started.next()  // nil if the request failed before the handler
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            // The cancelled handler's answer may or may not have been written before the close.
            if let answer = await response {
                #expect(String(decoding: answer.body, as: UTF8.self) == "cancelled")
            }
        }
        #expect(SocketFile.entry(at: path) == .missing)
    }

    @Test("cancelling the server task stops it and removes the socket file")
    func cancellationStops() async throws {
        let dir = try Support.makeTempDir()
        defer { Support.removeTree(dir) }
        let path = dir + "/internal.sock"
        let server = ControlServer(socketPath: path, handler: Support.echoHandler, logger: Support.quietLogger)
        try await server.bind()
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await server.run() }
            let response = try await ControlClient(socketPath: path).get("/v1/echo")
            #expect(response.status == 200)
            tasks.cancelAll()
            try await tasks.waitForAll()
        }
        #expect(SocketFile.entry(at: path) == .missing)
    }

    @Test("the client's request goes out as the connection comes up, while the calling task is held")
    func clientWritesOnConnect() async throws {
        let dir = try Support.makeTempDir()
        defer { Support.removeTree(dir) }
        let path = dir + "/internal.sock"
        let listener = try Support.boundSocket(at: path)
        defer { close(listener) }
        #expect(listen(listener, 4) == 0)
        #expect(fcntl(listener, F_SETFL, fcntl(listener, F_GETFL) | O_NONBLOCK) == 0)

        // The request's task runs only when this test runs its jobs, one at a time, until the
        // connection has been accepted. The job that resumes the task after connecting is
        // queued only once the connection exists, so it is never run here.
        let executor = HeldExecutor()
        let request = Task(executorPreference: executor) {
            defer { executor.taskEnded.store(true, ordering: .releasing) }
            // (A client timeout far beyond any stall: its sleep is held here too.)
            return try await ControlClient(socketPath: path).request(method: "GET", path: "/v1/echo", timeout: .seconds(3600))
        }
        var accepted: Int32 = -1
        while accepted < 0 {
            let job = executor.next()
            accepted = accept(listener, nil, nil)
            guard accepted < 0 else {
                if let job { executor.putBack(job) }
                break
            }
            if let job { executor.run(job) } else { try await Task.sleep(for: .milliseconds(1)) }
        }
        defer { close(accepted) }

        // The request arrives while the task is still held (bounded: 120 s).
        var pending = pollfd(fd: accepted, events: Int16(POLLIN), revents: 0)
        try #require(poll(&pending, 1, 120_000) == 1, "no request while the calling task was held")
        var head = [UInt8](repeating: 0, count: 16)
        #expect(recv(accepted, &head, head.count, Int32(MSG_WAITALL)) == head.count)
        #expect(String(decoding: head, as: UTF8.self) == "GET /v1/echo HTT")

        // Answer, then let the task run to its end.
        let answer = Array("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}".utf8)
        #expect(send(accepted, answer, answer.count, Int32(MSG_NOSIGNAL)) == answer.count)
        while !executor.taskEnded.load(ordering: .acquiring) {
            if !executor.runAll() { try await Task.sleep(for: .milliseconds(1)) }
        }
        let status = try await request.value.status
        #expect(status == 200)
    }

    @Test("the client gives up after its timeout with one sentence")
    func clientTimeout() async throws {
        let (never, neverContinuation) = AsyncStream.makeStream(of: Void.self)
        defer { neverContinuation.finish() }
        try await Support.withControlServer(handler: { _ in
            for await _ in never {}
            return .text("late")
        }) { path, client in
            let error = await #expect(throws: ControlClientError.self) {
                try await client.request(method: "GET", path: "/slow", timeout: .milliseconds(50))
            }
            #expect(error?.kind == .timedOut)
            #expect(error?.description.hasPrefix("the node on \(path) did not answer GET /slow within") == true)
            neverContinuation.finish()
        }
    }

    @Test("graceful shutdown closes an idle keep-alive connection without waiting for the drain timeout")
    func idleKeepAliveClosed() async throws {
        let dir = try Support.makeTempDir()
        defer { Support.removeTree(dir) }
        let path = dir + "/internal.sock"
        let captured = CapturedLines()
        let logger = Logger(label: "control-test") { LogfmtLogHandler(label: $0, sink: captured.sink) }
        // A drain this long only ends by timeout if the idle connection is not closed.
        let server = ControlServer(
            socketPath: path, handler: Support.echoHandler, logger: logger, drainTimeout: .seconds(60),
            limits: Support.patientLimits)
        try await server.bind()
        let group = ServiceGroup(configuration: .init(services: [server], logger: Support.quietLogger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let channel = try await Support.connectRaw(path)
            let closedAfterShutdown = try await channel.executeThenClose { inbound, outbound in
                var (received, iterator) = try await Support.echoKeepAlive(inbound.makeAsyncIterator(), outbound)
                #expect(received.hasPrefix("HTTP/1.1 200"))
                #expect(!received.contains("Connection: close"))
                await group.triggerGracefulShutdown()
                return try await iterator.next() == nil
            }
            #expect(closedAfterShutdown)
            try await tasks.waitForAll()
        }
        #expect(!captured.all.contains { $0.contains("drain timeout") })
        #expect(SocketFile.entry(at: path) == .missing)
    }

    @Test("graceful shutdown with a half-sent request head closes the connection and stops cleanly")
    func partialHeadAtShutdown() async throws {
        let dir = try Support.makeTempDir()
        defer { Support.removeTree(dir) }
        let path = dir + "/internal.sock"
        let server = ControlServer(
            socketPath: path, handler: Support.echoHandler, logger: Support.quietLogger, drainTimeout: .seconds(60),
            limits: Support.patientLimits)
        try await server.bind()
        let group = ServiceGroup(configuration: .init(services: [server], logger: Support.quietLogger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let channel = try await Support.connectRaw(path)
            let afterShutdown = try await channel.executeThenClose { inbound, outbound in
                // One write: once the first answer is back, the server has read the partial head
                // behind it too, and holds it in its parser when the shutdown closes the
                // connection. Before the fix NIO then wrote a 400 on the closed connection and
                // died on its "Wrote in quiescing completed state" assertion.
                try await outbound.write(
                    ByteBuffer(string: "GET /v1/echo HTTP/1.1\r\nHost: x\r\n\r\nGET /v1/echo HTTP/1.1\r\nHo"))
                var received = ""
                var iterator = inbound.makeAsyncIterator()
                while !received.hasSuffix("}"), let buffer = try await iterator.next() {
                    received += String(buffer: buffer)
                }
                #expect(received.hasPrefix("HTTP/1.1 200"))
                await group.triggerGracefulShutdown()
                var rest = ""
                while let buffer = try await iterator.next() { rest += String(buffer: buffer) }
                return rest
            }
            // Closed without an answer: the request was never complete.
            #expect(afterShutdown == "")
            try await tasks.waitForAll()
        }
        #expect(SocketFile.entry(at: path) == .missing)
    }

    @Test("a connection without a whole request head, or idle after a response, is closed after its bound")
    func idleConnectionsClosed() async throws {
        // The head bound alone: a silent connection and a half-sent head are closed.
        let shortHead = HTTPServerCore.Limits(headTimeout: .milliseconds(100))
        try await Support.withControlServer(limits: shortHead) { path, _ in
            let silent = try await Support.closedByServer(path, after: [])
            let halfSent = try await Support.closedByServer(path, after: Array("GET /v1/echo HTTP/1.1\r\nHo".utf8))
            #expect(silent)
            #expect(halfSent)
        }
        // The idle bound alone: a keep-alive connection is closed once its answer is read.
        var shortIdle = Support.patientLimits
        shortIdle.idleTimeout = .milliseconds(100)
        try await Support.withControlServer(limits: shortIdle) { path, client in
            let channel = try await Support.connectRaw(path)
            let closedWhenIdle = try await channel.executeThenClose { inbound, outbound in
                var (answer, iterator) = try await Support.echoKeepAlive(inbound.makeAsyncIterator(), outbound)
                #expect(answer.hasPrefix("HTTP/1.1 200"))
                return try await iterator.next() == nil
            }
            #expect(closedWhenIdle)
            #expect(try await client.get("/v1/echo").status == 200)
        }
    }

    @Test("a connection that stops in the middle of a request body is closed after the body bound")
    func stalledBodyClosed() async throws {
        var limits = Support.patientLimits
        limits.bodyTimeout = .milliseconds(100)
        try await Support.withControlServer(limits: limits) { path, _ in
            // Without the bound the connection stays open and closedByServer gives up after 120 s.
            let stalled = try await Support.closedByServer(
                path, after: Array("POST /v1/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc".utf8))
            #expect(stalled)
        }
    }

    @Test("a client that half-closes after its request (as socat and nc -N do) still gets the answer", arguments: [
        ("GET /v1/echo HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 200"),
        // Half a request head: answered 400 (or closed), never left waiting for the rest.
        ("GET /v1/ec", "HTTP/1.1 400"),
    ])
    func halfClosedClientAnswered(request: String, expected: String) async throws {
        try await Support.withControlServer { path, _ in
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .channelOption(.allowRemoteHalfClosure, value: true)
                .connect(unixDomainSocketPath: path) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try NIOAsyncChannel<ByteBuffer, ByteBuffer>(
                            wrappingChannelSynchronously: channel,
                            configuration: .init(isOutboundHalfClosureEnabled: true))
                    }
                }
            let answer = try await withThrowingTaskGroup(of: String?.self) { group in
                group.addTask {
                    try await channel.executeThenClose { inbound, outbound in
                        try await outbound.write(ByteBuffer(string: request))
                        // shutdown(SHUT_WR): nothing more will come.
                        outbound.finish()
                        var received: [UInt8] = []
                        do {
                            for try await buffer in inbound { received.append(contentsOf: buffer.readableBytesView) }
                        } catch let error as IOError where error.errnoCode == ECONNRESET {
                            // Closed with the answer unread: nothing received counts.
                        }
                        return String(decoding: received, as: UTF8.self)
                    }
                }
                group.addTask {
                    try await Task.sleep(for: .seconds(120))
                    return nil
                }
                defer { group.cancelAll() }
                return try await group.next() ?? nil
            }
            #expect(answer?.hasPrefix(expected) == true, "\(answer ?? "no answer within 120 s")")
        }
    }

    @Test("beyond the connection cap a connection is closed at once; the server answers once others go")
    func connectionCap() async throws {
        var limits = Support.patientLimits
        limits.maxConnections = 2
        try await Support.withControlServer(limits: limits) { path, client in
            let first = try await Support.connectRaw(path)
            let second = try await Support.connectRaw(path)
            try await first.executeThenClose { firstIn, firstOut in
                try await second.executeThenClose { secondIn, secondOut in
                    // Both answered, so both are being served and count against the cap.
                    let (firstAnswer, _) = try await Support.echoKeepAlive(firstIn.makeAsyncIterator(), firstOut)
                    let (secondAnswer, _) = try await Support.echoKeepAlive(secondIn.makeAsyncIterator(), secondOut)
                    #expect(firstAnswer.hasPrefix("HTTP/1.1 200"))
                    #expect(secondAnswer.hasPrefix("HTTP/1.1 200"))
                    // The third is closed without an answer while the idle two stay open (their
                    // bounds are 600 s; closedByServer gives up after 120 s).
                    let third = try await Support.closedByServer(path, after: [])
                    #expect(third)
                }
            }
            // The idle two are gone: a normal request is answered again (bounded wait for the
            // server to see them close).
            var status: Int?
            let end = ContinuousClock.now + .seconds(120)
            while status != 200 && ContinuousClock.now < end {
                status = try? await client.get("/v1/echo").status
                if status != 200 { try await Task.sleep(for: .milliseconds(10)) }
            }
            #expect(status == 200)
        }
    }

    @Test("the client names the path when no node is running")
    func clientErrorWithoutServer() async throws {
        let dir = try Support.makeTempDir()
        defer { Support.removeTree(dir) }
        let path = dir + "/internal.sock"
        let error = await #expect(throws: ControlClientError.self) {
            try await ControlClient(socketPath: path).get("/v1/status")
        }
        #expect(error?.description == "no node is running on \(path) (connect: No such file or directory)")

        try Support.makeStaleSocket(at: path)
        let refused = await #expect(throws: ControlClientError.self) {
            try await ControlClient(socketPath: path).get("/v1/status")
        }
        #expect(refused?.description == "no node is running on \(path) (connect: Connection refused)")
    }

    @Test("a socket path longer than sun_path is refused with one sentence")
    func pathTooLong() async throws {
        let path = "/tmp/" + String(repeating: "d", count: 120) + "/internal.sock"
        let server = ControlServer(socketPath: path, handler: Support.echoHandler, logger: Support.quietLogger)
        let error = await #expect(throws: ControlServerError.self) { try await server.bind() }
        #expect(error?.kind == .pathTooLong)
        #expect(error?.description.contains("longer than the 107-byte Unix socket limit") == true)
    }

    @Test("a missing socket directory is refused with one sentence")
    func directoryMissing() async throws {
        let dir = try Support.makeTempDir()
        defer { Support.removeTree(dir) }
        let path = dir + "/missing/internal.sock"
        let server = ControlServer(socketPath: path, handler: Support.echoHandler, logger: Support.quietLogger)
        let error = await #expect(throws: ControlServerError.self) { try await server.bind() }
        #expect(error?.kind == .directoryMissing)
        #expect(error?.description == "the directory \(dir)/missing of the control socket \(path) does not exist; create it first")
    }

    @Test("a regular file at the socket path is left alone and refused")
    func notASocket() async throws {
        let dir = try Support.makeTempDir()
        defer { Support.removeTree(dir) }
        let path = dir + "/internal.sock"
        #expect(FileManager.default.createFile(atPath: path, contents: Data("keep".utf8)))
        let server = ControlServer(socketPath: path, handler: Support.echoHandler, logger: Support.quietLogger)
        let error = await #expect(throws: ControlServerError.self) { try await server.bind() }
        #expect(error?.kind == .notASocket)
        #expect(FileManager.default.contents(atPath: path) == Data("keep".utf8))
    }
}

@Suite("ControlResponse and request targets")
struct ControlMessageTests {
    @Test("json encodes with sorted keys; error bodies carry their message")
    func responses() {
        struct Value: Encodable { var zeta = 1; var alpha = "a/b" }
        let json = ControlResponse.json(Value(), status: 201)
        #expect(json.status == 201)
        #expect(String(decoding: json.body, as: UTF8.self) == #"{"alpha":"a/b","zeta":1}"#)
        #expect(json.errorMessage == nil)
        let error = ControlResponse.error(status: 409, "runtime \"x\" is busy")
        #expect(error.contentType == "application/json")
        #expect(error.errorMessage == "runtime \"x\" is busy")
        #expect(ControlResponse.text("hi").errorMessage == nil)
    }

    @Test("a value that cannot be encoded becomes a 500")
    func encodingFailure() {
        let response = ControlResponse.json(Double.nan)
        #expect(response.status == 500)
        #expect(response.errorMessage?.hasPrefix("cannot encode the response as JSON") == true)
    }

    @Test("request targets split into path and decoded query")
    func targets() {
        #expect(RequestTarget(uri: "/v1/status") == RequestTarget(path: "/v1/status", query: [:]))
        #expect(RequestTarget(uri: "/a?b=%C3%A9&c=") == RequestTarget(path: "/a", query: ["b": "é", "c": ""]))
        #expect(RequestTarget(uri: "/a?b=%4") == nil)
        #expect(RequestTarget(uri: "/a?b=%FF") == nil)
    }
}

/// Holds the jobs of the tasks that prefer it until the test runs them.
final class HeldExecutor: TaskExecutor {
    private let jobs = Mutex<[UnownedJob]>([])

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        jobs.withLock { $0.append(job) }
    }

    /// The oldest held job, taken out.
    func next() -> UnownedJob? {
        jobs.withLock { $0.isEmpty ? nil : $0.removeFirst() }
    }

    /// Returns a job taken by ``next()`` to the front.
    func putBack(_ job: UnownedJob) {
        jobs.withLock { $0.insert(job, at: 0) }
    }

    func run(_ job: UnownedJob) {
        job.runSynchronously(on: asUnownedTaskExecutor())
    }

    /// Runs every held job; whether there was one.
    func runAll() -> Bool {
        var ran = false
        while let job = next() {
            run(job)
            ran = true
        }
        return ran
    }

    /// Set by the held task as it ends.
    let taskEnded = Atomic<Bool>(false)
}
