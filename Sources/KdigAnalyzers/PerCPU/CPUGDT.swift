// One CPU's GDT, decoded: read through the read-only CEA alias (what GDTR points at,
// load_fixmap_gdt) and through the writable per-CPU gdt_page (get_cpu_gdt_rw), next to the
// initial values gdt_page has in the vmlinux file (GDT_ENTRY_INIT table in
// arch/x86/kernel/cpu/common.c) and the current task's TLS descriptors (load_TLS).

import KdigBinary
import KdigKernel
import KdigX86

/// One 8-byte GDT slot.
public struct GDTEntryRow: Sendable, Encodable {
  public var index: Int
  /// index * 8 | DPL: the selector that loads this slot with RPL = DPL.
  public var selector: String
  /// segment.h's name for the slot (GDT_ENTRY_KERNEL_CS …).
  public var name: String?
  public var raw: Hex64
  /// null, code, data, TSS, LDT, upper half (of a 16-byte system descriptor), other system.
  public var kind: String
  public var type: String?
  public var base: Hex64
  /// Limit in bytes (granularity applied).
  public var limit: Hex64
  public var granularity4K: Bool
  public var defaultBig: Bool
  public var long: Bool
  public var dpl: Int
  public var present: Bool
  /// The value in the vmlinux file's gdt_page (before boot), when known.
  public var initial: Hex64?
}

/// A CPU's GDT and the registers that point at it.
public struct CPUGDT: Sendable, Encodable {
  public var cpu: Int
  /// The CEA alias (get_cpu_gdt_ro) and the per-CPU gdt_page (get_cpu_gdt_rw).
  public var alias: Hex64
  public var backing: Hex64?
  public var entries: [GDTEntryRow]
  /// Both views hold the same 128 bytes (nil when one was unreadable).
  public var viewsAgree: Bool?
  public var viewError: String?
  /// GDTR and TR of the CPU from the dump's CPU state (QEMU notes), when present.
  public var gdtrBase: Hex64?
  public var gdtrLimit: Int?
  public var trSelector: String?
  public var trBase: Hex64?
  /// The task running on the CPU and its thread.tls_array (what load_TLS copied to slots 12–14).
  public var currentTask: Hex64?
  public var tlsArray: [Hex64]?

  var rawEntries: [UInt64]
  var initialEntries: [UInt64]?
  enum CodingKeys: String, CodingKey {
    case cpu, alias, backing, entries, viewsAgree, viewError, gdtrBase, gdtrLimit, trSelector, trBase
    case currentTask, tlsArray
  }
}

extension KernelImage {
  /// Reads and decodes the GDT of `cpu`.
  public func cpuGDT(area: CPUEntryArea, cpus: PerCPUSet) throws -> CPUGDT {
    let size = LinuxGDT.entries * 8
    let backing = try? perCPUAddress("gdt_page", cpu: area.cpu, in: cpus)
    var aliasBytes: [UInt8]?
    var backingBytes: [UInt8]?
    var errors: [String] = []
    do { aliasBytes = try kernelSpace.bytes(at: area.gdt.value, count: size) } catch { errors.append("alias: \(error)") }
    if let backing {
      do { backingBytes = try kernelSpace.bytes(at: backing, count: size) } catch { errors.append("gdt_page: \(error)") }
    }
    guard let bytes = aliasBytes ?? backingBytes else {
      throw PerCPUError("CPU \(area.cpu): GDT unreadable (\(errors.joined(separator: "; ")))", .notInDump)
    }
    let raw = Self.quadwords(bytes)
    let initial = initialGDT(count: size).map(Self.quadwords)
    var gdt = CPUGDT(
      cpu: area.cpu, alias: area.gdt, backing: backing.map(Hex64.init), entries: [],
      viewsAgree: aliasBytes.flatMap { a in backingBytes.map { a == $0 } },
      viewError: errors.isEmpty ? nil : errors.joined(separator: "; "), rawEntries: raw, initialEntries: initial)
    gdt.entries = raw.indices.map { Self.row(index: $0, raw: raw, initial: initial?[$0]) }
    if area.cpu < notes.qemuCPUs.count {
      let state = notes.qemuCPUs[area.cpu]
      gdt.gdtrBase = Hex64(state.gdt.base)
      gdt.gdtrLimit = Int(state.gdt.limit)
      gdt.trSelector = SegmentSelector(UInt16(truncatingIfNeeded: state.tr.selector)).description
      gdt.trBase = Hex64(state.tr.base)
    }
    if let (task, tls) = currentTLS(cpu: area.cpu, cpus: cpus) {
      gdt.currentTask = Hex64(task)
      gdt.tlsArray = tls.map(Hex64.init)
    }
    return gdt
  }

