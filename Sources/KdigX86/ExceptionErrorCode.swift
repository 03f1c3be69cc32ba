// The error codes the CPU pushes for exceptions (Intel SDM Vol. 3A §6.13 "Error Code",
// Figure 6-7; §6.15 Interrupt 14 "Page-Fault Exception", Figure 6-11; kernel names from
// arch/x86/include/asm/trap_pf.h enum x86_pf_error_code). Linux keeps the code in
// pt_regs->orig_ax for vectors that have one (idtentry.h DECLARE_IDTENTRY_ERRORCODE).

/// The vectors whose exceptions push an error code (SDM Table 6-1).
public enum ExceptionVector {
  public static let withErrorCode: Set<Int> = [8, 10, 11, 12, 13, 14, 17, 21, 29, 30]
  /// Mnemonics of the architectural exceptions (SDM Table 6-1).
  public static let mnemonics: [Int: String] = [
    0: "#DE", 1: "#DB", 2: "NMI", 3: "#BP", 4: "#OF", 5: "#BR", 6: "#UD", 7: "#NM", 8: "#DF",
    10: "#TS", 11: "#NP", 12: "#SS", 13: "#GP", 14: "#PF", 16: "#MF", 17: "#AC", 18: "#MC",
    19: "#XM", 20: "#VE", 21: "#CP", 29: "#VC", 30: "#SX",
  ]
}

/// A #PF error code (trap_pf.h X86_PF_*).
public struct PageFaultErrorCode: Sendable, Hashable, CustomStringConvertible {
  public var raw: UInt64
  public init(_ raw: UInt64) { self.raw = raw }

  public static let bits: [(Int, String, String)] = [
    (0, "PROT", "protection violation (page present)"), (1, "WRITE", "write access"),
    (2, "USER", "user-mode access"), (3, "RSVD", "reserved bit set in a paging entry"),
    (4, "INSTR", "instruction fetch"), (5, "PK", "protection key"), (6, "SHSTK", "shadow-stack access"),
    (15, "SGX", "SGX access-control violation"), (31, "RMP", "RMP violation (SEV-SNP)"),
  ]

  public var flags: [String] { Self.bits.filter { raw & (1 << UInt64($0.0)) != 0 }.map(\.1) }

  /// "PROT|WRITE: protection violation (page present), write access"; 0 reads "not-present page, read, kernel mode".
  public var description: String {
    let set = Self.bits.filter { raw & (1 << UInt64($0.0)) != 0 }
    var words = set.map(\.2)
    if raw & 1 == 0 { words.insert("page not present", at: 0) }
    if raw & 2 == 0 { words.append("read access") }
    if raw & 4 == 0 { words.append("kernel-mode access") }
    return (set.isEmpty ? "0" : set.map(\.1).joined(separator: "|")) + ": " + words.joined(separator: ", ")
  }
}

/// The selector error code of #TS, #NP, #SS, #GP (SDM Figure 6-7): EXT, IDT, TI, index.
public struct SelectorErrorCode: Sendable, Hashable, CustomStringConvertible {
  public var raw: UInt64
  public init(_ raw: UInt64) { self.raw = raw }

  /// EXT: an event external to the program caused the exception.
  public var external: Bool { raw & 1 != 0 }
  /// IDT: the index refers to a gate in the IDT.
  public var idt: Bool { raw & 2 != 0 }
  /// TI (when not IDT): 1 = LDT, 0 = GDT.
  public var ldt: Bool { raw & 4 != 0 }
  public var index: Int { Int((raw >> 3) & 0x1fff) }

  public var description: String {
    if raw == 0 { return "0 (no selector: the fault is not about a segment or gate)" }
    let table = idt ? "IDT vector" : ldt ? "LDT index" : "GDT index"
    return "\(table) \(index)\(external ? ", external event" : "")"
  }
}
