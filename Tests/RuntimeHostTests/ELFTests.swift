import Glibc
@testable import RuntimeHost
import Testing

@Suite("ELF dependencies for the sandbox")
struct ELFTests {
    @Test("the ELF reader finds the probe's interpreter, needed libraries and RUNPATH")
    func readProbe() throws {
        let file = try ELFFile.read(path: Fixtures.probe)
        #expect(file.is64Bit)
        #expect(file.interpreter?.hasPrefix("/lib") == true)
        #expect(file.needed.contains("libc.so.6"))
        #expect(!file.runpath.isEmpty || !file.rpath.isEmpty)
    }

    @Test("a file that is not ELF is refused with its path")
    func notELF() {
        #expect(throws: ELFFile.ParseError.self) { try ELFFile.read(path: "/etc/hostname") }
        #expect(throws: ELFFile.ParseError.self) { try ELFFile.read(path: "/nonexistent") }
    }

    @Test("resolution follows RUNPATH to the Swift runtime and pulls in its dependencies")
    func resolveProbe() throws {
        let resolved = try LibraryResolver.host().resolve(executable: Fixtures.probe)
        let names = resolved.libraries.map(\.name)
        #expect(names.contains("libc.so.6"))
        #expect(resolved.interpreter != nil)
        if try ELFFile.read(path: Fixtures.probe).needed.contains("libswiftCore.so") {
            #expect(names.contains("libswiftCore.so"))
            #expect(names.contains("libstdc++.so.6"))
        }
        #expect(Set(names).count == names.count)
    }

    @Test("a library that cannot be found fails resolution naming it and who needs it")
    func missingLibrary() throws {
        let resolver = LibraryResolver(libraryPath: [], configuredDirectories: [])
        let resolved = try resolver.resolve(executable: "/bin/cat")
        #expect(resolved.libraries.map(\.name).contains("libc.so.6"))
        #expect(throws: LibraryResolver.Failure.self) { try resolver.resolve(executable: "/nonexistent") }
    }

    @Test("ld.so.conf include globs are followed")
    func loaderConfiguration() {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        _ = directory.write("conf.d/b.conf", "/opt/b\n")
        _ = directory.write("conf.d/a.conf", "# comment\n/opt/a # trailing\n")
        let main = directory.write("ld.so.conf", "include \(directory.path)/conf.d/*.conf\n/opt/main\n")
        #expect(LibraryResolver.loaderConfiguration(path: main, depth: 0) == ["/opt/a", "/opt/b", "/opt/main"])
    }

    @Test("a resolution is reused while the binary is the same file, and redone when it changes")
    func resolutionCache() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let copy = directory.path + "/runtime"
        #expect(copyFile(Fixtures.probe, to: copy))
        let first = try LibraryResolver.resolveForSandbox(executable: copy)
        let identity = LibraryResolver.FileIdentity(path: copy)
        #expect(LibraryResolver.cachedResolution(executable: copy, identity: identity) == first)
        #expect(try LibraryResolver.resolveForSandbox(executable: copy) == first)
        // Replace the binary: a new inode, so the cached answer no longer applies.
        #expect(copyFile("/bin/cat", to: copy + ".new") && rename(copy + ".new", copy) == 0)
        let replaced = LibraryResolver.FileIdentity(path: copy)
        #expect(LibraryResolver.cachedResolution(executable: copy, identity: replaced) == nil)
        let second = try LibraryResolver.resolveForSandbox(executable: copy)
        #expect(second == (try LibraryResolver.host().resolve(executable: "/bin/cat")))
    }
}

/// Copies a file with its mode (bounded size: test binaries).
private func copyFile(_ source: String, to destination: String) -> Bool {
    let input = open(source, O_RDONLY | O_CLOEXEC)
    guard input >= 0 else { return false }
    defer { close(input) }
    let output = open(destination, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o755)
    guard output >= 0 else { return false }
    defer { close(output) }
    var buffer = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let count = read(input, &buffer, buffer.count)
        if count < 0 { return false }
        if count == 0 { return true }
        guard write(output, buffer, count) == count else { return false }
    }
}
