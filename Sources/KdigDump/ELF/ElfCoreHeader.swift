// ELF64 header and program headers of a core file (System V gABI; e_phnum PN_XNUM
// extension: the real count is in section header 0's sh_info, as QEMU writes it).

import KdigBinary

/// The parts of Elf64_Ehdr a core reader needs.
struct ElfCoreHeader {
  static let size = 64
  static let PT_LOAD: UInt32 = 1
  static let PT_NOTE: UInt32 = 4
  static let PN_XNUM = 0xffff
  /// makedumpfile -E sets e_flags bit 0 when the dump was cut short.
  static let DUMP_ELF_INCOMPLETE: UInt32 = 1

  var phoff: UInt64
  var phentsize: Int
  var phnum: Int
  var flags: UInt32

  init(parsing source: ByteSource) throws(BinaryError) {
    let h = try source.view(at: 0, count: Self.size, "an ELF64 header")
    guard h.matches([0x7f, 0x45, 0x4c, 0x46], at: 0) else {
      throw BinaryError(file: source.name, offset: 0, expected: "ELF magic 7f 45 4c 46")
    }
    let elfClass = try h.u8(4, "EI_CLASS")
    guard elfClass == 2 else {
      throw BinaryError(
        file: source.name, offset: 4, expected: "ELFCLASS64 (2)", found: "\(elfClass)")
    }
    let data = try h.u8(5, "EI_DATA")
    guard data == 1 else {
      throw BinaryError(
        file: source.name, offset: 5, expected: "little-endian data (ELFDATA2LSB, 1)",
        found: "\(data)")
    }
    let type = try h.u16(16, "e_type")
    guard type == 4 else {
      throw BinaryError(file: source.name, offset: 16, expected: "e_type ET_CORE (4)", found: "\(type)")
    }
    let machine = try h.u16(18, "e_machine")
    guard machine == 62 else {
      throw BinaryError(
        file: source.name, offset: 18, expected: "e_machine EM_X86_64 (62)", found: "\(machine)")
    }
    phoff = try h.u64(32, "e_phoff")
    flags = try h.u32(48, "e_flags")
    phentsize = Int(try h.u16(54, "e_phentsize"))
    guard phentsize >= 56 else {
      throw BinaryError(
        file: source.name, offset: 54, expected: "e_phentsize of at least 56", found: "\(phentsize)")
    }
    var count = Int(try h.u16(56, "e_phnum"))
    if count == Self.PN_XNUM {
      // The real count is in sh_info of section header 0.
      let shoff = try h.u64(40, "e_shoff")
      let sh = try source.view(at: shoff, count: 64, "section header 0 (PN_XNUM program header count)")
      count = Int(try sh.u32(44, "sh_info"))
    }
    phnum = count
  }
}

/// One Elf64_Phdr.
struct ProgramHeader {
  var type: UInt32
  var flags: UInt32
  var offset: UInt64
  var vaddr: UInt64
  var paddr: UInt64
  var filesz: UInt64
  var memsz: UInt64
  /// Index in the table, for messages.
  var index: Int

  init(parsing v: ByteView, index: Int) throws(BinaryError) {
    type = try v.u32(0, "p_type")
    flags = try v.u32(4, "p_flags")
    offset = try v.u64(8, "p_offset")
    vaddr = try v.u64(16, "p_vaddr")
    paddr = try v.u64(24, "p_paddr")
    filesz = try v.u64(32, "p_filesz")
    memsz = try v.u64(40, "p_memsz")
    self.index = index
  }
}
