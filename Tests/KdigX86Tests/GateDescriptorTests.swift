// IDT gates against Intel SDM Vol. 3A §6.14.1 Figure 6-8 and desc_defs.h `gate_struct`;
// the real gates are idt_table entries of the 6.12 QEMU dump (KASLR offset 0x2de00000),
// whose handlers are `nm vmlinux` addresses plus that offset.

import KdigBinary
import KdigX86
import Testing

@Suite struct GateDescriptorTests {
  /// 6.12 idt_table[3] (#BP): SYSG(X86_TRAP_BP, asm_exc_int3) in arch/x86/kernel/idt.c
  /// = G(vector, addr, DEFAULT_STACK, GATE_INTERRUPT, DPL3, __KERNEL_CS).
  // swift-format-ignore
  static let breakpoint: [UInt8] = [
    0x40, 0x12,              // offset_low = 0x1240
    0x10, 0x00,              // segment = 0x0010 (__KERNEL_CS)
    0x00,                    // idt_bits byte 4: ist = 0, zero = 0
    0xee,                    // idt_bits byte 5: type = 0xE, S = 0, DPL = 3, P = 1 (1_11_0_1110)
    0xc0, 0xaf,              // offset_middle = 0xafc0
    0xff, 0xff, 0xff, 0xff,  // offset_high = 0xffffffff
    0x00, 0x00, 0x00, 0x00,  // reserved
  ]

  @Test func realBreakpointGate() throws {
    let gate = try GateDescriptor(bytes: Self.breakpoint)
    // asm_exc_int3 = 0xffffffff81e01240 (nm) + KASLR 0x2de00000
    #expect(gate.handler == 0xffff_ffff_afc0_1240)
    #expect(gate.selector == .kernelCS)
    #expect(gate.selector.raw == 0x10)
    #expect(gate.ist == 0)
    #expect(gate.type == .interrupt)
    #expect(gate.rawType == 0xE)
    #expect(gate.type.kernelName == "GATE_INTERRUPT")
    #expect(gate.type.description == "64-bit Interrupt Gate")
    #expect(gate.systemBit == false)
    #expect(gate.dpl == 3)
    #expect(gate.present)
    #expect(gate.reservedBitsClear)
    #expect(gate.isWellFormedIDTGate)
    #expect(gate.encode() == Self.breakpoint)
  }

  @Test func istGates() throws {
    // 6.12 idt_table[8] (#DF): ISTG(X86_TRAP_DF, asm_exc_double_fault, IST_INDEX_DF) with
    // IST_INDEX_DF = 0, and `#define ISTG(_vector, _addr, _ist) G(_vector, _addr, _ist + 1, …)`
    // (arch/x86/kernel/idt.c: "for the descriptor it needs to start at 1").
    // swift-format-ignore
    let doubleFault: [UInt8] = [
      0xd0, 0x13,              // offset_low = 0x13d0
      0x10, 0x00,              // segment = __KERNEL_CS
      0x01,                    // ist = 1 (tss.ist[0])
      0x8e,                    // type = 0xE, S = 0, DPL = 0, P = 1 (1_00_0_1110)
      0xc0, 0xaf,              // offset_middle
      0xff, 0xff, 0xff, 0xff,  // offset_high
      0x00, 0x00, 0x00, 0x00,  // reserved
    ]
    let df = try GateDescriptor(bytes: doubleFault)
    #expect(df.ist == 1)
    #expect(df.dpl == 0)
    #expect(df.type == .interrupt)
    // asm_exc_double_fault = 0xffffffff81e013d0 (nm) + 0x2de00000
    #expect(df.handler == 0xffff_ffff_afc0_13d0)
    #expect(df.isWellFormedIDTGate)

    // 6.12 idt_table[2] (NMI): IST_INDEX_NMI = 1, stored as 2.
    // swift-format-ignore
    let nmi: [UInt8] = [
      0x30, 0x1d, 0x10, 0x00,  // offset_low 0x1d30, segment 0x10
      0x02, 0x8e,              // ist = 2, P DPL0 interrupt gate
      0xc0, 0xaf, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00,
    ]
    let n = try GateDescriptor(bytes: nmi)
    #expect(n.ist == 2)
    #expect(n.handler == 0xffff_ffff_afc0_1d30)  // asm_exc_nmi 0xffffffff81e01d30 + slide
  }

  @Test func trapGate() throws {
    // swift-format-ignore
    let bytes: [UInt8] = [
      0x00, 0x10,              // offset_low = 0x1000
      0x10, 0x00,              // segment = 0x10
      0x00,                    // ist = 0
      0x8f,                    // type = 0xF (trap), S = 0, DPL = 0, P = 1
      0x00, 0x81,              // offset_middle = 0x8100
      0xff, 0xff, 0xff, 0xff,  // offset_high
      0x00, 0x00, 0x00, 0x00,
    ]
    let gate = try GateDescriptor(bytes: bytes)
    #expect(gate.type == .trap)
    #expect(gate.type.kernelName == "GATE_TRAP")
    #expect(gate.handler == 0xffff_ffff_8100_1000)
    #expect(gate.isWellFormedIDTGate)
  }

