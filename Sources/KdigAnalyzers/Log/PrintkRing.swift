// The printk ring buffer's header (struct printk_ringbuffer, pointed to by `prb`): where the
// descriptor, info and text arrays are, how big they are, and the head and tail.

import KdigBinary
import KdigTranslation

/// The ring's header values, read from the dump and checked.
struct PrintkRingHeader {
  var ringbuffer: UInt64
  var countBits: Int
  var descs: UInt64
  var infos: UInt64
  var headID: UInt64
  var tailID: UInt64
  var sizeBits: Int
  var data: UInt64
  var headLpos: UInt64?
  var tailLpos: UInt64?
  var fail: UInt64?

  var count: UInt64 { UInt64(1) << UInt64(countBits) }
  var dataSize: UInt64 { UInt64(1) << UInt64(sizeBits) }

  /// The kernel caps log_buf_len at 2^31 bytes (LOG_BUF_LEN_MAX) and uses 2^5 bytes of text
  /// per descriptor (PRB_AVGBITS), so a real ring never exceeds these.
  static let maxSizeBits = 31
  static let maxCountBits = 26

  /// Reads `*prb` and the ring it points to.
  static func read(_ memory: any VirtualMemory, _ l: PrintkLayout) throws -> PrintkRingHeader {
    let ring = try withContext("reading prb (a struct printk_ringbuffer * at 0x\(hex(l.prbSymbol)))") {
      try memory.u64(at: l.prbSymbol)
    }
    let raw = try withContext("reading the printk ring buffer at 0x\(hex(ring))") {
      try memory.bytes(at: ring, count: l.ringbufferSize)
    }
    let f = FieldBytes(bytes: raw, what: "printk_ringbuffer at 0x\(hex(ring))")
    let countBits = Int(try f.u32(l.descRing + l.countBits))
    let sizeBits = Int(try f.u32(l.textDataRing + l.sizeBits))
    guard countBits <= maxCountBits else {
      throw LogError("printk_ringbuffer at 0x\(hex(ring)): desc_ring.count_bits is \(countBits), more than the kernel allows (\(maxCountBits))")
    }
    // A data block holds at least its 8-byte ID and the next block's ID must fit too.
    guard sizeBits >= 4, sizeBits <= maxSizeBits else {
      throw LogError("printk_ringbuffer at 0x\(hex(ring)): text_data_ring.size_bits is \(sizeBits), outside 4...\(maxSizeBits)")
    }
    var h = PrintkRingHeader(
      ringbuffer: ring, countBits: countBits, descs: try f.u64(l.descRing + l.descs),
      infos: try f.u64(l.descRing + l.infos), headID: try f.u64(l.descRing + l.headID + l.counter),
      tailID: try f.u64(l.descRing + l.tailID + l.counter), sizeBits: sizeBits,
      data: try f.u64(l.textDataRing + l.data))
    if let o = l.headLpos { h.headLpos = try f.u64(l.textDataRing + o + l.counter) }
    if let o = l.tailLpos { h.tailLpos = try f.u64(l.textDataRing + o + l.counter) }
    if let o = l.fail { h.fail = try f.u64(o + l.counter) }
    // Every array must fit in the address space: element addresses are then plain sums.
    let arrays: [(String, UInt64, UInt64, Int)] = [
      ("desc_ring.descs", h.descs, h.count, l.descSize), ("desc_ring.infos", h.infos, h.count, l.infoSize),
      ("text_data_ring.data", h.data, h.dataSize, 1),
    ]
    for (what, base, n, size) in arrays where base.adding(n.saturatingMultiply(UInt64(size))) == nil {
      throw LogError("printk_ringbuffer at 0x\(hex(ring)): \(what) at 0x\(hex(base)) (\(n) × \(size) bytes) runs past the top of memory")
    }
    return h
  }

  func summary(_ l: PrintkLayout) -> PrintkRingSummary {
    PrintkRingSummary(
      layoutSource: l.source, prbSymbol: Hex64(l.prbSymbol), ringbuffer: Hex64(ringbuffer), descriptorCount: count,
      descriptors: Hex64(descs), infos: Hex64(infos), textDataSize: dataSize, textData: Hex64(data),
      headID: Hex64(headID), tailID: Hex64(tailID), textHeadLpos: headLpos.map(Hex64.init),
      textTailLpos: tailLpos.map(Hex64.init), failedReservations: fail)
  }
}
