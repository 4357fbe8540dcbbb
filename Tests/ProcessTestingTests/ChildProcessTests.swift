import Foundation
import ProcessTesting
import Testing

@Suite("ChildProcess", .timeLimit(.minutes(2)))
struct ChildProcessTests {
    @Test("run feeds the input and collects standard output, standard error and the exit code")
    func runCollects() async throws {
        let (termination, output, error) = try await ChildProcess.run(
            executable: "/bin/sh", arguments: ["-c", "cat; echo oops >&2; exit 3"], input: Array("hello".utf8))
        #expect(termination == .exited(3))
        #expect(!termination.succeeded)
        #expect(String(decoding: output, as: UTF8.self) == "hello")
        #expect(String(decoding: error, as: UTF8.self) == "oops\n")
    }

    @Test("run moves more than a pipe holds in both directions at once without blocking")
    func runLargeBothWays() async throws {
        // 4 MiB in, the same 4 MiB out on stdout and again on stderr: with pipes of 64 KiB,
        // this finishes only if input, output and error are handled at the same time.
        let input = (0..<(4 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let (termination, output, error) = try await ChildProcess.run(
            executable: "/bin/sh", arguments: ["-c", "tee /dev/stderr"], input: input)
        #expect(termination == .exited(0))
        #expect(output == input)
        #expect(error == input)
    }

    @Test("many children at once each get their own input back and their own exit code")
    func manyAtOnce() async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<32 {
                group.addTask {
                    let (termination, output, _) = try await ChildProcess.run(
                        executable: "/bin/sh", arguments: ["-c", "cat; exit \(index % 5)"],
                        input: Array("child \(index)".utf8))
                    #expect(termination == .exited(Int32(index % 5)))
                    #expect(String(decoding: output, as: UTF8.self) == "child \(index)")
                }
            }
            try await group.waitForAll()
        }
    }

    @Test("the environment is exactly the one given, and a bare name is found in its PATH")
    func environmentAndPath() async throws {
        let (termination, output, _) = try await ChildProcess.run(
            executable: "sh", arguments: ["-c", "echo \"$GREETING:${HOME-unset}\""],
            environment: ["GREETING": "hi", "PATH": "/usr/bin:/bin"])
        #expect(termination == .exited(0))
        #expect(String(decoding: output, as: UTF8.self) == "hi:unset\n")
    }

    @Test("the child has exactly the three standard descriptors")
    func onlyStandardDescriptors() async throws {
        // A descriptor of this process without close-on-exec must not reach the child.
        let leaked = open("/dev/null", O_RDONLY)
        defer { close(leaked) }
        let (termination, output, _) = try await ChildProcess.run(
            // `ls` lists the shell's descriptors from a process of its own (the `:` keeps the
            // shell from replacing itself with `ls`), so its own directory handle is not seen.
            executable: "/bin/sh", arguments: ["-c", "ls /proc/$$/fd; :"])
        #expect(termination == .exited(0))
        let descriptors = String(decoding: output, as: UTF8.self).split(separator: "\n").compactMap { Int32($0) }
        #expect(descriptors.sorted() == [0, 1, 2], "leaked \(leaked)?")
    }

    @Test("a signal ends the child, and the termination says which")
    func signalEnds() async throws {
        let child = try ChildProcess.launch(executable: "/bin/sleep", arguments: ["600"])
        #expect(child.termination == nil)
        child.signal(SIGTERM)
        #expect(await child.exitStatus() == .signaled(SIGTERM))
        #expect(child.termination == .signaled(SIGTERM))
        // Signalling an ended child does nothing, and waiting again answers at once.
        child.signal(SIGKILL)
        #expect(child.waitUntilExit() == .signaled(SIGTERM))
    }

    @Test("output can go to a file, and is read in chunks from a pipe")
    func fileAndChunks() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("child-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let child = try ChildProcess.launch(
            executable: "/bin/sh", arguments: ["-c", "echo to-file; echo to-pipe >&2"],
            standardOutput: .file(path), standardError: .pipe)
        let piped = try await onOwnThread { child.readToEnd(.standardError) }
        #expect(await child.exitStatus() == .exited(0))
        #expect(String(decoding: piped, as: UTF8.self) == "to-pipe\n")
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "to-file\n")
        // Nothing to read from a stream that is not a pipe.
        #expect(child.readOutput(.standardOutput).isEmpty)
    }

    @Test("a missing executable fails to launch with a message that names it")
    func missingExecutable() throws {
        #expect {
            _ = try ChildProcess.launch(executable: "/nonexistent/runtime")
        } throws: { error in
            let failure = error as? ChildProcess.LaunchFailed
            return failure?.errno == ENOENT && "\(error)".contains("/nonexistent/runtime")
        }
        #expect(throws: ChildProcess.LaunchFailed.self) {
            _ = try ChildProcess.launch(executable: "no-such-program-here", environment: ["PATH": "/usr/bin"])
        }
    }
}
