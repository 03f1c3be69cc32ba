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
  /// A page at a time, the page taken out of the dictionary while it is written so the
  /// write does not copy it (a copy per byte made fuzz inputs of a few pages take 10 ms).
  /// Addresses wrap past 2^64 - 1.
  public func write(_ bytes: [UInt8], at address: UInt64) {
    let size = UInt64(pageSize)
    var done = 0
    while done < bytes.count {
      let a = address &+ UInt64(done)
      let pfn = a / size
      let offset = Int(a % size)
      let n = Swift.min(bytes.count - done, pageSize - offset)
      var page = pages.removeValue(forKey: pfn) ?? [UInt8](repeating: 0, count: pageSize)
      page.replaceSubrange(offset..<(offset + n), with: bytes[done..<(done + n)])
      pages[pfn] = page
      done += n
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
      // One copy, not a loop of checked byte stores (page-table fuzzing reads whole tables).
      page.withUnsafeBytes { src in
        if let s = src.baseAddress, let d = buffer.baseAddress { (d + done).copyMemory(from: s + offset, byteCount: n) }
      }
      done += n
    }
  }
}
