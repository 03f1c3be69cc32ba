// A virtual address space: a page-table root plus a walker, with a small translation cache
// (a software TLB keyed on the virtual page) so bulk reads do not re-walk every level.

import KdigBinary
import KdigMemory

/// Memory read by virtual address.
public protocol VirtualMemory: AnyObject {
  /// Physical address of `virtualAddress`.
  func translate(_ virtualAddress: UInt64) throws -> UInt64
  /// Copies `buffer.count` bytes from `virtualAddress`.
  func read(_ virtualAddress: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws
}

extension VirtualMemory {
  /// Reads `count` bytes at `virtualAddress`.
  public func bytes(at virtualAddress: UInt64, count: Int) throws -> [UInt8] {
    var out = [UInt8](repeating: 0, count: count)
    try out.withUnsafeMutableBytes { try read(virtualAddress, into: $0) }
    return out
  }

  /// Reads a little-endian integer at `virtualAddress`.
  public func integer<T: FixedWidthInteger>(_ type: T.Type, at virtualAddress: UInt64) throws -> T {
    var value = T.zero
    try withUnsafeMutableBytes(of: &value) { try read(virtualAddress, into: $0) }
    return T(littleEndian: value)
  }

  public func u64(at virtualAddress: UInt64) throws -> UInt64 { try integer(UInt64.self, at: virtualAddress) }
}

/// An address space rooted at one top-level page table.
public final class PageTableAddressSpace: VirtualMemory {
  public let walker: PageTableWalker
  /// Physical address of the top-level table.
  public let root: UInt64
  private var tlbPages = [UInt64](repeating: .max, count: 512)
  private var tlbFrames = [UInt64](repeating: 0, count: 512)

  public init(walker: PageTableWalker, root: UInt64) {
    self.walker = walker
    self.root = root
  }

  /// The full walk with its trace (never cached).
  public func walk(_ virtualAddress: UInt64) throws(TranslationError) -> Translation {
    try walker.walk(virtualAddress, root: root)
  }

  public func translate(_ virtualAddress: UInt64) throws -> UInt64 {
    let page = virtualAddress >> 12
    let slot = Int(truncatingIfNeeded: page) & 511
    if tlbPages[slot] == page { return tlbFrames[slot] | (virtualAddress & 0xfff) }
    let t = try walker.walk(virtualAddress, root: root)
    tlbPages[slot] = page
    tlbFrames[slot] = t.physicalAddress & ~0xfff
    return t.physicalAddress
  }

  public func read(_ virtualAddress: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws {
    var done = 0
    while done < buffer.count {
      let (va, overflow) = virtualAddress.addingReportingOverflow(UInt64(done))
      guard !overflow else {
        throw TranslationError(virtualAddress: virtualAddress, reason: .nonCanonical, steps: [])
      }
      let pa = try translate(va)
      let n = min(buffer.count - done, 4096 - Int(va & 0xfff))
      try walker.memory.read(pa, into: UnsafeMutableRawBufferPointer(rebasing: buffer[done..<(done + n)]))
      done += n
    }
  }
}
