// The lazy part of the DWARF reader: walk compile units in .debug_info order and look only
// at their top-level DIEs (DW_AT_sibling lets libdw skip every subtree), stopping at the
// first match. Kernel headers put most types in the first few CUs (mm_struct, task_struct
// and gate_struct are in CU 1 of the Debian 6.12 vmlinux), so typical lookups read a few
// hundred KiB; a name that does not exist costs one pass (~0.3 s for 2 398 CUs / 4.7 M
// top-level DIEs). .debug_aranges covers text only, so it cannot place data variables.

import CElfUtils
import KdigBinary

#if canImport(Glibc)
  import Glibc
#endif

/// What a scan visitor wants next.
enum DWARFScanAction {
  /// Keep going.
  case next
  /// Stop now.
  case stop
  /// Finish this compile unit (a better match may follow in it), then stop.
  case finishUnit
}

/// Counters for tests and measurements.
public struct DWARFTypeStatistics: Sendable, Equatable {
  /// Lookups answered from the on-disk index (after checking the DIE there).
  public var cacheHits = 0
  /// Index entries whose DIE did not match (stale or corrupt), ignored.
  public var cacheRejects = 0
  /// Lookups that had to scan.
  public var scans = 0
  /// Compile units whose top level was walked.
  public var unitsScanned = 0
  /// Top-level DIEs visited.
  public var diesVisited = 0

  public init() {}
}

/// Walks top-level DIEs of a `Dwarf` handle.
struct DWARFScanner {
  let dwarf: OpaquePointer
  /// The file, for errors.
  let file: String

  /// Calls `visit` for every top-level DIE whose tag is in `tags`, unit by unit.
  func scan(
    tags: [Int32], statistics: inout DWARFTypeStatistics,
    _ visit: (inout Dwarf_Die, Int32) throws -> DWARFScanAction
  ) throws {
    var offset: Dwarf_Off = 0
    var next: Dwarf_Off = 0
    var headerSize = 0
    var stopAfterUnit = false
    while !stopAfterUnit {
      let rc = dwarf_nextcu(dwarf, offset, &next, &headerSize, nil, nil, nil)
      if rc > 0 { return }  // no more units
      guard rc == 0 else {
        throw KernelTypeError(
          file: file,
          "libdw error reading the unit header at .debug_info+\(hex0x(UInt64(offset))): \(libdwMessage())",
          category: .malformedInput)
      }
      defer { offset = next }
      statistics.unitsScanned += 1
      var unit = Dwarf_Die()
      guard dwarf_offdie(dwarf, offset + Dwarf_Off(headerSize), &unit) != nil,
        var die = DIE.firstChild(&unit)
      else { continue }
      while true {
        statistics.diesVisited += 1
        let tag = dwarf_tag(&die)
        if tags.contains(tag) {
          switch try visit(&die, tag) {
          case .next: break
          case .stop: return
          case .finishUnit: stopAfterUnit = true
          }
        }
        guard let sibling = DIE.nextSibling(&die) else { break }
        die = sibling
      }
    }
  }
}

/// A name to compare DIE names against without allocating a Swift string per DIE.
struct CName {
  private let bytes: [CChar]

  init(_ name: String) { bytes = Array(name.utf8CString) }

  /// True when `die`'s `dwarf_diename` is exactly this name.
  func matches(_ die: inout Dwarf_Die) -> Bool {
    guard let name = dwarf_diename(&die) else { return false }
    return bytes.withUnsafeBufferPointer { buffer in
      guard let base = buffer.baseAddress else { return false }
      return strcmp(name, base) == 0
    }
  }
}
