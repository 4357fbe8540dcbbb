// Fuzz target: the node's configuration loader, `NodeConfig.load(configFile:flags:)`: the YAML
// file and the command-line flags.
//
// Input: the bytes before the first NUL are the YAML file (written to /dev/shm for each input,
// since the loader reads a path; none at all when they are empty); after it, each line
// `KEY=VALUE` is one flag value (the same key may repeat). An empty file is not written because
// reading one leaks 4 KiB inside Foundation (Fuzz/lsan.supp), and every leaking input makes
// libFuzzer scan the heap, which made the target 50 times slower. Besides "no crash": a
// configuration that loads writes itself out with `yaml()` as a file that loads back to an
// equal configuration, as `yaml()` promises.
import Foundation
import FuzzSupport
import RuntimeNode

@main
enum FuzzConfigMain {
    static func main() {
        runLibFuzzer { data, size in data.map { fuzzConfig($0, size) } ?? 0 }
    }
}

/// One file per process, so parallel jobs (`-jobs`) do not read each other's input.
private let configPath = "/dev/shm/fuzz-config-\(ProcessInfo.processInfo.processIdentifier).yaml"

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfig(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = UnsafeBufferPointer(start: data, count: size)
    let split = input.firstIndex(of: 0) ?? input.endIndex
    var flags: [String: [String]] = [:]
    if split < input.endIndex {
        let text = String(decoding: input[(split + 1)...], as: UTF8.self)
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            let parts = line.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            flags[String(parts[0]), default: []].append(parts.count > 1 ? String(parts[1]) : "")
        }
    }
    let file = split > input.startIndex ? configPath : nil
    if let file, !FileManager.default.createFile(atPath: file, contents: Data(input[..<split])) {
        fatalError("cannot write \(file)")
    }
    guard let config = try? NodeConfig.load(configFile: file, flags: flags) else { return 0 }

    let written = config.yaml()
    guard FileManager.default.createFile(atPath: configPath, contents: Data(written.utf8)) else {
        fatalError("cannot write \(configPath)")
    }
    do {
        let reloaded = try NodeConfig.load(configFile: configPath, flags: [:])
        guard reloaded == config else {
            fatalError(
                "yaml() did not read back to the same configuration:\n\(written)\nloaded: \(reloaded)\nwas: \(config)")
        }
    } catch {
        fatalError("yaml() wrote a file that does not load: \(error)\n\(written)")
    }
    return 0
}
