// Entry stubs against arch/x86/include/asm/idtentry.h (`irq_entries_start`,
// `spurious_entries_start`) and the encodings of Intel SDM Vol. 2 (ENDBR64 f3 0f 1e fa,
// PUSH imm8 6a ib sign-extended, JMP rel32 e9 cd = next RIP + rel). The real bytes are
// `objdump -s` of the Debian 6.12 (CONFIG_X86_KERNEL_IBT=y, IDT_ALIGN 16) and 6.1
// (IBT off, IDT_ALIGN 8) vmlinux images; the targets are their `nm` addresses.

import KdigX86
import Testing

@Suite struct EntryStubTests {
  /// 6.12 irq_entries_start + 0x30: the stub of vector 0x23 at 0xffffffff81e00260.
  // swift-format-ignore
  static let stub612: [UInt8] = [
    0xf3, 0x0f, 0x1e, 0xfa,        // +0  endbr64
    0x6a, 0x23,                    // +4  push $0x23
    0xe9, 0xd5, 0x12, 0x00, 0x00,  // +6  jmp rel32 0x12d5 → 0x...0026b + 0x12d5 = 0x...01540
    0xcc, 0xcc, 0xcc, 0xcc, 0xcc,  // +11 int3 × 5 to IDT_ALIGN = 16
  ]
  static let address612: UInt64 = 0xffff_ffff_81e0_0260
  /// asm_common_interrupt in the 6.12 vmlinux (nm).
  static let common612: UInt64 = 0xffff_ffff_81e0_1540

