import CSandbox
import Glibc

/// The sandbox's seccomp filter as raw BPF (built by `csb_seccomp_memfd`, see
/// docs/THREAT_MODEL.md). It never changes within a process, and libseccomp takes over a
/// millisecond to build it, so it is built once and copied into each sandbox's memfd.
enum SeccompProgram {
    /// The program's bytes, or why it could not be built.
    static let bytes: Result<[UInt8], Errno> = {
        let fd = csb_seccomp_memfd()
        guard fd >= 0 else { return .failure(Errno(-fd)) }
        defer { closeDescriptor(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { return .failure(Errno(errno)) }
        var program = [UInt8](repeating: 0, count: Int(info.st_size))
        let count = program.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard count == program.count else { return .failure(Errno(count < 0 ? errno : EIO)) }
        return .success(program)
    }()
}
