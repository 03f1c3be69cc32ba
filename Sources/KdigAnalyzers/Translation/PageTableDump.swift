// `ptdump`: coalesced mappings in the kernel's own format (arch/x86/mm/dump_pagetables.c:
// note_page/printk_prot — a range breaks when the entry's flags, the effective permissions,
// the level or an address marker change), plus the physical frames and the region or symbol
// each range belongs to, and the W+X check the kernel runs at boot (ptdump_walk_pgd_level_checkwx).

import KdigBinary
import KdigKernel
import KdigMemory
import KdigTranslation

/// One coalesced range.
public struct PtdumpRange: Sendable, Encodable {
  public var start: Hex64
  /// One past the end (0 for the top of the address space).
  public var end: Hex64
  public var level: String
  public var present: Bool
  /// The entry's flag bits (PTE_FLAGS_MASK).
  public var flags: Hex64
  /// printk_prot()'s words: "USR RW PWT PCD PSE PAT GLB NX" columns.
  public var prot: String
  public var effective: EffectivePermissions?
  /// Physical address of the start, for present ranges.
  public var physical: Hex64?
  /// False when the frames behind the range are not one contiguous run.
  public var physicallyContiguous: Bool?
  public var region: String
  public var symbol: String?
  /// Effective RW and executable: the kernel's W+X warning.
  public var writableExecutable: Bool
  public var unreadable: String?
  /// The entry points at a table that was not walked: a loop, a table above the physical
  /// limit, or a table already walked (then with the summary of what it maps).
  public var notWalked: String?
}

/// A section heading ("---[ Kernel Space ]---") before the range at `beforeRange`.
public struct PtdumpMarker: Sendable, Encodable {
  public var name: String
  public var beforeRange: Int
}

/// The result of `ptdump`.
public struct PtdumpReport: Sendable, Encodable {
  public var space: ResolvedSpace
  public var from: Hex64
  public var to: Hex64
  public var ranges: [PtdumpRange]
  public var markers: [PtdumpMarker]
  public var writableExecutableRanges: Int
  /// Page-table entries visited, and the cap on them (PageTableTraversal.defaultEntryLimit).
  public var entriesVisited: Int
  public var entryLimit: Int
  /// Entries that pointed at a table already walked, shown as one summarized range each.
  public var repeatedTables: Int
  /// False when a work limit stopped the dump before the end of the range.
  public var complete: Bool
  /// What the user should know about how the ranges were found (limits hit, repeats).
  public var notes: [String]
}

/// Dumps page tables over a range.
public struct PageTableDump {
  /// Ranges one dump keeps at most: each costs a few hundred bytes, and hostile tables can
  /// make every entry its own range. A real kernel half has a few thousand.
  public static let maxRanges = 1 << 18

  public let kernel: KernelImage
  let regions: KernelRegions

  public init(kernel: KernelImage) {
    self.kernel = kernel
    regions = kernel.regions()
  }

  /// The kernel's address markers (address_markers[] for x86_64), in address order.
  public func markers() -> [(UInt64, String)] {
    var m: [(UInt64, String)] = [
      (0, "User Space"), (1 << 63, "Kernel Space"), (regions.pageOffset, "Low Kernel Mapping"),
      (regions.vmallocBase, "vmalloc() Area"), (regions.vmemmapBase, "Vmemmap"),
      (KernelConstants.cpuEntryAreaBase, "CPU entry Area"), (0xffff_ff00_0000_0000, "ESPfix Area"),
      (0xffff_ffef_0000_0000, "EFI Runtime Services"), (KernelConstants.startKernelMap, "High Kernel Mapping"),
      (KernelRegions.modulesStart, "Modules"), (KernelRegions.modulesEnd, "End Modules"),
    ]
    // LDT_BASE_ADDR: LDT_PGD_ENTRY (-240 with 4 levels, -112 with 5) << PGDIR_SHIFT.
    m.append((regions.mode == .fiveLevel ? 0xff48_0000_0000_0000 : 0xffff_8800_0000_0000, "LDT remap"))
    if let fix = fixmapStart() { m.append((fix, "Fixmap Area")) }
    return m.sorted { $0.0 < $1.0 }
  }

