// Kernel memory read a page at a time and kept. The ring's arrays (descriptors, infos, text)
// are each read once; a page the dump does not have is remembered with its reason, so one
// excluded page costs the records on it, not the whole log.

import KdigBinary
import KdigTranslation

/// Why bytes of the ring could not be read.
struct PageFailure: Error {
  /// The page (virtual) that failed.
  var page: UInt64
  var reason: String
}

final class RingPages {
  let memory: any VirtualMemory
  static let pageSize = 4096
  private var pages: [UInt64: [UInt8]] = [:]
  private var failures: [UInt64: PageFailure] = [:]

  init(memory: any VirtualMemory) { self.memory = memory }

  /// The `count` bytes at `address`, or the first page of them the dump cannot give.
  func bytes(at address: UInt64, count: Int) -> Result<[UInt8], PageFailure> {
    guard count > 0 else { return .success([]) }
    guard let end = address.adding(UInt64(count) - 1) else {
      return .failure(PageFailure(page: address, reason: "range at 0x\(hex(address)) wraps past the top of memory"))
    }
    var out: [UInt8] = []
    out.reserveCapacity(count)
    var page = address & ~UInt64(Self.pageSize - 1)
    let lastPage = end & ~UInt64(Self.pageSize - 1)
    // Bounded: one iteration per page of a range of `count` bytes.
    while true {
      switch load(page) {
      case .failure(let f): return .failure(f)
      case .success(let bytes):
        let from = page < address ? Int(address - page) : 0  // safe, can't overflow: within one page
        let to = page == lastPage ? Int(end - page) + 1 : Self.pageSize
        out.append(contentsOf: bytes[from..<to])
      }
      if page == lastPage { break }
      page += UInt64(Self.pageSize)  // safe, can't overflow: page < lastPage
    }
    return .success(out)
  }

  /// Pages (and failures) kept at most, 64 MiB: a ring's text can span 2 GiB of the dump.
  /// When full the cache starts over; a page read again is only read again.
  static let maxCachedPages = 16384

  private func load(_ page: UInt64) -> Result<[UInt8], PageFailure> {
    if let p = pages[page] { return .success(p) }
    if let f = failures[page] { return .failure(f) }
    do {
      let p = try memory.bytes(at: page, count: Self.pageSize)
      if pages.count >= Self.maxCachedPages { pages.removeAll(keepingCapacity: true) }
      pages[page] = p
      return .success(p)
    } catch {
      let f = PageFailure(page: page, reason: String(describing: error))
      if failures.count >= Self.maxCachedPages { failures.removeAll(keepingCapacity: true) }
      failures[page] = f
      return .failure(f)
    }
  }
}

/// Little-endian fields of a structure copied out of kernel memory. The layout was checked
/// against the structure's size, so a field beyond the copy means a layout bug: it is an
/// error, never a trap and never a made-up zero.
struct FieldBytes {
  let bytes: [UInt8]
  /// Names the structure in errors ("printk_info at 0x…").
  let what: String

  func u64(_ offset: Int) throws(LogError) -> UInt64 { try integer(offset, UInt64.self) }
  func u32(_ offset: Int) throws(LogError) -> UInt32 { try integer(offset, UInt32.self) }
  func u16(_ offset: Int) throws(LogError) -> UInt16 { try integer(offset, UInt16.self) }
  func u8(_ offset: Int) throws(LogError) -> UInt8 { try integer(offset, UInt8.self) }

  private func integer<T: FixedWidthInteger>(_ offset: Int, _: T.Type) throws(LogError) -> T {
    let n = MemoryLayout<T>.size
    guard offset >= 0, offset <= bytes.count - n else {
      throw LogError("\(what): a \(n)-byte field at offset \(offset) is beyond its \(bytes.count) bytes")
    }
    var v = T.zero
    for i in 0..<n { v |= T(bytes[offset + i]) << (8 * i) }
    return v
  }

  /// A NUL-terminated string in a fixed field; nil when empty.
  func string(_ offset: Int, _ length: Int) throws(LogError) -> String? {
    guard offset >= 0, length >= 0, offset <= bytes.count - length else {
      throw LogError("\(what): a \(length)-byte string at offset \(offset) is beyond its \(bytes.count) bytes")
    }
    let field = bytes[offset..<(offset + length)]
    let end = field.firstIndex(of: 0) ?? field.endIndex
    return end == field.startIndex ? nil : String(decoding: field[..<end], as: UTF8.self)
  }
}
