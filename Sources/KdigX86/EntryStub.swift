// One interrupt entry stub of `irq_entries_start` / `spurious_entries_start`
// (arch/x86/include/asm/idtentry.h). Since the kernel IBT series (v5.18, "x86/ibt,entry:
// Sprinkle ENDBR") each stub is
//
//   0: ENDBR                        (only with CONFIG_X86_KERNEL_IBT)
//      .byte 0x6a, vector           push imm8, sign-extended: vector 0xec pushes -20
//      jmp asm_common_interrupt     (asm_spurious_interrupt for spurious_entries_start)
//      .fill 0b + IDT_ALIGN - ., 1, 0xcc
//
// with IDT_ALIGN = 8 * (1 + HAS_KERNEL_IBT): 16 with IBT (6.12 Debian), 8 without (6.1
// Debian). Older kernels padded with `nop` (0x90) or `.align 8` NOPs; those are accepted and
// reported as NOPs. The C side recovers the vector with `(u8)error_code`.

/// A decoded entry stub: its instructions, the vector it pushes and where it jumps.
public struct EntryStub: Sendable, Hashable {
  /// One decoded instruction and where it is.
  public struct Decoded: Sendable, Hashable {
    /// Offset of the instruction from the start of the stub.
    public var offset: Int
    /// Length in bytes.
    public var length: Int
    /// The instruction.
    public var instruction: StubInstruction
  }

  /// Virtual address of the first byte of the stub.
  public var address: UInt64
  /// The slot size the stub was decoded against (IDT_ALIGN, or a measured stride).
  public var slotSize: Int
  /// Every instruction decoded, padding included, in order.
  public var instructions: [Decoded]
  /// The stub starts with ENDBR64 (CONFIG_X86_KERNEL_IBT).
  public var hasEndbr: Bool
  /// The immediate pushed, sign-extended to 64 bits as the CPU pushes it (nil: no push).
  public var pushedValue: Int64?
  /// Size of the push immediate: 1 (`6a ib`, what idtentry.h emits) or 4 (`68 id`).
  public var pushImmediateSize: Int?
  /// Absolute jump target (nil: no jmp).
  public var jumpTarget: UInt64?
  /// Bytes of ENDBR + push + jmp: where the padding starts.
  public var length: Int
  /// Every byte from `length` up to `slotSize` is int3 (0xcc), as `.fill …, 0xcc` writes.
  public var paddingIsInt3: Bool
  /// Everything that differs from the kernel's stub form; empty for a good stub.
  public var problems: [String]

  /// The 64-bit word on the stack after the push (`pt_regs.orig_ax`), e.g. 0xffffffffffffffec.
  public var pushedWord: UInt64? { pushedValue.map { UInt64(bitPattern: $0) } }
  /// The vector: the pushed value truncated to 8 bits, as `DEFINE_IDTENTRY_IRQ` does `(u8)`.
  public var vector: UInt8? { pushedValue.map { UInt8(truncatingIfNeeded: $0) } }
  /// True when the stub has the kernel's form and nothing else.
  public var isWellFormed: Bool { problems.isEmpty }

  /// The problems plus any mismatch with the vector and jump target the caller expects.
  public func problems(expectingVector expected: UInt8, jumpTarget target: UInt64? = nil)
    -> [String]
  {
    var list = problems
    if let vector, vector != expected {
      list.append("pushes vector \(hexByte(vector)), expected \(hexByte(expected))")
    }
    if let target, let jumpTarget, jumpTarget != target {
      list.append(
        "jumps to 0x\(String(jumpTarget, radix: 16)), expected 0x\(String(target, radix: 16))")
    }
    return list
  }

  /// Decodes the stub at the start of `bytes` (located at `address`) against a slot of
  /// `slotSize` bytes; bytes past the slot are read only by an instruction that overruns it.
  public static func decode(_ bytes: [UInt8], at address: UInt64, slotSize: Int) -> EntryStub {
    let decoder = StubDecoder(bytes: bytes, address: address)
    var parser = StubParser(decoder: decoder, slotSize: slotSize)
    parser.run()
    return EntryStub(
      address: address, slotSize: slotSize, instructions: parser.instructions,
      hasEndbr: parser.hasEndbr, pushedValue: parser.pushedValue,
      pushImmediateSize: parser.pushImmediateSize, jumpTarget: parser.jumpTarget,
      length: parser.length, paddingIsInt3: parser.paddingIsInt3, problems: parser.problems)
  }

  /// The stub stride measured from the bytes: the distance between the first and second
  /// stubs' pushes, confirmed on up to `confirmCount` stubs (consecutive vectors from
  /// `firstVector`, one jump target, one ENDBR choice). Nil when the bytes are not stubs or
  /// hold fewer than two (so always for `firstVector` 255).
  public static func measureSlotSize(
    _ bytes: [UInt8], at address: UInt64, firstVector: Int, confirmCount: Int = 4
  ) -> Int? {
    guard (0...254).contains(firstVector) else { return nil }
    let decoder = StubDecoder(bytes: bytes, address: address)
    var first = StubParser(decoder: decoder, slotSize: 0)
    guard first.parseBody(), let pushAt = first.pushOffset,
      first.vector == UInt8(firstVector)
    else { return nil }
    // Skip the first stub's padding to the second stub.
    var pos = first.length
    while pos < bytes.count, pos < StubParser.maxSlotSize,
      case .instruction(let instruction, let length) = decoder.decode(at: pos)
    {
      guard instruction.isPadding else { break }
      pos += length
    }
    var second = StubParser(decoder: decoder, slotSize: 0, start: pos)
    guard second.parseBody(), let secondPushAt = second.pushOffset else { return nil }
    let stride = secondPushAt - pushAt
    guard stride >= first.length, stride <= StubParser.maxSlotSize else { return nil }
    let count = min(max(2, confirmCount), bytes.count / stride, 256 - firstVector)
    guard count >= 2 else { return nil }
    for k in 0..<count {
      // k * stride < bytes.count, so it cannot overflow; the address wraps as RIP does.
      let slot = Array(bytes.dropFirst(k * stride).prefix(stride))
      let stub = decode(slot, at: address &+ UInt64(k * stride), slotSize: stride)
      guard stub.isWellFormed, stub.vector == UInt8(firstVector + k),
        stub.jumpTarget == first.jumpTarget, stub.hasEndbr == first.hasEndbr
      else { return nil }
    }
    return stride
  }
}

/// "0x23"-style text for a byte, always two digits ("0x00", "0xec").
func hexByte(_ value: UInt8) -> String { (value < 0x10 ? "0x0" : "0x") + String(value, radix: 16) }
