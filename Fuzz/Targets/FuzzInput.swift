// Reading a fuzz input: a cursor that never traps (missing bytes read as zero), an
// in-memory ByteSource for parsers that take a file, and a sparse memory image for parsers
// that read kernel or physical memory.

import KdigBinary
import KdigMemory
import KdigTranslation

/// Little-endian fields taken from the front of an input; past its end they read as 0.
struct FuzzCursor {
  let bytes: [UInt8]
  private(set) var position = 0

  init(_ bytes: [UInt8]) { self.bytes = bytes }

  var remaining: Int { bytes.count - position }

  mutating func u8() -> UInt8 {
    guard position < bytes.count else { return 0 }
    defer { position += 1 }
    return bytes[position]
  }

  mutating func u16() -> UInt16 { UInt16(u8()) | UInt16(u8()) << 8 }
  mutating func u32() -> UInt32 { UInt32(u16()) | UInt32(u16()) << 16 }
  mutating func u64() -> UInt64 { UInt64(u32()) | UInt64(u32()) << 32 }

  /// Up to `count` bytes (fewer at the end of the input).
  mutating func take(_ count: Int) -> [UInt8] {
    let n = min(max(0, count), remaining)
    defer { position += n }
    return Array(bytes[position..<(position + n)])
  }

  /// The rest of the input.
  mutating func rest() -> [UInt8] { take(remaining) }
}

/// A read-only file held in memory: what the parsers see instead of a mapped file.
final class FuzzByteSource: ByteSource {
  let name: String
  let size: UInt64
  private let box: ByteBox

  init(_ bytes: [UInt8], name: String = "fuzz-input") {
    self.name = name
    box = ByteBox(bytes)
    size = UInt64(bytes.count)
  }

  func view(at offset: UInt64, count: Int, _ what: @autoclosure () -> String) throws(BinaryError) -> ByteView {
    guard count >= 0, offset <= size, UInt64(count) <= size - offset else {
      throw pastEnd(offset, count, what())
    }
    let start = Int(offset)  // offset <= size, which came from an Int
    let sub = UnsafeRawBufferPointer(rebasing: box.buffer[start..<(start + count)])
    return ByteView(bytes: sub, owner: box, file: name, fileOffset: offset)
  }
}

/// A sparse memory image: chunks of `{u64 address, u16 length, bytes}` to the end of the
/// input. The pages a chunk touches exist (zero where no chunk wrote); other pages are holes.
/// Real seeds store whole pages this way (FuzzSeeds writes them).
enum MemoryImage {
  /// Chunks beyond this are ignored: a bound on the pages one input can make.
  static let maxChunks = 512

  static func load(_ cursor: inout FuzzCursor) -> SparsePhysicalMemory {
    let memory = SparsePhysicalMemory()
    var chunks = 0
    while cursor.remaining >= 10, chunks < maxChunks {
      let address = cursor.u64()
      let data = cursor.take(Int(cursor.u16()))
      memory.write(data, at: address)
      chunks += 1
    }
    return memory
  }

  /// Encodes `chunks` in the image format, for seeds. Trailing zeros are left out (a page a
  /// chunk touches reads as zero where nothing was written), keeping one byte of each.
  static func encode(_ chunks: [(address: UInt64, bytes: [UInt8])]) -> [UInt8] {
    var out: [UInt8] = []
    for (address, whole) in chunks {
      let keep = whole.isEmpty ? 0 : (whole.lastIndex { $0 != 0 } ?? 0) + 1
      let bytes = Array(whole[..<keep])
      var offset = 0
      // A chunk holds at most 65535 bytes: split longer runs.
      repeat {
        let n = min(bytes.count - offset, 4096)
        out.append(le: address &+ UInt64(offset))
        out.append(le: UInt16(n))
        out += bytes[offset..<(offset + n)]
        offset += n
      } while offset < bytes.count
    }
    return out
  }
}

/// Kernel virtual memory mapped one-to-one onto a physical memory: the fuzzed image's
/// addresses are the kernel's virtual addresses (the parsers above translation only need
/// `VirtualMemory`; the page-table target fuzzes translation itself).
final class IdentityVirtualMemory: VirtualMemory {
  let physical: any PhysicalMemory

  init(_ physical: any PhysicalMemory) { self.physical = physical }

  func translate(_ virtualAddress: UInt64) throws -> UInt64 { virtualAddress }

  func read(_ virtualAddress: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws {
    try physical.read(virtualAddress, into: buffer)
  }
}

extension Array where Element == UInt8 {
  /// Appends `value` little-endian.
  mutating func append<T: FixedWidthInteger>(le value: T) {
    Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
  }
}
