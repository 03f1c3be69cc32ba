// One entry per parser kdig runs on dump bytes (docs/hardening.md "Fuzzing"). Each case
// feeds the bytes to the same entry points the real code uses and swallows the errors they
// throw: a malformed input must end in an error, so only a trap, a hang or a runaway
// allocation is a finding. Built in every build, so the replay test runs the same code.

/// A parser to fuzz.
public enum FuzzTarget: String, CaseIterable, Sendable {
  /// An ELF core: program headers, PT_NOTE, NT_PRSTATUS / QEMU / VMCOREINFO notes, reads.
  case elfCore = "elf-core"
  /// A makedumpfile/QEMU compressed kdump or diskdump: header, sub header, bitmaps,
  /// descriptors, page data.
  case kdump
  /// makedumpfile's flattened stream, and the kdump inside it.
  case flattened
  /// VMCOREINFO text and everything that reads values from it.
  case vmcoreinfo
  /// A BTF blob and type lookups over it.
  case btf
  /// The kallsyms tables as they sit in kernel memory (see KallsymsTarget).
  case kallsyms
  /// .orc_unwind_ip / .orc_unwind and lookups (see ORCTarget).
  case orc
  /// The printk ring buffer in kernel memory (see PrintkTarget).
  case printk
  /// Page-table walks and a bounded traversal over fuzzed physical memory.
  case pageTables = "page-tables"
  /// A vmlinux: ELF through libelf, .symtab, DWARF through libdw, and lookups (VmlinuxTarget).
  case vmlinux
  /// The ORC unwinder over a fuzzed task stack of the shipped extract (UnwindTarget).
  case unwind
  /// KernelLocator with a vmlinux over a fuzzed ELF core's CPU state and memory (LocatorTarget).
  case locator

  /// Runs the parser on `bytes`. Never throws: errors are the expected outcome.
  public func run(_ bytes: [UInt8]) { _ = try? check(bytes) }

  /// Runs the parser on `bytes` and rethrows the error that stopped it early, so a replay
  /// can say how far a seed gets (reads after the parse still swallow their errors).
  public func check(_ bytes: [UInt8]) throws {
    switch self {
    case .elfCore: try ElfCoreTarget.run(bytes)
    case .kdump: try KdumpTarget.run(bytes)
    case .flattened: try FlattenedTarget.run(bytes)
    case .vmcoreinfo: try VMCoreInfoTarget.run(bytes)
    case .btf: try BTFTarget.run(bytes)
    case .kallsyms: try KallsymsTarget.run(bytes)
    case .orc: try ORCTarget.run(bytes)
    case .printk: try PrintkTarget.run(bytes)
    case .pageTables: try PageTableTarget.run(bytes)
    case .vmlinux: try VmlinuxTarget.run(bytes)
    case .unwind: try UnwindTarget.run(bytes)
    case .locator: try LocatorTarget.run(bytes)
    }
  }
}