  @Test func ibtStub() {
    let stub = EntryStub.decode(Self.stub612, at: Self.address612, slotSize: 16)
    #expect(stub.problems == [])
    #expect(stub.isWellFormed)
    #expect(stub.hasEndbr)
    #expect(stub.pushedValue == 0x23)
    #expect(stub.pushedWord == 0x23)
    #expect(stub.pushImmediateSize == 1)
    #expect(stub.vector == 0x23)
    #expect(stub.jumpTarget == Self.common612)
    #expect(stub.length == 11)
    #expect(stub.paddingIsInt3)
    #expect(stub.instructions.map(\.instruction.description) == [
      "endbr64", "push $0x23", "jmp 0xffffffff81e01540", "int3", "int3", "int3", "int3", "int3",
    ])
    #expect(stub.instructions.map(\.offset) == [0, 4, 6, 11, 12, 13, 14, 15])
    #expect(stub.problems(expectingVector: 0x23, jumpTarget: Self.common612) == [])
  }

  @Test func noIBTStub61() {
    // 6.1 irq_entries_start + 8 (0xffffffff81c00298), vector 0x21, IDT_ALIGN = 8.
    // swift-format-ignore
    let bytes: [UInt8] = [
      0x6a, 0x21,                    // +0 push $0x21
      0xe9, 0x61, 0x0b, 0x00, 0x00,  // +2 jmp rel32 0xb61 → 0x...0029f + 0xb61 = 0x...00e00
      0xcc,                          // +7 int3 (.fill to 8)
    ]
    let stub = EntryStub.decode(bytes, at: 0xffff_ffff_81c0_0298, slotSize: 8)
    #expect(stub.problems == [])
    #expect(!stub.hasEndbr)
    #expect(stub.vector == 0x21)
    #expect(stub.jumpTarget == 0xffff_ffff_81c0_0e00)  // asm_common_interrupt (6.1 nm)
    #expect(stub.length == 7)
    #expect(stub.paddingIsInt3)
  }

  @Test func vectorAbove0x7fIsSignExtended() {
    // 6.12 spurious_entries_start + 0x10 (0xffffffff81e00ef0): vector 0xec.
    // swift-format-ignore
    let bytes: [UInt8] = [
      0xf3, 0x0f, 0x1e, 0xfa,        // endbr64
      0x6a, 0xec,                    // push imm8 0xec: the CPU pushes 0xffffffffffffffec
      0xe9, 0x85, 0x06, 0x00, 0x00,  // jmp → 0x...00efb + 0x685 = 0x...01580
      0xcc, 0xcc, 0xcc, 0xcc, 0xcc,
    ]
    let stub = EntryStub.decode(bytes, at: 0xffff_ffff_81e0_0ef0, slotSize: 16)
    #expect(stub.problems == [])
    #expect(stub.pushedValue == -20)
    #expect(stub.pushedWord == 0xffff_ffff_ffff_ffec)
    #expect(stub.vector == 0xec)
    #expect(stub.jumpTarget == 0xffff_ffff_81e0_1580)  // asm_spurious_interrupt (6.12 nm)
    #expect(stub.instructions[1].instruction.description == "push $0xffffffffffffffec")
  }

  @Test func pushImm32() {
    // 68 id: imm32 sign-extended. 0x000000ec stays positive; 0xffffffff is -1 (vector 0xff).
    let positive = EntryStub.decode([0x68, 0xec, 0x00, 0x00, 0x00, 0xeb, 0x00, 0xcc], at: 0, slotSize: 8)
    #expect(positive.problems == [])
    #expect(positive.pushedValue == 0xec && positive.vector == 0xec)
    #expect(positive.pushImmediateSize == 4)
    let minusOne = EntryStub.decode([0x68, 0xff, 0xff, 0xff, 0xff, 0xeb, 0x00, 0xcc], at: 0, slotSize: 8)
    #expect(minusOne.pushedValue == -1 && minusOne.vector == 0xff)
    #expect(minusOne.problems == [])
    // 0x12345 is no vector in either form.
    let big = EntryStub.decode([0x68, 0x45, 0x23, 0x01, 0x00, 0xeb, 0x00, 0xcc], at: 0, slotSize: 8)
    #expect(big.vector == 0x45)
    #expect(big.problems.count == 1)
    #expect(big.problems.first?.contains("is not a vector") == true)
  }

  @Test func wrongVectorAndWrongTarget() {
    var bytes = Self.stub612
    bytes[5] = 0x24  // pushes 0x24 in vector 0x23's slot
    let wrongVector = EntryStub.decode(bytes, at: Self.address612, slotSize: 16)
    #expect(wrongVector.isWellFormed)  // a well-formed stub, just not the expected one
    #expect(wrongVector.problems(expectingVector: 0x23, jumpTarget: Self.common612)
      == ["pushes vector 0x24, expected 0x23"])

    bytes = Self.stub612
    bytes[7] = 0xd6  // rel32 0x12d6: one byte past asm_common_interrupt
    let elsewhere = EntryStub.decode(bytes, at: Self.address612, slotSize: 16)
    #expect(elsewhere.jumpTarget == Self.common612 + 1)
    #expect(elsewhere.problems(expectingVector: 0x23, jumpTarget: Self.common612)
      == ["jumps to 0xffffffff81e01541, expected 0xffffffff81e01540"])
  }

  @Test func jmpRel8() {
    // eb cb: target = next RIP + sign-extended rel8.
    let forward = EntryStub.decode([0x6a, 0x20, 0xeb, 0x05, 0xcc, 0xcc, 0xcc, 0xcc], at: 0x1000, slotSize: 8)
    #expect(forward.jumpTarget == 0x1000 + 4 + 5)
    let self_ = EntryStub.decode([0x6a, 0x20, 0xeb, 0xfe, 0xcc, 0xcc, 0xcc, 0xcc], at: 0x1000, slotSize: 8)
    #expect(self_.jumpTarget == 0x1002)  // jmp . (rel8 -2)
    // RIP arithmetic wraps modulo 2^64.
    let wrap = EntryStub.decode([0x6a, 0x20, 0xeb, 0x7f], at: UInt64.max - 1, slotSize: 4)
    #expect(wrap.jumpTarget == 0x7f + 2)
  }

  @Test func paddingNopsAndBadBytes() {
    // Pre-IBT kernels: `jmp ; nop ; . = 0b + 8` (0x90).
    let nop = EntryStub.decode([0x6a, 0x20, 0xe9, 0, 0, 0, 0, 0x90], at: 0, slotSize: 8)
    #expect(nop.problems == [])
    #expect(!nop.paddingIsInt3)
    #expect(nop.instructions.last?.instruction == .nop(length: 1))
    // A 5-byte NOP (SDM Table 4-12: 0f 1f 44 00 00) in a 16-byte slot.
    var multi = Self.stub612
    multi.replaceSubrange(11..<16, with: [0x0f, 0x1f, 0x44, 0x00, 0x00])
    let m = EntryStub.decode(multi, at: Self.address612, slotSize: 16)
    #expect(m.problems == [])
    #expect(m.instructions.last?.instruction == .nop(length: 5))
    // GNU as 10-byte form 66 2e 0f 1f 84 00 00 00 00 00.
    let gnu: [UInt8] = [0x6a, 0x20, 0xeb, 0x00, 0x66, 0x2e, 0x0f, 0x1f, 0x84, 0, 0, 0, 0, 0, 0xcc, 0xcc]
    let g = EntryStub.decode(gnu, at: 0, slotSize: 16)
    #expect(g.problems == [])
    #expect(g.instructions.map(\.instruction).contains(.nop(length: 10)))
    // A zero byte in the padding.
    var bad = Self.stub612
    bad[13] = 0x00
    let b = EntryStub.decode(bad, at: Self.address612, slotSize: 16)
    #expect(!b.paddingIsInt3)
    #expect(b.problems == ["padding byte 0x00 at +13 is not int3 (cc)"])
    // A whole instruction in the padding (the next stub starting too early).
    var early = Self.stub612
    early.replaceSubrange(11..<15, with: [0xf3, 0x0f, 0x1e, 0xfa])
    let e = EntryStub.decode(early, at: Self.address612, slotSize: 16)
    #expect(e.problems == ["padding at +11 is endbr64, not int3 (cc)"])
  }

  @Test func missingInstructions() {
    let noJmp = EntryStub.decode([0x6a, 0x23, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc], at: 0, slotSize: 8)
    #expect(noJmp.jumpTarget == nil)
    #expect(noJmp.vector == 0x23)
    #expect(!noJmp.paddingIsInt3)
    #expect(noJmp.problems == [
      "missing jmp: expected jmp rel32 (e9 cd) or jmp rel8 (eb cb) at +2, found int3",
    ])
    let noPush = EntryStub.decode([0xe9, 0, 0, 0, 0, 0xcc, 0xcc, 0xcc], at: 0, slotSize: 8)
    #expect(noPush.pushedValue == nil && noPush.vector == nil)
    #expect(noPush.problems == [
      "missing push: expected push imm8 (6a ib) or push imm32 (68 id) at +0, found jmp 0x5",
    ])
    let unknown = EntryStub.decode([0xf3, 0x0f, 0x1e, 0xfa, 0x55], at: 0, slotSize: 8)
    #expect(unknown.hasEndbr)
    #expect(unknown.problems == [
      "missing push: expected push imm8 (6a ib) or push imm32 (68 id) at +4, found unknown byte 0x55",
      "truncated: 5 of the 8-byte slot's bytes present",
    ])
  }

  @Test func truncatedAndOverlong() {
    let cut = EntryStub.decode(Array(Self.stub612.prefix(8)), at: Self.address612, slotSize: 16)
    #expect(cut.problems == ["truncated jmp rel32 at +6: 2 of 5 bytes present"])
    #expect(cut.jumpTarget == nil)
    let shortPadding = EntryStub.decode(Array(Self.stub612.prefix(13)), at: Self.address612, slotSize: 16)
    #expect(shortPadding.jumpTarget == Self.common612)
    #expect(!shortPadding.paddingIsInt3)
    #expect(shortPadding.problems == ["truncated: 13 of the 16-byte slot's bytes present"])
    let empty = EntryStub.decode([], at: 0, slotSize: 16)
    #expect(empty.problems == [
      "missing push: expected push imm8 (6a ib) or push imm32 (68 id) at +0, found the end of the bytes",
    ])
    let halfEndbr = EntryStub.decode([0xf3, 0x0f], at: 0, slotSize: 16)
    #expect(halfEndbr.problems == ["truncated endbr64 at +0: 2 of 4 bytes present"])
    // The 6.12 stub read as if IDT_ALIGN were 8.
    let overlong = EntryStub.decode(Self.stub612, at: Self.address612, slotSize: 8)
    #expect(overlong.problems == ["instructions end at +11, past the end of the 8-byte slot"])
    #expect(!overlong.paddingIsInt3)
    let zeroSlot = EntryStub.decode(Self.stub612, at: Self.address612, slotSize: 0)
    #expect(zeroSlot.problems.contains("slot size 0 is not positive"))
    let negativeSlot = EntryStub.decode(Self.stub612, at: Self.address612, slotSize: -3)
    #expect(!negativeSlot.isWellFormed)
    let hugeSlot = EntryStub.decode(Self.stub612, at: Self.address612, slotSize: .max)
    #expect(hugeSlot.paddingIsInt3 == false && !hugeSlot.isWellFormed)
    #expect(!EntryStub.decode(Self.stub612, at: Self.address612, slotSize: .min).isWellFormed)
  }

  @Test func randomBytesNeverTrap() {
    var rng = SeededGenerator(seed: 0xcccc_cccc)
    // Mostly the bytes the decoder knows, so deep paths are reached.
    let alphabet: [UInt8] = [
      0x6a, 0x68, 0xe9, 0xeb, 0xcc, 0xf3, 0x0f, 0x1e, 0xfa, 0x90, 0x66, 0x2e, 0x1f, 0x44, 0x84, 0x00,
    ]
    for _ in 0..<20_000 {
      let count = Int(rng.next() % 40)
      let bytes: [UInt8] = (0..<count).map { _ in
        let pick = Int(rng.next() % UInt64(alphabet.count))
        return rng.next() % 4 == 0 ? UInt8(truncatingIfNeeded: rng.next()) : alphabet[pick]
      }
      let slot = Int(rng.next() % 40) - 4
      let address = rng.next() % 2 == 0 ? rng.next() : UInt64.max - rng.next() % 64
      let stub = EntryStub.decode(bytes, at: address, slotSize: slot)
      let decodedBytes = stub.instructions.reduce(0) { $0 + $1.length }
      #expect(decodedBytes <= bytes.count)
      if stub.isWellFormed {
        #expect(stub.vector != nil && stub.jumpTarget != nil)
        #expect(stub.length <= slot && bytes.count >= slot)
      }
      _ = EntryStub.measureSlotSize(bytes, at: address, firstVector: Int(rng.next() % 300) - 20)
    }
  }
}

