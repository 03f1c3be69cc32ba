// What every dump reader provides: physical memory, the notes the dump carries, and a
// description of the file for `kdig info`. Analyzers see only `PhysicalMemory`.

import KdigBinary
import KdigMemory

/// An opened crash dump.
public protocol DumpFile: PhysicalMemory {
  /// Path of the file given by the user.
  var path: String { get }
  /// Size of that file on disk.
  var fileSize: UInt64 { get }
  /// Format facts: container, producer, compression, header fields.
  var summary: DumpSummary { get }
  /// CPU register notes and VMCOREINFO.
  var notes: DumpNotes { get }
}

/// The container formats kdig reads, detected by content.
public enum DumpFormat: String, Sendable, Codable {
  /// ELF64 core written by the kernel (/proc/vmcore) or a copy of it.
  case elfKdump = "elf-kdump"
  /// ELF64 core written by QEMU `dump-guest-memory`.
  case elfQEMU = "elf-qemu"
  /// makedumpfile's compressed kdump format ("KDUMP   ").
  case kdumpCompressed = "kdump-compressed"
  /// QEMU's kdump-compressed output (`dump-guest-memory -z/-l/-s`).
  case kdumpQEMU = "kdump-qemu"
  /// The legacy diskdump format ("DISKDUMP").
  case diskdump
}

/// Facts about a dump file that `kdig info` reports; all optional beyond the format.
public struct DumpSummary: Sendable, Codable {
  public var format: DumpFormat
  /// True when the file is makedumpfile's flattened (`-F`) stream.
  public var flattened: Bool = false
  /// Human name of the program that wrote the file.
  public var producer: String
  /// Compression named in the header (`zlib`, `lzo`, `snappy`, `zstd`), or `none`.
  public var compression: String = "none"
  /// makedumpfile header version.
  public var headerVersion: Int?
  /// makedumpfile `-d` dump level.
  public var dumpLevel: Int?
  /// The dump says it is incomplete (ENOSPC while writing, or ELF `DUMP_ELF_INCOMPLETE`).
  public var incomplete: Bool = false
  /// Unused vmemmap pages were excluded (`DUMP_DH_EXCLUDED_VMEMMAP`).
  public var excludedVmemmap: Bool = false
  /// For split dumps: the page-frame range this file holds, end exclusive.
  public var splitRange: ClosedRangeCodable?
  /// Highest page frame number + 1 the dump covers.
  public var maxPFN: UInt64?
  /// CPU count stored in the header (kdump `nr_cpus`).
  public var headerCPUs: Int?
  /// `utsname.release` from a kdump header (empty for QEMU).
  public var headerRelease: String?
  /// phys_base stored in the kdump sub-header; QEMU's value is not trustworthy.
  public var headerPhysBase: UInt64?
  /// Number of PT_LOAD segments of an ELF dump.
  public var segmentCount: Int?
  /// Pages present in the dump (kdump: bits set in the dumpable bitmap).
  public var dumpedPages: UInt64?

  public init(format: DumpFormat, producer: String) {
    self.format = format
    self.producer = producer
  }
}

/// A page-frame range that encodes as `{start, end}`.
public struct ClosedRangeCodable: Sendable, Codable, Equatable {
  public var start: UInt64
  public var end: UInt64
  public init(start: UInt64, end: UInt64) {
    self.start = start
    self.end = end
  }
}
