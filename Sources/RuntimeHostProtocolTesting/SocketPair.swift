#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A connected pair of Unix stream sockets.
public enum SocketPair {
    /// Two connected descriptors; the caller owns both.
    public static func make() throws -> (CInt, CInt) {
        var fds: [CInt] = [-1, -1]
        #if canImport(Glibc)
        let type = CInt(SOCK_STREAM.rawValue)
        #else
        let type = SOCK_STREAM
        #endif
        guard socketpair(AF_UNIX, type, 0, &fds) == 0 else { throw SystemCallFailed(call: "socketpair", errno: errno) }
        return (fds[0], fds[1])
    }
}

/// A system call failed.
public struct SystemCallFailed: Error, Hashable, Sendable, CustomStringConvertible {
    /// The call that failed.
    public let call: String
    /// Its errno.
    public let errno: CInt
    public var description: String { "\(call) failed: \(String(cString: strerror(errno))) (errno \(errno))" }
}
