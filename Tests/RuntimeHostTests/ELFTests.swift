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

    // Offsets, addresses and sizes in an ELF file are untrusted: a crafted runtime binary, or a
    // library it pulls in through $ORIGIN, must be refused with a ParseError, never trap the node.

    @Test("a crafted minimal ELF file is read (the base of the malformed variants below)")
    func craftedBase() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let elf = CraftedELF(
            interpreter: "/lib64/ld-linux-x86-64.so.2", needed: ["libc.so.6", "libm.so.6"], runpath: "$ORIGIN")
        let file = try ELFFile.read(path: directory.write("base", bytes: elf.bytes))
        #expect(file.is64Bit && file.machine == 62)
        #expect(file.interpreter == "/lib64/ld-linux-x86-64.so.2")
        #expect(file.needed == ["libc.so.6", "libm.so.6"])
        #expect(file.runpath == ["$ORIGIN"] && file.rpath.isEmpty)
    }

    @Test("e_phoff beyond the largest file offset is refused, naming the field and the file",
          arguments: [UInt64.max, 1 << 63])
    func hugeProgramHeaderOffset(phoff: UInt64) throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        // Just the 64-byte header: e_phentsize 56, e_phnum 1, e_phoff `phoff`.
        var elf = CraftedELF(interpreter: nil, needed: [], runpath: nil)
        elf.bytes.removeSubrange(64...)
        elf.set(at: 32, phoff)
        elf.set(at: 56, 1, width: 2)
        let path = directory.write("phoff", bytes: elf.bytes)
        let error = #expect(throws: ELFFile.ParseError.self) { try ELFFile.read(path: path) }
        #expect(error?.message.hasPrefix(path + ": ") == true)
        #expect(error?.message.contains("e_phoff") == true)
    }

    @Test("a PT_INTERP or PT_DYNAMIC p_offset beyond the largest file offset is refused",
          arguments: [(true, UInt64.max), (true, 1 << 63), (false, UInt64.max), (false, 1 << 63)] as [(Bool, UInt64)])
    func hugeSegmentOffset(interp: Bool, offset: UInt64) throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        var elf = CraftedELF(interpreter: "/lib64/ld-linux-x86-64.so.2", needed: ["libc.so.6"], runpath: nil)
        elf.set(at: elf.programHeader(interp ? elf.interpIndex! : elf.dynamicIndex) + 8, offset)
        let path = directory.write("p_offset", bytes: elf.bytes)
        let error = #expect(throws: ELFFile.ParseError.self) { try ELFFile.read(path: path) }
        #expect(error?.message.contains(interp ? "PT_INTERP p_offset" : "PT_DYNAMIC p_offset") == true)
    }

    @Test("a DT_STRTAB below its PT_LOAD's vaddr is refused")
    func stringTableBelowSegment() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        var elf = CraftedELF(interpreter: nil, needed: ["libc.so.6"], runpath: nil)
        elf.set(at: elf.strtabEntry, CraftedELF.loadAddress - 1)
        let path = directory.write("strtab", bytes: elf.bytes)
        let error = #expect(throws: ELFFile.ParseError.self) { try ELFFile.read(path: path) }
        #expect(error?.message.contains("DT_STRTAB") == true)
    }

    @Test("a DT_STRTAB whose file offset overflows or exceeds the largest file offset is refused",
          arguments: [UInt64.max, UInt64.max - 0x10, 1 << 63])
    func stringTableOffsetOverflow(loadOffset: UInt64) throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        // The PT_LOAD segment says it starts at file offset `loadOffset`; DT_STRTAB lies inside
        // its addresses, some hundred bytes in, so p_offset + (DT_STRTAB - p_vaddr) overflows or
        // lands beyond Int64.max.
        var elf = CraftedELF(interpreter: nil, needed: ["libc.so.6"], runpath: nil)
        elf.set(at: elf.programHeader(elf.loadIndex) + 8, loadOffset)
        let path = directory.write("strtab", bytes: elf.bytes)
        let error = #expect(throws: ELFFile.ParseError.self) { try ELFFile.read(path: path) }
        #expect(error?.message.contains("DT_STRTAB") == true)
    }

    @Test("a crafted library found through $ORIGIN is skipped, and resolution fails naming it")
    func craftedLibraryThroughOrigin() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let executable = directory.write(
            "runtime", bytes: CraftedELF(interpreter: nil, needed: ["libevil.so"], runpath: "$ORIGIN").bytes)
        var evil = CraftedELF(interpreter: nil, needed: [], runpath: nil)
        evil.set(at: 32, UInt64.max)
        _ = directory.write("libevil.so", bytes: evil.bytes)
        let resolver = LibraryResolver(libraryPath: [], configuredDirectories: [])
        let error = #expect(throws: LibraryResolver.Failure.self) { try resolver.resolve(executable: executable) }
        #expect(error?.message == "libevil.so needed by \(executable) not found")
    }
}