  /// FIXADDR_START = FIXADDR_TOP − (__end_of_permanent_fixed_addresses << PAGE_SHIFT), with the
  /// enumerator read from DWARF.
  func fixmapStart() -> UInt64? {
    guard let n = try? kernel.types().enumValue("__end_of_permanent_fixed_addresses"), n > 0 else { return nil }
    return KernelRegions.fixmapTop &- (UInt64(n) << 12)
  }

  /// Walks [from, to) (to 0 = top of the address space) in `space`. The work is bounded by
  /// `entryLimit` entries and `maxRanges` ranges; the report's notes say when either stopped it.
  public func dump(
    space: ResolvedSpace, from: UInt64, to: UInt64, entryLimit: Int = PageTableTraversal.defaultEntryLimit
  ) -> PtdumpReport {
    let walker = kernel.kernelSpace.walker
    let traversal = PageTableTraversal(walker: walker, root: space.root.value, entryLimit: entryLimit)
    let flagsMask = ~walker.frameMask
    let allMarkers = markers()
    var ranges: [PtdumpRange] = []
    var reportMarkers: [PtdumpMarker] = []
    var markerIndex = allMarkers.lastIndex { $0.0 <= from } ?? 0
    reportMarkers.append(PtdumpMarker(name: allMarkers[markerIndex].1, beforeRange: 0))
    var current: PendingRange?
    var rangeCapAt: UInt64?

    func flush() {
      guard let c = current else { return }
      ranges.append(makeRange(c))
      current = nil
    }

    let outcome = traversal.visitUntil(from: from, to: to) { v in
      let flags = v.entry.raw & flagsMask
      let phys: UInt64? = v.isLeaf ? v.entry.raw & walker.frameMask & ~((v.level.leafSize ?? 4096) - 1) : nil
      let note = v.notDescended?.description
      let crossesMarker = markerIndex + 1 < allMarkers.count && v.address >= allMarkers[markerIndex + 1].0
        && allMarkers[markerIndex + 1].0 != 0
      if var c = current, !crossesMarker, c.flags == flags, c.eff == v.effective, c.level == v.level,
        c.unreadable == v.unreadable?.description, c.notWalked == note
      {
        if let p = c.phys, let q = phys, c.contiguous { c.contiguous = q == p &+ (v.address &- c.start) }
        c.end = v.end
        current = c
        return false
      }
      flush()
      guard ranges.count < Self.maxRanges else {
        rangeCapAt = v.address
        return true
      }
      if crossesMarker {
        while markerIndex + 1 < allMarkers.count && v.address >= allMarkers[markerIndex + 1].0 { markerIndex += 1 }
        reportMarkers.append(PtdumpMarker(name: allMarkers[markerIndex].1, beforeRange: ranges.count))
      }
      current = PendingRange(v, flags: flags, phys: phys, notWalked: note)
      return false
    }
    flush()
    return PtdumpReport(
      space: space, from: Hex64(from), to: Hex64(to), ranges: ranges, markers: reportMarkers,
      writableExecutableRanges: ranges.filter(\.writableExecutable).count, entriesVisited: outcome.entriesVisited,
      entryLimit: outcome.entryLimit, repeatedTables: outcome.repeatedTables,
      complete: !outcome.limitReached && rangeCapAt == nil,
      notes: Self.notes(outcome, ranges: ranges.count, rangeCapAt: rangeCapAt))
  }

  /// What the user must know about how far the walk went.
  static func notes(_ outcome: TraversalOutcome, ranges: Int, rangeCapAt: UInt64?) -> [String] {
    var notes: [String] = []
    if outcome.limitReached, let at = outcome.stoppedAt {
      notes.append(
        "stopped after \(outcome.entriesVisited) page-table entries (the work limit, "
          + "PageTableTraversal.defaultEntryLimit): nothing from 0x\(hex(at)) on is shown")
    }
    if let at = rangeCapAt {
      notes.append(
        "stopped after \(ranges) ranges (the limit, PageTableDump.maxRanges): nothing from 0x\(hex(at)) on is shown")
    }
    if outcome.repeatedTables > 0 {
      notes.append(
        "\(outcome.repeatedTables) entries point at a table already walked: each is summarized "
          + "(NOT WALKED: same … table), not walked again")
    }
    return notes
  }
}