@Suite struct SlotSizeTests {
  /// `objdump -s` of 6.12 irq_entries_start (0xffffffff81e00230), vectors 0x20–0x23.
  // swift-format-ignore
  static let irq612: [UInt8] = [
    0xf3, 0x0f, 0x1e, 0xfa, 0x6a, 0x20, 0xe9, 0x05, 0x13, 0x00, 0x00, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc,
    0xf3, 0x0f, 0x1e, 0xfa, 0x6a, 0x21, 0xe9, 0xf5, 0x12, 0x00, 0x00, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc,
    0xf3, 0x0f, 0x1e, 0xfa, 0x6a, 0x22, 0xe9, 0xe5, 0x12, 0x00, 0x00, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc,
    0xf3, 0x0f, 0x1e, 0xfa, 0x6a, 0x23, 0xe9, 0xd5, 0x12, 0x00, 0x00, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc,
  ]
  /// `objdump -s` of 6.1 irq_entries_start (0xffffffff81c00290), vectors 0x20–0x23.
  // swift-format-ignore
  static let irq61: [UInt8] = [
    0x6a, 0x20, 0xe9, 0x69, 0x0b, 0x00, 0x00, 0xcc,
    0x6a, 0x21, 0xe9, 0x61, 0x0b, 0x00, 0x00, 0xcc,
    0x6a, 0x22, 0xe9, 0x59, 0x0b, 0x00, 0x00, 0xcc,
    0x6a, 0x23, 0xe9, 0x51, 0x0b, 0x00, 0x00, 0xcc,
  ]

