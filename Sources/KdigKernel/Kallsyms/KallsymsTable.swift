// The kernel's own symbol table, read from the dump (kallsyms), behind the same
// SymbolProvider interface as the vmlinux .symtab. Addresses are handed out at link time
// (runtime minus the KASLR offset for kernel-image symbols), as ELF symbols are, so
// KernelImage.runtimeAddress() relocates both alike. Sizes are inferred the way kallsyms
// does it (kernel/kallsyms.c get_symbol_pos): up to the next higher symbol address.

import KdigBinary
import KdigTranslation

/// Symbols from the kallsyms tables in a dump.
public final class KallsymsTable: SymbolProvider {
  public let source: String
  public let encoding: KallsymsEncoding
  public let location: KallsymsLocation
  let names: KallsymsNames
  /// Link-time address of each symbol (kallsyms order).
  let values: [UInt64]
  public var count: Int { values.count }
  public var sizesAreExact: Bool { false }
  /// Open-addressing hash of the names (symbol index + 1; 0 is empty), built on first use.
  private(set) var nameSlots: [UInt32]
  /// Kernel-half symbols sorted by address (stable), built on first use.
  private var byAddress: [SymbolTable.AddressEntry]?

  /// More symbols than any kernel has (allyesconfig has ~400k); a larger count is damage.
  public static let maxSymbols = 4_000_000
  /// kallsyms_names is bounded by the next table; more than this is not a kernel's.
  static let maxNamesBytes = 64 << 20

  init(
    location: KallsymsLocation, names: KallsymsNames, runtime: [UInt64], encoding: KallsymsEncoding,
    kaslrOffset: UInt64, nameSlots: [UInt32] = []
  ) {
    self.location = location
    self.nameSlots = nameSlots
    self.names = names
    self.encoding = encoding
    source = "kallsyms in the dump (\(runtime.count) symbols, \(encoding.rawValue))"
    // Wrapping on purpose: a runtime address below the offset (a per-cpu offset) wraps out
    // of the kernel-image window and is kept as it is, as KernelImage.symbolize does.
    values = runtime.map { r in
      KernelConstants.isKernelImage(r &- kaslrOffset) ? r &- kaslrOffset : r
    }
  }

  /// Reads and decodes the tables at `location` through `memory`; the two large ones
  /// (names, offsets) through `regions` when given (a per-build cache, RegionCache.swift).
  public static func read(
    from memory: any VirtualMemory, location: KallsymsLocation, kaslrOffset: UInt64,
    regions: (any KernelRegionReader)? = nil
  ) throws -> KallsymsTable {
    let regions = regions ?? DumpRegionReader(memory: memory)
    let count32 = try memory.view(at: location.numSyms, count: 4, "kallsyms_num_syms").u32(0, "kallsyms_num_syms")
    let count = Int(count32)
    guard count > 0, count <= maxSymbols else {
      throw KallsymsError(.corrupt, "kallsyms_num_syms is \(count32): not a kernel's symbol count (1…\(maxSymbols))")
    }
    let index = try memory.view(at: location.tokenIndex, count: 512, "kallsyms_token_index")
    var lastToken = 0
    for n in 0..<256 { lastToken = max(lastToken, Int(try index.u16(n * 2, "kallsyms_token_index"))) }
    // The token table ends with the NUL of its last token: it runs up to the next table when
    // one follows closely (scripts/kallsyms.c emits kallsyms_token_index right after it),
    // else to the last token's start plus the longest token the scan accepts.
    var tableSize = lastToken + 257
    if let next = location.nextTable(after: location.tokenTable), next - location.tokenTable <= 65536 {
      tableSize = Int(next - location.tokenTable)
    }
    let tokenTable = try memory.view(at: location.tokenTable, count: tableSize, "kallsyms_token_table")
    let tokens = try KallsymsTokens(table: tokenTable, index: index)
    guard let namesEnd = location.nextTable(after: location.names), namesEnd - location.names <= UInt64(maxNamesBytes)
    else {
      throw KallsymsError(
        .corrupt, "no kallsyms table follows kallsyms_names within \(maxNamesBytes >> 20) MiB: cannot bound it")
    }
    let namesView = try regions.region(
      at: location.names, count: Int(namesEnd - location.names), key: "kallsyms_names", "kallsyms_names")
    try KallsymsNames.check(count: count, namesBytes: namesView.count)
    let addressTable: ByteView
    var base: UInt64?
    switch location.addressing {
    case .relative(let offsetsAddress, let baseAddress):
      base = try memory.u64(at: baseAddress)
      addressTable = try regions.region(
        at: offsetsAddress, count: count * 4, key: "kallsyms_offsets", "kallsyms_offsets")
    case .absolute(let addressesAddress):
      addressTable = try regions.region(
        at: addressesAddress, count: count * 8, key: "kallsyms_addresses", "kallsyms_addresses")
    }
    // Decoding is most of a short command's start without a vmlinux: the result is kept
    // per build (KallsymsIndex.swift), under a fingerprint of exactly these tables.
    let cache = regions.derivedIndexes
    let fingerprint = cache.map { _ in
      KallsymsIndex.fingerprint(names: namesView, tokens: tokens, count: count, addresses: addressTable, base: base)
    }
    if let cache, let fingerprint,
      let index = KallsymsIndex.load(from: cache, fingerprint: fingerprint, names: namesView, tokens: tokens, count: count)
    {
      return KallsymsTable(
        location: location, names: index.names, runtime: index.runtime, encoding: index.encoding,
        kaslrOffset: kaslrOffset, nameSlots: index.slots)
    }
    let names = try KallsymsNames(names: namesView, count: count, tokens: tokens)
    let runtime: [UInt64]
    let encoding: KallsymsEncoding
    if let base {
      (runtime, encoding) = try KallsymsAddresses.relative(offsets: addressTable, base: base, count: count)
    } else {
      runtime = try KallsymsAddresses.absolute(addresses: addressTable, count: count)
      encoding = .absolute
    }
    // scripts/kallsyms.c sorts the symbols by address: a descent means the table (or kdig's
    // reading of its encoding) is wrong, and every lookup would be too.
    for i in 1..<max(1, runtime.count) where runtime[i] < runtime[i - 1] {
      throw KallsymsError(
        .corrupt,
        "kallsyms address \(i) (0x\(hex(runtime[i]))) is below the one before it (0x\(hex(runtime[i - 1]))): "
          + "the table is damaged or uses an encoding kdig does not know")
    }
    let table = KallsymsTable(location: location, names: names, runtime: runtime, encoding: encoding, kaslrOffset: kaslrOffset)
    if let cache, let fingerprint {
      table.buildNameIndex()
      KallsymsIndex(names: names, runtime: runtime, encoding: encoding, slots: table.nameSlots)
        .store(in: cache, fingerprint: fingerprint)
    }
    return table
  }

