import Foundation
import GRDB
import OasisCommon
import RuntimeLocalStorage
import Testing

@Suite("Local storage")
struct LocalStorageTests {
    let id = Namespace.test(seed: "local storage ns")

    func open(_ dir: String, _ id: Namespace? = nil) throws -> RuntimeLocalStorage {
        try RuntimeLocalStorage(directory: dir, runtimeID: id ?? self.id, logger: quietLogger)
    }

    @Test("95: an empty key fails on get and set with v21.1's message")
    func emptyKey() async throws {
        try await withTemporaryDirectory { dir in
            let storage = try open(dir)
            defer { storage.close() }
            await expectError("invalid local storage key") { _ = try await storage.get([]) }
            await expectError("invalid local storage key") { try await storage.set([], [1]) }
        }
    }

    @Test("96: a missing key reads as an empty value")
    func missingKey() async throws {
        try await withTemporaryDirectory { dir in
            let storage = try open(dir)
            defer { storage.close() }
            #expect(try await storage.get(Array("missing".utf8)) == [])
        }
    }

    @Test("97: set then get returns the value; setting an empty value reads back empty")
    func setGet() async throws {
        try await withTemporaryDirectory { dir in
            let storage = try open(dir)
            defer { storage.close() }
            let key = Array("k".utf8)
            try await storage.set(key, Array("v".utf8))
            #expect(try await storage.get(key) == Array("v".utf8))
            try await storage.set(key, [])
            #expect(try await storage.get(key) == [])
        }
    }

    @Test("values up to 16 MiB round-trip and survive a reopen; larger ones are refused")
    func largeValues() async throws {
        try await withTemporaryDirectory { dir in
            var storage = try open(dir)
            let big = (0..<RuntimeLocalStorage.maxValueSize).map { UInt8(truncatingIfNeeded: $0 &* 31) }
            try await storage.set([1], big)
            await expectError(prefix: "runtime/localstorage: value of 16777217 bytes is above the limit") {
                try await storage.set([2], big + [0])
            }
            storage.close()
            storage = try open(dir)
            defer { storage.close() }
            #expect(try await storage.get([1]) == big)
            #expect(try await storage.get([2]) == [])
        }
    }

    @Test("keys are stored exactly as given, binary included")
    func binaryKeys() async throws {
        try await withTemporaryDirectory { dir in
            let storage = try open(dir)
            defer { storage.close() }
            try await storage.set([0], [1])
            try await storage.set([0, 0], [2])
            #expect(try await storage.get([0]) == [1])
            #expect(try await storage.get([0, 0]) == [2])
        }
    }

    @Test("the file lives in local-storage.sqlite and refuses another runtime")
    func runtimeStamp() async throws {
        try await withTemporaryDirectory { dir in
            try open(dir).close()
            #expect(FileManager.default.fileExists(atPath: dir + "/local-storage.sqlite"))
            let other = Namespace.test(seed: "another runtime")
            await expectError(prefix: "runtime/localstorage: database for different runtime (expected: \(other) got: \(id))") {
                _ = try open(dir, other)
            }
        }
    }

    @Test("a history file is refused as local storage")
    func wrongStore() async throws {
        try await withTemporaryDirectory { dir in
            try openHistory(dir, id).close()
            for suffix in ["", "-wal", "-shm"] where FileManager.default.fileExists(atPath: dir + "/history.sqlite" + suffix) {
                try FileManager.default.moveItem(
                    atPath: dir + "/history.sqlite" + suffix, toPath: dir + "/local-storage.sqlite" + suffix)
            }
            await expectError(prefix: "runtime/localstorage: \(dir)/local-storage.sqlite holds a history store") {
                _ = try open(dir)
            }
        }
    }
}
