// A 16-bit segment selector (Intel SDM Vol. 3A §3.4.2, Figure 3-6 "Segment Selector") and
// the selectors and GDT slots Linux x86-64 defines (arch/x86/include/asm/segment.h,
// CONFIG_X86_64 branch; unchanged in layout from v4.x through v6.12).

/// Which descriptor table a selector indexes: the TI bit (SDM §3.4.2).
public enum DescriptorTable: String, Sendable, Hashable {
  /// TI = 0 (segment.h SEGMENT_GDT 0x0).
  case gdt = "GDT"
  /// TI = 1 (segment.h SEGMENT_LDT 0x4).
  case ldt = "LDT"
}

/// A segment selector: index, table indicator and requested privilege level (SDM §3.4.2).
public struct SegmentSelector: Sendable, Hashable, CustomStringConvertible {
  /// The raw 16-bit selector as loaded into a segment register or stored in a gate.
  public var raw: UInt16

  /// Wraps a raw selector value.
  public init(_ raw: UInt16) { self.raw = raw }

  /// Builds `index * 8 | TI | RPL`, as segment.h's `GDT_ENTRY_x * 8 + rpl` does.
  public init(index: Int, table: DescriptorTable = .gdt, rpl: Int = 0) {
    let ti: UInt16 = table == .ldt ? 0x4 : 0
    raw = (UInt16(truncatingIfNeeded: index) << 3) | ti | UInt16(truncatingIfNeeded: rpl & 3)
  }

  /// Descriptor index, bits 15–3 (SDM Figure 3-6).
  public var index: Int { Int(raw >> 3) }
  /// Table indicator, bit 2 (segment.h SEGMENT_TI_MASK 0x4).
  public var table: DescriptorTable { raw & 0x4 != 0 ? .ldt : .gdt }
  /// Requested privilege level, bits 1–0 (segment.h SEGMENT_RPL_MASK 0x3).
  public var rpl: Int { Int(raw & 0x3) }
  /// The null selector: index 0 in the GDT, any RPL (SDM §3.4.2 "null segment selector").
  public var isNull: Bool { raw & ~0x3 == 0 }

  /// Byte offset of the descriptor in its table (`index * 8`, SDM §3.4.2).
  public var tableOffset: Int { index * 8 }

  // MARK: - Linux x86-64 selectors (arch/x86/include/asm/segment.h)

  /// `__KERNEL32_CS` = GDT_ENTRY_KERNEL32_CS (1) * 8 = 0x08: 32-bit kernel code.
  public static let kernel32CS = SegmentSelector(index: LinuxGDT.kernel32CS)
  /// `__KERNEL_CS` = GDT_ENTRY_KERNEL_CS (2) * 8 = 0x10: 64-bit kernel code.
  public static let kernelCS = SegmentSelector(index: LinuxGDT.kernelCS)
  /// `__KERNEL_DS` = GDT_ENTRY_KERNEL_DS (3) * 8 = 0x18: kernel data and stack.
  public static let kernelDS = SegmentSelector(index: LinuxGDT.kernelDS)
  /// `__USER32_CS` = GDT_ENTRY_DEFAULT_USER32_CS (4) * 8 + 3 = 0x23: compat-mode user code.
  public static let user32CS = SegmentSelector(index: LinuxGDT.defaultUser32CS, rpl: 3)
  /// `__USER_DS` = GDT_ENTRY_DEFAULT_USER_DS (5) * 8 + 3 = 0x2b (also `__USER32_DS`).
  public static let userDS = SegmentSelector(index: LinuxGDT.defaultUserDS, rpl: 3)
  /// `__USER_CS` = GDT_ENTRY_DEFAULT_USER_CS (6) * 8 + 3 = 0x33: 64-bit user code.
  public static let userCS = SegmentSelector(index: LinuxGDT.defaultUserCS, rpl: 3)
  /// `__CPUNODE_SEG` = GDT_ENTRY_CPUNODE (15) * 8 + 3 = 0x7b: CPU/node number in the limit
  /// (named __PER_CPU_SEG before v4.19).
  public static let perCPUSeg = SegmentSelector(index: LinuxGDT.perCPU, rpl: 3)

