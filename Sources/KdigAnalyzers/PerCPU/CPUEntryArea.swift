// One CPU's cpu_entry_area: where it is (get_cpu_entry_area: CPU_ENTRY_AREA_PER_CPU +
// cea_offset(cpu) * CPU_ENTRY_AREA_SIZE, cea_offset = per_cpu(_cea_offset, cpu) since v6.2,
// the CPU number before) and what every page of it maps, next to the per-CPU object the
// kernel mapped there, translated on its own.

import KdigBinary
import KdigKernel
import KdigTranslation

/// One page of a cpu_entry_area.
public struct CEAPage: Sendable, Encodable {
  public var virtual: Hex64
  /// The struct cpu_entry_area member and the page's byte offset inside it.
  public var field: String
  public var offsetInField: Int
  public var expected: String
  public var mapped: Bool
  /// Leaf level (PTE, PMD…) and entry, also for a non-present entry.
  public var level: String?
  public var entry: Hex64?
  public var flags: [String]
  /// Effective rights across every level ("RO NX", "RW NX", …).
  public var effective: String?
  public var writable: Bool
  public var executable: Bool
  public var user: Bool
  public var global: Bool
  public var physical: Hex64?
  /// The per-CPU object the kernel maps here, its address and physical page.
  public var backing: String?
  public var backingVirtual: Hex64?
  public var backingPhysical: Hex64?
  /// Why the page is not mapped, or what could not be read.
  public var note: String?

  var expectation: CEAExpectation
  enum CodingKeys: String, CodingKey {
    case virtual, field, offsetInField, expected, mapped, level, entry, flags, effective, writable, executable
    case user, global, physical, backing, backingVirtual, backingPhysical, note
  }
}

/// A CPU's area and the addresses the kernel derives from it.
public struct CPUEntryArea: Sendable, Encodable {
  public var cpu: Int
  public var slot: Int
  public var slotSource: String
  public var base: Hex64
  public var gdt: Hex64
  /// &cea->tss.x86_tss: what the TSS descriptor and TR point at.
  public var tss: Hex64
  /// cpu_entry_stack(cpu) + 1: what TSS.sp0 holds (cpu_init: load_sp0).
  public var entryStackTop: Hex64
  /// __this_cpu_ist_top_va(X): CEA_ESTACK_TOP of every exception stack, by ESTACK name.
  public var exceptionStackTops: [String: Hex64]
  /// per_cpu(cea_exception_stacks, cpu), set by percpu_setup_exception_stacks to &cea->estacks.
  public var ceaExceptionStacksPointer: Hex64?
  public var pages: [CEAPage]
}

extension KernelImage {
  /// The cpu_entry_area of `cpu`, every page walked; `walkPages` false gives only where it
  /// and its members are (what the stack map, register decoding and check's page list need).
  public func cpuEntryArea(
    cpu: Int, layout: CEALayout, cpus: PerCPUSet, intel: Bool, walkPages: Bool = true
  ) throws -> CPUEntryArea {
    var slot = cpu
    var slotSource = "the CPU number (no _cea_offset: kernels before v6.2 do not randomize)"
    if layout.randomizedSlots {
      let a = try perCPUAddress("_cea_offset", cpu: cpu, in: cpus)
      let v = try kernelSpace.u64(at: a)
      // The slots must fit the area: CPU_ENTRY_AREA_MAP_SIZE is 512 GiB (one P4D entry).
      guard v < UInt64((1 << 39) / layout.size) else {
        throw PerCPUError("per_cpu(_cea_offset, \(cpu)) = \(v) is beyond the cpu_entry_area", .malformedInput)
      }
      slot = Int(v)
      slotSource = "per_cpu(_cea_offset, \(cpu)) (randomized by init_cea_offsets)"
    }
    let base = CEALayout.perCPUBase &+ UInt64(slot) &* UInt64(layout.size)
    func at(_ name: String) -> UInt64 { base &+ UInt64(layout.field(name)?.offset ?? 0) }
    var tops: [String: Hex64] = [:]
    for f in layout.fields {
      if let s = f.exceptionStack { tops[s] = Hex64(base &+ UInt64(f.offset + f.size)) }
    }
    var pointer: Hex64?
    if let p = try? perCPUAddress("cea_exception_stacks", cpu: cpu, in: cpus), let v = try? kernelSpace.u64(at: p) {
      pointer = Hex64(v)
    }
    let pages = !walkPages ? [] : layout.fields.flatMap { field in
      stride(from: 0, to: field.size, by: CEALayout.pageSize).map { off in
        ceaPage(
          base &+ UInt64(field.offset + off), field: field, offset: off,
          expectation: .forPage(field: field, pageOffset: off, layout: layout, intel: intel), cpu: cpu, cpus: cpus)
      }
    }
    return CPUEntryArea(
      cpu: cpu, slot: slot, slotSource: slotSource, base: Hex64(base), gdt: Hex64(at("gdt")),
      tss: Hex64(base &+ UInt64(layout.hardwareTSSOffset)),
      entryStackTop: Hex64(at("entry_stack_page") &+ UInt64(layout.entryStackSize)),
      exceptionStackTops: tops, ceaExceptionStacksPointer: pointer, pages: pages)
  }

  func ceaPage(
    _ va: UInt64, field: CEAField, offset: Int, expectation: CEAExpectation, cpu: Int, cpus: PerCPUSet
  ) -> CEAPage {
    var page = CEAPage(
      virtual: Hex64(va), field: field.name, offsetInField: offset, expected: expectation.summary, mapped: false,
      level: nil, entry: nil, flags: [], effective: nil, writable: false, executable: false, user: false,
      global: false, physical: nil, backing: nil, backingVirtual: nil, backingPhysical: nil, note: nil,
      expectation: expectation)
    if let (name, off) = expectation.backing {
      page.backing = off == 0 ? name : "\(name)+0x\(hex(UInt64(off)))"
      if let object = try? perCPUAddress(name, cpu: cpu, in: cpus) {
        let va = object &+ UInt64(off)
        page.backingVirtual = Hex64(va)
        page.backingPhysical = (try? kernelSpace.walk(va)).map { Hex64($0.physicalAddress) }
      }
    }
    let decoder = entryDecoder()
    do {
      let t = try kernelSpace.walk(va)
      let p = t.permissions
      page.mapped = true
      page.level = t.leafLevel.name
      page.entry = Hex64(t.leaf.raw)
      page.flags = decoder.flagNames(t.leaf, at: t.leafLevel, leaf: true)
      page.effective = p.summary
      (page.writable, page.executable, page.user, page.global) = (p.writable, p.executable, p.user, t.leaf.global)
      page.physical = Hex64(t.physicalAddress)
    } catch {
      if let last = error.steps.last {
        page.level = last.level.name
        page.entry = Hex64(last.entry.raw)
        page.flags = decoder.flagNames(last.entry, at: last.level, leaf: true)
      }
      if case .notPresent = error.reason {
        page.note = page.entry?.value == 0 ? "no entry" : "entry not present"
      } else {
        page.note = "\(error)"
      }
    }
    return page
  }
}
