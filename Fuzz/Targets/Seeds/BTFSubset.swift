// A small BTF blob cut from a vmlinux's .BTF: the types named in `roots` and everything they
// reference, renumbered, with a string section of their names only. A reference past the
// cap becomes 0 (void), so the blob stays valid and a few KiB. Record layout:
// include/uapi/linux/btf.h.

struct BTFSubset {
  /// The types kdig's no-vmlinux paths ask BTF for (log, backtrace, percpu).
  static let roots = [
    "printk_ringbuffer", "printk_info", "prb_desc", "dev_printk_info", "printk_info_flags", "orc_entry", "pt_regs",
    "list_head", "atomic_long_t", "int", "long unsigned int", "char",
  ]
  /// Types kept at most.
  static let maxTypes = 200

  let types: [UInt8]
  let strings: [UInt8]
  /// Offset in `types` of each type id - 1.
  let offsets: [Int]

  init?(_ blob: [UInt8]) {
    guard blob.count >= 24, blob[0] == 0x9f, blob[1] == 0xeb else { return nil }
    let hdr = Int(blob.u32(at: 4))
    let typeOff = hdr + Int(blob.u32(at: 8))
    let typeLen = Int(blob.u32(at: 12))
    let strOff = hdr + Int(blob.u32(at: 16))
    let strLen = Int(blob.u32(at: 20))
    guard typeOff + typeLen <= blob.count, strOff + strLen <= blob.count else { return nil }
    types = Array(blob[typeOff..<(typeOff + typeLen)])
    strings = Array(blob[strOff..<(strOff + strLen)])
    var offsets: [Int] = []
    var at = 0
    while at + 12 <= types.count {
      offsets.append(at)
      guard let size = Self.recordSize(types, at), size <= types.count - at else { return nil }
      at += size
    }
    self.offsets = offsets
  }

  static func kind(_ t: [UInt8], _ at: Int) -> Int { Int(t.u32(at: at + 4) >> 24) & 0x1f }
  static func vlen(_ t: [UInt8], _ at: Int) -> Int { Int(t.u32(at: at + 4) & 0xffff) }

  /// 12 bytes of `struct btf_type` and the kind's trailing data.
  static func recordSize(_ t: [UInt8], _ at: Int) -> Int? {
    let v = vlen(t, at)
    switch kind(t, at) {
    case 1, 14, 17: return 16
    case 3: return 24
    case 4, 5, 15, 19: return 12 + 12 * v
    case 6, 13: return 12 + 8 * v
    case 2, 7, 8, 9, 10, 11, 12, 16, 18: return 12
    default: return nil
    }
  }

  /// Byte offsets (in the record) of the type ids it refers to.
  static func references(_ t: [UInt8], _ at: Int) -> [Int] {
    let v = vlen(t, at)
    switch kind(t, at) {
    case 2, 8, 9, 10, 11, 12, 14, 17, 18: return [8]
    case 3: return [12, 16]
    case 4, 5: return (0..<v).map { 12 + 12 * $0 + 4 }
    case 13: return [8] + (0..<v).map { 12 + 8 * $0 + 4 }
    case 15: return (0..<v).map { 12 + 12 * $0 }
    default: return []
    }
  }

  /// Byte offsets (in the record) of its string offsets.
  static func names(_ t: [UInt8], _ at: Int) -> [Int] {
    let v = vlen(t, at)
    switch kind(t, at) {
    case 4, 5, 19: return [0] + (0..<v).map { 12 + 12 * $0 }
    case 6, 13: return [0] + (0..<v).map { 12 + 8 * $0 }
    default: return [0]
    }
  }

  func name(_ offset: UInt32) -> [UInt8] {
    let start = min(Int(offset), strings.count)
    var end = start
    while end < strings.count, strings[end] != 0 { end += 1 }
    return Array(strings[start..<end])
  }

  /// The subset reachable from `roots` (breadth first, capped), as a complete BTF blob.
  func encode(roots: [String]) -> [UInt8]? {
    var order: [Int] = []  // old ids in new order
    var newID: [Int: UInt32] = [:]
    for root in roots {
      let wanted = Array(root.utf8)
      // A definition (not a forward declaration, kind 7) with that name.
      guard let i = offsets.indices.first(where: {
        Self.kind(types, offsets[$0]) != 7 && name(types.u32(at: offsets[$0])) == wanted
      }) else { continue }
      if newID[i + 1] == nil, order.count < Self.maxTypes {
        order.append(i + 1)
        newID[i + 1] = UInt32(order.count)
      }
    }
    var next = 0
    while next < order.count {
      let at = offsets[order[next] - 1]
      for r in Self.references(types, at) {
        let id = Int(types.u32(at: at + r))
        guard id > 0, id <= offsets.count, newID[id] == nil, order.count < Self.maxTypes else { continue }
        order.append(id)
        newID[id] = UInt32(order.count)
      }
      next += 1
    }
    guard !order.isEmpty else { return nil }
    var outTypes: [UInt8] = []
    var outStrings: [UInt8] = [0]
    var placed: [[UInt8]: UInt32] = [[]: 0]
    for old in order {
      let at = offsets[old - 1]
      guard let size = Self.recordSize(types, at) else { return nil }
      var record = Array(types[at..<(at + size)])
      for r in Self.references(types, at) {
        record.put(newID[Int(types.u32(at: at + r))] ?? 0, at: r)
      }
      for n in Self.names(types, at) {
        let text = name(types.u32(at: at + n))
        if placed[text] == nil {
          placed[text] = UInt32(outStrings.count)
          outStrings += text + [0]
        }
        record.put(placed[text] ?? 0, at: n)
      }
      outTypes += record
    }
    var out: [UInt8] = [0x9f, 0xeb, 1, 0]
    out.append(le: UInt32(24))
    out.append(le: UInt32(0))
    out.append(le: UInt32(outTypes.count))
    out.append(le: UInt32(outTypes.count))
    out.append(le: UInt32(outStrings.count))
    return out + outTypes + outStrings
  }
}
