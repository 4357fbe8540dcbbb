import Foundation
import RuntimeRegistry
import Testing

/// spec/core.md §10, cases 19–28.
@Suite("Runtime map and state directories")
struct RuntimeDirectoryTests {
    let id = "8000000000000000000000000000000000000000000000000000000000000000"

    func temporaryDirectory() throws -> String {
        let path = NSTemporaryDirectory() + "rr-dirs-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test("an empty list gives an empty map (19)")
    func emptyMap() throws {
        #expect(try parseRuntimeMap([]).isEmpty)
    }

    @Test("an id alone maps to the empty value (20)")
    func idAlone() throws {
        #expect(try parseRuntimeMap([id]) == [try Namespace(hex: id): ""])
        #expect(try parseRuntimeMap([id + ":"]) == [try Namespace(hex: id): ""])
    }

    @Test("the value keeps everything after the first colon (21)")
    func firstColon() throws {
        #expect(try parseRuntimeMap([id + ":a:b"])[try Namespace(hex: id)] == "a:b")
    }

    @Test("a repeated id keeps the last value (22)")
    func lastWins() throws {
        #expect(try parseRuntimeMap([id + ":x", id + ":y"]) == [try Namespace(hex: id): "y"])
    }

    @Test("a short id fails with the whole item in the message (23)")
    func shortID() {
        let item = String(repeating: "0", count: 62) + ":foo"
        #expect(throws: RegistryError.malformedRuntimeMapItem(item)) { try parseRuntimeMap([item]) }
        #expect("\(RegistryError.malformedRuntimeMapItem(item))" == "malformed runtime map item: \(item)")
    }

    @Test("reserved flag bits fail the item (24)")
    func reservedBits() {
        let item = "2000000000000000" + String(repeating: "0", count: 48)
        #expect(throws: RegistryError.malformedRuntimeMapItem(item)) { try parseRuntimeMap([item, id]) }
    }

    @Test("the state directory is <data>/runtimes/<hex> (25)")
    func stateDirPath() throws {
        let ns = try Namespace(hex: id)
        #expect(runtimeStateDir(dataDir: "/data", runtimeID: ns) == "/data/runtimes/" + id)
    }

    @Test("ensuring a fresh state directory creates it with mode 0700 (26)")
    func createsPrivate() throws {
        let data = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: data) }
        let ns = try Namespace(hex: id)
        let path = try ensureRuntimeStateDir(dataDir: data, runtimeID: ns)
        #expect(path == data + "/runtimes/" + id)
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? NSNumber)?.uint16Value == 0o700)
        #expect(try ensureRuntimeStateDir(dataDir: data, runtimeID: ns) == path)  // idempotent
    }

    @Test("an existing state directory with mode 0755 is refused (27)")
    func wrongPermissions() throws {
        let data = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: data) }
        let path = data + "/runtimes/" + id
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o755])
        let error = try #require(throws: DirectoryError.self) {
            try ensureRuntimeStateDir(dataDir: data, runtimeID: try Namespace(hex: id))
        }
        #expect(error.description.contains("has invalid permissions"))
        #expect(error.description.contains("chmod 700"))
        // Go prints `fm.Perm()`: the permission bits without the directory letter.
        #expect(error.description.hasPrefix(
            "common/Mkdir: path '\(path)' has invalid permissions: -rwxr-xr-x. Expected permissions: -rwx------"))
    }

    @Test("a regular file in place of the state directory is refused (28)")
    func notADirectory() throws {
        let data = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: data) }
        try FileManager.default.createDirectory(atPath: data + "/runtimes", withIntermediateDirectories: true)
        let path = data + "/runtimes/" + id
        #expect(FileManager.default.createFile(atPath: path, contents: Data()))
        let error = try #require(throws: DirectoryError.self) {
            try ensureRuntimeStateDir(dataDir: data, runtimeID: try Namespace(hex: id))
        }
        #expect(error.description == "common/Mkdir: path '\(path)' is not a directory")
    }
}
