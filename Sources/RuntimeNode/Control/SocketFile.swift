#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The few file-system facts about a Unix socket path that NIO does not give us.
enum SocketFile {
    /// Longest path that fits in `sockaddr_un.sun_path` with its terminating NUL.
    static let maxPathLength: Int = MemoryLayout.size(ofValue: sockaddr_un().sun_path) - 1

    /// What is at a path.
    enum Entry: Equatable {
        case missing
        /// A socket, with its identity so cleanup removes only the file it created.
        case socket(device: UInt64, inode: UInt64)
        case other
    }

    static func entry(at path: String) -> Entry {
        var info = stat()
        guard lstat(path, &info) == 0 else { return .missing }
        guard (info.st_mode & S_IFMT) == S_IFSOCK else { return .other }
        return .socket(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
    }

    static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// The directory part of `path` (`.` when it has none).
    static func parentDirectory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// `chmod`; the error is `strerror` of `errno`.
    static func restrictToOwner(_ path: String) -> String? {
        chmod(path, 0o600) == 0 ? nil : errorText(errno)
    }

    /// Removes `path` if it still is the socket `expected` (another node may have replaced it).
    static func remove(_ path: String, ifStill expected: Entry) {
        if entry(at: path) == expected {
            unlink(path)
        }
    }

    static func unlinkStale(_ path: String) -> String? {
        unlink(path) == 0 || errno == ENOENT ? nil : errorText(errno)
    }

    static func errorText(_ code: Int32) -> String {
        String(cString: strerror(code))
    }
}
