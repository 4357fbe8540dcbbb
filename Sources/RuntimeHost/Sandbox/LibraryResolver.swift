import Glibc
import Synchronization

/// The shared objects a dynamically linked executable needs, found on the host the way the
/// dynamic loader would find them, so they can be bound into an otherwise empty sandbox.
struct ResolvedLibraries: Sendable, Equatable {
    /// One library: the name the loader asks for (`DT_NEEDED`) and the real file on the host.
    struct Library: Sendable, Equatable {
        var name: String
        var hostPath: String
    }

    /// The loader (`PT_INTERP`) as the executable names it, and its real file on the host.
    var interpreter: (path: String, hostPath: String)?
    /// Every library needed directly or indirectly, each name once, in discovery order.
    var libraries: [Library]

    static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.interpreter?.path == rhs.interpreter?.path && lhs.interpreter?.hostPath == rhs.interpreter?.hostPath
            && lhs.libraries == rhs.libraries
    }
}

/// Resolves `DT_NEEDED` names like glibc's loader: `DT_RPATH` (when there is no `DT_RUNPATH`),
/// `LD_LIBRARY_PATH`, `DT_RUNPATH`, the directories of `/etc/ld.so.conf`, then the default
/// directories, expanding `$ORIGIN`. A candidate must be an ELF file of the executable's class
/// and machine, as the loader skips others.
///
/// Why not `ldd`: it runs the binary's loader on the host, which would execute untrusted code
/// outside the sandbox for a malicious binary.
struct LibraryResolver: Sendable {
    /// `LD_LIBRARY_PATH` entries.
    var libraryPath: [String]
    /// The directories of the loader cache configuration, in order.
    var configuredDirectories: [String]

    /// A resolver configured from this host: the node's `LD_LIBRARY_PATH` and `/etc/ld.so.conf`.
    static func host() -> LibraryResolver {
        let libraryPath = getenv("LD_LIBRARY_PATH").map { String(cString: $0) } ?? ""
        return LibraryResolver(
            libraryPath: libraryPath.split(separator: ":").map(String.init),
            configuredDirectories: Self.loaderConfiguration(path: "/etc/ld.so.conf", depth: 0))
    }

    /// Why resolution failed.
    struct Failure: Error, Equatable, CustomStringConvertible {
        var message: String
        var description: String { message }
    }

    /// Resolves `executable` with the host's configuration, reusing an earlier answer while
    /// the executable is the same file (device, inode, size, modification time) and every
    /// library and loader it names still exists. Resolution reads a few dozen ELF headers and
    /// the loader configuration, a noticeable part of a sandboxed start.
    static func resolveForSandbox(executable: String) throws(Failure) -> ResolvedLibraries {
        guard let identity = FileIdentity(path: executable) else {
            return try host().resolve(executable: executable)  // fails, naming the problem
        }
        if let cached = cachedResolution(executable: executable, identity: identity) { return cached }
        let resolved = try host().resolve(executable: executable)
        cache.withLock { $0[executable] = (identity, resolved) }
        return resolved
    }

    /// The cached resolution of `executable`, if it is still valid.
    static func cachedResolution(executable: String, identity: FileIdentity?) -> ResolvedLibraries? {
        guard let identity, let (cachedIdentity, resolved) = cache.withLock({ $0[executable] }),
            cachedIdentity == identity
        else { return nil }
        let paths = resolved.libraries.map(\.hostPath) + (resolved.interpreter.map { [$0.hostPath] } ?? [])
        return paths.allSatisfy { access($0, F_OK) == 0 } ? resolved : nil
    }

    private static let cache = Mutex<[String: (FileIdentity, ResolvedLibraries)]>([:])

    /// Which file a path names, and which version of it.
    struct FileIdentity: Hashable, Sendable {
        var device: UInt64
        var inode: UInt64
        var size: Int64
        var modified: Int64
        var modifiedNanoseconds: Int64

        init?(path: String) {
            var info = stat()
            guard stat(path, &info) == 0 else { return nil }
            device = UInt64(info.st_dev)
            inode = UInt64(info.st_ino)
            size = Int64(info.st_size)
            modified = Int64(info.st_mtim.tv_sec)
            modifiedNanoseconds = Int64(info.st_mtim.tv_nsec)
        }
    }

    /// Resolves every library `executable` needs, transitively.
    func resolve(executable: String) throws(Failure) -> ResolvedLibraries {
        let main: ELFFile
        do { main = try ELFFile.read(path: executable) } catch { throw Failure(message: error.message) }
        var result = ResolvedLibraries(interpreter: nil, libraries: [])
        if let interpreter = main.interpreter {
            guard let real = Self.realPath(interpreter) else {
                throw Failure(message: "interpreter \(interpreter) of \(executable) not found")
            }
            result.interpreter = (interpreter, real)
        }
        var seen = Set<String>()
        // Objects still to scan: (the path it was found at, its ELF data).
        var queue: [(path: String, file: ELFFile)] = [(executable, main)]
        while !queue.isEmpty {
            let (objectPath, object) = queue.removeFirst()
            for name in object.needed where seen.insert(name).inserted {
                guard let found = find(name, neededBy: (objectPath, object), executable: (executable, main)) else {
                    throw Failure(message: "\(name) needed by \(objectPath) not found")
                }
                guard let real = Self.realPath(found.path) else {
                    throw Failure(message: "\(found.path) could not be resolved")
                }
                result.libraries.append(.init(name: name, hostPath: real))
                queue.append(found)
            }
        }
        return result
    }

