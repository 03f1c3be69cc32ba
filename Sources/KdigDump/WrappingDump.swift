// A dump seen through a wrapper (recording the pages read, excluding some, replacing some,
// other notes): everything a wrapper does not change is its wrapped dump's, written once here.

import KdigMemory

/// A dump that forwards to `wrapped` whatever it does not declare itself.
public protocol WrappingDump: DumpFile {
  var wrapped: any DumpFile { get }
}

extension WrappingDump {
  public var path: String { wrapped.path }
  public var fileSize: UInt64 { wrapped.fileSize }
  public var summary: DumpSummary { wrapped.summary }
  public var notes: DumpNotes { wrapped.notes }
  public var pageSize: Int { wrapped.pageSize }
  public var ranges: [PhysicalRange] { wrapped.ranges }
}
