import Glibc
import Synchronization

/// Checks, once per bubblewrap binary, that sandboxed runtimes can start on this host.
///
/// oasis-core v21.1 starts bubblewrap and lets the runtime fail in ways that are hard to read
/// (a missing binary, user namespaces disabled by the distribution, seccomp unavailable). The
/// preflight runs a trivial sandbox with everything a runtime sandbox uses (user namespace,
/// `--unshare-all`, the seccomp filter, library binds) and turns a failure into one sentence
/// that says what is missing and how to fix it.
///
/// The result is cached per binary path, success and failure alike, for the life of the node
/// process: the host does not change under a running node, and a failed preflight should fail
/// every start the same way rather than flap. Two failures are not cached, as they may say
/// nothing lasting about the host: a check that ran out of time (the host was slow) and a
/// bubblewrap that could not be spawned (out of processes, descriptors or memory, as well as a
/// broken binary, which fails the next check the same way). Cached, one bad moment kept
/// sandboxed runtimes from starting until the node restarted; the next start checks again.
/// Two first starts racing may both run the check.
/// No process outlives a check: the trivial sandbox is killed if it runs past its timeout.
public enum SandboxPreflight {
    private static let results = Mutex<[String: RuntimeProcessError?]>([:])

    /// The binary the trivial sandbox runs, first of these that exists.
    static let trivialBinaries = ["/usr/bin/true", "/bin/true"]

    /// What to suggest when the sandbox cannot work here.
    static let unconfinedHint = "or run with --runtime.provisioner unconfined --debug.dont_blame_oasis"

    /// Throws the preflight's error if sandboxed runtimes cannot start with `options`; runs the
    /// check on the first call for its bubblewrap path.
    public static func check(_ options: SandboxOptions) async throws(RuntimeProcessError) {
        let path = options.bubblewrapPath
        if let cached = results.withLock({ $0[path] }) {
            if let error = cached { throw error }
            return
        }
        let (outcome, lasting) = await run(options)
        if Task.isCancelled, outcome != nil {
            // A cancelled check says nothing about the host: do not cache it.
            throw RuntimeProcessError(.preflightFailed, "sandbox preflight failed: the check was cancelled")
        }
        if lasting { results.withLock { $0[path] = .some(outcome) } }
        if let outcome { throw outcome }
    }

    /// Runs the check; a nil error means the sandbox works. `lasting` is false for the failures
    /// that may say nothing lasting about the host (see the type's comment).
    static func run(_ options: SandboxOptions) async -> (error: RuntimeProcessError?, lasting: Bool) {
        let path = options.bubblewrapPath
        func failed(_ reason: String, lasting: Bool = true) -> (RuntimeProcessError?, Bool) {
            (RuntimeProcessError(.preflightFailed, "sandbox preflight failed: \(reason)"), lasting)
        }
        var info = stat()
        guard stat(path, &info) == 0 else {
            return failed("\(path) not found (apt-get install bubblewrap, \(unconfinedHint))")
        }
        guard (info.st_mode & S_IFMT) == S_IFREG, access(path, X_OK) == 0 else {
            return failed("\(path) is not an executable file (apt-get install bubblewrap, \(unconfinedHint))")
        }
        guard let trivial = trivialBinaries.first(where: { access($0, X_OK) == 0 }) else {
            let candidates = trivialBinaries.joined(separator: " or ")
            return failed("no \(candidates) to run a test sandbox with (apt-get install coreutils)")
        }

        let process: RuntimeProcess
        do {
            process = try RuntimeProcess.spawnSandboxed(
                RuntimeProcessConfiguration(executablePath: trivial, isolation: .sandboxed(options)), sandbox: options)
        } catch {
            return failed("\(path) could not be started (\(error.message); \(unconfinedHint))", lasting: false)
        }

        let status = await withDeadline(options.preflightTimeout) { try? await process.waitForExit() }
        guard let status else {
            await process.kill()
            return failed(
                "\(path) did not finish a trivial sandbox within \(options.preflightTimeout) (\(unconfinedHint))",
                lasting: false)
        }
        if status.isSuccess { return (nil, true) }
        let stderr = process.stderrLines.reader.availableLines(limit: 3).joined(separator: " / ")
        let detail = stderr.isEmpty ? status.description : "\(status.description): \(stderr)"
        return failed(
            "\(path) could not run a sandbox with user namespaces and a seccomp filter (\(detail)); "
                + "allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1), "
                + unconfinedHint)
    }

    /// Forgets every cached result (for tests that change the host under a running process).
    public static func resetCache() {
        results.withLock { $0.removeAll() }
    }
}
