// The few x86-64 instruction encodings an interrupt entry stub is made of (Intel SDM Vol. 2:
// ENDBR64, PUSH, JMP, INT3, NOP), decoded strictly: anything else is "unknown". Never traps.

/// One instruction of an entry stub or its padding, with its operands resolved.
public enum StubInstruction: Sendable, Hashable, CustomStringConvertible {
  /// `f3 0f 1e fa` ENDBR64 (SDM Vol. 2A; emitted by the kernel's ENDBR with CONFIG_X86_KERNEL_IBT).
  case endbr64
  /// `6a ib` / `68 id` PUSH imm: the immediate sign-extended to 64 bits, as the CPU pushes it.
  case push(value: Int64, immediateSize: Int)
  /// `eb cb` / `e9 cd` JMP rel: the absolute target (next instruction + displacement).
  case jmp(target: UInt64, displacementSize: Int)
  /// `cc` INT3 (the kernel's `.fill …, 1, 0xcc` padding).
  case int3
  /// `90`, or a multi-byte NOP from SDM Vol. 2B Table 4-12 (optionally with 66/2e prefixes).
  case nop(length: Int)

  /// objdump-style text: "push $0xffffffffffffffec", "jmp 0xffffffff81e01540".
  public var description: String {
    switch self {
    case .endbr64: "endbr64"
    case .push(let value, _): "push $0x" + String(UInt64(bitPattern: value), radix: 16)
    case .jmp(let target, _): "jmp 0x" + String(target, radix: 16)
    case .int3: "int3"
    case .nop(let length): length == 1 ? "nop" : "nop (\(length) bytes)"
    }
  }
}

/// The outcome of decoding at one offset.
enum StubDecodeResult {
  /// A whole instruction of `length` bytes.
  case instruction(StubInstruction, length: Int)
  /// The opcode is known but only `have` of its `need` bytes are present.
  case truncated(name: String, need: Int, have: Int)
  /// Not one of the stub encodings (the byte at the offset, nil at the end of the bytes).
  case unknown(UInt8?)
}

/// Decodes the stub encodings from a byte array; every read is bounds-checked.
struct StubDecoder {
  let bytes: [UInt8]
  /// Virtual address of `bytes[0]`, for jump targets.
  let address: UInt64

  /// SDM Vol. 2A ENDBR64: F3 0F 1E FA.
  static let endbr64: [UInt8] = [0xf3, 0x0f, 0x1e, 0xfa]
  /// SDM Vol. 2B Table 4-12 multi-byte NOP bodies after any 66 prefixes (`0f 1f /0`).
  static let nopBodies: [[UInt8]] = [
    [0x0f, 0x1f, 0x00],  // nopl (%rax)
    [0x0f, 0x1f, 0x40, 0x00],  // nopl 0x0(%rax)
    [0x0f, 0x1f, 0x44, 0x00, 0x00],  // nopl 0x0(%rax,%rax,1)
    [0x0f, 0x1f, 0x80, 0x00, 0x00, 0x00, 0x00],  // nopl 0x0(%rax) disp32
    [0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00],  // nopl 0x0(%rax,%rax,1) disp32
  ]
  /// Longest legal x86 instruction (SDM Vol. 2A §2.3.11).
  static let maxInstructionLength = 15

  func byte(_ offset: Int) -> UInt8? {
    offset >= 0 && offset < bytes.count ? bytes[offset] : nil
  }

  /// True when `pattern` is at `offset`.
  func matches(_ pattern: [UInt8], at offset: Int) -> Bool {
    for (i, b) in pattern.enumerated() where byte(offset + i) != b { return false }
    return true
  }

  /// Little-endian signed immediate of `size` (1 or 4) bytes at `offset`, sign-extended.
  func signedImmediate(at offset: Int, size: Int) -> Int64? {
    var value: UInt64 = 0
    for i in 0..<size {
      guard let b = byte(offset + i) else { return nil }
      value |= UInt64(b) << UInt64(8 * i)
    }
    return size == 1
      ? Int64(Int8(truncatingIfNeeded: value)) : Int64(Int32(truncatingIfNeeded: value))
  }

  /// Decodes one instruction at `offset`, reading no byte at or after `end`.
  func decode(at offset: Int, end: Int? = nil) -> StubDecodeResult {
    let limit = min(end ?? bytes.count, bytes.count)
    let have = max(0, limit - offset)
    guard offset >= 0, have > 0, let opcode = byte(offset) else {
      return .unknown(nil)
    }
    func need(_ n: Int, _ name: String, _ make: () -> StubInstruction?) -> StubDecodeResult {
      guard have >= n else { return .truncated(name: name, need: n, have: have) }
      guard let instruction = make() else { return .unknown(opcode) }
      return .instruction(instruction, length: n)
    }
    switch opcode {
    case 0xf3:
      let available = Array(Self.endbr64.prefix(have))
      guard matches(available, at: offset) else { return .unknown(opcode) }
      return need(4, "endbr64") { .endbr64 }
    case 0x6a:
      return need(2, "push imm8") {
        signedImmediate(at: offset + 1, size: 1).map { .push(value: $0, immediateSize: 1) }
      }
    case 0x68:
      return need(5, "push imm32") {
        signedImmediate(at: offset + 1, size: 4).map { .push(value: $0, immediateSize: 4) }
      }
    case 0xeb, 0xe9:
      let size = opcode == 0xeb ? 1 : 4
      return need(1 + size, size == 1 ? "jmp rel8" : "jmp rel32") {
        signedImmediate(at: offset + 1, size: size).map { rel in
          // The CPU computes RIP + rel modulo 2^64, so wrapping arithmetic is the semantics
          // here; offset and size are small and non-negative.
          let next = address &+ UInt64(offset + 1 + size)
          return .jmp(target: next &+ UInt64(bitPattern: rel), displacementSize: size)
        }
      }
    case 0xcc:
      return .instruction(.int3, length: 1)
    default:
      return decodeNop(at: offset, limit: limit)
    }
  }

  /// `90`, `66…90`, or `[66…][2e] 0f 1f /0` with a zero displacement (SDM Table 4-12 and the
  /// GNU as forms such as `66 2e 0f 1f 84 00 00 00 00 00`), wholly before `limit`.
  private func decodeNop(at offset: Int, limit: Int) -> StubDecodeResult {
    var pos = offset
    while byte(pos) == 0x66 { pos += 1 }
    let segmentOverride = byte(pos) == 0x2e
    if segmentOverride { pos += 1 }
    let bodies = segmentOverride ? Self.nopBodies : [[0x90]] + Self.nopBodies
    for body in bodies where matches(body, at: pos) {
      let length = pos - offset + body.count
      if length <= Self.maxInstructionLength, length <= limit - offset {
        return .instruction(.nop(length: length), length: length)
      }
    }
    return .unknown(byte(offset))
  }
}
