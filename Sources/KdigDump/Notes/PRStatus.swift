// NT_PRSTATUS: the registers a CPU saved at crash time. x86-64 `struct elf_prstatus` is 336
// bytes; pr_pid at 32 and pr_reg (27 × u64, ELF_CORE_COPY_REGS order) at 112.
// Sources: include/linux/elfcore.h, arch/x86/include/asm/elf.h; libkdumpfile x86_64.c.

import KdigBinary

/// Registers from one NT_PRSTATUS note.
public struct PRStatus: Sendable, Codable {
  /// Names of `pr_reg` slots in order (arch/x86/include/asm/elf.h ELF_CORE_COPY_REGS).
  public static let registerNames = [
    "r15", "r14", "r13", "r12", "rbp", "rbx", "r11", "r10", "r9", "r8", "rax", "rcx", "rdx",
    "rsi", "rdi", "orig_rax", "rip", "cs", "rflags", "rsp", "ss", "fs_base", "gs_base", "ds",
    "es", "fs", "gs",
  ]
  /// offsetof(struct elf_prstatus, pr_pid)
  static let pidOffset = 32
  /// offsetof(struct elf_prstatus, pr_reg)
  static let registersOffset = 112

  /// PID of the task current on the CPU (0: idle; QEMU writes cpu index + 1).
  public var pid: Int32
  /// The 27 register values, in `registerNames` order.
  public var registers: [UInt64]

  public init(pid: Int32, registers: [UInt64]) {
    self.pid = pid
    self.registers = registers
  }

  /// Decodes the note descriptor.
  public init(parsing desc: ByteView) throws(BinaryError) {
    let need = Self.registersOffset + Self.registerNames.count * 8
    guard desc.count >= need else {
      throw desc.truncated(at: 0, need: need, "x86-64 elf_prstatus")
    }
    pid = try desc.i32(Self.pidOffset, "pr_pid")
    var regs: [UInt64] = []
    for i in 0..<Self.registerNames.count {
      regs.append(try desc.u64(Self.registersOffset + 8 * i, "pr_reg[\(i)]"))
    }
    registers = regs
  }

  /// The value of register `name` (`rip`, `rsp`, `cs`, …).
  public func register(_ name: String) -> UInt64? {
    guard let i = Self.registerNames.firstIndex(of: name), i < registers.count else { return nil }
    return registers[i]
  }
}
