// A dump that remembers which pages were read through it: `kdig extract` runs kdig's own
// analyses over one, then writes exactly those pages into a small dump. Reads are passed
// through unchanged, so what an analysis sees is what it sees on the original.

import KdigBinary
import KdigMemory

/// Wraps a dump and records the page frame of every byte read successfully.
public final class RecordingDump: WrappingDump {
  public let original: any DumpFile
  /// The label pages are charged to (the analysis running now), for the report.
  public var label = ""
  /// pfn → the label under which it was first read.
  public private(set) var pages: [UInt64: String] = [:]

  public init(_ original: any DumpFile) {
    self.original = original
  }

  public var wrapped: any DumpFile { original }

  public func read(_ address: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws(MemoryError) {
    try original.read(address, into: buffer)
    guard !buffer.isEmpty else { return }
    let size = UInt64(pageSize)
    let first = address / size
    // A successful read never wraps the address space; saturate anyway.
    let last = address.saturatingAdd(UInt64(buffer.count) - 1) / size
    var pfn = first
    while pfn <= last {
      if pages[pfn] == nil { pages[pfn] = label }
      pfn += 1
    }
  }

  /// Adds pages read by other means (e.g. a page list an analysis names).
  public func record(pfn: UInt64) {
    if pages[pfn] == nil { pages[pfn] = label }
  }
}
