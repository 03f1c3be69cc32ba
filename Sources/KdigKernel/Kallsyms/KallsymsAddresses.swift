// Symbol addresses from kallsyms, as kernel/kallsyms.c kallsyms_sym_address() computes them:
//  - kallsyms_addresses[i] (no CONFIG_KALLSYMS_BASE_RELATIVE): the address itself;
//  - kallsyms_relative_base + (u32)kallsyms_offsets[i] (base-relative);
//  - with CONFIG_KALLSYMS_ABSOLUTE_PERCPU (x86-64 SMP until v6.15): an offset >= 0 is an
//    absolute value (a per-cpu offset), a negative one is relative_base - 1 - offset.
// Which of the last two a kernel uses is not recorded anywhere in the dump; kdig tells them
// apart the way the encoder leaves them: absolute-percpu tables hold negative offsets for
// every kernel-image symbol, plain relative ones never do (their offsets fit in 31 bits).

import KdigBinary

/// How the addresses were encoded, for `info` and the docs.
public enum KallsymsEncoding: String, Sendable, Encodable {
  case absolute = "kallsyms_addresses (absolute)"
  case relative = "kallsyms_offsets + kallsyms_relative_base"
  case absolutePercpu = "kallsyms_offsets + kallsyms_relative_base, absolute per-cpu"
}

enum KallsymsAddresses {
  /// Runtime addresses of `count` symbols from the offsets table and the base.
  static func relative(offsets: ByteView, base: UInt64, count: Int) throws -> ([UInt64], KallsymsEncoding) {
    guard count <= offsets.count / 4 else {
      throw offsets.truncated(at: 0, need: count * 4, "kallsyms_offsets (\(count) entries)")
    }
    var raw = [Int32](repeating: 0, count: count)
    var anyNegative = false
    offsets.withUnsafeBytes { b in
      // In bounds: count * 4 <= b.count (checked above).
      for i in 0..<count {
        let v = Int32(littleEndian: b.loadUnaligned(fromByteOffset: i * 4, as: Int32.self))
        raw[i] = v
        if v < 0 { anyNegative = true }
      }
    }
    let encoding: KallsymsEncoding = anyNegative ? .absolutePercpu : .relative
    var addresses = [UInt64](repeating: 0, count: count)
    for (i, v) in raw.enumerated() {
      // relative: base + (u32)v; absolute-percpu: v itself when v >= 0, else base - 1 - v,
      // that is base + (-v - 1) (at most 2^31 - 1). Past 2^64 only with a damaged base.
      let delta: UInt64? = !anyNegative ? UInt64(UInt32(bitPattern: v)) : v >= 0 ? nil : UInt64(-(Int64(v) + 1))
      guard let delta else {
        addresses[i] = UInt64(v)
        continue
      }
      guard let address = base.adding(delta) else {
        throw KallsymsError(
          .corrupt, "kallsyms_relative_base 0x\(hex(base)) + offset \(v) (symbol \(i)) passes the top of the address space")
      }
      addresses[i] = address
    }
    return (addresses, encoding)
  }

  /// Runtime addresses from `unsigned long kallsyms_addresses[]`.
  static func absolute(addresses: ByteView, count: Int) throws -> [UInt64] {
    try (0..<count).map { try addresses.u64($0 * 8, "kallsyms_addresses[\($0)]") }
  }
}
