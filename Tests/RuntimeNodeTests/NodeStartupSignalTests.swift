import Foundation
import ProcessTesting
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension NodeProcessSuites {
/// Signals while `runtime-node` is still opening.
@Suite("runtime-node signalled while starting", .timeLimit(.minutes(3)))
struct NodeStartupSignalTests {
    @Test("a second SIGTERM while the node cannot finish opening exits at once with 143")
    func secondSignalExits() async throws {
        let scratch = ScratchDirectory()
        defer { scratch.remove() }
        // A genesis path naming a pipe that nobody writes to: the node's opening waits on it.
        let genesis = scratch.path + "/genesis.pipe"
        #expect(mkfifo(genesis, 0o600) == 0)
        let configPath = scratch.path + "/config.yaml"
        try "datadir: \(scratch.path)/data\nmetrics:\n  address: \"\"\nconsensus:\n  backend: local\n  genesis: \(genesis)\n"
            .write(toFile: configPath, atomically: true, encoding: .utf8)
        let node = try NodeProcess(["run", "--config", configPath], in: scratch)
        defer { node.cleanUp() }
        // A non-blocking open for writing succeeds once the node has the pipe open for reading;
        // holding it open without writing keeps the node's read waiting.
        let writer = await eventually(.seconds(120)) { () -> Int32? in
            let descriptor = open(genesis, O_WRONLY | O_NONBLOCK | O_CLOEXEC)
            return descriptor >= 0 ? descriptor : nil
        }
        let descriptor = try #require(writer, "the node never opened its genesis")
        defer { close(descriptor) }

        // The first signal is kept for when the node runs, which it never does here; a later
        // one ends the process. The kernel merges a signal sent while the same one is still
        // pending, so keep sending until the process ends.
        let status = await eventually(.seconds(120), poll: .milliseconds(200)) { () -> ChildProcess.Termination? in
            if let ended = node.child.termination { return ended }
            node.signal(SIGTERM)
            return nil
        }
        #expect(status == .exited(143), "stderr: \(node.stderr)")
        #expect(node.stderr.contains("runtime-node: SIGTERM again while the node was starting: exiting now"))
    }
}
}
