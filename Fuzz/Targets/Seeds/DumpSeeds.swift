// Seeds of the file-format targets, cut from a sample file: an ELF core keeps its headers
// and notes and a page of its first segments; a kdump keeps its header, sub header and
// notes, with max_mapnr cut to 4096 pfns and only the first dumped pages (so the cross
// checks still hold); a flattened seed wraps such a kdump in records, or keeps the head of
// a real stream.

import KdigBinary
import KdigDump

enum DumpSeeds {
  typealias Seed = (FuzzTarget, String, [UInt8])

  static func cut(_ file: MappedFile, sample: String) throws -> [Seed] {
    let head = try file.view(at: 0, count: min(16, Int(file.size)), "signature")
    if head.matches([0x7f, 0x45, 0x4c, 0x46], at: 0) {
      return try elf(file).map { [(.elfCore, "\(sample).elf", $0)] } ?? []
    }
    var seeds: [Seed] = []
    var logical: ByteSource = file
    if FlattenedFile.hasSignature(head) {
      seeds.append((.flattened, "\(sample)-head.flat", try flatHead(file)))
      logical = try FlattenedFile(file: file)
    }
    if let kdump = try kdump(logical) {
      seeds.append((.kdump, "\(sample).kdump", kdump))
      seeds.append((.flattened, "\(sample)-rewrapped.flat", flatten(kdump)))
    }
    return seeds
  }

  // MARK: - ELF

  /// Headers, program headers and notes as they are; PT_LOADs keep at most one page of
  /// their bytes (the first three) or none (p_filesz 0: the rest reads as zero).
  static func elf(_ file: ByteSource) throws -> [UInt8]? {
    let h = try file.view(at: 0, count: 64, "ELF header")
    let phentsize = Int(try h.u16(54))
    let phnum = Int(try h.u16(56))
    // Int(exactly:): an e_phoff above Int.max must not trap the seed cutter.
    guard let phoff = Int(exactly: try h.u64(32)), phentsize >= 56, phnum < 0xffff, phoff < 1 << 20 else { return nil }
    var end = phoff + phentsize * phnum
    for i in 0..<phnum {
      let ph = try file.view(at: UInt64(phoff + i * phentsize), count: 56, "phdr")
      if try ph.u32(0) == 4 {
        guard let noteEnd = try ph.u64(8).adding(try ph.u64(32)), noteEnd <= 1 << 20 else { return nil }
        end = max(end, Int(noteEnd))
      }
    }
    guard end <= 1 << 20 else { return nil }
    var out = try file.view(at: 0, count: end, "headers and notes").withUnsafeBytes { Array($0) }
    var kept = 0
    for i in 0..<phnum {
      let at = phoff + i * phentsize
      let ph = try file.view(at: UInt64(at), count: 56, "phdr")
      guard try ph.u32(0) == 1 else { continue }
      let take = kept < 3 ? min(try ph.u64(32), 4096) : 0
      let data = take > 0 ? try file.view(at: try ph.u64(8), count: Int(take), "segment").withUnsafeBytes { Array($0) } : []
      out.put(UInt64(take > 0 ? out.count : 0), at: at + 8)
      out.put(take, at: at + 32)
      out += data
      kept += 1
    }
    return out
  }

  // MARK: - kdump

  /// Pfns the cut kdump describes (one bitmap block each), and the dumped pages it keeps.
  static let keptPFNs = 4096
  static let keptPages = 12

