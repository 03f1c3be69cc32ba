// Where the structures of a real dump are, found independently of kdig's readers so the
// malformed-dump generator can aim at them: ELF program headers and notes, a compressed
// kdump's header, bitmaps and page descriptors, and a flattened stream's records (with the
// map from logical offsets to file offsets). Only what the generator needs is parsed.

import Foundation

/// A dump file mapped read-only, with little-endian reads that fail rather than trap.
public final class DumpBytes {
  public let data: Data
  public var size: UInt64 { UInt64(data.count) }

  public struct OutOfRange: Error, CustomStringConvertible {
    public var description: String
  }

  public init(path: String) throws {
    data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
  }

  public func bytes(_ offset: UInt64, _ count: Int) throws -> [UInt8] {
    guard count >= 0, offset <= size, UInt64(count) <= size - offset else {
      throw OutOfRange(description: "bytes 0x\(String(offset, radix: 16))+\(count) past 0x\(String(size, radix: 16))")
    }
    let start = data.startIndex + Int(offset)
    return Array(data[start..<(start + count)])
  }

  /// A little-endian unsigned integer of `width` bytes.
  public func le(_ offset: UInt64, _ width: Int) throws -> UInt64 {
    try bytes(offset, width).enumerated().reduce(0) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
  }

  /// A big-endian 64-bit integer.
  public func be64(_ offset: UInt64) throws -> UInt64 {
    try bytes(offset, 8).reduce(0) { $0 << 8 | UInt64($1) }
  }
}

/// The program headers and notes of an ELF core.
public struct ElfGeometry {
  public struct Segment {
    public var index: Int
    /// File offset of the program header itself.
    public var headerOffset: UInt64
    public var type: UInt32
    public var offset, vaddr, paddr, filesz, memsz: UInt64
  }

  public struct Note {
    /// File offset of the note header {namesz, descsz, type}.
    public var headerOffset: UInt64
    public var name: String
    public var descOffset: UInt64
    public var descSize: UInt64
  }

  public var phoff: UInt64
  public var phnum: Int
  public var segments: [Segment] = []
  public var notes: [Note] = []

  public init(_ f: DumpBytes) throws {
    phoff = try f.le(32, 8)
    phnum = Int(try f.le(56, 2))
    for i in 0..<phnum {
      let h = phoff + UInt64(i * 56)
      segments.append(
        Segment(
          index: i, headerOffset: h, type: UInt32(try f.le(h, 4)), offset: try f.le(h + 8, 8),
          vaddr: try f.le(h + 16, 8), paddr: try f.le(h + 24, 8), filesz: try f.le(h + 32, 8),
          memsz: try f.le(h + 40, 8)))
    }
    for s in segments where s.type == 4 {
      var at = s.offset
      let end = s.offset + s.filesz
      while at + 12 <= end {
        let namesz = try f.le(at, 4)
        let descsz = try f.le(at + 4, 4)
        let nameBytes = try f.bytes(at + 12, Int(min(namesz, 64)))
        let desc = at + 12 + (namesz + 3) / 4 * 4
        notes.append(
          Note(
            headerOffset: at, name: String(decoding: nameBytes.prefix { $0 != 0 }, as: UTF8.self),
            descOffset: desc, descSize: descsz))
        at = desc + (descsz + 3) / 4 * 4
      }
    }
  }

  /// File offset of physical address `pa`, from the PT_LOADs.
  public func fileOffset(physical pa: UInt64) -> UInt64? {
    for s in segments where s.type == 1 && pa >= s.paddr && pa - s.paddr < s.filesz {
      return s.offset + (pa - s.paddr)
    }
    return nil
  }

  /// Where the VMCOREINFO text is.
  public var vmcoreinfo: (offset: UInt64, size: Int)? {
    notes.first { $0.name == "VMCOREINFO" }.map { ($0.descOffset, Int($0.descSize)) }
  }
}

/// The records of a flattened stream, or the identity map for a plain file.
public struct LogicalFile {
  public struct Record {
    /// File offset of the 16-byte record header.
    public var headerOffset: UInt64
    public var logical: UInt64
    public var size: UInt64
    /// File offset of the payload.
    public var payload: UInt64
  }

  public var flattened: Bool
  public var records: [Record] = []
  let file: DumpBytes

  public init(_ f: DumpBytes) throws {
    file = f
    flattened = try f.bytes(0, 12) == Array("makedumpfile".utf8)
    guard flattened else { return }
    var at: UInt64 = 4096
    while at + 16 <= f.size {
      let offset = try f.be64(at)
      if offset == UInt64.max { break }
      let size = try f.be64(at + 8)
      records.append(Record(headerOffset: at, logical: offset, size: size, payload: at + 16))
      at += 16 + size
    }
  }

