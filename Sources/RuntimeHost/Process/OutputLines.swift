import Glibc
import Synchronization

/// The lines a runtime process writes to one of its output streams, read on demand.
///
/// Reading is pull-based: nothing is read until the sequence is iterated, so a slow consumer
/// slows the runtime down (its writes block once the pipe is full) instead of growing a buffer
/// in the node. The sequence ends at end of file (the runtime and everything it started have
/// closed the stream), on a read error, or when the iterating task is cancelled.
///
/// Each stream can be iterated once; a second iterator ends immediately. Lines longer than
/// 64 KiB are split. Bytes that are not UTF-8 are replaced by U+FFFD.
public struct OutputLines: AsyncSequence, Sendable {
    /// One line, without its newline.
    public typealias Element = String
    /// Reading never throws: errors and cancellation end the sequence.
    public typealias Failure = Never

    let reader: PipeReader

    /// Iterates the lines of one stream.
    public struct AsyncIterator: AsyncIteratorProtocol {
        let reader: PipeReader?

        /// The next line, without its newline, or nil at the end of the stream.
        public mutating func next() async -> String? {
            await reader?.nextLine()
        }
    }

    /// The stream's one iterator; any later iterator ends at once.
    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(reader: reader.claim() ? reader : nil)
    }
}

/// Owns the read end of an output pipe (non-blocking) and splits what it reads into lines.
final class PipeReader: Sendable {
    static let maximumLineLength = 64 * 1024

    private struct State {
        var buffer: [UInt8] = []
        var endOfFile = false
        var claimed = false
    }

    private let fd: Int32
    private let state = Mutex(State())

    /// Takes ownership of `fd` and makes it non-blocking.
    init(fd: Int32) {
        self.fd = fd
        let flags = fcntl(fd, F_GETFL)
        if flags >= 0 { _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK) }
    }

    deinit { closeDescriptor(fd) }

    /// Marks the stream as having its one consumer; false if it already had one.
    func claim() -> Bool {
        state.withLock { state in
            defer { state.claimed = true }
            return !state.claimed
        }
    }

    /// The next line, or nil at end of file, on a read error, or when the task is cancelled.
    func nextLine() async -> String? {
        while true {
            switch readStep() {
            case .line(let line): return line
            case .end: return nil
            case .wait:
                do { try await DescriptorReactor.shared.readable(fd) } catch { return nil }
            }
        }
    }

    /// What one non-blocking step of reading found.
    enum Step { case line(String), end, wait }

    /// Returns a buffered line if there is one, otherwise reads without blocking until a line,
    /// end of file, or an empty pipe (`wait`).
    func readStep() -> Step {
        state.withLock { state in
            while true {
                if let newline = state.buffer.firstIndex(of: UInt8(ascii: "\n")) {
                    let line = String(decoding: state.buffer[..<newline], as: UTF8.self)
                    state.buffer.removeSubrange(...newline)
                    return .line(line)
                }
                if state.buffer.count >= Self.maximumLineLength {
                    let line = String(decoding: state.buffer.prefix(Self.maximumLineLength), as: UTF8.self)
                    state.buffer.removeFirst(Self.maximumLineLength)
                    return .line(line)
                }
                if state.endOfFile {
                    if state.buffer.isEmpty { return .end }
                    let line = String(decoding: state.buffer, as: UTF8.self)
                    state.buffer.removeAll()
                    return .line(line)
                }
                var chunk = [UInt8](repeating: 0, count: 16 * 1024)
                let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if count > 0 {
                    state.buffer.append(contentsOf: chunk[..<count])
                } else if count == 0 {
                    state.endOfFile = true
                } else if errno == EAGAIN || errno == EWOULDBLOCK {
                    return .wait
                } else if errno != EINTR {
                    state.endOfFile = true
                }
            }
        }
    }
}

extension PipeReader {
    /// Up to `limit` lines that can be read right now without waiting; used to quote a dead
    /// process's last words. Marks the stream as consumed.
    func availableLines(limit: Int) -> [String] {
        _ = claim()
        var lines: [String] = []
        while lines.count < limit, case .line(let line) = readStep() { lines.append(line) }
        return lines
    }
}
