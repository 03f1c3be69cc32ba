// Builds small ELF64 x86-64 core files the way kdump (/proc/vmcore) and QEMU write them:
// one PT_NOTE, then PT_LOADs whose bytes follow; optional p_filesz < p_memsz tails and the
// PN_XNUM extended program-header count (drgn tests/elfwriter.py plays the same role).

/// A PT_LOAD to emit.
public struct CoreSegment {
  public var physicalAddress: UInt64
  public var virtualAddress: UInt64
  /// Bytes stored in the file.
  public var data: [UInt8]
  /// p_memsz; bytes beyond `data.count` read as zero.
  public var memorySize: UInt64

  public init(physicalAddress: UInt64, virtualAddress: UInt64? = nil, data: [UInt8], memorySize: UInt64? = nil) {
    self.physicalAddress = physicalAddress
    self.virtualAddress = virtualAddress ?? physicalAddress
    self.data = data
    self.memorySize = memorySize ?? UInt64(data.count)
  }
}

/// Assembles an ELF core in memory.
public struct ElfCoreBuilder {
  public var segments: [CoreSegment] = []
  /// Concatenated note records (see `ElfNoteEncoder`).
  public var notes: [UInt8] = []
  /// Write e_phnum = PN_XNUM and the real count in section header 0's sh_info.
  public var useExtendedNumbering = false
  public var elfFlags: UInt32 = 0

  public init() {}

  public func build() -> [UInt8] {
    let phnum = segments.count + 1
    let phoff = 64
    let shoff = phoff + 56 * phnum
    let notesOffset = shoff + (useExtendedNumbering ? 64 : 0)
    var dataOffset = notesOffset + notes.count
    var out: [UInt8] = [0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0] + [UInt8](repeating: 0, count: 8)
    out.appendLE(UInt16(4))  // ET_CORE
    out.appendLE(UInt16(62))  // EM_X86_64
    out.appendLE(UInt32(1))
    out.appendLE(UInt64(0))  // e_entry
    out.appendLE(UInt64(phoff))
    out.appendLE(UInt64(useExtendedNumbering ? shoff : 0))
    out.appendLE(elfFlags)
    out.appendLE(UInt16(64))
    out.appendLE(UInt16(56))
    out.appendLE(UInt16(useExtendedNumbering ? 0xffff : phnum))
    out.appendLE(UInt16(useExtendedNumbering ? 64 : 0))
    out.appendLE(UInt16(useExtendedNumbering ? 1 : 0))
    out.appendLE(UInt16(0))
    // PT_NOTE
    appendPhdr(&out, type: 4, offset: UInt64(notesOffset), vaddr: 0, paddr: 0, filesz: UInt64(notes.count), memsz: UInt64(notes.count))
    for s in segments {
      appendPhdr(
        &out, type: 1, offset: UInt64(dataOffset), vaddr: s.virtualAddress, paddr: s.physicalAddress,
        filesz: UInt64(s.data.count), memsz: s.memorySize)
      dataOffset += s.data.count
    }
    if useExtendedNumbering {
      var sh = [UInt8](repeating: 0, count: 64)
      sh.writeLE(UInt32(phnum), at: 44)  // sh_info
      out += sh
    }
    out += notes
    for s in segments { out += s.data }
    return out
  }

  private func appendPhdr(
    _ out: inout [UInt8], type: UInt32, offset: UInt64, vaddr: UInt64, paddr: UInt64, filesz: UInt64, memsz: UInt64
  ) {
    out.appendLE(type)
    out.appendLE(UInt32(type == 1 ? 7 : 0))
    out.appendLE(offset)
    out.appendLE(vaddr)
    out.appendLE(paddr)
    out.appendLE(filesz)
    out.appendLE(memsz)
    out.appendLE(UInt64(type == 1 ? 4096 : 0))
  }
}
