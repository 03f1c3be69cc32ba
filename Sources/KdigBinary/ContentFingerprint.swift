// A fast 64-bit fingerprint of bytes, for naming what was derived from them (a per-build
// index of kallsyms or BTF is valid for exactly the bytes it was computed from). Not a
// cryptographic hash: a crafted dump can collide with it, so whatever is loaded under a
// fingerprint is still bounds-checked before use; the fingerprint only keeps an honest
// dump from being answered with another dump's index. Four independent multiply lanes
// over 32-byte blocks (~8 bytes a cycle), then the tail and the length, mixed by fmix64.

public struct ContentFingerprint {
  private var lanes: (UInt64, UInt64, UInt64, UInt64) =
    (0x9e37_79b9_7f4a_7c15, 0xc2b2_ae3d_27d4_eb4f, 0x1656_67b1_9e37_79f9, 0x85eb_ca77_c2b2_ae63)
  private var length: UInt64 = 0

  public init() {}

  /// An odd multiplier with well-spread bits (the golden ratio's, as in splitmix64).
  private static let prime: UInt64 = 0x9e37_79b9_7f4a_7c15

  /// Adds `bytes` (their length too, so (a, b) and (a + b[0], b.dropFirst()) differ).
  public mutating func add(_ bytes: UnsafeRawBufferPointer) {
    let p = Self.prime
    var (a, b, c, d) = lanes
    let blocks = bytes.count / 32
    for i in 0..<blocks {
      let o = i * 32
      a = (a ^ UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: o, as: UInt64.self))) &* p
      b = (b ^ UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: o + 8, as: UInt64.self))) &* p
      c = (c ^ UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: o + 16, as: UInt64.self))) &* p
      d = (d ^ UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: o + 24, as: UInt64.self))) &* p
      a = a.rotateLeft31
      b = b.rotateLeft31
      c = c.rotateLeft31
      d = d.rotateLeft31
    }
    for o in (blocks * 32)..<bytes.count {
      a = (a ^ UInt64(bytes[o])) &* p
    }
    a ^= UInt64(bytes.count)
    lanes = (a, b, c, d)
    length &+= UInt64(bytes.count)
  }

  public mutating func add(_ view: ByteView) { view.withUnsafeBytes { add($0) } }

  public mutating func add<T: FixedWidthInteger>(_ values: [T]) {
    values.withUnsafeBytes { add($0) }
  }

  public mutating func add(_ value: UInt64) { add([value]) }

  /// The fingerprint of everything added.
  public var value: UInt64 {
    let (a, b, c, d) = lanes
    return Self.mix(a.rotateLeft31 ^ (b &* 3) ^ (c &* 5) ^ (d &* 7) ^ length)
  }

  /// murmur3's fmix64: every input bit reaches every output bit.
  public static func mix(_ h: UInt64) -> UInt64 {
    var x = h
    x ^= x >> 33
    x = x &* 0xff51_afd7_ed55_8ccd
    x ^= x >> 33
    x = x &* 0xc4ce_b9fe_1a85_ec53
    x ^= x >> 33
    return x
  }
}

extension UInt64 {
  fileprivate var rotateLeft31: UInt64 { self << 31 | self >> 33 }
}
