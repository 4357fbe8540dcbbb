import Foundation
import ProcessTesting

/// Runs a Python helper next to the tests and returns its standard output.
enum PythonPeer {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static func scriptURL(_ name: String, file: String = #filePath) -> URL {
        URL(fileURLWithPath: file).deletingLastPathComponent().appendingPathComponent("peers/\(name)")
    }

    static func run(_ script: String, _ arguments: [String], input: String = "") async throws -> String {
        let (termination, output, errors) = try await ChildProcess.run(
            executable: "python3", arguments: [scriptURL(script).path] + arguments, input: Array(input.utf8))
        guard termination.succeeded else {
            throw Failure(description: "python3 \(script) failed (\(termination)): "
                + String(decoding: errors, as: UTF8.self)
                + " — is cbor2 installed? (pip install cbor2; scripts/setup does it)")
        }
        return String(decoding: output, as: UTF8.self)
    }
}