  static func isAscending(_ values: [UInt64]) -> Bool {
    for i in 1..<max(1, values.count) where values[i] < values[i - 1] { return false }
    return true
  }

  /// A name table for `count` symbols: a power-of-two size of at least twice the count.
  /// (Entries are checked when probed: lookup skips one naming no symbol.)
  static func isNameIndex(_ slots: [UInt32], count: Int) -> Bool {
    slots.count >= 2 && slots.count & (slots.count - 1) == 0 && slots.count >= 2 * count
  }

  /// kallsyms' size: the distance to the next higher address; 0 for the last symbols.
  /// Per symbol, when asked: a command looks at a handful of symbols, not all of them.
  func inferredSize(_ i: Int) -> UInt64 {
    var next = i + 1
    // Aliases share an address; the scan is bounded by the table.
    while next < values.count && values[next] <= values[i] { next += 1 }
    return next < values.count ? values[next] - values[i] : 0
  }

  // MARK: - Symbols

  /// nm's letter → ELF binding: upper case global, w/W/v/V weak, lower case local.
  static func binding(_ letter: UInt8) -> UInt8 {
    switch letter {
    case UInt8(ascii: "w"), UInt8(ascii: "W"), UInt8(ascii: "v"), UInt8(ascii: "V"): return 2
    case UInt8(ascii: "A")...UInt8(ascii: "Z"): return 1
    default: return 0
    }
  }

  /// nm's letter → ELF type: text is FUNC, data/bss/rodata OBJECT, the rest NOTYPE.
  static func type(_ letter: UInt8) -> UInt8 {
    switch letter | 0x20 {
    case UInt8(ascii: "t"), UInt8(ascii: "w"): return 2
    case UInt8(ascii: "d"), UInt8(ascii: "b"), UInt8(ascii: "r"), UInt8(ascii: "v"), UInt8(ascii: "g"), UInt8(ascii: "s"):
      return 1
    default: return 0
    }
  }

  /// Symbol `i` as an ElfSymbol (index = its kallsyms position).
  public func symbol(at i: Int) -> ElfSymbol {
    let letter = names.letters[i]
    return ElfSymbol(
      name: names.name(i), value: values[i], size: inferredSize(i), type: Self.type(letter),
      binding: Self.binding(letter), letter: Character(Unicode.Scalar(letter)), index: i)
  }

  // MARK: - By name

