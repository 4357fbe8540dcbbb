import Glibc

/// What the dynamic loader needs to know about an ELF file to load it: its interpreter, the
/// libraries it names, and where it says to look for them.
///
/// Only the ELF header, the program headers, the dynamic section and its string table are read
/// (with `pread`), never the whole file: shared libraries can be tens of megabytes.
struct ELFFile: Sendable, Equatable {
    /// ELFCLASS64 (true) or ELFCLASS32.
    var is64Bit: Bool
    /// `e_machine` (62 = x86_64, 183 = aarch64).
    var machine: UInt16
    /// `PT_INTERP`: the dynamic loader's path, nil for static executables and libraries.
    var interpreter: String?
    /// `DT_NEEDED`, in order.
    var needed: [String]
    /// `DT_RPATH` entries, unexpanded.
    var rpath: [String]
    /// `DT_RUNPATH` entries, unexpanded.
    var runpath: [String]
    /// `DT_SONAME`, if any.
    var soname: String?

    /// Why a file could not be read as ELF.
    struct ParseError: Error, Equatable, CustomStringConvertible {
        var message: String
        var description: String { message }
    }

    /// Reads the file at `path`.
    static func read(path: String) throws(ParseError) -> ELFFile {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ParseError(message: "\(path): \(errnoText(errno))") }
        defer { closeDescriptor(fd) }
        do {
            return try parse { offset, count throws(ParseError) in
                guard let start = off_t(exactly: offset) else {
                    throw ParseError(message: "offset 0x\(String(offset, radix: 16)) beyond the largest file offset")
                }
                var bytes = [UInt8](repeating: 0, count: count)
                let got = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, count, start) }
                guard got == count else { throw ParseError(message: "truncated") }
                return bytes
            }
        } catch {
            throw ParseError(message: "\(path): \(error.message)")
        }
    }

    /// Parses an ELF file given a way to read `count` bytes at `offset` (the whole read must
    /// succeed or throw). `offset + count` is never above `Int64.max`: every offset, address and
    /// size taken from the file is checked before it is used, so a crafted file is refused with
    /// a `ParseError` naming the field instead of overflowing.
    static func parse(read: (UInt64, Int) throws(ParseError) -> [UInt8]) throws(ParseError) -> ELFFile {
        /// Reads the `count` bytes of `field` at `offset` (a value from the file), refusing a range
        /// that ends beyond the largest file offset (`off_t`).
        func bytes(of field: String, at offset: UInt64, count: Int) throws(ParseError) -> [UInt8] {
            let (end, overflow) = offset.addingReportingOverflow(UInt64(count))
            guard !overflow, end <= UInt64(Int64.max) else {
                throw ParseError(
                    message: "bad \(field) 0x\(String(offset, radix: 16)): beyond the largest file offset")
            }
            return try read(offset, count)
        }

        let ident = try read(0, 52)
        guard ident[0] == 0x7F, ident[1] == 0x45, ident[2] == 0x4C, ident[3] == 0x46 else {
            throw ParseError(message: "not an ELF file")
        }
        guard ident[5] == 1 else { throw ParseError(message: "big-endian ELF is not supported") }
        let is64: Bool
        switch ident[4] {
        case 1: is64 = false
        case 2: is64 = true
        default: throw ParseError(message: "unknown ELF class \(ident[4])")
        }
        let header = is64 ? try read(0, 64) : ident
        let machine = UInt16(truncatingIfNeeded: header.le(18, 2))
        let phoff = is64 ? header.le(32, 8) : header.le(28, 4)
        let phentsize = Int(is64 ? header.le(54, 2) : header.le(42, 2))
        let phnum = Int(is64 ? header.le(56, 2) : header.le(44, 2))
        guard phnum <= 4096, phentsize >= (is64 ? 56 : 32), phentsize <= 256 else {
            throw ParseError(message: "bad program headers")
        }

        struct Segment { var type: UInt32, offset: UInt64, vaddr: UInt64, filesz: UInt64 }
        var segments: [Segment] = []
        if phnum > 0 {
            let table = try bytes(of: "e_phoff", at: phoff, count: phentsize * phnum)
            for index in 0..<phnum {
                let base = index * phentsize
                let type = UInt32(truncatingIfNeeded: table.le(base, 4))
                if is64 {
                    segments.append(
                        Segment(type: type, offset: table.le(base + 8, 8), vaddr: table.le(base + 16, 8),
                                filesz: table.le(base + 32, 8)))
                } else {
                    segments.append(
                        Segment(type: type, offset: table.le(base + 4, 4), vaddr: table.le(base + 8, 4),
                                filesz: table.le(base + 16, 4)))
                }
            }
        }

        var file = ELFFile(
            is64Bit: is64, machine: machine, interpreter: nil, needed: [], rpath: [], runpath: [], soname: nil)
        let limit = 16 << 20
        if let interp = segments.first(where: { $0.type == 3 }) {
            guard interp.filesz < 4096 else { throw ParseError(message: "bad PT_INTERP") }
            let path = try bytes(of: "PT_INTERP p_offset", at: interp.offset, count: Int(interp.filesz))
            file.interpreter = String(decoding: path.prefix { $0 != 0 }, as: UTF8.self)
        }
        guard let dynamic = segments.first(where: { $0.type == 2 }) else { return file }
        guard dynamic.filesz < UInt64(limit) else { throw ParseError(message: "bad PT_DYNAMIC") }
        let entries = try bytes(of: "PT_DYNAMIC p_offset", at: dynamic.offset, count: Int(dynamic.filesz))
        let entrySize = is64 ? 16 : 8
        var tags: [(tag: UInt64, value: UInt64)] = []
        var position = 0
        while position + entrySize <= entries.count {
            let tag = entries.le(position, entrySize / 2)
            let value = entries.le(position + entrySize / 2, entrySize / 2)
            if tag == 0 { break }
            tags.append((tag, value))
            position += entrySize
        }
        guard let strtab = tags.first(where: { $0.tag == 5 })?.value,
            let strsz = tags.first(where: { $0.tag == 10 })?.value
        else { return file }
        // DT_STRTAB is a virtual address: map it to a file offset through the PT_LOAD segments.
        guard
            let load = segments.first(where: {
                $0.type == 1 && $0.vaddr <= strtab && strtab - $0.vaddr < $0.filesz
            }), strsz < UInt64(limit)
        else { throw ParseError(message: "DT_STRTAB outside the loaded segments") }
        // `strtab - load.vaddr` cannot underflow (checked above), but adding the segment's
        // file offset can overflow.
        let (stringsOffset, overflow) = load.offset.addingReportingOverflow(strtab - load.vaddr)
        guard !overflow else {
            throw ParseError(
                message: "bad DT_STRTAB 0x\(String(strtab, radix: 16)): its PT_LOAD p_offset "
                    + "0x\(String(load.offset, radix: 16)) puts it beyond the largest file offset")
        }
        let strings = try bytes(of: "DT_STRTAB file offset", at: stringsOffset, count: Int(strsz))
        func string(_ offset: UInt64) -> String {
            guard offset < UInt64(strings.count) else { return "" }
            return String(decoding: strings[Int(offset)...].prefix { $0 != 0 }, as: UTF8.self)
        }
        for (tag, value) in tags {
            switch tag {
            case 1: file.needed.append(string(value))
            case 14: file.soname = string(value)
            case 15: file.rpath += string(value).split(separator: ":").map(String.init)
            case 29: file.runpath += string(value).split(separator: ":").map(String.init)
            default: break
            }
        }
        return file
    }
}

extension [UInt8] {
    /// The little-endian unsigned integer of `width` bytes at `offset` (0 when out of range).
    fileprivate func le(_ offset: Int, _ width: Int) -> UInt64 {
        guard offset >= 0, offset + width <= count else { return 0 }
        var value: UInt64 = 0
        for index in (0..<width).reversed() { value = value << 8 | UInt64(self[offset + index]) }
        return value
    }
}
