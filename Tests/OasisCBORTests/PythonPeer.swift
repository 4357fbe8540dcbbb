import Foundation

/// Runs a Python helper next to the tests and returns its standard output.
enum PythonPeer {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static func scriptURL(_ name: String, file: String = #filePath) -> URL {
        URL(fileURLWithPath: file).deletingLastPathComponent().appendingPathComponent("peers/\(name)")
    }

    static func run(_ script: String, _ arguments: [String], input: String = "") async throws -> String {
        try await onOwnThread { try runBlocking(script, arguments, input: input) }
    }

    private static func runBlocking(_ script: String, _ arguments: [String], input: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", scriptURL(script).path] + arguments
        let stdin = Pipe()
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        // Feed and drain concurrently so neither side blocks on a full pipe.
        let writer = Thread {
            stdin.fileHandleForWriting.write(Data(input.utf8))
            try? stdin.fileHandleForWriting.close()
        }
        writer.start()
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        let errors = stderr.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure(description: "python3 \(script) failed (\(process.terminationStatus)): "
                + String(decoding: errors, as: UTF8.self)
                + " — is cbor2 installed? (pip install cbor2; scripts/setup does it)")
        }
        return String(decoding: output, as: UTF8.self)
    }
}

/// Runs `body`, which blocks (pipes, waiting for a process), on a thread of its own, so it
/// never holds one of the cooperative pool's few threads that every other test needs.
func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread {
            continuation.resume(with: Result { try body() })
        }
        thread.start()
    }
}
