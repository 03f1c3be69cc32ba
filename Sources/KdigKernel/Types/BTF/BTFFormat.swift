// The raw BTF layout: header, type records and string section, bounds-checked.
// Source: include/uapi/linux/btf.h; docs/shared dump-formats.md §5.2 (verified on the
// Debian 6.12 vmlinux: 107 083 types, kinds 1–16 and 19). Only the record walk happens
// up front (to number the types); names and referenced ids are checked when used.

import KdigBinary

/// `BTF_KIND_*` (include/uapi/linux/btf.h).
enum BTFKind: UInt8 {
  case int = 1
  case pointer, array, structure, union, enumeration, forward, typedef, volatile,
    const, restrict, function, functionProto, variable, dataSection, float, declTag, typeTag,
    enum64

  /// Bytes of kind-specific data after the 12-byte `struct btf_type`, for `vlen` entries.
  func trailingSize(vlen: Int) -> Int {
    switch self {
    case .int: return 4  // u32 encoding/offset/bits
    case .array: return 12  // struct btf_array
    case .structure, .union: return 12 * vlen  // struct btf_member
    case .enumeration: return 8 * vlen  // struct btf_enum
    case .functionProto: return 8 * vlen  // struct btf_param
    case .variable: return 4  // struct btf_var
    case .dataSection: return 12 * vlen  // struct btf_var_secinfo
    case .declTag: return 4  // struct btf_decl_tag
    case .enum64: return 12 * vlen  // struct btf_enum64
    case .pointer, .forward, .typedef, .volatile, .const, .restrict, .function, .float,
      .typeTag:
      return 0
    }
  }
}

/// `BTF_INT_*` encoding bits of a `BTF_KIND_INT` (bits 24–27 of its u32).
enum BTFIntEncoding {
  static let signed: UInt32 = 1 << 0
  static let char: UInt32 = 1 << 1
  static let bool: UInt32 = 1 << 2
}

/// One `struct btf_type` header, decoded.
struct BTFRecord {
  /// Offset of the record in the type section.
  var offset: Int
  var nameOffset: UInt32
  var kind: BTFKind
  /// `vlen`: members, enumerators or parameters that follow.
  var vlen: Int
  /// Bit 31 of `info`: bitfield member offsets, signed enums, union forwards.
  var kindFlag: Bool
  /// `size` for INT, ENUM, STRUCT, UNION, DATASEC, FLOAT, ENUM64; `type` for the others.
  var sizeOrType: UInt32

  /// Offset of the kind-specific data.
  var dataOffset: Int { offset + 12 }
}

/// The validated header and section views of a BTF blob.
struct BTFLayout {
  static let magic: UInt16 = 0xEB9F
  static let headerSize = 24
  /// BTF_MAX_TYPE: type ids are at most 20 bits.
  static let maxTypes = 0x000f_ffff

  let types: ByteView
  let strings: ByteView
  /// `recordOffsets[id - 1]` is the offset of type `id` in `types`.
  let recordOffsets: [UInt32]

  /// Parses the header and walks the records, or takes `knownOffsets` (computed before from
  /// the same bytes, DumpBTF.swift) when they are in order and inside the type section.
  init(_ blob: ByteView, knownOffsets: [UInt32]? = nil) throws(BinaryError) {
    let magic = try blob.u16(0, "BTF magic")
    guard magic == BTFLayout.magic else {
      let swapped = magic == BTFLayout.magic.byteSwapped
      throw BinaryError(
        file: blob.file, offset: blob.location(0), expected: "BTF magic 0xeb9f (little-endian)",
        found: swapped ? "big-endian BTF" : hex0x(UInt64(magic)))
    }
    let version = try blob.u8(2, "BTF version")
    guard version == 1 else {
      throw BinaryError(
        file: blob.file, offset: blob.location(2), expected: "BTF version 1", found: "\(version)")
    }
    let hdrLen = Int(try blob.u32(4, "BTF hdr_len"))
    guard hdrLen >= BTFLayout.headerSize, hdrLen <= blob.count else {
      throw BinaryError(
        file: blob.file, offset: blob.location(4),
        expected: "BTF hdr_len between 24 and the blob size \(blob.count)", found: "\(hdrLen)")
    }
    // u32 values widened to Int (64-bit): the sums below cannot overflow.
    let typeOff = hdrLen + Int(try blob.u32(8, "BTF type_off"))
    let typeLen = Int(try blob.u32(12, "BTF type_len"))
    let strOff = hdrLen + Int(try blob.u32(16, "BTF str_off"))
    let strLen = Int(try blob.u32(20, "BTF str_len"))
    types = try blob.slice(typeOff, typeLen, "BTF type section (type_off/type_len)")
    strings = try blob.slice(strOff, strLen, "BTF string section (str_off/str_len)")
    if strLen > 0 {
      // btf.c btf_check_all_metas: the string section starts with "" and ends with NUL.
      guard try strings.u8(0, "BTF string section") == 0,
        try strings.u8(strLen - 1, "BTF string section") == 0
      else {
        throw BinaryError(
          file: blob.file, offset: strings.location(0),
          expected: "a BTF string section starting and ending with NUL")
      }
    }
    if let knownOffsets, BTFLayout.plausible(knownOffsets, in: types) {
      recordOffsets = knownOffsets
    } else {
      recordOffsets = try BTFLayout.walk(types)
    }
  }

