#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
public import Logging
import Synchronization

/// Where the node's log handlers put their lines.
public struct LogSink: Sendable {
    /// Receives one formatted record, without its trailing newline.
    let write: @Sendable (String) -> Void

    /// A sink that hands each line (without its newline) to `write`; tests collect lines this way.
    public init(write: @escaping @Sendable (String) -> Void) {
        self.write = write
    }

    /// Standard error, one `write(2)` per line so concurrent records do not interleave.
    public static let standardError = LogSink { line in
        var bytes = Array(line.utf8)
        bytes.append(UInt8(ascii: "\n"))
        writeAll(bytes, to: 2)
    }
}

/// `write(2)` until done; a failing stderr has nowhere left to report to.
private func writeAll(_ bytes: [UInt8], to descriptor: Int32) {
    bytes.withUnsafeBytes { buffer in
        guard let base = buffer.baseAddress else { return }
        var offset = 0
        while offset < buffer.count {
            let written = write(descriptor, base + offset, buffer.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                return
            }
            offset += written
        }
    }
}

/// The node's log line formats.
public enum LogFormat: String, Sendable, CaseIterable {
    /// `ts=… level=info msg="runtime started" runtime.id=… label=…`
    case logfmt
    /// One JSON object per line.
    case json
}

/// The process-wide logging setup.
public enum NodeLogging {
    private static let bootstrapped = Mutex(false)

    /// Routes every `Logger` in the process to `format` handlers on standard error at `level`.
    ///
    /// `LoggingSystem` can be bootstrapped once per process: the first call wins and later
    /// calls do nothing.
    public static func bootstrap(format: LogFormat, level: Logger.Level) {
        let first = bootstrapped.withLock { done in
            defer { done = true }
            return !done
        }
        guard first else { return }
        LoggingSystem.bootstrap { label in
            var handler = makeHandler(format: format, label: label, sink: .standardError)
            handler.logLevel = level
            return handler
        }
    }

    /// A handler of `format`; `LoggingSystem.bootstrap` factories and tests use it.
    public static func makeHandler(
        format: LogFormat, label: String, sink: LogSink, metadataProvider: Logger.MetadataProvider? = nil
    ) -> any LogHandler {
        switch format {
        case .logfmt: LogfmtLogHandler(label: label, sink: sink, metadataProvider: metadataProvider)
        case .json: JSONLogHandler(label: label, sink: sink, metadataProvider: metadataProvider)
        }
    }
}
