import Glibc
import OasisCommon

/// The memory a runtime's processes use, read from `/proc`: the process the node started
/// (bubblewrap, when sandboxed) and everything below it.
public struct ProcessTreeMemory: Sendable, Hashable {
    /// Resident memory summed over the processes (`VmRSS`). Pages two of them share (their
    /// libraries, say) count once per process, so this is an upper bound.
    public var residentBytes: UInt64
    /// The largest `VmData` of one process: what `RLIMIT_DATA`, which each process has on its
    /// own, is checked against (``RuntimeProcessConfiguration/memoryLimit``).
    public var largestDataBytes: UInt64
    /// How many processes were read.
    public var processes: Int

    /// Reads the tree under `pid` (its threads' children, recursively). Nil when `pid` itself
    /// cannot be read (it has exited, or `/proc` is not mounted); a child that exits meanwhile
    /// is left out.
    public static func read(root pid: Int32) -> ProcessTreeMemory? {
        guard let root = figures(pid) else { return nil }
        var memory = ProcessTreeMemory(residentBytes: root.resident, largestDataBytes: root.data, processes: 1)
        var pending = children(of: pid)
        var seen: Set<Int32> = [pid]
        // A tree of more than this many processes is read in part, rather than without end.
        while let next = pending.popLast(), seen.count < 4_096 {
            guard seen.insert(next).inserted, let figures = figures(next) else { continue }
            memory.residentBytes += figures.resident
            memory.largestDataBytes = max(memory.largestDataBytes, figures.data)
            memory.processes += 1
            pending += children(of: next)
        }
        return memory
    }

    /// `VmRSS` and `VmData` of one process, in bytes.
    private static func figures(_ pid: Int32) -> (resident: UInt64, data: UInt64)? {
        guard let text = text("/proc/\(pid)/status") else { return nil }
        var resident: UInt64?
        var data: UInt64?
        for line in text.split(separator: "\n") {
            if line.hasPrefix("VmRSS:") { resident = kibibytes(line) }
            if line.hasPrefix("VmData:") { data = kibibytes(line) }
        }
        // A zombie has neither line.
        guard let resident, let data else { return nil }
        return (resident, data)
    }

    /// `VmRSS:\t   18500 kB` → 18,944,000.
    private static func kibibytes(_ line: Substring) -> UInt64? {
        let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard fields.count == 3, fields[2] == "kB", let value = UInt64(fields[1]) else { return nil }
        return value * 1024
    }

    /// The children of every thread of `pid`.
    private static func children(of pid: Int32) -> [Int32] {
        guard let tasks = opendir("/proc/\(pid)/task") else { return [] }
        defer { closedir(tasks) }
        var found: [Int32] = []
        while let entry = readdir(tasks) {
            // Read the name in place: a dirent is only as long as its name.
            let name = withUnsafePointer(to: &entry.pointee.d_name) {
                String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self))
            }
            guard Int32(name) != nil, let list = text("/proc/\(pid)/task/\(name)/children") else { continue }
            found += list.split(separator: " ").compactMap { Int32($0.trimmingPrefix(while: \.isWhitespace)) }
        }
        return found
    }

    private static func text(_ path: String) -> String? {
        guard let bytes = try? BoundedFile.read(path, limit: 64 << 10) else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }
}