  static let start612: UInt64 = 0xffff_ffff_81e0_0230
  static let start61: UInt64 = 0xffff_ffff_81c0_0290

  @Test func realTables() {
    #expect(EntryStub.measureSlotSize(Self.irq612, at: Self.start612, firstVector: 0x20) == 16)
    #expect(EntryStub.measureSlotSize(Self.irq61, at: Self.start61, firstVector: 0x20) == 8)
    // Two stubs are enough; one is not.
    let two = Array(Self.irq61.prefix(16))
    #expect(EntryStub.measureSlotSize(two, at: Self.start61, firstVector: 0x20) == 8)
    let one = Array(Self.irq61.prefix(8))
    #expect(EntryStub.measureSlotSize(one, at: Self.start61, firstVector: 0x20) == nil)
  }

  @Test func notStubs() {
    // Wrong first vector.
    #expect(EntryStub.measureSlotSize(Self.irq612, at: Self.start612, firstVector: 0x21) == nil)
    // The third stub pushes the wrong vector.
    var bytes = Self.irq612
    bytes[37] = 0x30
    #expect(EntryStub.measureSlotSize(bytes, at: Self.start612, firstVector: 0x20) == nil)
    // The second stub jumps elsewhere.
    bytes = Self.irq612
    bytes[23] = 0xf6
    #expect(EntryStub.measureSlotSize(bytes, at: Self.start612, firstVector: 0x20) == nil)
    // The same stubs read from the wrong address jump elsewhere, but consistently: the stride
    // does not depend on the address.
    #expect(EntryStub.measureSlotSize(Self.irq612, at: 0x1000, firstVector: 0x20) == 16)
    // Bad padding in the fourth stub.
    bytes = Self.irq612
    bytes[63] = 0x00
    #expect(EntryStub.measureSlotSize(bytes, at: Self.start612, firstVector: 0x20) == nil)
    #expect(EntryStub.measureSlotSize([], at: 0, firstVector: 0x20) == nil)
    let int3s = [UInt8](repeating: 0xcc, count: 64)
    #expect(EntryStub.measureSlotSize(int3s, at: 0, firstVector: 0x20) == nil)
    #expect(EntryStub.measureSlotSize(Self.irq612, at: 0, firstVector: 255) == nil)
    #expect(EntryStub.measureSlotSize(Self.irq612, at: 0, firstVector: -1) == nil)
  }
}
