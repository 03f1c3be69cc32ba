// The 64-bit TSS against Intel SDM Vol. 3A §9.7 Figure 9-11 (field offsets), and against the
// kernel's struct x86_hw_tss (processor.h, packed, 0x68 bytes). The sample values are CPU 1's
// TSS in the 6.12 QEMU dump (sp0 = entry-stack top, IST1–5 = DF/NMI/DB/MCE/VC stack tops,
// io_bitmap_base = IO_BITMAP_OFFSET_INVALID 0x4088).

import KdigBinary
import KdigX86
import Testing

@Suite struct TaskStateSegmentTests {
  @Test func sdmFieldOffsets() throws {
    // Figure 9-11: RSP0 at byte 4, RSP1 at 12, RSP2 at 20, IST1 at 36 … IST7 at 84,
    // I/O map base address in the upper word of the dword at 100.
    var bytes = [UInt8](repeating: 0, count: 104)
    func put(_ v: UInt64, _ at: Int, _ n: Int) { for i in 0..<n { bytes[at + i] = UInt8(truncatingIfNeeded: v >> UInt64(8 * i)) } }
    put(0x1111_2222_3333_4444, 4, 8)
    put(0x5555, 12, 8)
    put(0x7ffe_abe2_1dd8, 20, 8)
    for i in 0..<7 { put(0xfffffe00_00000000 + UInt64(i + 1) * 0x1000, 36 + 8 * i, 8) }
    put(0x4088, 102, 2)
    let t = try TaskStateSegment(bytes: bytes)
    #expect(t.sp0 == 0x1111_2222_3333_4444)
    #expect(t.sp1 == 0x5555)
    #expect(t.sp2 == 0x7ffe_abe2_1dd8)
    #expect(t.ist == (1...7).map { 0xfffffe00_00000000 + UInt64($0) * 0x1000 })
    #expect(t.ioBitmapBase == 0x4088)
    #expect(t.reservedBitsClear)
    #expect(TaskStateSegment.offsets["ist"] == 36 && TaskStateSegment.offsets["io_bitmap_base"] == 102)
  }

  @Test func encodeIsTheInverseOfDecode() throws {
    let ist: [UInt64] = [0xfffffe45ea011000, 0xfffffe45ea014000, 0xfffffe45ea017000, 0xfffffe45ea01a000, 0xfffffe45ea01d000, 0, 0]
    let bytes = TaskStateSegment.encode(sp0: 0xfffffe45ea009000, sp2: 0x7ffeabe21dd8, ist: ist, ioBitmapBase: 0x4088)
    let t = try TaskStateSegment(bytes: bytes)
    #expect(t.sp0 == 0xfffffe45ea009000 && t.sp1 == 0 && t.sp2 == 0x7ffeabe21dd8)
    #expect(t.ist == ist)
    #expect(TaskStateSegment.encode(sp0: t.sp0, sp1: t.sp1, sp2: t.sp2, ist: t.ist, ioBitmapBase: t.ioBitmapBase) == bytes)
  }

  @Test func reservedFieldsAreReported() throws {
    for offset in [0, 28, 35, 92, 96, 100] {
      var bytes = [UInt8](repeating: 0, count: 104)
      bytes[offset] = 1
      #expect(try TaskStateSegment(bytes: bytes).reservedBitsClear == false, "byte \(offset)")
    }
  }

  @Test func wrongSizeIsAnErrorNotATrap() {
    for n in [0, 103, 105, 4096] {
      #expect(throws: BinaryError.self) { try TaskStateSegment(bytes: [UInt8](repeating: 0, count: n)) }
    }
  }
}