  static func quadwords(_ bytes: [UInt8]) -> [UInt64] {
    stride(from: 0, to: bytes.count - 7, by: 8).map { o in
      (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[o + $1]) << (8 * UInt64($1)) }
    }
  }

  /// gdt_page as the vmlinux file initialises it (.data..percpu), when readable.
  func initialGDT(count: Int) -> [UInt8]? {
    guard let vmlinux, let s = try? vmlinux.symbols().first("gdt_page") else { return nil }
    return try? vmlinux.bytes(inSection: ".data..percpu", at: s.value, count: count)
  }

  /// The CPU's current task (pcpu_hot.current_task since v6.2, current_task before) and
  /// its thread.tls_array.
  func currentTLS(cpu: Int, cpus: PerCPUSet) -> (UInt64, [UInt64])? {
    guard let task = currentTask(cpu: cpu, cpus: cpus), let t = try? types(),
      let tls = try? t.member("task_struct.thread.tls_array"), let size = tls.size, size > 0, size <= 64,
      let bytes = try? kernelSpace.bytes(at: task &+ UInt64(tls.offset), count: size)
    else { return nil }
    return (task, Self.quadwords(bytes))
  }

  /// The task a CPU runs: pcpu_hot.current_task (v6.2–v6.14) or the current_task per-CPU variable.
  public func currentTask(cpu: Int, cpus: PerCPUSet) -> UInt64? {
    if let hot = try? perCPUAddress("pcpu_hot", cpu: cpu, in: cpus), let t = try? types(),
      let off = try? t.offsetof("pcpu_hot.current_task")
    {
      return try? kernelSpace.u64(at: hot &+ UInt64(off))
    }
    guard let a = try? perCPUAddress("current_task", cpu: cpu, in: cpus) else { return nil }
    return try? kernelSpace.u64(at: a)
  }

  static func row(index: Int, raw: [UInt64], initial: UInt64?) -> GDTEntryRow {
    let value = raw[index]
    let d = SegmentDescriptor(value)
    var row = GDTEntryRow(
      index: index, selector: "0x" + String(index * 8 | d.dpl, radix: 16), name: LinuxGDT.name(ofEntry: index),
      raw: Hex64(value), kind: "null", type: nil, base: Hex64(UInt64(d.base)), limit: Hex64(UInt64(d.byteLimit)),
      granularity4K: d.granularity, defaultBig: d.defaultBig, long: d.long, dpl: d.dpl, present: d.present,
      initial: initial.map(Hex64.init))
    let previous = index > 0 ? raw[index - 1] : 0
    let previousIsSystem16 = index > 0 && Self.isSystem16(previous)
    if previousIsSystem16 && (index == LinuxGDT.tss + 1 || index == LinuxGDT.ldt + 1) {
      row.kind = "upper half"
      row.type = "base 63:32 of the descriptor in slot \(index - 1)"
    } else if value == 0 {
      row.kind = "null"
    } else if let type = d.codeDataType {
      row.kind = type.isCode ? "code" : "data"
      row.type = type.description + (d.codeMode.map { " (\($0.rawValue))" } ?? "")
    } else if index + 1 < raw.count {
      let s = SystemSegmentDescriptor(low: value, high: raw[index + 1])
      row.kind = s.type.isTSS ? "TSS" : s.type == .ldt ? "LDT" : "other system"
      row.type = s.type.description
      row.base = Hex64(s.base)
      row.limit = Hex64(UInt64(s.byteLimit))
    } else {
      row.kind = "other system"
    }
    return row
  }

  /// A TSS or LDT descriptor (S = 0 with a 16-byte type).
  static func isSystem16(_ value: UInt64) -> Bool {
    let d = SegmentDescriptor(value)
    return value != 0 && d.isSystem && SystemSegmentType(rawType: d.rawType).isTSSOrLDT
  }
}
