// The x86-64 page-table walker. It reads physical memory only: the caller hands it the root
// (CR3 or the kernel's init_top_pgt) and the physical-address mask. Every walk returns the
// trace of the levels it visited, so vtop output, JSON and errors all come from one place.

import KdigBinary
import KdigMemory

/// One level visited by a walk.
public struct WalkStep: Sendable, Codable {
  public var level: PageTableLevel
  /// Physical address of the table at this level.
  public var tableAddress: UInt64
  /// Index of the entry in the table.
  public var index: Int
  /// Physical address of the entry.
  public var entryAddress: UInt64
  /// The entry's value.
  public var entry: PageTableEntry

  public init(level: PageTableLevel, tableAddress: UInt64, index: Int, entryAddress: UInt64, entry: PageTableEntry) {
    self.level = level
    self.tableAddress = tableAddress
    self.index = index
    self.entryAddress = entryAddress
    self.entry = entry
  }
}

/// A successful translation.
public struct Translation: Sendable, Codable {
  public var virtualAddress: UInt64
  public var physicalAddress: UInt64
  /// Level of the leaf entry (PTE, or PMD/PUD for 2 MiB / 1 GiB pages).
  public var leafLevel: PageTableLevel
  /// Size of the page the leaf maps.
  public var pageSize: UInt64
  /// Physical address of the start of that page.
  public var pageBase: UInt64
  /// Every level visited, root first.
  public var steps: [WalkStep]

  /// Rights that hold across every level of the path.
  public var permissions: EffectivePermissions { EffectivePermissions(steps: steps) }
  /// The leaf entry.
  public var leaf: PageTableEntry { steps.last?.entry ?? PageTableEntry(0) }
}

/// Why a virtual address did not translate.
public struct TranslationError: KdigError {
  public enum Reason: Sendable {
    /// The address is outside the canonical range of the paging mode.
    case nonCanonical
    /// An entry on the path is not present.
    case notPresent
    /// A table on the path is not readable from the dump.
    case tableUnreadable(MemoryError)
    /// An entry points back at a table already on this walk's path.
    case loop(table: UInt64)
    /// An entry points at a table above the machine's physical address limit.
    case tableBeyondLimit(table: UInt64, bits: Int)
  }

  public var virtualAddress: UInt64
  public var reason: Reason
  /// The levels visited before the failure; the last one is where it failed.
  public var steps: [WalkStep]

  public var category: ErrorCategory {
    if case .tableUnreadable(let e) = reason { return e.category }
    return .notMapped
  }

  public var description: String {
    let va = "virtual address 0x\(hex(virtualAddress))"
    switch reason {
    case .nonCanonical: return "\(va): not canonical"
    case .notPresent:
      guard let s = steps.last else { return "\(va): not mapped" }
      return "\(va): not mapped: \(s.level.name.lowercased())[\(s.index)] at physical 0x\(hex(s.entryAddress)) = 0x\(hex(s.entry.raw)) (not present)"
    case .tableUnreadable(let e):
      let level = steps.last.map { " reading the \($0.level.name) table" } ?? ""
      return "\(va): cannot walk\(level): \(e)"
    case .loop(let table):
      let at = steps.last.map { " (\($0.level.name.lowercased())[\($0.index)] = 0x\(hex($0.entry.raw)))" } ?? ""
      return "\(va): page-table loop: the walk returns to the table at physical 0x\(hex(table))\(at)"
    case .tableBeyondLimit(let table, let bits):
      return "\(va): entry points at a table at physical 0x\(hex(table)), beyond the \(bits)-bit physical address limit"
    }
  }
}

/// Walks x86-64 page tables in a physical memory.
public struct PageTableWalker {
  public let memory: any PhysicalMemory
  public let mode: PagingMode
  /// Bits of an entry that hold the physical frame (12…51 minus the SME/TDX mask).
  public let frameMask: UInt64

  /// - Parameter encryptionMask: bits the kernel sets in entries that are not address bits
  ///   (VMCOREINFO `NUMBER(sme_mask)`).
  /// Highest physical address bit + 1 (VMCOREINFO `NUMBER(MAX_PHYSMEM_BITS)`): a table above
  /// it is reported, not read.
  public let physicalBits: Int

  public init(memory: any PhysicalMemory, mode: PagingMode, encryptionMask: UInt64 = 0, physicalBits: Int = 52) {
    self.memory = memory
    self.mode = mode
    // __PHYSICAL_MASK: 52 address bits (PHYSADDR_BITS_MAX), sme_me_mask cleared.
    frameMask = 0x000f_ffff_ffff_f000 & ~encryptionMask
    self.physicalBits = min(max(physicalBits, 32), 52)
  }

  /// Translates `virtualAddress` starting from the top-level table at physical `root`.
  public func walk(_ virtualAddress: UInt64, root: UInt64) throws(TranslationError) -> Translation {
    guard mode.isCanonical(virtualAddress) else {
      throw TranslationError(virtualAddress: virtualAddress, reason: .nonCanonical, steps: [])
    }
    var steps: [WalkStep] = []
    steps.reserveCapacity(5)
    var table = root & frameMask
    for level in mode.levels {
      let index = Int((virtualAddress >> UInt64(level.shift(in: mode))) & 0x1ff)
      let entryAddress = table + UInt64(index * 8)
      let raw: UInt64
      do {
        raw = try memory.u64(at: entryAddress)
      } catch {
        steps.append(WalkStep(level: level, tableAddress: table, index: index, entryAddress: entryAddress, entry: PageTableEntry(0)))
        throw TranslationError(virtualAddress: virtualAddress, reason: .tableUnreadable(error), steps: steps)
      }
      let entry = PageTableEntry(raw)
      steps.append(WalkStep(level: level, tableAddress: table, index: index, entryAddress: entryAddress, entry: entry))
      guard entry.present else {
        throw TranslationError(virtualAddress: virtualAddress, reason: .notPresent, steps: steps)
      }
      if let size = level.leafSize, level == .pte || entry.pageSize {
        // In 2M/1G entries bit 12 is PAT: aligning to the page size drops it.
        let base = raw & frameMask & ~(size - 1)
        return Translation(
          virtualAddress: virtualAddress, physicalAddress: base | (virtualAddress & (size - 1)),
          leafLevel: level, pageSize: size, pageBase: base, steps: steps)
      }
      let next = raw & frameMask
      if steps.contains(where: { $0.tableAddress == next }) {
        throw TranslationError(virtualAddress: virtualAddress, reason: .loop(table: next), steps: steps)
      }
      if next >> UInt64(physicalBits) != 0 {
        throw TranslationError(
          virtualAddress: virtualAddress, reason: .tableBeyondLimit(table: next, bits: physicalBits), steps: steps)
      }
      table = next
    }
    // Unreachable: the PTE level always returns or throws above.
    throw TranslationError(virtualAddress: virtualAddress, reason: .notPresent, steps: steps)
  }
}
