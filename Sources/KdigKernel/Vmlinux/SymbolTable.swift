// The vmlinux ELF symbol table, read in place from the mapped file. Name → symbol uses an
// open-addressing hash of the names built in one pass (no Strings made) and kept per build
// (SymbolIndexCache); address → symbol uses a sorted index built only when first asked for.

import KdigBinary

#if canImport(Glibc)
  import Glibc
#endif

/// One ELF symbol (Elf64_Sym), with its address as linked (before KASLR).
public struct ElfSymbol: Sendable, Hashable {
  public var name: String
  /// st_value: the link-time address (or an offset for per-cpu symbols).
  public var value: UInt64
  public var size: UInt64
  /// STT_* (0 NOTYPE, 1 OBJECT, 2 FUNC, 3 SECTION, 4 FILE).
  public var type: UInt8
  /// STB_* (0 LOCAL, 1 GLOBAL, 2 WEAK).
  public var binding: UInt8
  /// nm-style letter (T, t, D, d, B, b, R, r, A, W, V …).
  public var letter: Character
  /// Index of the symbol in .symtab.
  public var index: Int
}

/// `name`, or `name+0xoff` inside it, and ` [module]` for a module's symbol, as crash prints it.
public func symbolDisplay(_ name: String, offset: UInt64, module: String? = nil) -> String {
  (offset == 0 ? name : "\(name)+0x\(hex(offset))") + (module.map { " [\($0)]" } ?? "")
}

/// Symbols of a vmlinux.
public final class SymbolTable {
  static let entrySize = 24
  /// Lowest address of the kernel half; per-cpu offsets and absolute values lie below.
  static let kernelHalf: UInt64 = 0xffff_8000_0000_0000

  private let symbols: ByteView
  private let strings: ByteView
  private let sectionLetters: [Character]
  public let count: Int
  private var nameSlots = NameSlots(built: [])
  /// True when the name index came from the per-build copy.
  private(set) var loadedFromCache = false
  /// True when the address index came from the per-build copy.
  private(set) var addressIndexFromCache = false
  /// Where the indexes are kept for this build (nil: no build-id or no cache directory).
  private var indexCache: SymbolIndexCache?
  /// (address, symbol index) sorted by address; built on first use.
  private var byAddress: [AddressEntry]?

  struct AddressEntry {
    var value: UInt64
    var index: UInt32

    /// Every symbol at the highest address ≤ `address` in the sorted index `idx` (aliases
    /// share an address; the caller picks among them), by binary search.
    static func symbols(atOrBelow address: UInt64, in idx: [AddressEntry], _ symbol: (Int) -> ElfSymbol) -> [ElfSymbol] {
      var lo = 0
      var hi = idx.count
      while lo < hi {
        let mid = (lo + hi) / 2
        if idx[mid].value <= address { lo = mid + 1 } else { hi = mid }
      }
      guard lo > 0 else { return [] }
      let best = idx[lo - 1].value
      var out: [ElfSymbol] = []
      var j = lo - 1
      while j >= 0 && idx[j].value == best {
        out.append(symbol(Int(idx[j].index)))
        j -= 1
      }
      return out
    }
  }

  /// `buildID` names the per-build copy of the name index (none: always built here), kept
  /// under `cacheRoot` (default: the cache directory).
  init(
    symbols: ByteView, strings: ByteView, sections: [VmlinuxSection], buildID: String? = nil, cacheRoot: String? = nil
  ) throws {
    self.symbols = symbols
    self.strings = strings
    count = symbols.count / Self.entrySize
    sectionLetters = sections.map { s in
      if s.type == VmlinuxFile.SHT_NOBITS { return "B" }
      if s.flags & 0x4 != 0 { return "T" }  // SHF_EXECINSTR
      if s.flags & 0x1 != 0 { return "D" }  // SHF_WRITE
      if s.flags & 0x2 != 0 { return "R" }  // SHF_ALLOC
      return "N"
    }
    let cache = SymbolIndexCache(buildID: buildID, symbols: count, stringBytes: strings.count, root: cacheRoot)
    indexCache = cache
    if let loaded = cache?.load(symbols: count) {
      nameSlots = loaded
      loadedFromCache = true
    } else {
      let slots = buildNameIndex()
      nameSlots = NameSlots(built: slots)
      cache?.store(slots)
    }
  }

  // MARK: - Raw fields

  @inline(__always) private func u32(_ i: Int, _ o: Int) -> UInt32 {
    (try? symbols.u32(i * Self.entrySize + o)) ?? 0
  }
  @inline(__always) private func u64(_ i: Int, _ o: Int) -> UInt64 {
    (try? symbols.u64(i * Self.entrySize + o)) ?? 0
  }
  @inline(__always) private func info(_ i: Int) -> UInt8 {
    (try? symbols.u8(i * Self.entrySize + 4)) ?? 0
  }
  @inline(__always) private func shndx(_ i: Int) -> UInt16 {
    (try? symbols.read(UInt16.self, at: i * Self.entrySize + 6)) ?? 0
  }
  @inline(__always) func value(_ i: Int) -> UInt64 { u64(i, 8) }