  /// File pieces holding logical bytes [offset, offset + count); the last record wins.
  public func filePieces(_ offset: UInt64, _ count: Int) -> [(file: UInt64, logical: UInt64, count: Int)] {
    guard flattened else { return [(offset, offset, count)] }
    var out: [(UInt64, UInt64, Int)] = []
    var at = offset
    let end = offset + UInt64(count)
    while at < end {
      guard let r = records.last(where: { at >= $0.logical && at < $0.logical + $0.size }) else {
        // Never written: reads as zero; skip to the next record that starts later.
        at = records.lazy.map(\.logical).filter { $0 > at }.min() ?? end
        continue
      }
      let n = min(end, r.logical + r.size) - at
      out.append((r.payload + (at - r.logical), at, Int(n)))
      at += n
    }
    return out
  }

  /// Patches writing `bytes` at logical `offset`.
  public func patches(_ offset: UInt64, _ bytes: [UInt8]) -> [FilePatch] {
    filePieces(offset, bytes.count).map { p in
      let from = Int(p.logical - offset)
      return FilePatch(p.file, Array(bytes[from..<(from + p.count)]))
    }
  }

  public func bytes(_ offset: UInt64, _ count: Int) throws -> [UInt8] {
    var out = [UInt8](repeating: 0, count: count)
    for p in filePieces(offset, count) {
      let b = try file.bytes(p.file, p.count)
      let from = Int(p.logical - offset)
      out.replaceSubrange(from..<(from + p.count), with: b)
    }
    return out
  }

  public func le(_ offset: UInt64, _ width: Int) throws -> UInt64 {
    try bytes(offset, width).enumerated().reduce(0) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
  }
}

/// The layout of a compressed kdump, in logical offsets.
public struct KdumpGeometry {
  public let file: LogicalFile
  public var version, blockSize, subHeaderBlocks, bitmapBlocks: UInt64
  public var maxPFN: UInt64
  public var noteOffset, noteSize, vmcoreinfoOffset, vmcoreinfoSize: UInt64
  public var bitmap1Offset, bitmap2Offset, bitmapBytes, descriptorOffset: UInt64
  public var descriptorCount: UInt64
  let bitmap2: [UInt8]

  public init(_ file: LogicalFile) throws {
    self.file = file
    version = try file.le(8, 4)
    blockSize = try file.le(428, 4)
    subHeaderBlocks = try file.le(432, 4)
    bitmapBlocks = try file.le(436, 4)
    let sub = blockSize
    maxPFN = version >= 6 ? try file.le(sub + 96, 8) : try file.le(440, 4)
    vmcoreinfoOffset = try file.le(sub + 32, 8)
    vmcoreinfoSize = try file.le(sub + 40, 8)
    noteOffset = try file.le(sub + 48, 8)
    noteSize = try file.le(sub + 56, 8)
    bitmap1Offset = (1 + subHeaderBlocks) * blockSize
    bitmapBytes = bitmapBlocks * blockSize / 2
    bitmap2Offset = bitmap1Offset + bitmapBytes
    descriptorOffset = bitmap1Offset + bitmapBlocks * blockSize
    bitmap2 = try file.bytes(bitmap2Offset, Int(bitmapBytes))
    descriptorCount = bitmap2.reduce(0) { $0 + UInt64($1.nonzeroBitCount) }
  }

  /// Logical offset of the descriptor of `pfn`, when the pfn is dumped.
  public func descriptorOffset(ofPFN pfn: UInt64) -> UInt64? {
    guard pfn / 8 < UInt64(bitmap2.count), bitmap2[Int(pfn / 8)] & (1 << UInt8(pfn % 8)) != 0 else { return nil }
    var index: UInt64 = 0
    for i in 0..<Int(pfn / 8) { index += UInt64(bitmap2[i].nonzeroBitCount) }
    index += UInt64((bitmap2[Int(pfn / 8)] & ((1 << UInt8(pfn % 8)) - 1)).nonzeroBitCount)
    return descriptorOffset + index * 24
  }

  /// The descriptor at logical `offset`: data offset, size, flags.
  public func descriptor(at offset: UInt64) throws -> (offset: UInt64, size: UInt64, flags: UInt64) {
    (try file.le(offset, 8), try file.le(offset + 8, 4), try file.le(offset + 12, 4))
  }

  /// One past the descriptor table: where makedumpfile and QEMU write the shared zero page.
  public var tableEnd: UInt64 { descriptorOffset + descriptorCount * 24 }
}