/// A minimal little-endian ELF64 x86_64 file to craft malformed variants from: an optional
/// PT_INTERP, one PT_LOAD mapping the whole file at `loadAddress`, and a PT_DYNAMIC with
/// DT_NEEDED, DT_RUNPATH, DT_STRTAB and DT_STRSZ entries. Fields are patched with `set`.
private struct CraftedELF {
    static let loadAddress: UInt64 = 0x40_0000
    var bytes: [UInt8]
    /// Indexes of the program headers.
    var interpIndex: Int?
    var loadIndex: Int
    var dynamicIndex: Int
    /// The file offset of the DT_STRTAB entry's value.
    var strtabEntry: Int

    init(interpreter: String?, needed: [String], runpath: String?) {
        let phnum = interpreter == nil ? 2 : 3
        interpIndex = interpreter == nil ? nil : 0
        loadIndex = phnum - 2
        dynamicIndex = phnum - 1
        let interpOffset = 64 + 56 * phnum
        let interpBytes: [UInt8] = interpreter.map { Array($0.utf8) + [0] } ?? []
        let strtabOffset = interpOffset + interpBytes.count
        var strings: [UInt8] = [0]
        var entries: [(UInt64, UInt64)] = []
        for name in needed {
            entries.append((1, UInt64(strings.count)))
            strings += Array(name.utf8) + [0]
        }
        if let runpath {
            entries.append((29, UInt64(strings.count)))
            strings += Array(runpath.utf8) + [0]
        }
        let dynamicOffset = (strtabOffset + strings.count + 7) / 8 * 8
        strtabEntry = dynamicOffset + 16 * entries.count + 8
        entries += [(5, Self.loadAddress + UInt64(strtabOffset)), (10, UInt64(strings.count)), (0, 0)]
        let size = dynamicOffset + 16 * entries.count

        bytes = [UInt8](repeating: 0, count: size)
        bytes.replaceSubrange(0..<8, with: [0x7F, 0x45, 0x4C, 0x46, 2, 1, 1, 0])
        set(at: 16, 3, width: 2)  // ET_DYN
        set(at: 18, 62, width: 2)  // EM_X86_64
        set(at: 20, 1, width: 4)
        set(at: 32, 64)  // e_phoff
        set(at: 52, 64, width: 2)  // e_ehsize
        set(at: 54, 56, width: 2)  // e_phentsize
        set(at: 56, UInt64(phnum), width: 2)
        if let interpIndex {
            setProgramHeader(interpIndex, type: 3, offset: interpOffset, filesz: interpBytes.count)
            bytes.replaceSubrange(interpOffset..<strtabOffset, with: interpBytes)
        }
        setProgramHeader(loadIndex, type: 1, offset: 0, filesz: size)
        bytes.replaceSubrange(strtabOffset..<strtabOffset + strings.count, with: strings)
        setProgramHeader(dynamicIndex, type: 2, offset: dynamicOffset, filesz: size - dynamicOffset)
        for (index, (tag, value)) in entries.enumerated() {
            set(at: dynamicOffset + 16 * index, tag)
            set(at: dynamicOffset + 16 * index + 8, value)
        }
    }

    /// The file offset of program header `index`.
    func programHeader(_ index: Int) -> Int { 64 + 56 * index }

    /// Stores `value` little-endian in `width` bytes at `offset`.
    mutating func set(at offset: Int, _ value: UInt64, width: Int = 8) {
        for index in 0..<width { bytes[offset + index] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(index))) }
    }

    private mutating func setProgramHeader(_ index: Int, type: UInt64, offset: Int, filesz: Int) {
        let base = programHeader(index)
        set(at: base, type, width: 4)
        set(at: base + 8, UInt64(offset))  // p_offset
        set(at: base + 16, Self.loadAddress + UInt64(offset))  // p_vaddr
        set(at: base + 24, Self.loadAddress + UInt64(offset))  // p_paddr
        set(at: base + 32, UInt64(filesz))  // p_filesz
        set(at: base + 40, UInt64(filesz))  // p_memsz
    }
}

extension TemporaryDirectory {
    /// Writes `bytes` to the file `name` in the directory and returns its path.
    fileprivate func write(_ name: String, bytes: [UInt8]) -> String {
        let file = path + "/" + name
        let fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o700)
        precondition(fd >= 0, "cannot create \(file)")
        defer { close(fd) }
        precondition(Glibc.write(fd, bytes, bytes.count) == bytes.count, "cannot write \(file)")
        return file
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
