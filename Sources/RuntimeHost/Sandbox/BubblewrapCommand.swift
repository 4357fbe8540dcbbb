/// The bubblewrap invocation for a sandboxed runtime (oasis-core's `NewBubbleWrap`, host.md
/// §6.12): the short command line, and the options sent through `--args 3`.
///
/// Descriptors in the bubblewrap process: 3 carries the options, 4 the seccomp program, and 5
/// onwards one bind-data file each, in the order of their sorted sandbox paths. bubblewrap
/// closes each after reading it, so none of them reaches the runtime.
enum BubblewrapCommand {
    /// The descriptor bubblewrap reads its options from.
    static let argumentsDescriptor: Int32 = 3
    /// The descriptor bubblewrap reads the seccomp program from.
    static let seccompDescriptor: Int32 = 4
    /// The descriptor of the first bind-data file.
    static let firstDataDescriptor: Int32 = 5
    /// Where the runtime binary appears in the sandbox.
    static let entrypoint = "/entrypoint"

    /// `bwrap --args 3 -- /entrypoint <arguments…>`.
    static func commandLine(bubblewrapPath: String, arguments: [String]) -> [String] {
        [bubblewrapPath, "--args", String(argumentsDescriptor), "--", entrypoint] + arguments
    }

    /// The bind-data sandbox paths in descriptor order (5, 6, …).
    static func dataPaths(_ configuration: RuntimeProcessConfiguration) -> [String] {
        configuration.bindData.keys.sorted()
    }

    /// The options for the `--args` stream, in oasis-core's order; map-derived groups are
    /// sorted so the stream is reproducible.
    static func options(
        for configuration: RuntimeProcessConfiguration, sandbox: SandboxOptions, libraries: ResolvedLibraries
    ) -> [String] {
        var options = [
            "--unshare-all",
            "--cap-drop", "ALL",
            "--hostname", sandbox.hostname,
            "--tmpfs", "/tmp",
            "--dev", "/dev",
        ]
        if mountsProc(sandbox.proc, libraries: libraries) {
            options += ["--proc", "/proc"]
        }
        options += [
            "--die-with-parent",
            "--new-session",
            "--chdir", "/",
            "--ro-bind", configuration.executablePath, entrypoint,
        ]
        for (name, value) in configuration.childEnvironment() {
            options += ["--setenv", name, value]
        }
        var readWrite = configuration.readWriteBinds
        if let socket = configuration.hostSocketPath {
            readWrite[socket] = RuntimeProcessConfiguration.sandboxHostSocketPath
        }
        for (host, inside) in readWrite.sorted(by: { $0.value < $1.value }) {
            options += ["--dir", LibraryResolver.directoryName(inside), "--bind", host, inside]
        }
        for (host, inside) in configuration.readOnlyBinds.sorted(by: { $0.value < $1.value }) {
            options += ["--dir", LibraryResolver.directoryName(inside), "--ro-bind", host, inside]
        }
        // `--bind` mounts without device access; a device node needs `--dev-bind`.
        for (host, inside) in configuration.deviceBinds.sorted(by: { $0.value < $1.value }) {
            options += ["--dev-bind", host, inside]
        }
        if let interpreter = libraries.interpreter {
            options += ["--ro-bind", interpreter.hostPath, interpreterMountPath(interpreter.path)]
        }
        for library in libraries.libraries {
            options += ["--ro-bind", library.hostPath, libraryMountPath(library.name)]
        }
        options += ["--symlink", "/usr/lib", "/usr/lib64"]
        options += ["--seccomp", String(seccompDescriptor)]
        for (index, path) in dataPaths(configuration).enumerated() {
            options += [
                "--dir", LibraryResolver.directoryName(path),
                "--ro-bind-data", String(firstDataDescriptor + Int32(index)), path,
            ]
        }
        return options
    }

    /// Whether the sandbox gets `/proc` (see `ProcFilesystem`).
    static func mountsProc(_ policy: ProcFilesystem, libraries: ResolvedLibraries) -> Bool {
        switch policy {
        case .never: false
        case .always: true
        case .whenNeeded: libraries.libraries.contains { $0.name.hasPrefix("libdispatch.so") }
        }
    }

    /// Where the loader goes: the path the executable names, except that `/usr/lib64` is the
    /// symlink to `/usr/lib` in the sandbox, so a loader there is bound under `/usr/lib`.
    static func interpreterMountPath(_ path: String) -> String {
        path.hasPrefix("/usr/lib64/") ? "/usr/lib/" + path.dropFirst("/usr/lib64/".count) : path
    }

    /// Where a needed library goes: `/usr/lib/<name>`, which the loader searches by default
    /// (there is no loader cache in the sandbox); a `DT_NEEDED` that is an absolute path is
    /// opened at that path, so it is bound there.
    static func libraryMountPath(_ name: String) -> String {
        name.hasPrefix("/") ? name : "/usr/lib/" + name
    }

    /// The `--args` stream: every option NUL-terminated.
    static func stream(_ options: [String]) -> [UInt8] {
        var bytes: [UInt8] = []
        for option in options {
            bytes += option.utf8
            bytes.append(0)
        }
        return bytes
    }
}