  @Test func notPresentGate() throws {
    // swift-format-ignore
    let bytes: [UInt8] = [
      0x00, 0x00, 0x10, 0x00,  // offset_low 0, segment 0x10
      0x00, 0x0e,              // type = 0xE, S = 0, DPL = 0, P = 0
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    ]
    let gate = try GateDescriptor(bytes: bytes)
    #expect(!gate.present)
    #expect(gate.type == .interrupt)
    #expect(gate.handler == 0)
    #expect(gate.isWellFormedIDTGate)  // presence is reported separately
    // An all-zero gate: not present, type 0 (reserved in IA-32e mode).
    let zero = GateDescriptor(low: 0, high: 0)
    #expect(!zero.present)
    #expect(zero.type == .reserved(0))
    #expect(!zero.isWellFormedIDTGate)
  }

  @Test func everyTypeValue() {
    // SDM Table 3-2, IA-32e mode column; desc_defs.h GATE_* enumerators.
    let expected: [UInt8: GateType] = [0x5: .task, 0xC: .call, 0xE: .interrupt, 0xF: .trap]
    for raw in UInt8(0)...15 {
      let gate = GateDescriptor(low: UInt64(raw) << 40 | 1 << 47, high: 0)
      #expect(gate.rawType == raw)
      #expect(gate.type == (expected[raw] ?? .reserved(raw)))
      #expect(gate.type.rawValue == raw)
      #expect(gate.type.isValidInIDT == (raw == 0xE || raw == 0xF))
      #expect(gate.isWellFormedIDTGate == (raw == 0xE || raw == 0xF))
    }
    #expect(GateType.task.kernelName == "GATE_TASK")
    #expect(GateType.call.kernelName == "GATE_CALL")
    #expect(GateType.reserved(0x9).kernelName == nil)
    #expect(GateType.reserved(0x9).description == "Reserved (0x9)")
  }

  @Test func systemBitSet() {
    // Byte 5 = 0x9e: P = 1, DPL = 0, S = 1, type = 0xE; the kernel's 5-bit type reads 0x1E.
    let gate = GateDescriptor(low: 0x9e << 40, high: 0)
    #expect(gate.systemBit)
    #expect(gate.type == .interrupt)
    #expect(gate.reservedBitsClear)
    #expect(!gate.isWellFormedIDTGate)
  }

  @Test func reservedBits() {
    let good = GateDescriptor(low: 0x8e << 40, high: 0)
    #expect(good.reservedBitsClear)
    // idt_bits.zero: bits 3–7 of byte 4 (bits 35–39 of low); IST still reads bits 0–2.
    for bit in 35..<40 {
      let gate = GateDescriptor(low: good.low | 1 << UInt64(bit) | 0x3 << 32, high: 0)
      #expect(!gate.reservedBitsClear)
      #expect(gate.ist == 3)
      #expect(!gate.isWellFormedIDTGate)
    }
    // gate_struct.reserved: bytes 12–15; offset_high (bytes 8–11) is not reserved.
    #expect(!GateDescriptor(low: good.low, high: 1 << 32).reservedBitsClear)
    #expect(!GateDescriptor(low: good.low, high: 1 << 63).reservedBitsClear)
    #expect(GateDescriptor(low: good.low, high: 0xffff_ffff).reservedBitsClear)
  }

  @Test func fieldInitializerMatchesFigure() {
    let gate = GateDescriptor(
      handler: 0xffff_ffff_afc0_1240, selector: .kernelCS, type: .interrupt, dpl: 3)
    #expect(gate.encode() == Self.breakpoint)
  }

  @Test func randomRoundTrips() throws {
    var rng = SeededGenerator(seed: 0x6a23_e9d5)
    for _ in 0..<2000 {
      let low = rng.next()
      let high = rng.next()
      let gate = GateDescriptor(low: low, high: high)
      let again = try GateDescriptor(bytes: gate.encode())
      #expect(again == gate)

      let handler = rng.next()
      let selector = SegmentSelector(UInt16(truncatingIfNeeded: rng.next()))
      let ist = Int(rng.next() % 8)
      let raw = UInt8(rng.next() % 16)
      let dpl = Int(rng.next() % 4)
      let present = rng.next() % 2 == 0
      let built = GateDescriptor(
        handler: handler, selector: selector, ist: ist, type: GateType(rawType: raw), dpl: dpl,
        present: present)
      let decoded = try GateDescriptor(bytes: built.encode())
      #expect(decoded.handler == handler)
      #expect(decoded.selector == selector)
      #expect(decoded.ist == ist)
      #expect(decoded.rawType == raw)
      #expect(decoded.dpl == dpl)
      #expect(decoded.present == present)
      #expect(!decoded.systemBit)
      #expect(decoded.reservedBitsClear)
    }
  }

  @Test func wrongSizesAndOffsets() throws {
    #expect(throws: BinaryError.self) { try GateDescriptor(bytes: Array(Self.breakpoint.prefix(15))) }
    #expect(throws: BinaryError.self) { try GateDescriptor(bytes: Self.breakpoint + [0]) }
    #expect(throws: BinaryError.self) { try GateDescriptor(bytes: []) }

    // Two gates in a view that starts at file offset 0x1000; the second is cut to 12 bytes.
    let view = ByteView.copying(
      Self.breakpoint + Array(Self.breakpoint.prefix(12)), file: "idt", fileOffset: 0x1000)
    let first = try GateDescriptor(parsing: view, at: 0)
    #expect(first.handler == 0xffff_ffff_afc0_1240)
    do {
      _ = try GateDescriptor(parsing: view, at: 16)
      Issue.record("a 12-byte gate parsed")
    } catch {
      #expect(error.file == "idt")
      #expect(error.offset == 0x1010)
      #expect(error.expected.contains("16 bytes of gate_struct"))
    }
    #expect(throws: BinaryError.self) { try GateDescriptor(parsing: view, at: -1) }
  }
}
