// Writes makedumpfile's compressed kdump format (header version 6), laid out as
// makedumpfile's write_kdump_header / write_kdump_bitmap / write_kdump_pages_and_bitmap
// write it (dump-formats.md §1.1-§1.9): disk_dump_header in block 0, kdump_sub_header and
// the ELF note blob in the next blocks, bitmap 1 (RAM) and bitmap 2 (dumped), one
// page_desc per dumped pfn, the shared zero page, then page data in pfn order. crash
// (diskdump.c), libkdumpfile (diskdump.c, which drgn uses) and kdig read it.

import KdigBinary
import KdigCodecs

#if canImport(Glibc)
  import Glibc
#endif

/// What goes into the header blocks of a written kdump.
public struct KdumpHeaderFields: Sendable {
  /// utsname fields (each at most 64 bytes): sysname, nodename, release, version, machine,
  /// domainname.
  public var sysname = "Linux"
  public var nodename = ""
  public var release = ""
  public var version = ""
  public var machine = "x86_64"
  public var domainname = ""
  /// Seconds since the epoch for the header's timeval.
  public var timestamp: UInt64 = 0
  public var cpus: Int32 = 1
  public var physBase: UInt64 = 0
  /// makedumpfile's `-d` level this file claims (31: everything but what was kept excluded).
  public var dumpLevel: Int32 = 31

  public init() {}
}

/// A compressed kdump being written to a file.
public struct KdumpWriter {
  public static let blockSize = 4096
  static let headerSize = 464
  static let subHeaderSize = 104

  public var header: KdumpHeaderFields
  /// Notes carried over (CPU registers, QEMU CPU states, VMCOREINFO).
  public var notes: [RawNote]
  /// Page frames of the dumped machine (max_mapnr).
  public var maxPFN: UInt64
  /// Page frames that were RAM (bitmap 1), as half-open pfn ranges.
  public var ramFrames: [Range<UInt64>]
  /// nil: stored uncompressed.
  public var codec: PageCompression?

  public init(header: KdumpHeaderFields, notes: [RawNote], maxPFN: UInt64, ramFrames: [Range<UInt64>], codec: PageCompression?) {
    self.header = header
    self.notes = notes
    self.maxPFN = maxPFN
    self.ramFrames = ramFrames
    self.codec = codec
  }

  /// What was written.
  public struct Written: Sendable {
    public var fileSize: UInt64
    public var pages: Int
    public var zeroPages: Int
    public var compressedPages: Int
  }

  /// Writes the file at `path` (through a temporary name renamed into place) holding the
  /// pages `pfns` (ascending, below maxPFN), whose bytes `page` gives.
  public func write(
    to path: String, pfns: [UInt64], page: (UInt64) throws -> [UInt8]
  ) throws -> Written {
    let bs = Self.blockSize
    guard maxPFN <= Self.maxFrames, pfns.allSatisfy({ $0 < maxPFN }) else {
      throw BinaryError(
        file: path, offset: 0,
        expected: "pages below max_mapnr 0x\(hex(maxPFN)), at most 2^32 page frames (16 TiB of RAM)")
    }
    let blob = Self.noteBlob(notes)
    let subBlocks = (Self.subHeaderSize + blob.bytes.count + bs - 1) / bs
    let bitmapBytes = (Int(maxPFN + 7) / 8 + bs - 1) / bs * bs
    let bitmapOffset = (1 + subBlocks) * bs
    let descriptorOffset = bitmapOffset + 2 * bitmapBytes
    let dataStart = descriptorOffset + 24 * pfns.count

    let out = try OutputFile(path: path)
    defer { out.discard() }
    try out.write(headerBlock(subBlocks: subBlocks, bitmapBlocks: 2 * bitmapBytes / bs), at: 0)
    try out.write(subHeader(blob: blob, blobOffset: bs + Self.subHeaderSize), at: UInt64(bs))
    try out.write(blob.bytes, at: UInt64(bs + Self.subHeaderSize))
    let stored = Self.runs(pfns)
    try writeBitmap(out, at: UInt64(bitmapOffset), bytes: bitmapBytes, frames: ramFrames + stored)
    try writeBitmap(out, at: UInt64(bitmapOffset + bitmapBytes), bytes: bitmapBytes, frames: stored)

    // Page data: the shared zero page first (makedumpfile's pd_zero), then each page.
    var written = Written(fileSize: 0, pages: pfns.count, zeroPages: 0, compressedPages: 0)
    var descriptors: [UInt8] = []
    descriptors.reserveCapacity(24 * pfns.count)
    var data: [UInt8] = []
    var dataOffset = UInt64(dataStart)
    var flushedTo = UInt64(dataStart)
    let zero = [UInt8](repeating: 0, count: bs)
    var zeroOffset: UInt64?
    for pfn in pfns {
      let bytes = try page(pfn)
      guard bytes.count == bs else {
        throw BinaryError(file: path, offset: 0, expected: "a page of \(bs) bytes for pfn 0x\(hex(pfn))", found: "\(bytes.count)")
      }
      var offset = dataOffset
      var payload = bytes
      var flags: UInt32 = 0
      if bytes == zero {
        written.zeroPages += 1
        if let zeroOffset {
          offset = zeroOffset
          payload = []
        } else {
          zeroOffset = dataOffset
        }
      } else if let codec, let packed = try? compressPage(bytes, codec: codec), packed.count < bs {
        payload = packed
        flags = codec.flag
        written.compressedPages += 1
      }
      descriptors += le(offset) + le(UInt32(payload.isEmpty ? bs : payload.count)) + le(flags) + le(UInt64(0))
      data += payload
      dataOffset += UInt64(payload.count)
      if data.count >= 1 << 20 {
        try out.write(data, at: flushedTo)
        flushedTo = dataOffset
        data.removeAll(keepingCapacity: true)
      }
    }
    try out.write(data, at: flushedTo)
    try out.write(descriptors, at: UInt64(descriptorOffset))
    // A file of no pages still ends after its bitmaps.
    try out.truncate(to: max(dataOffset, UInt64(descriptorOffset)))
    try out.commit()
    written.fileSize = max(dataOffset, UInt64(descriptorOffset))
    return written
  }

