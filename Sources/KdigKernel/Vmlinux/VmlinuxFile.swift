// A vmlinux ELF file: sections and headers through libelf, contents through a bounds-checked
// mapping of the same file. Nothing is indexed at open; symbols are indexed on first use.

import CElfUtils
import KdigBinary

/// One ELF section header of the vmlinux.
public struct VmlinuxSection: Sendable {
  public var name: String
  public var type: UInt32
  public var flags: UInt64
  public var address: UInt64
  public var offset: UInt64
  public var size: UInt64
  public var link: UInt32
  public var entrySize: UInt64
}

/// An x86-64 vmlinux opened read-only.
public final class VmlinuxFile {
  public let path: String
  public let sections: [VmlinuxSection]
  let file: MappedFile
  /// PT_LOAD segments: (link-time vaddr, file offset, file size).
  let loads: [(vaddr: UInt64, offset: UInt64, size: UInt64)]
  private var cachedSymbols: SymbolTable?

  static let SHT_SYMTAB: UInt32 = 2
  static let SHT_NOTE: UInt32 = 7
  static let SHT_NOBITS: UInt32 = 8

  public init(path: String) throws {
    self.path = path
    file = try MappedFile(path: path)
    elf_version(UInt32(EV_CURRENT))
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw FileError(path: path, reason: "cannot open") }
    defer { close(fd) }
    guard let elf = elf_begin(fd, ELF_C_READ_MMAP, nil) else {
      throw KernelImageError(.badVmlinux, "\(path): libelf error: \(String(cString: elf_errmsg(-1)))")
    }
    defer { elf_end(elf) }
    var ehdr = GElf_Ehdr()
    guard elf_kind(elf) == ELF_K_ELF, gelf_getehdr(elf, &ehdr) != nil, ehdr.e_machine == 62 else {
      throw KernelImageError(.badVmlinux, "\(path): not an x86-64 ELF file")
    }
    var strndx = 0
    guard elf_getshdrstrndx(elf, &strndx) == 0 else {
      throw KernelImageError(.badVmlinux, "\(path): libelf error: \(String(cString: elf_errmsg(-1)))")
    }
    // Index 0 is the null section header, so `sections[i]` is ELF section i.
    var sections = [
      VmlinuxSection(name: "", type: 0, flags: 0, address: 0, offset: 0, size: 0, link: 0, entrySize: 0)
    ]
    var scn = elf_nextscn(elf, nil)
    while let s = scn {
      var shdr = GElf_Shdr()
      if gelf_getshdr(s, &shdr) != nil {
        let name = elf_strptr(elf, strndx, Int(shdr.sh_name)).map { String(cString: $0) } ?? ""
        sections.append(
          VmlinuxSection(
            name: name, type: shdr.sh_type, flags: shdr.sh_flags, address: shdr.sh_addr,
            offset: shdr.sh_offset, size: shdr.sh_size, link: shdr.sh_link, entrySize: shdr.sh_entsize))
      }
      scn = elf_nextscn(elf, s)
    }
    self.sections = sections
    var loads: [(UInt64, UInt64, UInt64)] = []
    var phnum = 0
    if elf_getphdrnum(elf, &phnum) == 0 {
      for i in 0..<phnum {
        var ph = GElf_Phdr()
        if gelf_getphdr(elf, Int32(i), &ph) != nil, ph.p_type == 1 {
          loads.append((ph.p_vaddr, ph.p_offset, ph.p_filesz))
        }
      }
    }
    self.loads = loads
  }

  /// The section named `name`.
  public func section(_ name: String) -> VmlinuxSection? { sections.first { $0.name == name } }

  /// The bytes of a section (not for SHT_NOBITS).
  public func contents(of section: VmlinuxSection) throws(BinaryError) -> ByteView {
    guard section.type != Self.SHT_NOBITS, section.size <= UInt64(Int.max) else {
      return ByteView.copying([], file: path, fileOffset: section.offset)
    }
    return try file.view(at: section.offset, count: Int(section.size), "section \(section.name)")
  }

  /// GNU build-id (NT_GNU_BUILD_ID) as lower-case hex.
  public lazy var buildID: String? = {
    for s in sections where s.type == Self.SHT_NOTE {
      guard let view = try? contents(of: s), let notes = try? parseNotes(view) else { continue }
      if let id = notes.first(where: { $0.name == "GNU" && $0.type == 3 }) {
        return id.desc.map { hexPadded(UInt64($0), width: 2) }.joined()
      }
    }
    return nil
  }()

  /// Bytes at a link-time virtual address, read from the file's PT_LOAD segments.
  public func bytes(atLinkAddress address: UInt64, count: Int) throws(BinaryError) -> [UInt8] {
    for l in loads where address >= l.vaddr && address - l.vaddr < l.size {
      guard UInt64(count) <= l.size - (address - l.vaddr) else { break }
      return try file.view(at: l.offset + (address - l.vaddr), count: count, "vmlinux data").withUnsafeBytes { Array($0) }
    }
    throw BinaryError(
      file: path, offset: 0, expected: "link address 0x\(hex(address)) (\(count) bytes) inside a PT_LOAD segment")
  }

  /// A NUL-terminated string at a link-time address (at most `limit` bytes).
  public func string(atLinkAddress address: UInt64, limit: Int = 512) -> String? {
    for l in loads where address >= l.vaddr && address - l.vaddr < l.size {
      let n = Int(min(UInt64(limit), l.size - (address - l.vaddr)))
      guard let v = try? file.view(at: l.offset + (address - l.vaddr), count: n, "string") else { return nil }
      return v.withUnsafeBytes { b in String(decoding: b[..<(b.firstIndex(of: 0) ?? n)], as: UTF8.self) }
    }
    return nil
  }

  /// The ELF symbol table, indexed on first use.
  public func symbols() throws -> SymbolTable {
    if let cachedSymbols { return cachedSymbols }
    guard let symtab = sections.first(where: { $0.type == Self.SHT_SYMTAB }),
      symtab.link > 0, Int(symtab.link) < sections.count
    else {
      throw KernelImageError(.badVmlinux, "\(path): no .symtab section (a stripped vmlinux?)")
    }
    let table = try SymbolTable(
      symbols: try contents(of: symtab), strings: try contents(of: sections[Int(symtab.link)]),
      sections: sections)
    cachedSymbols = table
    return table
  }

  private struct Note {
    var name: String
    var type: UInt32
    var desc: [UInt8]
  }

  private func parseNotes(_ v: ByteView) throws(BinaryError) -> [Note] {
    var out: [Note] = []
    var o = 0
    while v.count - o >= 12 {
      let nsz = Int(try v.u32(o)), dsz = Int(try v.u32(o + 4)), type = try v.u32(o + 8)
      let nameSpan = (nsz + 3) & ~3, descSpan = (dsz + 3) & ~3
      guard nameSpan <= v.count - o - 12, dsz <= v.count - o - 12 - nameSpan else { break }
      let name = try v.fixedString(o + 12, nsz, "note name")
      out.append(Note(name: name, type: type, desc: try v.array(o + 12 + nameSpan, dsz, "note desc")))
      o += 12 + nameSpan + min(descSpan, v.count - o - 12 - nameSpan)
    }
    return out
  }
}

#if canImport(Glibc)
  import Glibc
#endif