  /// The name bytes of symbol `i` (empty when st_name is out of range).
  private func nameBytes(_ i: Int) -> UnsafeRawBufferPointer.SubSequence {
    let start = Int(u32(i, 0))
    guard start < strings.count else { return strings.bytes[0..<0] }
    var end = start
    while end < strings.count && strings.bytes[end] != 0 { end += 1 }
    return strings.bytes[start..<end]
  }

  /// Decodes symbol `i`.
  public func symbol(at i: Int) -> ElfSymbol {
    let inf = info(i)
    let binding = inf >> 4
    let type = inf & 0xf
    let sh = shndx(i)
    var letter: Character = "U"
    if sh == 0xfff1 {
      letter = "A"
    } else if sh != 0, Int(sh) < sectionLetters.count {
      letter = sectionLetters[Int(sh)]
    }
    if binding == 2 {
      letter = type == 1 ? "V" : "W"
    } else if binding == 0, let lower = letter.lowercased().first {
      letter = lower
    }
    return ElfSymbol(
      name: String(decoding: nameBytes(i), as: UTF8.self), value: value(i), size: u64(i, 16),
      type: type, binding: binding, letter: letter, index: i)
  }

  // MARK: - By name

  private static func hash<C: Collection>(_ bytes: C) -> UInt64 where C.Element == UInt8 {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
    return h
  }


  /// One pass over .symtab and .strtab on raw pointers (this runs on every start, for
  /// ~190k symbols): bounds are checked once per symbol, names are hashed in place.
  private func buildNameIndex() -> [UInt32] {
    var size = 1
    while size < count * 2 { size <<= 1 }
    var slots = [UInt32](repeating: 0, count: max(size, 2))
    let mask = slots.count - 1
    symbols.withUnsafeBytes { syms in
      strings.withUnsafeBytes { strs in
        guard let strBase = strs.baseAddress else { return }
        let strCount = strs.count
        for i in 1..<max(1, count) {
          let o = i * Self.entrySize  // in bounds: count = syms.count / entrySize
          let nameOffset = Int(UInt32(littleEndian: syms.loadUnaligned(fromByteOffset: o, as: UInt32.self)))
          let type = syms[o + 4] & 0xf
          guard nameOffset != 0, type != 3, type != 4, nameOffset < strCount else { continue }
          // FNV-1a up to the NUL (or the end of .strtab).
          var h: UInt64 = 0xcbf2_9ce4_8422_2325
          var p = nameOffset
          while p < strCount {
            let b = strBase.load(fromByteOffset: p, as: UInt8.self)
            if b == 0 { break }
            h = (h ^ UInt64(b)) &* 0x100_0000_01b3
            p += 1
          }
          var slot = Int(truncatingIfNeeded: h) & mask
          while slots[slot] != 0 { slot = (slot + 1) & mask }
          slots[slot] = UInt32(i)
        }
      }
    }
    return slots
  }

  /// Every symbol named `name`, globals first.
  public func lookup(_ name: String) -> [ElfSymbol] {
    guard nameSlots.count >= 2 else { return [] }
    let query = Array(name.utf8)
    let mask = nameSlots.count - 1
    var s = Int(truncatingIfNeeded: Self.hash(query)) & mask
    var found: [ElfSymbol] = []
    // At most one pass over the table (a mapped copy is checked to have an empty slot).
    var probes = 0
    while nameSlots[s] != 0 && probes < nameSlots.count {
      let i = Int(nameSlots[s])
      if nameBytes(i).elementsEqual(query) { found.append(symbol(at: i)) }
      s = (s + 1) & mask
      probes += 1
    }
    return found.sorted { ($0.binding == 0 ? 3 : $0.binding, $0.index) < ($1.binding == 0 ? 3 : $1.binding, $1.index) }
  }

  /// The preferred symbol named `name` (a global, else the first local).
  public func first(_ name: String) -> ElfSymbol? { lookup(name).first }

  // MARK: - By address

  private func addressIndex() -> [AddressEntry] {
    if let byAddress { return byAddress }
    if let stored = indexCache?.loadAddresses(), isAddressIndex(stored) {
      addressIndexFromCache = true
      byAddress = stored
      return stored
    }
    var idx: [AddressEntry] = []
    idx.reserveCapacity(count)
    symbols.withUnsafeBytes { syms in
      for i in 1..<max(1, count) {
        if let v = Self.indexedAddress(syms, i) { idx.append(AddressEntry(value: v, index: UInt32(i))) }
      }
    }
    let sorted = Self.radixSorted(idx)
    byAddress = sorted
    indexCache?.storeAddresses(sorted)
    return sorted
  }

