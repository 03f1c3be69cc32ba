// struct pt_regs on x86-64 (arch/x86/include/asm/ptrace.h): what the entry code saves on the
// stack at every kernel entry. The order is the kernel's (PUSH_AND_CLEAR_REGS in
// arch/x86/entry/calling.h pushes di…r15 below orig_ax), and the last five words are the
// hardware interrupt frame (SDM Vol. 3A §6.14.2, Figure 6-9: RIP, CS, RFLAGS, RSP, SS).
// Since v6.9 cs and ss share their word with FRED's csx/ssx (the selector stays in the low 16
// bits). The decoder takes its offsets from the kernel's DWARF/BTF (`PtRegsLayout`); the
// header order below is what tests compare that layout with.

import KdigBinary

/// Where each pt_regs field is, from the kernel's debug information.
public struct PtRegsLayout: Sendable, Hashable {
  /// Field name (ptrace.h spelling) → byte offset.
  public var offsets: [String: Int]
  /// sizeof(struct pt_regs).
  public var size: Int

  /// The fields in ptrace.h order (x86-64): 21 unsigned longs.
  public static let headerOrder = [
    "r15", "r14", "r13", "r12", "bp", "bx", "r11", "r10", "r9", "r8", "ax", "cx", "dx", "si", "di",
    "orig_ax", "ip", "cs", "flags", "sp", "ss",
  ]

  public init(offsets: [String: Int], size: Int) {
    self.offsets = offsets
    self.size = size
  }

  /// True when every field is where ptrace.h puts it (word i at 8 × i).
  public var matchesHeader: Bool {
    size == Self.headerOrder.count * 8
      && Self.headerOrder.enumerated().allSatisfy { offsets[$0.element] == $0.offset * 8 }
  }
}

/// A decoded pt_regs frame.
public struct PtRegs: Sendable, Hashable {
  /// Every field by its ptrace.h name.
  public var values: [String: UInt64]

  public init(values: [String: UInt64]) { self.values = values }

  /// Decodes `bytes` (at least `layout.size`) with `layout`.
  public init(bytes: [UInt8], layout: PtRegsLayout) throws(BinaryError) {
    let v = try exactView(Array(bytes.prefix(layout.size)), count: layout.size, "struct pt_regs")
    var out: [String: UInt64] = [:]
    for name in PtRegsLayout.headerOrder {
      guard let o = layout.offsets[name] else { continue }
      let word = try v.u64(o, "pt_regs.\(name)")
      // cs/ss: the selector is the low 16 bits of the word (FRED keeps other bits above it).
      out[name] = name == "cs" || name == "ss" ? word & 0xffff : word
    }
    values = out
  }

  public subscript(_ name: String) -> UInt64 { values[name] ?? 0 }
  public var ip: UInt64 { self["ip"] }
  public var sp: UInt64 { self["sp"] }
  public var cs: SegmentSelector { SegmentSelector(UInt16(truncatingIfNeeded: self["cs"])) }
  public var ss: SegmentSelector { SegmentSelector(UInt16(truncatingIfNeeded: self["ss"])) }
  public var flags: RFlags { RFlags(self["flags"]) }
  /// orig_ax as the signed value the kernel stores (-1: no syscall, no error code).
  public var origAX: Int64 { Int64(bitPattern: self["orig_ax"]) }
  /// CS RPL 3: the frame interrupted user mode (user_mode(regs)).
  public var userMode: Bool { self["cs"] & 3 == 3 }

  /// crash's eframe checks (x86_64.c x86_64_eframe_verify): kernel frames have __KERNEL_CS and
  /// __KERNEL_DS (or 0) in SS; user frames __USER_CS (or __USER32_CS) and __USER_DS; RFLAGS bit 1.
  public var plausibleSegments: Bool {
    let cs = self["cs"]
    let ss = self["ss"]
    let kernel = cs == UInt64(SegmentSelector.kernelCS.raw) && (ss == UInt64(SegmentSelector.kernelDS.raw) || ss == 0)
    let user =
      (cs == UInt64(SegmentSelector.userCS.raw) || cs == UInt64(SegmentSelector.user32CS.raw))
      && ss == UInt64(SegmentSelector.userDS.raw)
    return (kernel || user) && self["flags"] & 2 != 0
  }
}