    /// Finds one needed library for `object`.
    private func find(
        _ name: String, neededBy object: (path: String, file: ELFFile), executable: (path: String, file: ELFFile)
    ) -> (path: String, file: ELFFile)? {
        if name.contains("/") {
            return Self.candidate(name, like: executable.file)
        }
        var directories: [String] = []
        if object.file.runpath.isEmpty {
            directories += expand(object.file.rpath, origin: object.path)
            if object.path != executable.path, executable.file.runpath.isEmpty {
                directories += expand(executable.file.rpath, origin: executable.path)
            }
        }
        directories += libraryPath
        directories += expand(object.file.runpath, origin: object.path)
        directories += configuredDirectories
        directories += Self.defaultDirectories(machine: executable.file.machine, is64Bit: executable.file.is64Bit)
        for directory in directories where !directory.isEmpty {
            if let found = Self.candidate(directory + "/" + name, like: executable.file) { return found }
        }
        return nil
    }

    /// `$ORIGIN` (and `${ORIGIN}`) becomes the directory of the object that names the path.
    private func expand(_ entries: [String], origin objectPath: String) -> [String] {
        let origin = Self.directoryName(objectPath)
        return entries.map {
            $0.replacingOccurrences(of: "${ORIGIN}", with: origin).replacingOccurrences(of: "$ORIGIN", with: origin)
        }
    }

    /// The file at `path` if it is an ELF object the executable's loader would accept.
    private static func candidate(_ path: String, like executable: ELFFile) -> (path: String, file: ELFFile)? {
        guard let file = try? ELFFile.read(path: path) else { return nil }
        guard file.is64Bit == executable.is64Bit, file.machine == executable.machine else { return nil }
        return (path, file)
    }

    /// The loader's built-in directories (Debian multiarch first).
    static func defaultDirectories(machine: UInt16, is64Bit: Bool) -> [String] {
        let multiarch: String? =
            switch machine {
            case 62: "x86_64-linux-gnu"
            case 183: "aarch64-linux-gnu"
            case 3: "i386-linux-gnu"
            case 40: "arm-linux-gnueabihf"
            default: nil
            }
        var directories: [String] = []
        if let multiarch { directories += ["/lib/\(multiarch)", "/usr/lib/\(multiarch)"] }
        if is64Bit { directories += ["/lib64", "/usr/lib64"] }
        return directories + ["/lib", "/usr/lib"]
    }

    /// The directories listed in an ld.so.conf file, following `include` globs.
    static func loaderConfiguration(path: String, depth: Int) -> [String] {
        guard depth < 8, let text = readTextFile(path) else { return [] }
        var directories: [String] = []
        for rawLine in text.split(whereSeparator: \.isNewline) {
            let line = rawLine.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)[0]
                .trimmingCharacters(in: " \t")
            if line.isEmpty { continue }
            if line.hasPrefix("include") && (line.dropFirst(7).first == " " || line.dropFirst(7).first == "\t") {
                var pattern = line.dropFirst(7).trimmingCharacters(in: " \t")
                if !pattern.hasPrefix("/") { pattern = directoryName(path) + "/" + pattern }
                for included in glob(pattern) {
                    directories += loaderConfiguration(path: included, depth: depth + 1)
                }
            } else if line.hasPrefix("/") {
                directories.append(line)
            }
        }
        return directories
    }

    /// Paths matching a shell pattern, sorted.
    private static func glob(_ pattern: String) -> [String] {
        var matches = glob_t()
        defer { globfree(&matches) }
        guard Glibc.glob(pattern, 0, nil, &matches) == 0 else { return [] }
        return (0..<Int(matches.gl_pathc)).compactMap { matches.gl_pathv[$0].map { String(cString: $0) } }.sorted()
    }

    private static func readTextFile(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { closeDescriptor(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
            bytes += chunk[..<count]
            if bytes.count > 1 << 20 { break }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    static func directoryName(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}

extension StringProtocol {
    /// The string without leading and trailing characters from `set`.
    fileprivate func trimmingCharacters(in set: String) -> String {
        let characters = Set(set)
        return String(self.drop { characters.contains($0) }.reversed().drop { characters.contains($0) }.reversed())
    }

    /// Every occurrence of `target` replaced by `replacement`.
    fileprivate func replacingOccurrences(of target: String, with replacement: String) -> String {
        var result = ""
        var rest = Substring(self)
        while let range = rest.firstRange(of: target) {
            result += rest[..<range.lowerBound] + replacement
            rest = rest[range.upperBound...]
        }
        return result + rest
    }
}
