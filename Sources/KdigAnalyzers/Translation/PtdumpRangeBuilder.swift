// How `ptdump` turns coalesced entries into ranges: the prot words of printk_prot(), the
// region or symbol, the W+X flag, and what an entry that was not walked stands for.

import KdigBinary
import KdigKernel
import KdigTranslation

/// A range being coalesced.
struct PendingRange {
  var start: UInt64
  var end: UInt64
  var level: PageTableLevel
  var flags: UInt64
  var eff: UInt64
  var phys: UInt64?
  var contiguous = true
  var unreadable: String?
  var notWalked: String?
  /// For entries not walked: whether the table below holds W+X leaves (known for a repeat,
  /// unknown and so not claimed for a loop or a table beyond the limit).
  var writableExecutableBelow: Bool?

  init(_ v: VisitedEntry, flags: UInt64, phys: UInt64?, notWalked: String?) {
    start = v.address
    end = v.end
    level = v.level
    self.flags = flags
    eff = v.effective
    self.phys = phys
    unreadable = v.unreadable?.description
    self.notWalked = notWalked
    switch v.notDescended {
    case .repeated(let summary): writableExecutableBelow = summary.writableExecutableLeaves > 0
    case .loop, .beyondLimit: writableExecutableBelow = false
    case nil: writableExecutableBelow = nil
    }
  }
}

extension PageTableDump {
  func makeRange(_ c: PendingRange) -> PtdumpRange {
    let e = PageTableEntry(c.flags)
    let present = e.present
    let effective = present ? EffectivePermissions(raw: c.eff) : nil
    let region = regions.region(of: c.start).rawValue
    var symbol: String?
    if c.phys != nil, region == AddressRegion.kernelImage.rawValue, let (s, off) = kernel.symbolize(c.start) {
      symbol = symbolDisplay(s.name, offset: off)
    }
    return PtdumpRange(
      start: Hex64(c.start), end: Hex64(c.end), level: c.level.name.lowercased(), present: present,
      flags: Hex64(c.flags), prot: Self.prot(e, level: c.level), effective: effective,
      physical: c.phys.map { Hex64($0) }, physicallyContiguous: c.phys == nil ? nil : c.contiguous,
      region: region, symbol: symbol,
      writableExecutable: c.writableExecutableBelow ?? effective.map { $0.writable && $0.executable } ?? false,
      unreadable: c.unreadable, notWalked: c.notWalked)
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
