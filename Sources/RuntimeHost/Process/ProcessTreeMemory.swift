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
        for member in ProcessTree.members(root: pid).dropFirst() {
            guard let figures = figures(member) else { continue }
            memory.residentBytes += figures.resident
            memory.largestDataBytes = max(memory.largestDataBytes, figures.data)
            memory.processes += 1
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

}

/// A process and its descendants, from `/proc`.
public enum ProcessTree {
    /// `root` first, then every process below it (the children of each of its threads,
    /// recursively), parents before their children; at most 4,096, so that a runtime forking
    /// without end is read in part rather than for ever. A process that exits meanwhile may be
    /// missing or listed.
    public static func members(root: Int32) -> [Int32] {
        var found: [Int32] = [root]
        var seen: Set<Int32> = [root]
        var index = 0
        while index < found.count, found.count < 4_096 {
            for child in children(of: found[index]) where seen.insert(child).inserted { found.append(child) }
            index += 1
        }
        return found
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
}

private func text(_ path: String) -> String? {
    guard let bytes = try? BoundedFile.read(path, limit: 64 << 10) else { return nil }
    return String(decoding: bytes, as: UTF8.self)
}
