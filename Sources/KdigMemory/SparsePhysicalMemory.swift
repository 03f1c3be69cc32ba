// Physical memory held as a dictionary of pages: the fixture memory for page-table tests and
// for library users who build memory by hand. Missing pages are holes.

/// Physical memory made of explicitly stored pages.
public final class SparsePhysicalMemory: PhysicalMemory {
  public let pageSize: Int
  private var pages: [UInt64: [UInt8]] = [:]
  /// Pages reported as excluded instead of as holes (to test filtered dumps).
  public var excludedFrames: Set<UInt64> = []

  public init(pageSize: Int = 4096) {
    self.pageSize = pageSize
  }

  public var ranges: [PhysicalRange] {
    pages.keys.sorted().map {
      PhysicalRange(start: $0 * UInt64(pageSize), end: ($0 + 1) * UInt64(pageSize))
    }
  }

  /// Writes `bytes` at `address`, creating zero pages as needed.
  public func write(_ bytes: [UInt8], at address: UInt64) {
    for (i, b) in bytes.enumerated() {
      let a = address + UInt64(i)
      let pfn = a / UInt64(pageSize)
      var page = pages[pfn] ?? [UInt8](repeating: 0, count: pageSize)
      page[Int(a % UInt64(pageSize))] = b
      pages[pfn] = page
    }
  }

  /// Writes a little-endian 64-bit word at `address`.
  public func write(u64 value: UInt64, at address: UInt64) {
    write(withUnsafeBytes(of: value.littleEndian) { Array($0) }, at: address)
  }

  public func read(_ address: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws(MemoryError) {
    var done = 0
    let size = UInt64(pageSize)
    while done < buffer.count {
      let (a, overflow) = address.addingReportingOverflow(UInt64(done))
      guard !overflow else { throw MemoryError(address: address, reason: .notCovered, source: "memory") }
      let pfn = a / size
      if excludedFrames.contains(pfn) {
        throw MemoryError(address: a, reason: .excluded, source: "memory")
      }
      guard let page = pages[pfn] else {
        throw MemoryError(address: a, reason: .hole, source: "memory")
      }
      let offset = Int(a % size)
      let n = min(buffer.count - done, pageSize - offset)
      for i in 0..<n { buffer[done + i] = page[offset + i] }
      done += n
    }
  }
}
