// CR0 and CR4 bits (Intel SDM Vol. 3A §2.5, Figures 2-7 and Table 2-2 area; Linux names from
// arch/x86/include/uapi/asm/processor-flags.h X86_CR0_*, X86_CR4_*), and the PCID/PTI fields
// Linux puts in CR3 (X86_CR3_PCID_MASK 0xfff, X86_CR3_PTI_PCID_USER_BIT 11, PTI_USER_PGTABLE_BIT 12).

/// Named bits of a control register.
public enum ControlRegisterBits {
  /// X86_CR0_*.
  public static let cr0: [(Int, String)] = [
    (0, "PE"), (1, "MP"), (2, "EM"), (3, "TS"), (4, "ET"), (5, "NE"), (16, "WP"), (18, "AM"),
    (29, "NW"), (30, "CD"), (31, "PG"),
  ]
  /// X86_CR4_*.
  public static let cr4: [(Int, String)] = [
    (0, "VME"), (1, "PVI"), (2, "TSD"), (3, "DE"), (4, "PSE"), (5, "PAE"), (6, "MCE"), (7, "PGE"),
    (8, "PCE"), (9, "OSFXSR"), (10, "OSXMMEXCPT"), (11, "UMIP"), (12, "LA57"), (13, "VMXE"),
    (14, "SMXE"), (16, "FSGSBASE"), (17, "PCIDE"), (18, "OSXSAVE"), (19, "KL"), (20, "SMEP"),
    (21, "SMAP"), (22, "PKE"), (23, "CET"), (24, "PKS"), (25, "UINTR"), (28, "LAM_SUP"), (32, "FRED"),
  ]
  /// MSR_EFER bits (msr-index.h _EFER_*).
  public static let efer: [(Int, String)] = [(0, "SCE"), (8, "LME"), (10, "LMA"), (11, "NXE"), (12, "SVME"), (14, "FFXSR")]

  /// The names of the bits of `value` that are set, in `table`'s order.
  public static func names(_ value: UInt64, _ table: [(Int, String)]) -> [String] {
    table.filter { value & (1 << UInt64($0.0)) != 0 }.map(\.1)
  }
}
