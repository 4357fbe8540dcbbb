#if canImport(Glibc)
internal import Glibc
#elseif canImport(Musl)
internal import Musl
#elseif canImport(Darwin)
internal import Darwin
#endif
public import OasisCommon

/// `ParseRuntimeMap`: parses `<hex-id>[:<value>]` items into a map. Each item is split at its
/// first `:` only; a missing value is `""`; a repeated id keeps the last value; the first
/// malformed id fails the whole call with `malformed runtime map item: <item>`.
public func parseRuntimeMap(_ items: [String]) throws(RegistryError) -> [Namespace: String] {
    var map: [Namespace: String] = [:]
    for item in items {
        let idPart: Substring
        let value: Substring
        if let colon = item.firstIndex(of: ":") {
            idPart = item[..<colon]
            value = item[item.index(after: colon)...]
        } else {
            idPart = item[...]
            value = ""
        }
        guard let id = try? Namespace(hex: String(idPart)) else {
            throw .malformedRuntimeMapItem(item)
        }
        map[id] = String(value)
    }
    return map
}

/// `<dataDir>/runtimes/<64 lowercase hex>`; a pure function.
public func runtimeStateDir(dataDir: String, runtimeID: Namespace) -> String {
    joinPath(joinPath(dataDir, runtimesDir), runtimeID.description)
}

/// Creates the runtime's state directory (mode 0700, parents as needed) or checks the
/// existing one, and returns its path (`EnsureRuntimeStateDir` + `common.Mkdir`).
///
/// An existing path must be a directory (symbolic links are not followed), have exactly mode
/// 0700 and belong to the effective user; each failure says which and how to fix it.
public func ensureRuntimeStateDir(dataDir: String, runtimeID: Namespace) throws(DirectoryError) -> String {
    let path = runtimeStateDir(dataDir: dataDir, runtimeID: runtimeID)
    try makePrivateDirectory(path)
    return path
}

/// Why a private directory could not be used (`common.Mkdir`).
public enum DirectoryError: Error, Sendable, Hashable, CustomStringConvertible {
    case notADirectory(path: String)
    case invalidPermissions(path: String, mode: UInt32)
    case invalidOwner(path: String, uid: UInt32, expected: UInt32)
    case systemError(path: String, operation: String, errno: Int32)

    public var description: String {
        switch self {
        case .notADirectory(let p):
            "common/Mkdir: path '\(p)' is not a directory"
        case .invalidPermissions(let p, let mode):
            "common/Mkdir: path '\(p)' has invalid permissions: \(modeString(mode)). Expected permissions: "
                + "\(modeString(0o700)) (fix with: chmod 700 '\(p)')"
        case .invalidOwner(let p, let uid, let expected):
            "common/Mkdir: path '\(p)' has invalid owner: \(uid). Expected owner: \(expected) "
                + "(fix with: chown \(expected) '\(p)')"
        case .systemError(let p, let operation, let code):
            "common/Mkdir: \(operation) '\(p)': \(String(cString: strerror(code)))"
        }
    }
}

/// `common.Mkdir`: create with 0700 (and missing parents), or verify an existing directory.
func makePrivateDirectory(_ path: String) throws(DirectoryError) {
    var info = stat()
    if lstat(path, &info) != 0 {
        let code = errno
        guard code == ENOENT else { throw .systemError(path: path, operation: "lstat", errno: code) }
        try createDirectories(path)
        return
    }
    guard info.st_mode & S_IFMT == S_IFDIR else { throw .notADirectory(path: path) }
    let permissions = UInt32(info.st_mode) & 0o777
    guard permissions == 0o700 else { throw .invalidPermissions(path: path, mode: permissions) }
    guard info.st_uid == geteuid() else {
        throw .invalidOwner(path: path, uid: UInt32(info.st_uid), expected: UInt32(geteuid()))
    }
}

private func createDirectories(_ path: String) throws(DirectoryError) {
    var prefix = path.hasPrefix("/") ? "/" : ""
    for component in path.split(separator: "/") {
        prefix += component
        if mkdir(prefix, 0o700) != 0 {
            let code = errno
            guard code == EEXIST else { throw .systemError(path: prefix, operation: "mkdir", errno: code) }
        }
        prefix += "/"
    }
    // The leaf gets exactly 0700 whatever the umask.
    if chmod(path, 0o700) != 0 {
        throw .systemError(path: path, operation: "chmod", errno: errno)
    }
}

/// Go's `os.FileMode.String()` of the permission bits alone (`fm.Perm()`, as `common.Mkdir`
/// prints them): no type letter, so `-rwx------`.
private func modeString(_ mode: UInt32) -> String {
    let letters = Array("rwxrwxrwx")
    var out = "-"
    for bit in 0..<9 {
        out.append(mode & (1 << (8 - UInt32(bit))) != 0 ? letters[bit] : "-")
    }
    return out
}

func joinPath(_ a: String, _ b: String) -> String {
    if a.isEmpty { return b }
    return a.hasSuffix("/") ? a + b : a + "/" + b
}