  /// Slots keyed by the names' hashes, computed when the names were checked.
  func buildNameIndex() {
    var size = 2
    while size < count * 2 { size <<= 1 }
    var slots = [UInt32](repeating: 0, count: size)
    let mask = size - 1
    names.hashes.withUnsafeBufferPointer { hashes in
      slots.withUnsafeMutableBufferPointer { slot in
        for i in 0..<hashes.count {
          var at = Int(truncatingIfNeeded: hashes[i]) & mask
          // The table is at least twice the symbol count: a free slot is always found.
          while slot[at] != 0 { at = (at + 1) & mask }
          slot[at] = UInt32(i + 1)
        }
      }
    }
    nameSlots = slots
  }

  public func lookup(_ name: String) -> [ElfSymbol] {
    if nameSlots.isEmpty { buildNameIndex() }
    let query = Array(name.utf8)
    let wanted = KallsymsNameHash.finalized(KallsymsNameHash.of(query).hash)
    let mask = nameSlots.count - 1
    var s = Int(truncatingIfNeeded: wanted) & mask
    var found: [ElfSymbol] = []
    // At most one lap: a table loaded from the cache is checked for ids, not for a free slot.
    var probes = 0
    while nameSlots[s] != 0, probes < nameSlots.count {
      probes += 1
      let i = Int(nameSlots[s]) - 1
      if i < names.count, names.hashes[i] == wanted, names.nameBytes(i) == query { found.append(symbol(at: i)) }
      s = (s + 1) & mask
    }
    return found.sorted { ($0.binding == 0 ? 3 : $0.binding, $0.index) < ($1.binding == 0 ? 3 : $1.binding, $1.index) }
  }

  // MARK: - By address

  private func addressIndex() -> [SymbolTable.AddressEntry] {
    if let byAddress { return byAddress }
    // kallsyms is already in address order; only kernel-half symbols are symbolized, as
    // with the ELF table (per-cpu offsets are not addresses).
    let index = values.indices.compactMap { i -> SymbolTable.AddressEntry? in
      values[i] >= SymbolTable.kernelHalf ? SymbolTable.AddressEntry(value: values[i], index: UInt32(i)) : nil
    }
    byAddress = index
    return index
  }

  public func symbolize(linkAddress address: UInt64) -> (symbol: ElfSymbol, offset: UInt64)? {
    let idx = addressIndex()
    let candidates = SymbolTable.AddressEntry.symbols(atOrBelow: address, in: idx, symbol(at:))
    guard !candidates.isEmpty else { return nil }
    // Among aliases, the ELF table's rule (globals, then weak, then locals; sized before
    // unsized; then by name), with the one thing kallsyms lacks, sizes, guessed: symbols
    // the linker script defines (kallsyms' own test, plus the classic section labels) and
    // lockdep's empty `__key.N` have none. So default_idle wins over __cpuidle_text_start,
    // startup_64 over _stext, wait_table over __key.0, and among linker labels
    // (__start_rodata, _etext) the name decides, as it does in the ELF table.
    func rank(_ s: ElfSymbol) -> (Int, Int, String) {
      (s.binding == 1 ? 0 : s.binding == 2 ? 1 : 2, Self.looksUnsized(s.name) ? 1 : 0, s.name)
    }
    guard let chosen = candidates.min(by: { rank($0) < rank($1) }) else { return nil }
    return (chosen, address &- chosen.value)
  }

  /// Section labels of include/asm-generic/vmlinux.lds.h and arch/x86/kernel/vmlinux.lds.S
  /// that do not follow the __start_/__stop_/_start/_end pattern.
  static let linkerLabels: Set<String> = [
    "_text", "_stext", "_etext", "_sdata", "_edata", "_sinittext", "_einittext", "_end", "init_stack",
    "init_thread_union", "__init_begin", "__bss_start", "__bss_stop", "__brk_base", "__brk_limit", "_sbss",
    "_ebss", "orc_lookup", "__smp_locks",
  ]

  /// True for names that are, in the ELF table, symbols without a size: linker-script
  /// labels (scripts/kallsyms.c may_be_linker_script_provide_symbol: __start_X, __stop_X,
  /// __end_X, __X_start, __X_end; and `linkerLabels`) and lockdep's empty keys.
  static func looksUnsized(_ name: String) -> Bool {
    if linkerLabels.contains(name) || name.hasPrefix("__key.") { return true }
    guard name.utf8.count >= 8, name.hasPrefix("__") else { return false }
    let rest = name.dropFirst(2)
    return rest.hasPrefix("start_") || rest.hasPrefix("stop_") || rest.hasPrefix("end_") || name.hasSuffix("_start")
      || name.hasSuffix("_end")
  }
}
