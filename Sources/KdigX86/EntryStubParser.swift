// The grammar of an entry stub (arch/x86/include/asm/idtentry.h):
// [endbr64] push imm ; jmp rel ; padding (int3, or NOPs on older kernels) to the slot end.

/// Walks one stub with a `StubDecoder`, collecting instructions and problems.
struct StubParser {
  /// Largest stride `measureSlotSize` accepts; kernels have used 8 and 16 (IDT_ALIGN).
  static let maxSlotSize = 64

  let decoder: StubDecoder
  let slotSize: Int
  /// Offset in `decoder.bytes` where the stub starts.
  let start: Int

  var instructions: [EntryStub.Decoded] = []
  var hasEndbr = false
  /// Offset of the push in `decoder.bytes` (not relative to `start`).
  var pushOffset: Int?
  var pushedValue: Int64?
  var pushImmediateSize: Int?
  var jumpTarget: UInt64?
  /// Bytes of ENDBR + push + jmp, from `start`.
  var length = 0
  var paddingIsInt3 = false
  var problems: [String] = []
  /// A truncated instruction was reported, so the short slot need not be reported again.
  private var reportedTruncation = false

  init(decoder: StubDecoder, slotSize: Int, start: Int = 0) {
    self.decoder = decoder
    self.slotSize = slotSize
    self.start = start
  }

  var vector: UInt8? { pushedValue.map { UInt8(truncatingIfNeeded: $0) } }

  /// The whole stub: body, slot-size checks and padding.
  mutating func run() {
    if slotSize <= 0 { problems.append("slot size \(slotSize) is not positive") }
    let bodyOK = parseBody()
    if bodyOK, slotSize > 0, length > slotSize {
      problems.append("instructions end at +\(length), past the end of the \(slotSize)-byte slot")
    } else if bodyOK, slotSize > 0 {
      parsePadding()
    }
    let present = decoder.bytes.count - start
    if present < slotSize {
      paddingIsInt3 = false
      if !reportedTruncation {
        problems.append(
          "truncated: \(max(0, present)) of the \(slotSize)-byte slot's bytes present")
      }
    }
  }

  /// `[endbr64] push imm ; jmp rel`; false (with a problem) when that form is not there.
  mutating func parseBody() -> Bool {
    var pos = start
    if case .instruction(.endbr64, let n) = decoder.decode(at: pos) {
      record(.endbr64, at: pos, length: n)
      hasEndbr = true
      pos += n
    }
    switch decoder.decode(at: pos) {
    case .instruction(.push(let value, let size), let n):
      record(.push(value: value, immediateSize: size), at: pos, length: n)
      pushOffset = pos
      pushedValue = value
      pushImmediateSize = size
      if !(-128...255).contains(value) {
        problems.append(
          "push $0x\(String(UInt64(bitPattern: value), radix: 16)) at +\(pos - start) is not a "
            + "vector (0…255, or -128…-1 as a sign-extended imm8)")
      }
      pos += n
    case let other:
      report(other, at: pos, missing: "push", expected: "push imm8 (6a ib) or push imm32 (68 id)")
      length = pos - start
      return false
    }
    switch decoder.decode(at: pos) {
    case .instruction(.jmp(let target, let size), let n):
      record(.jmp(target: target, displacementSize: size), at: pos, length: n)
      jumpTarget = target
      pos += n
    case let other:
      report(other, at: pos, missing: "jmp", expected: "jmp rel32 (e9 cd) or jmp rel8 (eb cb)")
      length = pos - start
      return false
    }
    length = pos - start
    return true
  }

  /// int3 (or NOP) bytes from the end of the jmp to the end of the slot.
  private mutating func parsePadding() {
    // Compared as a difference so that a huge `slotSize` cannot overflow.
    let end = slotSize < decoder.bytes.count - start ? start + slotSize : decoder.bytes.count
    var pos = start + length
    paddingIsInt3 = true
    while pos < end {
      switch decoder.decode(at: pos, end: end) {
      case .instruction(.int3, let n):
        record(.int3, at: pos, length: n)
        pos += n
      case .instruction(.nop(let nopLength), let n):
        record(.nop(length: nopLength), at: pos, length: n)
        paddingIsInt3 = false
        pos += n
      case .instruction(let other, _):
        problems.append("padding at +\(pos - start) is \(other), not int3 (cc)")
        paddingIsInt3 = false
        return
      case .truncated, .unknown:
        let found = decoder.byte(pos).map(hexByte) ?? "nothing"
        problems.append("padding byte \(found) at +\(pos - start) is not int3 (cc)")
        paddingIsInt3 = false
        return
      }
    }
  }

  private mutating func record(_ instruction: StubInstruction, at pos: Int, length: Int) {
    instructions.append(
      EntryStub.Decoded(offset: pos - start, length: length, instruction: instruction))
  }

  private mutating func report(
    _ result: StubDecodeResult, at pos: Int, missing: String, expected: String
  ) {
    let lead = "missing \(missing): expected \(expected) at +\(pos - start)"
    switch result {
    case .truncated(let name, let need, let have):
      reportedTruncation = true
      problems.append("truncated \(name) at +\(pos - start): \(have) of \(need) bytes present")
    case .unknown(nil):
      reportedTruncation = true
      problems.append("\(lead), found the end of the bytes")
    case .unknown(let byte?):
      problems.append("\(lead), found unknown byte \(hexByte(byte))")
    case .instruction(let instruction, _):
      problems.append("\(lead), found \(instruction)")
    }
  }
}

extension StubInstruction {
  /// True for the bytes allowed between stubs: int3 and NOPs.
  var isPadding: Bool {
    switch self {
    case .int3, .nop: true
    default: false
    }
  }
}
