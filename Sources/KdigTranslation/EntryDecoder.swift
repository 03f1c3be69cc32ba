// What an entry means, not just its bits: a table pointer, a leaf with its frame and every
// flag named, or one of the non-present encodings the kernel uses — empty, PROTNONE (present
// clear, PROTNONE = GLOBAL bit set, PFN inverted against L1TF), or a swap entry (type in bits
// 59–63, inverted offset in 9–58; arch/x86/include/asm/pgtable_64.h __swp_type/__swp_offset),
// whose type may name a migration, hwpoison, device or marker entry (include/linux/swap.h).

/// What a non-present swap-format entry stands for.
public enum SwapKind: String, Sendable, Codable {
  case swap
  case hwpoison
  case migrationRead = "migration-read"
  case migrationReadExclusive = "migration-read-exclusive"
  case migrationWrite = "migration-write"
  case device
  case marker = "pte-marker"
}

/// A decoded swap-format entry.
public struct SwapEntry: Sendable, Codable, Hashable {
  public var type: Int
  public var offset: UInt64
  public var kind: SwapKind

  public init(type: Int, offset: UInt64, kind: SwapKind) {
    self.type = type
    self.offset = offset
    self.kind = kind
  }
}

/// The meaning of one page-table entry at a given level.
public enum EntryMeaning: Sendable, Hashable {
  /// All zero: nothing mapped.
  case empty
  /// Points at the next table.
  case table(next: UInt64)
  /// Maps a page of `size` bytes starting at `frame`.
  case leaf(frame: UInt64, size: UInt64)
  /// PROT_NONE mapping; `frame` is the un-inverted page frame.
  case protNone(frame: UInt64)
  /// A swap, migration or hwpoison entry.
  case swap(SwapEntry)
}

/// Decodes entries with the hardware's rules and the kernel's conventions.
public struct EntryDecoder: Sendable {
  public var frameMask: UInt64
  public var kernelBits: KernelPTEBits
  /// MAX_SWAPFILES of the kernel (the length of `swap_info[]`); types at and above it are
  /// hwpoison, migration, device and marker entries.
  public var maxSwapFiles: Int? {
    get { swapFiles.value }
    set { swapFiles = SwapFileCount(newValue) }
  }
  private var swapFiles: SwapFileCount

  public init(frameMask: UInt64 = 0x000f_ffff_ffff_f000, kernelBits: KernelPTEBits = .forKernel(major: 6, minor: 12), maxSwapFiles: Int? = nil) {
    self.frameMask = frameMask
    self.kernelBits = kernelBits
    swapFiles = SwapFileCount(maxSwapFiles)
  }

  /// The same with MAX_SWAPFILES found only when a swap entry needs it (finding it may mean
  /// loading the dump's kallsyms, which a plain translation never needs).
  public init(frameMask: UInt64, kernelBits: KernelPTEBits, maxSwapFiles: @escaping () -> Int?) {
    self.frameMask = frameMask
    self.kernelBits = kernelBits
    swapFiles = SwapFileCount(find: maxSwapFiles)
  }

  /// What `entry` at `level` means.
  public func meaning(_ entry: PageTableEntry, at level: PageTableLevel) -> EntryMeaning {
    let raw = entry.raw
    guard raw != 0 else { return .empty }
    if entry.present {
      if let size = level.leafSize, level == .pte || entry.pageSize {
        return .leaf(frame: raw & frameMask & ~(size - 1), size: size)
      }
      return .table(next: raw & frameMask)
    }
    if entry.global {
      // protnone_mask(): a non-present, non-zero entry has its PFN inverted (L1TF).
      return .protNone(frame: (~raw) & frameMask & ~((level.leafSize ?? 4096) - 1))
    }
    let type = Int(raw >> 59)
    let offset = (~raw << 5) >> 14
    return .swap(SwapEntry(type: type, offset: offset, kind: swapKind(type)))
  }

  func swapKind(_ type: Int) -> SwapKind {
    guard let max = maxSwapFiles, type >= max else { return .swap }
    switch type - max {
    case 0: return .hwpoison
    case 1: return .migrationRead
    case 2: return .migrationReadExclusive
    case 3: return .migrationWrite
    default: return type == 31 ? .marker : .device
    }
  }

  /// Every set bit named, hardware then kernel software bits, for a present entry.
  public func flagNames(_ entry: PageTableEntry, at level: PageTableLevel, leaf: Bool) -> [String] {
    guard entry.present else {
      guard entry.raw != 0 else { return [] }
      guard entry.global else { return ["SWAP"] }
      // PROT_NONE keeps its protection bits; only the PFN is inverted (pfn_pte, L1TF).
      var names: [String] = []
      if entry.writable { names.append("RW") }
      if entry.user { names.append("USER") }
      if entry.accessed { names.append("ACCESSED") }
      if entry.dirty { names.append("DIRTY") }
      names.append("PROTNONE")
      if entry.protectionKey != 0 { names.append("PKEY=\(entry.protectionKey)") }
      if entry.noExecute { names.append("NX") }
      return names
    }
    var names: [String] = ["PRESENT"]
    if entry.writable { names.append("RW") }
    if entry.user { names.append("USER") }
    if entry.writeThrough { names.append("PWT") }
    if entry.cacheDisabled { names.append("PCD") }
    if entry.accessed { names.append("ACCESSED") }
    if entry.dirty { names.append("DIRTY") }
    if leaf {
      if level == .pte {
        if entry.pageSize { names.append("PAT") }
      } else {
        names.append("PSE")
        if entry.bit(12) { names.append("PAT") }
      }
      if entry.global { names.append("GLOBAL") }
      for bit in kernelBits.leafBits.keys.sorted() where entry.bit(bit) {
        names.append(kernelBits.leafBits[bit] ?? "SOFTW\(bit)")
      }
      if entry.protectionKey != 0 { names.append("PKEY=\(entry.protectionKey)") }
    } else {
      if entry.global { names.append("GLOBAL") }
      if level == .pgd {
        for bit in kernelBits.rootBits.keys.sorted() where entry.bit(bit) {
          names.append(kernelBits.rootBits[bit] ?? "SOFTW\(bit)")
        }
      }
    }
    if entry.noExecute { names.append("NX") }
    return names
  }
}

/// Access rights that hold for the whole path: RW and USER must be set at every level, NX
/// anywhere forbids execution (Intel SDM Vol. 3A §4.6).
public struct EffectivePermissions: Sendable, Hashable, Codable {
  public var writable: Bool
  public var user: Bool
  public var executable: Bool

  public init(steps: [WalkStep]) {
    writable = !steps.isEmpty && steps.allSatisfy { $0.entry.writable }
    user = !steps.isEmpty && steps.allSatisfy { $0.entry.user }
    executable = !steps.isEmpty && !steps.contains { $0.entry.noExecute }
  }

  /// "rw kernel nx" style summary as the kernel's ptdump words it.
  public var summary: String {
    (writable ? "RW" : "ro") + " " + (user ? "USR" : "kernel") + " " + (executable ? "x" : "NX")
  }
}

/// MAX_SWAPFILES, known or found on first use (and then kept).
final class SwapFileCount: @unchecked Sendable {
  private var find: (() -> Int?)?
  private var found: Int?

  init(_ value: Int?) { found = value }
  init(find: @escaping () -> Int?) { self.find = find }

  /// Used from one thread at a time, like the kernel image that supplies it.
  var value: Int? {
    if let f = find {
      found = f()
      find = nil
    }
    return found
  }
}
