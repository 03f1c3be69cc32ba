// One CPU's hardware TSS (struct x86_hw_tss, decoded by KdigX86.TaskStateSegment), read
// through the read-only CEA alias (what TR points at) and through cpu_tss_rw, with what
// the kernel puts in each slot: sp0 = the entry stack top (cpu_init: load_sp0(cpu_entry_stack
// + 1)), ist[IST_INDEX_X] = __this_cpu_ist_top_va(X) (tss_setup_ist), io_bitmap_base
// IO_BITMAP_OFFSET_INVALID or one of the two valid maps (tss_setup_io_bitmap, ioperm).

import KdigBinary
import KdigKernel
import KdigX86

/// One IST slot.
public struct ISTSlot: Sendable, Encodable {
  /// 1…7, as an IDT gate's IST field names it.
  public var ist: Int
  public var value: Hex64
  /// The ESTACK whose top the kernel puts here (ist[n-1] = top of ESTACK n-1), if any.
  public var stack: String?
  public var expected: Hex64?
}

/// A CPU's TSS.
public struct CPUTSS: Sendable, Encodable {
  public var cpu: Int
  public var alias: Hex64
  public var backing: Hex64?
  public var sp0: Hex64
  public var sp1: Hex64
  public var sp2: Hex64
  public var ist: [ISTSlot]
  public var ioBitmapBase: Int
  /// What io_bitmap_base selects: invalid (no I/O allowed), the task's map, or all ports.
  public var ioBitmap: String
  public var entryStackTop: Hex64
  public var viewsAgree: Bool?
  public var viewError: String?
  public var reservedBitsClear: Bool
  /// TR of the CPU (QEMU notes), when present.
  public var trBase: Hex64?
  public var trLimit: Int?

  var decoded: TaskStateSegment
  enum CodingKeys: String, CodingKey {
    case cpu, alias, backing, sp0, sp1, sp2, ist, ioBitmapBase, ioBitmap, entryStackTop, viewsAgree, viewError
    case reservedBitsClear, trBase, trLimit
  }
}

extension KernelImage {
  /// Reads and decodes the TSS of `cpu`.
  public func cpuTSS(area: CPUEntryArea, layout: CEALayout, cpus: PerCPUSet) throws -> CPUTSS {
    let size = TaskStateSegment.size
    let backing = (try? perCPUAddress("cpu_tss_rw", cpu: area.cpu, in: cpus)).map {
      $0 &+ UInt64(layout.hardwareTSSOffset - (layout.field("tss")?.offset ?? 0))
    }
    var errors: [String] = []
    var aliasBytes: [UInt8]?
    var backingBytes: [UInt8]?
    do { aliasBytes = try kernelSpace.bytes(at: area.tss.value, count: size) } catch { errors.append("alias: \(error)") }
    if let backing {
      do { backingBytes = try kernelSpace.bytes(at: backing, count: size) } catch { errors.append("cpu_tss_rw: \(error)") }
    }
    guard let bytes = aliasBytes ?? backingBytes else {
      throw PerCPUError("CPU \(area.cpu): TSS unreadable (\(errors.joined(separator: "; ")))", .notInDump)
    }
    let tss = try TaskStateSegment(bytes: bytes)
    // tss_setup_ist fills IST_INDEX_DF, _NMI, _DB, _MCE and _VC (= ESTACK_*); VC2 has no slot.
    let byIndex = Dictionary(
      layout.exceptionStackOrder.filter { Self.istStacks.contains($0.key) }.map { ($1, $0) },
      uniquingKeysWith: { a, _ in a })
    let slots = tss.ist.enumerated().map { i, value in
      let stack = byIndex[i]
      return ISTSlot(ist: i + 1, value: Hex64(value), stack: stack, expected: stack.flatMap { area.exceptionStackTops[$0] })
    }
    var out = CPUTSS(
      cpu: area.cpu, alias: area.tss, backing: backing.map(Hex64.init), sp0: Hex64(tss.sp0), sp1: Hex64(tss.sp1),
      sp2: Hex64(tss.sp2), ist: slots, ioBitmapBase: Int(tss.ioBitmapBase),
      ioBitmap: Self.ioBitmapMeaning(Int(tss.ioBitmapBase), layout), entryStackTop: area.entryStackTop,
      viewsAgree: aliasBytes.flatMap { a in backingBytes.map { a == $0 } },
      viewError: errors.isEmpty ? nil : errors.joined(separator: "; "), reservedBitsClear: tss.reservedBitsClear,
      trBase: nil, trLimit: nil, decoded: tss)
    if area.cpu < notes.qemuCPUs.count {
      out.trBase = Hex64(notes.qemuCPUs[area.cpu].tr.base)
      out.trLimit = Int(notes.qemuCPUs[area.cpu].tr.limit)
    }
    return out
  }

  /// The stacks tss_setup_ist puts in the TSS.
  public static let istStacks: Set<String> = ["DF", "NMI", "DB", "MCE", "VC"]

  static func ioBitmapMeaning(_ base: Int, _ layout: CEALayout) -> String {
    if base == layout.ioBitmapInvalid { return "IO_BITMAP_OFFSET_INVALID: no port access from user mode" }
    if base == layout.ioBitmapValidMap { return "IO_BITMAP_OFFSET_VALID_MAP: the current task's ioperm() bitmap" }
    if base == layout.ioBitmapValidAll { return "IO_BITMAP_OFFSET_VALID_ALL: all ports (iopl(3) emulation)" }
    return "not a value the kernel writes"
  }
}
