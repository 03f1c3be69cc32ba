// Encodes ELF notes and the note descriptors kdig reads (NT_PRSTATUS, QEMU CPU state,
// VMCOREINFO), for the fixture builders.

/// Little-endian byte-array helpers for fixture builders.
public extension Array where Element == UInt8 {
  mutating func appendLE<T: FixedWidthInteger>(_ value: T) {
    Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
  }

  mutating func writeLE<T: FixedWidthInteger>(_ value: T, at offset: Int) {
    Swift.withUnsafeBytes(of: value.littleEndian) { raw in
      for (i, b) in raw.enumerated() { self[offset + i] = b }
    }
  }

  mutating func pad(toMultipleOf n: Int) {
    while count % n != 0 { append(0) }
  }
}

/// Builds ELF note records.
public enum ElfNoteEncoder {
  /// One note: {namesz, descsz, type}, name + NUL padded to 4, desc padded to 4.
  public static func note(name: String, type: UInt32, desc: [UInt8]) -> [UInt8] {
    var out: [UInt8] = []
    let nameBytes = Array(name.utf8) + [0]
    out.appendLE(UInt32(nameBytes.count))
    out.appendLE(UInt32(desc.count))
    out.appendLE(type)
    out += nameBytes
    out.pad(toMultipleOf: 4)
    out += desc
    out.pad(toMultipleOf: 4)
    return out
  }

  /// An x86-64 `struct elf_prstatus` (336 bytes) with `pid` and `registers` (27 slots).
  public static func prstatus(pid: Int32, registers: [String: UInt64]) -> [UInt8] {
    var d = [UInt8](repeating: 0, count: 336)
    d.writeLE(pid, at: 32)
    let names = [
      "r15", "r14", "r13", "r12", "rbp", "rbx", "r11", "r10", "r9", "r8", "rax", "rcx", "rdx",
      "rsi", "rdi", "orig_rax", "rip", "cs", "rflags", "rsp", "ss", "fs_base", "gs_base", "ds",
      "es", "fs", "gs",
    ]
    for (i, n) in names.enumerated() { d.writeLE(registers[n] ?? 0, at: 112 + 8 * i) }
    return d
  }

  /// A QEMUCPUState (version 1, 440 bytes with kernel_gs_base).
  public static func qemuCPUState(
    cr3: UInt64, cr4: UInt64, idtBase: UInt64, idtLimit: UInt32 = 0xfff, gdtBase: UInt64 = 0,
    rip: UInt64 = 0
  ) -> [UInt8] {
    var d = [UInt8](repeating: 0, count: 440)
    d.writeLE(UInt32(1), at: 0)
    d.writeLE(UInt32(440), at: 4)
    d.writeLE(rip, at: 136)
    d.writeLE(UInt32(0x7f), at: 344 + 4)  // gdt limit
    d.writeLE(gdtBase, at: 344 + 16)
    d.writeLE(idtLimit, at: 368 + 4)
    d.writeLE(idtBase, at: 368 + 16)
    d.writeLE(cr3, at: 392 + 24)
    d.writeLE(cr4, at: 392 + 32)
    return d
  }

  /// A VMCOREINFO note from `KEY=VALUE` lines.
  public static func vmcoreinfo(_ lines: [String]) -> [UInt8] {
    note(name: "VMCOREINFO", type: 0, desc: Array((lines.joined(separator: "\n") + "\n").utf8))
  }
}