  /// Offsets that start at 0, ascend by at least a record header and stay in `types`: every
  /// record read at them is still bounds-checked, so this is enough to use them.
  static func plausible(_ offsets: [UInt32], in types: ByteView) -> Bool {
    guard offsets.count <= maxTypes, offsets.first.map({ $0 == 0 }) ?? (types.count == 0) else { return false }
    for i in offsets.indices {
      guard Int(offsets[i]) <= types.count - 12, i == 0 || offsets[i] >= offsets[i - 1] + 12 else { return false }
    }
    return true
  }

  /// Walks the type section once, recording where each type starts.
  static func walk(_ types: ByteView) throws(BinaryError) -> [UInt32] {
    var offsets: [UInt32] = []
    var offset = 0
    while offset < types.count {
      guard offsets.count < maxTypes else {
        throw BinaryError(
          file: types.file, offset: types.location(offset),
          expected: "at most \(maxTypes) BTF types")
      }
      let record = try readRecord(types, at: offset)
      offsets.append(UInt32(offset))  // offset < types.count <= UInt32.max
      let length = 12 + record.kind.trailingSize(vlen: record.vlen)
      guard length <= types.count - offset else {
        throw types.truncated(
          at: offset, need: length,
          "BTF type \(offsets.count) (kind \(record.kind.rawValue), vlen \(record.vlen))")
      }
      offset += length
    }
    return offsets
  }

  /// Decodes the `struct btf_type` at `offset` of the type section.
  static func readRecord(_ types: ByteView, at offset: Int) throws(BinaryError) -> BTFRecord {
    let nameOffset = try types.u32(offset, "btf_type.name_off")
    let info = try types.u32(offset + 4, "btf_type.info")
    let sizeOrType = try types.u32(offset + 8, "btf_type.size/type")
    let rawKind = UInt8((info >> 24) & 0x1f)
    guard let kind = BTFKind(rawValue: rawKind) else {
      throw BinaryError(
        file: types.file, offset: types.location(offset + 4),
        expected: "a BTF kind between 1 and 19", found: "\(rawKind)")
    }
    return BTFRecord(
      offset: offset, nameOffset: nameOffset, kind: kind, vlen: Int(info & 0xffff),
      kindFlag: info >> 31 != 0, sizeOrType: sizeOrType)
  }

  var typeCount: Int { recordOffsets.count }

  /// The record of type `id` (1-based; 0 is void and has no record).
  func record(_ id: UInt32, referencedFrom: Int? = nil) throws(BinaryError) -> BTFRecord {
    guard id >= 1, Int(id) <= recordOffsets.count else {
      let at = referencedFrom.map { types.location($0) } ?? types.location(0)
      throw BinaryError(
        file: types.file, offset: at, expected: "a BTF type id between 1 and \(typeCount)",
        found: "\(id)")
    }
    return try BTFLayout.readRecord(types, at: Int(recordOffsets[Int(id) - 1]))
  }

  /// The NUL-terminated string at `offset` of the string section; nil for offset 0 ("").
  func string(_ offset: UInt32, for what: @autoclosure () -> String) throws(BinaryError)
    -> String?
  {
    if offset == 0 { return nil }
    let start = Int(offset)
    guard start < strings.count else {
      throw BinaryError(
        file: strings.file, offset: strings.location(0),
        expected: "\(what()) name offset below the string section size \(strings.count)",
        found: "\(offset)")
    }
    let tail = UnsafeRawBufferPointer(rebasing: strings.bytes[start...])
    guard let end = tail.firstIndex(of: 0) else {
      throw BinaryError(
        file: strings.file, offset: strings.location(start),
        expected: "a NUL-terminated string for \(what())")
    }
    let text = String(decoding: tail[..<end], as: UTF8.self)
    return text.isEmpty ? nil : text
  }

  /// True when the string at `offset` is exactly `name` (UTF-8, no allocation).
  func stringEquals(_ offset: UInt32, _ name: [UInt8]) -> Bool {
    let start = Int(offset)
    guard offset != 0, start < strings.count, name.count < strings.count - start else {
      return false
    }
    for (i, b) in name.enumerated() where strings.bytes[start + i] != b { return false }
    return strings.bytes[start + name.count] == 0
  }
}