  /// The segment.h macro that defines exactly this selector value, if any.
  public var linuxName: String? {
    switch raw {
    case Self.kernel32CS.raw: "__KERNEL32_CS"
    case Self.kernelCS.raw: "__KERNEL_CS"
    case Self.kernelDS.raw: "__KERNEL_DS"
    case Self.user32CS.raw: "__USER32_CS"
    case Self.userDS.raw: "__USER_DS"
    case Self.userCS.raw: "__USER_CS"
    case Self.perCPUSeg.raw: "__CPUNODE_SEG"
    default: nil
    }
  }

  /// "0x10 (GDT[2], RPL 0, __KERNEL_CS)"; the null selector is "0x0 (null selector)".
  public var description: String {
    let value = "0x" + String(raw, radix: 16)
    if isNull { return "\(value) (null selector, RPL \(rpl))" }
    var text = "\(value) (\(table.rawValue)[\(index)], RPL \(rpl)"
    if let linuxName { text += ", \(linuxName)" }
    return text + ")"
  }
}

/// GDT slot numbers of Linux x86-64 (segment.h, `#else` of CONFIG_X86_32); one GDT per CPU
/// in `gdt_page` (arch/x86/kernel/cpu/common.c).
public enum LinuxGDT {
  /// GDT_ENTRY_KERNEL32_CS 1
  public static let kernel32CS = 1
  /// GDT_ENTRY_KERNEL_CS 2
  public static let kernelCS = 2
  /// GDT_ENTRY_KERNEL_DS 3
  public static let kernelDS = 3
  /// GDT_ENTRY_DEFAULT_USER32_CS 4 (sysret needs USER32_CS, USER_DS, USER_CS in this order)
  public static let defaultUser32CS = 4
  /// GDT_ENTRY_DEFAULT_USER_DS 5
  public static let defaultUserDS = 5
  /// GDT_ENTRY_DEFAULT_USER_CS 6
  public static let defaultUserCS = 6
  /// GDT_ENTRY_TSS 8: a 16-byte system descriptor, so it also occupies slot 9.
  public static let tss = 8
  /// GDT_ENTRY_LDT 10: a 16-byte system descriptor, so it also occupies slot 11.
  public static let ldt = 10
  /// GDT_ENTRY_TLS_MIN 12 (GDT_ENTRY_TLS_ENTRIES 3 slots for set_thread_area).
  public static let tlsMin = 12
  /// GDT_ENTRY_TLS_MAX 14
  public static let tlsMax = 14
  /// GDT_ENTRY_CPUNODE 15 (GDT_ENTRY_PER_CPU before v4.19): CPU and node number in the
  /// limit, for vdso getcpu (setup_getcpu).
  public static let perCPU = 15
  /// GDT_ENTRIES 16: the GDT is GDT_SIZE = 16 * 8 = 128 bytes.
  public static let entries = 16

  /// The segment.h name of GDT slot `index` (the second half of TSS/LDT is named "+1").
  public static func name(ofEntry index: Int) -> String? {
    switch index {
    case 0: "null"
    case kernel32CS: "GDT_ENTRY_KERNEL32_CS"
    case kernelCS: "GDT_ENTRY_KERNEL_CS"
    case kernelDS: "GDT_ENTRY_KERNEL_DS"
    case defaultUser32CS: "GDT_ENTRY_DEFAULT_USER32_CS"
    case defaultUserDS: "GDT_ENTRY_DEFAULT_USER_DS"
    case defaultUserCS: "GDT_ENTRY_DEFAULT_USER_CS"
    case tss: "GDT_ENTRY_TSS"
    case tss + 1: "GDT_ENTRY_TSS+1"
    case ldt: "GDT_ENTRY_LDT"
    case ldt + 1: "GDT_ENTRY_LDT+1"
    case tlsMin...tlsMax: "GDT_ENTRY_TLS_MIN+\(index - tlsMin)"
    case perCPU: "GDT_ENTRY_CPUNODE"
    default: nil
    }
  }
}
