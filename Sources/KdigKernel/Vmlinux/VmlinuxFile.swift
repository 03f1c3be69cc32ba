// A vmlinux ELF file: sections and headers through libelf (ElfImage), contents through a
// bounds-checked mapping of the same file. Nothing is indexed at open; symbols are indexed
// on first use.

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

  /// The libelf handle, shared with DWARFTypes.
  let image: ElfImage
  /// How kdig came by this file (given, found on disk, fetched from debuginfod).
  public let source: VmlinuxSource

  /// False: the symbol index is built here each time, never kept in the cache (fuzzing).
  let keepsSymbolIndex: Bool

  public init(path: String, source: VmlinuxSource = .given, keepsSymbolIndex: Bool = true) throws {
    self.path = path
    self.source = source
    self.keepsSymbolIndex = keepsSymbolIndex
    file = try MappedFile(path: path)
    do {
      image = try ElfImage(path: path)
    } catch let e as KernelTypeError {
      throw KernelImageError(.badVmlinux, "\(path): not an x86-64 ELF file (\(e.description))")
    }
    guard image.machine == 62 else {
      throw KernelImageError(.badVmlinux, "\(path): not an x86-64 ELF file")
    }
    sections = try image.sectionHeaders()
    loads = image.loadSegments()
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
  public lazy var buildID: String? = image.buildID().map { $0.map { hexPadded(UInt64($0), width: 2) }.joined() }

  /// Bytes at a link-time virtual address, read from the file's PT_LOAD segments.
  public func bytes(atLinkAddress address: UInt64, count: Int) throws(BinaryError) -> [UInt8] {
    // p_offset and sh_offset come from the file: their sums are checked, not trusted.
    for l in loads where address >= l.vaddr && address - l.vaddr < l.size {
      guard count >= 0, UInt64(count) <= l.size - (address - l.vaddr), let at = l.offset.adding(address - l.vaddr) else { break }
      return try file.view(at: at, count: count, "vmlinux data").withUnsafeBytes { Array($0) }
    }
    throw BinaryError(
      file: path, offset: 0, expected: "link address 0x\(hex(address)) (\(count) bytes) inside a PT_LOAD segment")
  }

  /// Bytes of section `name` at its link address `address` (e.g. a per-cpu variable's
  /// initial value in `.data..percpu`, whose addresses are offsets from 0 on x86-64).
  public func bytes(inSection name: String, at address: UInt64, count: Int) throws(BinaryError) -> [UInt8] {
    guard let s = section(name), s.type != Self.SHT_NOBITS, address >= s.address, count >= 0,
      address - s.address <= s.size, UInt64(count) <= s.size - (address - s.address),
      let at = s.offset.adding(address - s.address)
    else {
      throw BinaryError(
        file: path, offset: 0, expected: "section \(name) holding 0x\(hex(address)) (\(count) bytes)")
    }
    return try file.view(at: at, count: count, "\(name) data")
      .withUnsafeBytes { Array($0) }
  }

  /// A NUL-terminated string at a link-time address (at most `limit` bytes).
  public func string(atLinkAddress address: UInt64, limit: Int = 512) -> String? {
    for l in loads where address >= l.vaddr && address - l.vaddr < l.size {
      let n = Int(min(UInt64(max(0, limit)), l.size - (address - l.vaddr)))
      guard let at = l.offset.adding(address - l.vaddr), let v = try? file.view(at: at, count: n, "string") else { return nil }
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
      sections: sections, buildID: keepsSymbolIndex ? buildID : nil)
    cachedSymbols = table
    return table
  }

}