  static func kdump(_ file: ByteSource) throws -> [UInt8]? {
    let bs = 4096
    let h = try file.view(at: 0, count: bs, "header block")
    guard h.matches(Array("KDUMP   ".utf8), at: 0) else { return nil }
    let version = Int(try h.i32(8))
    let subBlocks = Int(try h.i32(432))
    let bitmapBlocks = Int(try h.u32(436))
    guard version >= 6, subBlocks >= 1, subBlocks < 64, bitmapBlocks >= 2 else { return nil }
    var out = try file.view(at: 0, count: bs * (1 + subBlocks), "header and sub header").withUnsafeBytes { Array($0) }
    out.put(UInt32(2), at: 436)
    out.put(UInt32(keptPFNs), at: 440)
    out.put(UInt64(keptPFNs), at: bs + 96)
    let bitmapStart = UInt64(bs * (1 + subBlocks))
    let half = UInt64(bitmapBlocks / 2 * bs)
    let bitmapBytes = keptPFNs / 8
    let ram = try file.view(at: bitmapStart, count: bitmapBytes, "bitmap 1").withUnsafeBytes { Array($0) }
    let dumped = try file.view(at: bitmapStart + half, count: bitmapBytes, "bitmap 2").withUnsafeBytes { Array($0) }
    // The first `keptPages` dumped pfns: their descriptors are the file's first ones.
    var kept = [UInt8](repeating: 0, count: bitmapBytes)
    var count = 0
    for pfn in 0..<keptPFNs where count < keptPages && dumped[pfn / 8] & (1 << (pfn % 8)) != 0 {
      kept[pfn / 8] |= 1 << UInt8(pfn % 8)
      count += 1
    }
    guard count > 0 else { return nil }
    out += ram + [UInt8](repeating: 0, count: bs - bitmapBytes)
    out += kept + [UInt8](repeating: 0, count: bs - bitmapBytes)
    let descAt = bitmapStart + 2 * half
    var descriptors = try file.view(at: descAt, count: count * 24, "descriptors").withUnsafeBytes { Array($0) }
    // Page data after the table, shared pages (the zero page) once, in file order.
    let dataStart = out.count + descriptors.count
    var data: [UInt8] = []
    var moved: [Int64: Int64] = [:]
    let order = (0..<count).sorted { descriptors.i64(at: $0 * 24) < descriptors.i64(at: $1 * 24) }
    for i in order {
      let offset = descriptors.i64(at: i * 24)
      let size = Int(descriptors.u32(at: i * 24 + 8))
      guard offset > 0, size <= bs else { return nil }
      if moved[offset] == nil {
        moved[offset] = Int64(dataStart + data.count)
        data += try file.view(at: UInt64(offset), count: size, "page data").withUnsafeBytes { Array($0) }
      }
      descriptors.put(UInt64(moved[offset] ?? 0), at: i * 24)
    }
    return out + descriptors + data
  }

  // MARK: - flattened

  /// `kdump` as makedumpfile -F writes it: a 4096-byte header, records, the -1 marker.
  static func flatten(_ kdump: [UInt8]) -> [UInt8] {
    var out = flatHeader()
    var offset = 0
    while offset < kdump.count {
      let n = min(4096, kdump.count - offset)
      out.putBE(UInt64(offset))
      out.putBE(UInt64(n))
      out += kdump[offset..<(offset + n)]
      offset += n
    }
    out.putBE(UInt64.max)
    out.putBE(UInt64(0))
    return out
  }

  /// The header and the first records of a real stream (up to 64 KiB), then the marker.
  static func flatHead(_ file: ByteSource) throws -> [UInt8] {
    var pos: UInt64 = 4096
    while pos + 16 <= file.size {
      let r = try file.view(at: pos, count: 16, "record")
      let size = try r.read(UInt64.self, at: 8, .big)
      guard try r.read(Int64.self, at: 0, .big) >= 0, let next = (pos + 16).adding(size), next <= file.size,
        next <= 64 << 10 || pos == 4096
      else { break }
      pos = next
    }
    var out = try file.view(at: 0, count: Int(pos), "records").withUnsafeBytes { Array($0) }
    out.putBE(UInt64.max)
    out.putBE(UInt64(0))
    return out
  }

  static func flatHeader() -> [UInt8] {
    var out = Array("makedumpfile".utf8) + [UInt8](repeating: 0, count: 4)
    out.putBE(UInt64(1))
    out.putBE(UInt64(1))
    return out + [UInt8](repeating: 0, count: 4096 - out.count)
  }
}

extension Array where Element == UInt8 {
  /// Overwrites bytes at `offset` with `value`, little-endian (the caller sized the array).
  mutating func put<T: FixedWidthInteger>(_ value: T, at offset: Int) {
    Swift.withUnsafeBytes(of: value.littleEndian) { raw in
      for (i, b) in raw.enumerated() where offset + i < count { self[offset + i] = b }
    }
  }

  /// Appends `value` big-endian.
  mutating func putBE<T: FixedWidthInteger>(_ value: T) {
    Swift.withUnsafeBytes(of: value.bigEndian) { append(contentsOf: $0) }
  }

  func i64(at offset: Int) -> Int64 { Int64(bitPattern: u64(at: offset)) }
  func u32(at offset: Int) -> UInt32 { UInt32(truncatingIfNeeded: le(at: offset, 4)) }
  func u64(at offset: Int) -> UInt64 { le(at: offset, 8) }

  private func le(at offset: Int, _ n: Int) -> UInt64 {
    var v: UInt64 = 0
    for i in 0..<n where offset + i < count { v |= UInt64(self[offset + i]) << (8 * UInt64(i)) }
    return v
  }
}
