// struct cpu_entry_area as this kernel built it, from DWARF (arch/x86/include/asm/
// cpu_entry_area.h): gdt, entry_stack_page, tss, estacks (struct cea_exception_stacks:
// guard page + stack per ESTACK_*), cpu_debug_store, cpu_debug_buffers; and the constants
// the kernel derives from the same types (processor.h IO_BITMAP_OFFSET_*, __KERNEL_TSS_LIMIT).

import KdigKernel
import KdigX86

/// One member (or exception-stack member) of struct cpu_entry_area.
public struct CEAField: Sendable, Encodable, Hashable {
  /// `gdt`, `tss`, `estacks.NMI_stack`, … (the C member path).
  public var name: String
  /// Offset from the start of the CPU's area.
  public var offset: Int
  public var size: Int

  /// The ESTACK name of an exception stack member (`NMI` for `estacks.NMI_stack`).
  public var exceptionStack: String? {
    guard name.hasPrefix("estacks."), name.hasSuffix("_stack") else { return nil }
    return String(name.dropFirst("estacks.".count).dropLast("_stack".count))
  }
  /// A guard page (`estacks.DF_stack_guard`, `estacks.IST_top_guard`).
  public var isGuard: Bool { name.hasPrefix("estacks.") && name.hasSuffix("_guard") }
}

/// The layout of the cpu_entry_area.
public struct CEALayout: Sendable, Encodable {
  /// CPU_ENTRY_AREA_RO_IDT: the read-only IDT page at CPU_ENTRY_AREA_BASE.
  public static let readOnlyIDT = KernelConstants.cpuEntryAreaBase
  /// CPU_ENTRY_AREA_PER_CPU = CPU_ENTRY_AREA_RO_IDT + PAGE_SIZE (pgtable_areas.h).
  public static let perCPUBase = KernelConstants.cpuEntryAreaBase + 4096
  public static let pageSize = 4096

  /// sizeof(struct cpu_entry_area): a multiple of PAGE_SIZE (BUILD_BUG_ON in get_cpu_entry_area).
  public var size: Int
  /// Members in address order, estacks expanded into its guard and stack members.
  public var fields: [CEAField]
  /// offsetof(struct cpu_entry_area, tss.x86_tss): the hardware TSS (0 in tss_struct).
  public var hardwareTSSOffset: Int
  /// sizeof(struct entry_stack): sp0 = entry_stack_page.stack + 1 (cpu_entry_stack(cpu) + 1).
  public var entryStackSize: Int
  /// Offsets of the stacks in struct exception_stacks (the per-CPU backing, no guard pages).
  public var backingStackOffsets: [String: Int]
  /// ESTACK_* numbers (enum exception_stack_ordering): IST index = ESTACK number (IST_INDEX_*).
  public var exceptionStackOrder: [String: Int]
  /// IO_BITMAP_OFFSET_VALID_MAP / _VALID_ALL / _INVALID and __KERNEL_TSS_LIMIT (processor.h).
  public var ioBitmapValidMap: Int?
  public var ioBitmapValidAll: Int?
  public var ioBitmapInvalid: Int
  public var kernelTSSLimit: Int
  /// _cea_offset exists: the slot of each CPU is randomized (v6.2+, init_cea_offsets).
  public var randomizedSlots: Bool

  public func field(_ name: String) -> CEAField? { fields.first { $0.name == name } }

  /// The member that holds `offset`.
  public func field(containing offset: Int) -> CEAField? {
    fields.first { offset >= $0.offset && offset < $0.offset + $0.size }
  }

  /// Reads the layout from the kernel's debug information.
  public init(kernel: KernelImage) throws {
    let t = try kernel.types()
    let area = try t.completed(try t.type(named: "struct cpu_entry_area"))
    guard let aggregate = area.aggregate, let total = aggregate.size, total > 0,
      total % Self.pageSize == 0, total <= 1 << 24
    else {
      throw PerCPUError("struct cpu_entry_area has no usable size in \(t.source)")
    }
    size = total
    var out: [CEAField] = []
    for m in aggregate.flattenedMembers {
      guard let name = m.name, let bytes = m.type.byteSize else { continue }
      // A member outside the area (hostile debug info) would make the page walk unbounded.
      guard m.offset >= 0, bytes <= total, m.offset <= total - bytes else { continue }
      if name == "estacks", let inner = try t.completed(m.type).aggregate {
        for e in inner.flattenedMembers {
          guard let n = e.name, let s = e.type.byteSize, s > 0, e.offset >= 0, s <= bytes, e.offset <= bytes - s
          else { continue }
          out.append(CEAField(name: "estacks.\(n)", offset: m.offset + e.offset, size: s))
        }
      } else if bytes > 0 {
        out.append(CEAField(name: name, offset: m.offset, size: bytes))
      }
    }
    fields = out.sorted { $0.offset < $1.offset }
    hardwareTSSOffset = try t.offsetof("cpu_entry_area.tss.x86_tss")
    entryStackSize = try t.sizeof("struct entry_stack")
    var backing: [String: Int] = [:]
    if let stacks = try? t.completed(try t.type(named: "struct exception_stacks")).aggregate {
      for m in stacks.flattenedMembers {
        if let n = m.name, n.hasSuffix("_stack") { backing[String(n.dropLast("_stack".count))] = m.offset }
      }
    }
    backingStackOffsets = backing
    var order: [String: Int] = [:]
    for name in ["DF", "NMI", "DB", "MCE", "VC", "VC2"] {
      if let v = try? t.enumValue("ESTACK_\(name)") { order[name] = Int(v) }
    }
    exceptionStackOrder = order
    // processor.h: offsets of the bitmaps from x86_tss (at 0 in tss_struct).
    let x86 = try t.offsetof("tss_struct.x86_tss")
    if let map = try? t.member("tss_struct.io_bitmap.bitmap"), let all = try? t.offsetof("tss_struct.io_bitmap.mapall"),
      let mapSize = map.size
    {
      ioBitmapValidMap = map.offset - x86
      ioBitmapValidAll = all - x86
      // IO_BITMAP_BYTES = (IO_BITMAP_LONGS + 1 − 1) longs: the array has one extra long.
      kernelTSSLimit = all - x86 + (mapSize - 8) + 8 - 1
    } else {
      kernelTSSLimit = x86 + TaskStateSegment.size - 1
    }
    ioBitmapInvalid = kernelTSSLimit + 1
    randomizedSlots = (try? kernel.symbols().first("_cea_offset")) != nil
  }
}

extension KernelImage {
  /// The cpu_entry_area layout, read from the debug information once per kernel.
  public func ceaLayout() throws -> CEALayout {
    try memoized("ceaLayout") { try CEALayout(kernel: self) }
  }
}
