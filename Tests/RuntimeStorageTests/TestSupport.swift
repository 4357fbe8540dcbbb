import ConsensusAPI
import Foundation
import OasisCommon
import RuntimeStorage

/// SplitMix64: a tiny generator whose sequence depends only on the seed, so a failing
/// property test reproduces from the seed it prints.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// The straightforward model the trees are checked against: a dictionary.
struct DictionaryModel {
    var entries: [[UInt8]: [UInt8]] = [:]

    mutating func apply(_ log: WriteLog) {
        for entry in log {
            entries[entry.key] = entry.value.isEmpty ? nil : entry.value
        }
    }

    var sorted: [WriteLogEntry] {
        entries.sorted { $0.key.lexicographicallyPrecedes($1.key) }.map { WriteLogEntry(key: $0.key, value: $0.value) }
    }

    func iterate(from start: [UInt8], count: Int) -> [WriteLogEntry] {
        Array(sorted.filter { !$0.key.lexicographicallyPrecedes(start) }.prefix(count))
    }

    func prefixes(_ prefixes: [[UInt8]], limit: Int) -> [WriteLogEntry] {
        var out: [WriteLogEntry] = []
        let all = sorted
        for prefix in prefixes {
            for entry in all where entry.key.starts(with: prefix) {
                if limit > 0 && out.count >= limit { return out }
                out.append(entry)
            }
        }
        return out
    }

    /// Sets for added or changed keys and empty values for removed keys, in key order.
    func diff(to other: DictionaryModel) -> WriteLog {
        let keys = Set(entries.keys).union(other.entries.keys).sorted { $0.lexicographicallyPrecedes($1) }
        return keys.compactMap { key in
            switch (entries[key], other.entries[key]) {
            case (let a, let b) where a == b: nil
            case (_, let b?): WriteLogEntry(key: key, value: b)
            case (_, nil): WriteLogEntry(key: key, value: [])
            }
        }
    }
}

/// Random keys drawn from a small alphabet and short lengths, so that keys often share
/// prefixes, extend each other, and get overwritten and deleted.
struct RandomWrites {
    var generator: SeededGenerator

    init(seed: UInt64) {
        generator = SeededGenerator(seed: seed)
    }

    mutating func key() -> [UInt8] {
        let length = Int.random(in: 0...4, using: &generator)
        let alphabet: [UInt8] = [0x00, 0x01, 0x61, 0x62, 0x80, 0xff]
        return (0..<length).map { _ in alphabet.randomElement(using: &generator)! }
    }

    mutating func value() -> [UInt8] {
        (0..<Int.random(in: 1...6, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }

    /// About a third deletes (empty values), the rest sets.
    mutating func writeLog(maxCount: Int) -> WriteLog {
        (0..<Int.random(in: 0...maxCount, using: &generator)).map { _ in
            WriteLogEntry(key: key(), value: Int.random(in: 0..<3, using: &generator) == 0 ? [] : value())
        }
    }

    mutating func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &generator) }
}

/// A fresh directory under the system's temporary directory.
func temporaryDirectory() throws -> String {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("storage-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url.path
}

func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

let runtimeA = Namespace.test(seed: "storage test runtime A")
let runtimeB = Namespace.test(seed: "storage test runtime B")
