// A module's BTF is split BTF (CONFIG_DEBUG_INFO_BTF_MODULES; kernel/bpf/btf.c
// btf_parse_module, libbpf btf__new_split): its type ids continue the vmlinux's (the first
// is base types + 1) and its string offsets continue the vmlinux's string section, so a
// module type refers to vmlinux types by their own ids. Laid end to end — base types,
// module types, base strings, module strings — the two are one ordinary BTF blob with every
// id and offset unchanged, which BTFTypes reads as it reads the vmlinux's.

import KdigBinary

/// The header fields of a BTF blob, checked against the blob's size.
struct BTFHeader {
  var types: ByteView
  var strings: ByteView

  init(_ blob: ByteView) throws(BinaryError) {
    guard try blob.u16(0, "BTF magic") == BTFLayout.magic else {
      throw BinaryError(file: blob.file, offset: blob.location(0), expected: "BTF magic 0xeb9f")
    }
    let hdrLen = Int(try blob.u32(4, "BTF hdr_len"))
    guard hdrLen >= BTFLayout.headerSize, hdrLen <= blob.count else {
      throw BinaryError(file: blob.file, offset: blob.location(4), expected: "BTF hdr_len within the blob")
    }
    // u32 values widened to Int: the sums cannot overflow.
    types = try blob.slice(hdrLen + Int(try blob.u32(8, "type_off")), Int(try blob.u32(12, "type_len")), "BTF types")
    strings = try blob.slice(hdrLen + Int(try blob.u32(16, "str_off")), Int(try blob.u32(20, "str_len")), "BTF strings")
  }
}

extension BTFTypes {
  /// The types of split BTF `split` on top of `base`, as one blob (see above). `refTag`
  /// marks the references it hands out (ModuleTypes).
  static func split(_ split: ByteView, base: BTFTypes, source: String, refTag: UInt64) throws -> BTFTypes {
    let module = try BTFHeader(split)
    let typeLength = base.layout.types.count + module.types.count
    let stringLength = base.layout.strings.count + module.strings.count
    // Sums of the sizes of views already in memory: far below Int.max.
    let total = 24 + typeLength + stringLength
    guard let typeLen = UInt32(exactly: typeLength), let strLen = UInt32(exactly: stringLength), total <= 256 << 20 else {
      throw KernelTypeError(file: source, "module BTF of \(split.count) bytes on this base is larger than any kernel's")
    }
    var blob: [UInt8] = [0x9f, 0xeb, 1, 0]
    for v in [UInt32(24), 0, typeLen, typeLen, strLen] { withUnsafeBytes(of: v.littleEndian) { blob += $0 } }
    blob.reserveCapacity(total)
    for part in [base.layout.types, module.types, base.layout.strings, module.strings] {
      part.withUnsafeBytes { blob += $0 }
    }
    return try BTFTypes(bytes: ByteView.copying(blob, file: source, fileOffset: 0), source: source, refTag: refTag)
  }

  /// True when split BTF `split` names a type `name` itself (a name in its own strings, at
  /// offsets past the base's `baseStrings` bytes): a scan of its records, no copy.
  static func splitNames(_ name: [UInt8], in split: ByteView, baseStrings: Int) -> Bool {
    guard let module = try? BTFHeader(split), let offsets = try? BTFLayout.walk(module.types) else { return false }
    for o in offsets {
      guard let nameOffset = try? module.types.u32(Int(o), "name_off"), Int(nameOffset) >= baseStrings else { continue }
      let start = Int(nameOffset) - baseStrings
      guard start < module.strings.count, name.count < module.strings.count - start else { continue }
      let matches = module.strings.withUnsafeBytes { raw in
        raw[start + name.count] == 0 && name.indices.allSatisfy { raw[start + $0] == name[$0] }
      }
      if matches { return true }
    }
    return false
  }
}
