// Builds BTF blobs for tests, one record at a time, in the layout of
// include/uapi/linux/btf.h: 24-byte header, type section, string section. Each method
// appends one `struct btf_type` (+ its kind data) and returns the new 1-based type id.

import KdigBinary

struct TypesBTFBuilder {
  private(set) var strings: [UInt8] = [0]
  private(set) var types: [UInt8] = []
  private(set) var count: UInt32 = 0

  mutating func str(_ s: String?) -> UInt32 {
    guard let s, !s.isEmpty else { return 0 }
    let offset = UInt32(strings.count)
    strings += Array(s.utf8) + [0]
    return offset
  }

  private mutating func u32(_ v: UInt32) {
    types += [UInt8(v & 0xff), UInt8((v >> 8) & 0xff), UInt8((v >> 16) & 0xff), UInt8(v >> 24)]
  }

  /// `struct btf_type` {name_off, info, size/type}.
  private mutating func header(
    _ name: String?, kind: UInt32, vlen: Int = 0, kindFlag: Bool = false,
    _ sizeOrType: UInt32
  ) -> UInt32 {
    u32(str(name))
    u32((kindFlag ? 1 << 31 : 0) | kind << 24 | UInt32(vlen))
    u32(sizeOrType)
    count += 1
    return count
  }

  mutating func int(
    _ name: String, size: UInt32, signed: Bool = false, char: Bool = false,
    bool: Bool = false, bits: UInt32? = nil, offset: UInt32 = 0
  ) -> UInt32 {
    let id = header(name, kind: 1, size)
    let enc: UInt32 = (signed ? 1 : 0) | (char ? 2 : 0) | (bool ? 4 : 0)
    u32(enc << 24 | offset << 16 | (bits ?? size * 8))
    return id
  }

  mutating func ptr(_ to: UInt32) -> UInt32 { header(nil, kind: 2, to) }

  mutating func array(_ element: UInt32, index: UInt32, count n: UInt32) -> UInt32 {
    let id = header(nil, kind: 3, 0)
    u32(element)
    u32(index)
    u32(n)
    return id
  }

  /// Members as (name, type, bit offset, bitfield width or nil).
  mutating func structure(
    _ name: String?, size: UInt32, union: Bool = false, kindFlag: Bool = false,
    _ members: [(String?, UInt32, UInt32, UInt32?)]
  ) -> UInt32 {
    let id = header(name, kind: union ? 5 : 4, vlen: members.count, kindFlag: kindFlag, size)
    for (n, t, bitOffset, width) in members {
      u32(str(n))
      u32(t)
      u32(kindFlag ? (width ?? 0) << 24 | bitOffset : bitOffset)
    }
    return id
  }

  mutating func enumeration(
    _ name: String?, size: UInt32 = 4, signed: Bool = false,
    _ values: [(String, Int32)]
  ) -> UInt32 {
    let id = header(name, kind: 6, vlen: values.count, kindFlag: signed, size)
    for (n, v) in values {
      u32(str(n))
      u32(UInt32(bitPattern: v))
    }
    return id
  }

  mutating func forward(_ name: String, union: Bool = false) -> UInt32 {
    header(name, kind: 7, kindFlag: union, 0)
  }

  mutating func typedef(_ name: String, _ to: UInt32) -> UInt32 { header(name, kind: 8, to) }
  mutating func volatile(_ to: UInt32) -> UInt32 { header(nil, kind: 9, to) }
  mutating func const(_ to: UInt32) -> UInt32 { header(nil, kind: 10, to) }
  mutating func restrict(_ to: UInt32) -> UInt32 { header(nil, kind: 11, to) }

  mutating func function(_ name: String, proto: UInt32, linkage: Int = 1) -> UInt32 {
    header(name, kind: 12, vlen: linkage, proto)
  }

  /// Parameters as (name, type); `variadic` appends the {0, 0} terminator.
  mutating func functionProto(
    returns: UInt32, _ params: [(String?, UInt32)], variadic: Bool = false
  )
    -> UInt32
  {
    let all = params + (variadic ? [(nil, 0)] : [])
    let id = header(nil, kind: 13, vlen: all.count, returns)
    for (n, t) in all {
      u32(str(n))
      u32(t)
    }
    return id
  }

  mutating func variable(_ name: String, _ type: UInt32, linkage: UInt32 = 1) -> UInt32 {
    let id = header(name, kind: 14, type)
    u32(linkage)
    return id
  }

  mutating func dataSection(_ name: String, size: UInt32, _ vars: [(UInt32, UInt32, UInt32)])
    -> UInt32
  {
    let id = header(name, kind: 15, vlen: vars.count, size)
    for (t, off, sz) in vars {
      u32(t)
      u32(off)
      u32(sz)
    }
    return id
  }

  mutating func float(_ name: String, size: UInt32) -> UInt32 { header(name, kind: 16, size) }

  mutating func declTag(_ name: String, _ to: UInt32, component: Int32 = -1) -> UInt32 {
    let id = header(name, kind: 17, to)
    u32(UInt32(bitPattern: component))
    return id
  }

  mutating func typeTag(_ name: String, _ to: UInt32) -> UInt32 { header(name, kind: 18, to) }

  mutating func enum64(
    _ name: String?, size: UInt32 = 8, signed: Bool = false,
    _ values: [(String, UInt64)]
  ) -> UInt32 {
    let id = header(name, kind: 19, vlen: values.count, kindFlag: signed, size)
    for (n, v) in values {
      u32(str(n))
      u32(UInt32(truncatingIfNeeded: v))
      u32(UInt32(truncatingIfNeeded: v >> 32))
    }
    return id
  }

  /// Raw bytes for a record the builder has no method for (malformed-input tests).
  mutating func raw(_ words: [UInt32]) {
    for w in words { u32(w) }
    count += 1
  }

  /// Raw words appended to the previous record (its kind data).
  mutating func rawData(_ words: [UInt32]) {
    for w in words { u32(w) }
  }

  /// The blob: header, then types, then strings.
  var blob: [UInt8] {
    var out: [UInt8] = []
    func le32(_ v: UInt32) {
      out += [UInt8(v & 0xff), UInt8((v >> 8) & 0xff), UInt8((v >> 16) & 0xff), UInt8(v >> 24)]
    }
    out += [0x9f, 0xeb, 1, 0]  // magic 0xeb9f (LE), version 1, flags 0
    le32(24)  // hdr_len
    le32(0)  // type_off
    le32(UInt32(types.count))  // type_len
    le32(UInt32(types.count))  // str_off
    le32(UInt32(strings.count))  // str_len
    return out + types + strings
  }

  var view: ByteView { ByteView.copying(blob, file: "test.btf", fileOffset: 0) }
}
