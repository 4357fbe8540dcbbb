#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Reading a small file given by the operator (a config file, a genesis document) with a bound:
/// a path that names a device or pipe that never ends (`/dev/zero`), or a file far larger than
/// any such document, is refused once the bound is passed instead of filling memory.
public enum BoundedFile {
    /// Why a file could not be read.
    public enum Failure: Error, Sendable, Hashable, CustomStringConvertible {
        /// `open` or `read` failed: the system's message (`No such file or directory`).
        case system(String)
        /// The path names a directory.
        case directory
        /// The file holds more than the bound (in bytes).
        case tooLarge(limit: Int)

        public var description: String {
            switch self {
            case .system(let message): message
            case .directory: "it is a directory"
            case .tooLarge(let limit): "it is larger than \(limit) bytes"
            }
        }
    }

    /// The bytes of the file at `path`, at most `limit` of them.
    ///
    /// Reads from the start until the end of the file, so that devices and pipes (`/dev/stdin`)
    /// work too.
    public static func read(_ path: String, limit: Int) throws(Failure) -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw .system(String(cString: strerror(errno))) }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw .system(String(cString: strerror(errno))) }
        guard info.st_mode & S_IFMT != S_IFDIR else { throw .directory }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { systemRead(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw .system(String(cString: strerror(errno)))
            }
            if count == 0 { return bytes }
            guard bytes.count + count <= limit else { throw .tooLarge(limit: limit) }
            bytes.append(contentsOf: chunk[0..<count])
        }
    }
}

/// The C `read`, which ``BoundedFile/read(_:limit:)`` hides inside the type.
private func systemRead(_ descriptor: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int {
    read(descriptor, buffer, count)
}
