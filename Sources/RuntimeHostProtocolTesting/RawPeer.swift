#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
public import RuntimeHostProtocol
import OasisCBOR

#if canImport(Glibc)
private let sendBytes = Glibc.send
#else
private let sendBytes = Darwin.send
#endif

/// The far end of a socket, driven byte by byte: for feeding a ``Connection`` malformed or
/// hand-made frames and reading exactly what it wrote.
///
/// The descriptor is non-blocking and reads poll with short sleeps, so a test never blocks a
/// thread of the cooperative pool; every read is bounded by a deadline.
public final class RawPeer: Sendable {
    /// The socket, non-blocking, closed on deinit.
    public let descriptor: CInt

    /// Takes ownership of `descriptor`.
    public init(descriptor: CInt) {
        self.descriptor = descriptor
        let flags = fcntl(descriptor, F_GETFL)
        _ = fcntl(descriptor, F_SETFL, flags | O_NONBLOCK)
    }

    deinit {
        #if canImport(Glibc)
        _ = Glibc.close(descriptor)
        #else
        _ = Darwin.close(descriptor)
        #endif
    }

    /// Writes all of `bytes`; throws if the peer is gone.
    public func write(_ bytes: [UInt8], timeout: Duration = .seconds(300)) async throws {
        let clock = ContinuousClock()
        let end = clock.now + timeout
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { raw in
                sendBytes(descriptor, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
            }
            if n > 0 {
                offset += n
            } else if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
                guard clock.now < end else { throw TimedOut(what: "raw write", after: timeout) }
                try await Task.sleep(for: .milliseconds(1))
            } else {
                throw SystemCallFailed(call: "send", errno: errno)
            }
        }
    }

    /// Writes `payload` with its 4-byte big-endian length prefix.
    public func writeFrame(_ payload: [UInt8]) async throws {
        try await write(Self.frame(payload))
    }

    /// Writes `message` as a frame.
    public func send(_ message: Message) async throws {
        try await writeFrame(try Frame.payload(of: message))
    }

    /// The length prefix for `count` followed by `payload`.
    public static func frame(_ payload: [UInt8], announcing count: Int? = nil) -> [UInt8] {
        let n = UInt32(count ?? payload.count)
        return [UInt8(n >> 24), UInt8(n >> 16 & 0xff), UInt8(n >> 8 & 0xff), UInt8(n & 0xff)] + payload
    }

    /// Reads exactly `count` bytes; `nil` if the stream ends first.
    public func read(count: Int, timeout: Duration = .seconds(300)) async throws -> [UInt8]? {
        let clock = ContinuousClock()
        let end = clock.now + timeout
        var out = [UInt8](repeating: 0, count: count)
        var offset = 0
        while offset < count {
            let n = out.withUnsafeMutableBytes { raw in
                recv(descriptor, raw.baseAddress! + offset, count - offset, 0)
            }
            if n > 0 {
                offset += n
            } else if n == 0 {
                return nil
            } else if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR {
                guard clock.now < end else { throw TimedOut(what: "raw read of \(count) bytes", after: timeout) }
                try await Task.sleep(for: .milliseconds(1))
            } else if errno == ECONNRESET {
                return nil
            } else {
                throw SystemCallFailed(call: "recv", errno: errno)
            }
        }
        return out
    }

    /// Reads one frame's payload; `nil` if the stream ends.
    public func readFramePayload(timeout: Duration = .seconds(300)) async throws -> [UInt8]? {
        guard let header = try await read(count: 4, timeout: timeout) else { return nil }
        let n = Int(header[0]) << 24 | Int(header[1]) << 16 | Int(header[2]) << 8 | Int(header[3])
        return try await read(count: n, timeout: timeout)
    }

    /// Reads and decodes one message; `nil` if the stream ends.
    public func receive(timeout: Duration = .seconds(300)) async throws -> Message? {
        guard let payload = try await readFramePayload(timeout: timeout) else { return nil }
        return try Frame.decodePayload(payload)
    }

    /// Waits until the other side has closed the stream (reads and discards until EOF).
    public func waitForClose(timeout: Duration = .seconds(300)) async throws {
        while try await read(count: 1, timeout: timeout) != nil {}
    }

    /// Shuts down both directions now, without waiting for `deinit`.
    public func shutdownBoth() {
        _ = shutdown(descriptor, Int32(SHUT_RDWR))
    }
}