  /// The notes, each `{namesz, descsz, type}` + name + desc padded to 4 bytes, and where
  /// the VMCOREINFO text starts in it.
  static func noteBlob(_ notes: [RawNote]) -> (bytes: [UInt8], vmcoreinfo: Range<Int>?) {
    var bytes: [UInt8] = []
    var vmcoreinfo: Range<Int>?
    for note in notes {
      let name = Array(note.name.utf8) + [0]
      bytes += le(UInt32(name.count)) + le(UInt32(note.desc.count)) + le(note.type)
      bytes += name + [UInt8](repeating: 0, count: (4 - name.count % 4) % 4)
      if note.name == "VMCOREINFO" {
        let text = note.desc.firstIndex(of: 0) ?? note.desc.count
        vmcoreinfo = bytes.count..<(bytes.count + text)
      }
      bytes += note.desc + [UInt8](repeating: 0, count: (4 - note.desc.count % 4) % 4)
    }
    return (bytes, vmcoreinfo)
  }

  func headerBlock(subBlocks: Int, bitmapBlocks: Int) -> [UInt8] {
    var b = [UInt8](repeating: 0, count: Self.blockSize)
    put(&b, 0, Array("KDUMP   ".utf8))
    put(&b, 8, le(Int32(6)))
    let uts = [header.sysname, header.nodename, header.release, header.version, header.machine, header.domainname]
    for (i, field) in uts.enumerated() { put(&b, 12 + 65 * i, Array(field.utf8.prefix(64))) }
    put(&b, 408, le(header.timestamp) + le(UInt64(0)))  // struct timeval
    put(&b, 424, le(codec?.flag ?? 0))
    put(&b, 428, le(Int32(Self.blockSize)))
    put(&b, 432, le(Int32(subBlocks)))
    put(&b, 436, le(UInt32(bitmapBlocks)))
    put(&b, 440, le(UInt32(min(maxPFN, UInt64(UInt32.max)))))
    put(&b, 460, le(header.cpus))
    return b
  }

  func subHeader(blob: (bytes: [UInt8], vmcoreinfo: Range<Int>?), blobOffset: Int) -> [UInt8] {
    var s = [UInt8](repeating: 0, count: Self.subHeaderSize)
    put(&s, 0, le(header.physBase))
    put(&s, 8, le(header.dumpLevel))
    if let v = blob.vmcoreinfo {
      put(&s, 32, le(UInt64(blobOffset + v.lowerBound)) + le(UInt64(v.count)))
    }
    if !blob.bytes.isEmpty { put(&s, 48, le(UInt64(blobOffset)) + le(UInt64(blob.bytes.count))) }
    put(&s, 96, le(maxPFN))
    return s
  }

  /// Larger machines are refused: their bitmaps alone would be gigabytes.
  static let maxFrames: UInt64 = 1 << 32
  /// Bitmaps are written a chunk at a time, so memory does not grow with the machine.
  static let bitmapChunk = 1 << 20

  /// Ascending pfns as runs of consecutive frames.
  static func runs(_ pfns: [UInt64]) -> [Range<UInt64>] {
    var out: [Range<UInt64>] = []
    for pfn in pfns {
      if let last = out.last, last.upperBound == pfn {
        out[out.count - 1] = last.lowerBound..<(pfn + 1)
      } else {
        out.append(pfn..<(pfn + 1))
      }
    }
    return out
  }

  /// One bitmap of `bytes` bytes at `offset` with the bits of `frames` set (below maxPFN);
  /// all-zero chunks are left as holes of the file, which read as zeros.
  func writeBitmap(_ out: OutputFile, at offset: UInt64, bytes: Int, frames: [Range<UInt64>]) throws {
    let clamped = frames.map { $0.clamped(to: 0..<maxPFN) }.filter { !$0.isEmpty }
    var start = 0
    while start < bytes {
      let count = min(Self.bitmapChunk, bytes - start)
      let window = UInt64(start) * 8..<UInt64(start + count) * 8
      var chunk = [UInt8](repeating: 0, count: count)
      var any = false
      for range in clamped where range.overlaps(window) {
        let r = range.clamped(to: window)
        var pfn = r.lowerBound
        while pfn < r.upperBound {
          let i = Int(pfn - window.lowerBound) / 8
          if pfn % 8 == 0, r.upperBound - pfn >= 8 {
            chunk[i] = 0xff
            pfn += 8
          } else {
            chunk[i] |= 1 << UInt8(pfn % 8)
            pfn += 1
          }
        }
        any = true
      }
      if any { try out.write(chunk, at: offset + UInt64(start)) }
      start += count
    }
  }
}

private func le<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
  withUnsafeBytes(of: value.littleEndian) { Array($0) }
}

private func put(_ b: inout [UInt8], _ offset: Int, _ bytes: [UInt8]) {
  b.replaceSubrange(offset..<(offset + bytes.count), with: bytes)
}
