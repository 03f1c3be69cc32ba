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
}

/// Dumps page tables over a range.
public struct PageTableDump {
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

  /// Walks [from, to) (to 0 = top of the address space) in `space`.
  public func dump(space: ResolvedSpace, from: UInt64, to: UInt64) -> PtdumpReport {
    let walker = kernel.kernelSpace.walker
    let traversal = PageTableTraversal(walker: walker, root: space.root.value)
    let flagsMask = ~walker.frameMask
    let allMarkers = markers()
    var ranges: [PtdumpRange] = []
    var reportMarkers: [PtdumpMarker] = []
    var markerIndex = allMarkers.lastIndex { $0.0 <= from } ?? 0
    reportMarkers.append(PtdumpMarker(name: allMarkers[markerIndex].1, beforeRange: 0))
    var current: (start: UInt64, end: UInt64, level: PageTableLevel, flags: UInt64, eff: UInt64, phys: UInt64?, contiguous: Bool, unreadable: String?)?

    func flush() {
      guard let c = current else { return }
      ranges.append(makeRange(c.start, c.end, c.level, c.flags, c.eff, c.phys, c.contiguous, c.unreadable))
    }

    traversal.visit(from: from, to: to) { v in
      let flags = v.entry.raw & flagsMask
      let isLeaf = v.entry.present
      let phys: UInt64? = isLeaf ? v.entry.raw & walker.frameMask & ~((v.level.leafSize ?? 4096) - 1) : nil
      let crossesMarker = markerIndex + 1 < allMarkers.count && v.address >= allMarkers[markerIndex + 1].0
        && allMarkers[markerIndex + 1].0 != 0
      if var c = current, !crossesMarker, c.flags == flags, c.eff == v.effective, c.level == v.level,
        c.unreadable == v.unreadable?.description
      {
        if let p = c.phys, let q = phys, c.contiguous { c.contiguous = q == p &+ (v.address &- c.start) }
        c.end = v.end
        current = c
        return
      }
      flush()
      if crossesMarker {
        while markerIndex + 1 < allMarkers.count && v.address >= allMarkers[markerIndex + 1].0 { markerIndex += 1 }
        reportMarkers.append(PtdumpMarker(name: allMarkers[markerIndex].1, beforeRange: ranges.count))
      }
      current = (v.address, v.end, v.level, flags, v.effective, phys, true, v.unreadable?.description)
    }
    flush()
    return PtdumpReport(
      space: space, from: Hex64(from), to: Hex64(to), ranges: ranges, markers: reportMarkers,
      writableExecutableRanges: ranges.filter(\.writableExecutable).count)
  }

  func makeRange(
    _ start: UInt64, _ end: UInt64, _ level: PageTableLevel, _ flags: UInt64, _ eff: UInt64, _ phys: UInt64?,
    _ contiguous: Bool, _ unreadable: String?
  ) -> PtdumpRange {
    let e = PageTableEntry(flags)
    let present = e.present
    let effective = present ? EffectivePermissions(raw: eff) : nil
    let region = regions.region(of: start).rawValue
    var symbol: String?
    if present, region == AddressRegion.kernelImage.rawValue, let (s, off) = kernel.symbolize(start) {
      symbol = off == 0 ? s.name : "\(s.name)+0x\(hex(off))"
    }
    return PtdumpRange(
      start: Hex64(start), end: Hex64(end), level: level.name.lowercased(), present: present, flags: Hex64(flags),
      prot: Self.prot(e, level: level), effective: effective, physical: phys.map { Hex64($0) },
      physicallyContiguous: present ? contiguous : nil, region: region, symbol: symbol,
      writableExecutable: effective.map { $0.writable && $0.executable } ?? false, unreadable: unreadable)
  }

  /// printk_prot(): fixed-width words for a present entry, 30 blanks otherwise.
  public static func prot(_ e: PageTableEntry, level: PageTableLevel) -> String {
    guard e.present else { return String(repeating: " ", count: 30) }
    var s = e.user ? "USR " : "    "
    s += e.writable ? "RW " : "ro "
    s += e.writeThrough ? "PWT " : "    "
    s += e.cacheDisabled ? "PCD " : "    "
    // Bit 7 is PSE above the PTE level and PAT in a PTE; PAT_LARGE (bit 12) is masked out of
    // the flags by PTE_FLAGS_MASK, as in the kernel.
    s += level != .pte && e.pageSize ? "PSE " : "    "
    s += (level == .pte && e.pageSize) || (level != .pte && e.bit(12)) ? "PAT " : "    "
    s += e.global ? "GLB " : "    "
    s += e.noExecute ? "NX " : "x  "
    return s
  }
}

extension EffectivePermissions {
  /// From the kernel's effective_prot bits (_PAGE_RW, _PAGE_USER, _PAGE_NX).
  public init(raw: UInt64) {
    self.init(steps: [])
    writable = raw & (1 << 1) != 0
    user = raw & (1 << 2) != 0
    executable = raw & (1 << 63) == 0
  }
}