  /// The address of symbol `i` when it belongs in the address index: a NOTYPE, OBJECT or
  /// FUNC symbol with a name, in the kernel half. `syms` is .symtab, i < count.
  @inline(__always) static func indexedAddress(_ syms: UnsafeRawBufferPointer, _ i: Int) -> UInt64? {
    let o = i * entrySize  // in bounds: count = syms.count / entrySize
    let type = syms[o + 4] & 0xf
    let name = UInt32(littleEndian: syms.loadUnaligned(fromByteOffset: o, as: UInt32.self))
    let v = UInt64(littleEndian: syms.loadUnaligned(fromByteOffset: o + 8, as: UInt64.self))
    return type <= 2 && name != 0 && v >= kernelHalf ? v : nil
  }

  /// True when `entries` is exactly what building the index gives: every indexed symbol once,
  /// with its address, ordered by (address, index). A stored copy is used only then.
  func isAddressIndex(_ entries: [AddressEntry]) -> Bool {
    symbols.withUnsafeBytes { syms in
      var indexed = 0
      for i in 1..<max(1, count) where Self.indexedAddress(syms, i) != nil { indexed += 1 }
      guard entries.count == indexed else { return false }
      var previous: (UInt64, UInt32)?
      for e in entries {
        guard Int(e.index) >= 1, Int(e.index) < count, Self.indexedAddress(syms, Int(e.index)) == e.value else { return false }
        if let p = previous, !(p.0 < e.value || (p.0 == e.value && p.1 < e.index)) { return false }
        previous = (e.value, e.index)
      }
      return true
    }
  }

  /// LSD radix sort on the address (16-bit digits over the bits that vary): linear time,
  /// several times fewer instructions than a comparison sort of ~190k symbols. Stable, so
  /// symbols at one address keep table order.
  static func radixSorted(_ input: [AddressEntry]) -> [AddressEntry] {
    guard let lo = input.lazy.map(\.value).min(), let hi = input.lazy.map(\.value).max(), input.count > 64 else {
      return input.sorted { $0.value < $1.value }
    }
    let span = hi - lo
    var a = input
    var b = input
    var shift: UInt64 = 0
    while shift < 64 && (span >> shift) != 0 {
      var counts = [Int](repeating: 0, count: 65537)
      for e in a { counts[Int(((e.value - lo) >> shift) & 0xffff) + 1] += 1 }
      for i in 1..<counts.count { counts[i] += counts[i - 1] }
      for e in a {
        let d = Int(((e.value - lo) >> shift) & 0xffff)
        b[counts[d]] = e
        counts[d] += 1
      }
      swap(&a, &b)
      shift += 16
    }
    return a
  }

  private lazy var hasStoredAddresses: Bool = indexCache.map { access($0.addressPath, R_OK) == 0 } ?? false

  /// Lookups answered by a linear scan before the sorted index pays for itself (building it
  /// costs about as much as four scans of the table).
  static let linearLookups = 3
  private var lookupsDone = 0

  /// The symbol at or below link-time `address`, with the offset into it. Among symbols at the
  /// same address, globals win over weak over local, sized over unsized.
  public func symbolize(linkAddress address: UInt64) -> (symbol: ElfSymbol, offset: UInt64)? {
    lookupsDone += 1
    // With a stored index for this build, reading it beats even one scan.
    if byAddress == nil && lookupsDone <= Self.linearLookups && !hasStoredAddresses { return scanSymbolize(address) }
    let idx = addressIndex()
    let candidates = SymbolTable.AddressEntry.symbols(atOrBelow: address, in: idx, symbol(at:))
    guard !candidates.isEmpty else { return nil }
    guard let chosen = candidates.min(by: { Self.rank($0) < Self.rank($1) }) else { return nil }
    return (chosen, address &- chosen.value)
  }

  static func rank(_ s: ElfSymbol) -> (Int, Int, String) {
    (s.binding == 1 ? 0 : s.binding == 2 ? 1 : 2, s.size > 0 ? 0 : 1, s.name)
  }

  /// The same answer as the index gives, by one pass over the table.
  private func scanSymbolize(_ address: UInt64) -> (symbol: ElfSymbol, offset: UInt64)? {
    var best: UInt64 = 0
    var found = false
    var candidates: [Int] = []
    for i in 1..<max(1, count) {
      let v = value(i)
      guard v <= address, v >= Self.kernelHalf, (!found || v >= best) else { continue }
      let type = info(i) & 0xf
      guard type <= 2, u32(i, 0) != 0 else { continue }
      if !found || v > best {
        best = v
        found = true
        candidates.removeAll(keepingCapacity: true)
      }
      candidates.append(i)
    }
    guard found, let chosen = candidates.map({ symbol(at: $0) }).min(by: { Self.rank($0) < Self.rank($1) }) else {
      return nil
    }
    return (chosen, address &- chosen.value)
  }
}
