// Code/data descriptors against Intel SDM Vol. 3A §3.4.5 Figure 3-8 and Table 3-1, and TSS
// descriptors against §7.2.3 Figure 7-4. The GDT values are Linux's `gdt_page` initialiser
// (arch/x86/kernel/cpu/common.c: GDT_ENTRY_INIT(DESC_CODE64, 0, 0xfffff), …; desc_defs.h
// DESC_* = _DESC_S | _DESC_PRESENT | _DESC_ACCESSED | …), as read from .data..percpu of both
// the 6.1 and 6.12 Debian vmlinux images and from CPU 0's GDT in the 6.12 QEMU dump.

import KdigBinary
import KdigX86
import Testing

@Suite struct SegmentDescriptorTests {
  /// GDT_ENTRY_KERNEL_CS as bytes: 0x00af9b000000ffff.
  // swift-format-ignore
  static let kernelCSBytes: [UInt8] = [
    0xff, 0xff,  // limit0 = 0xffff
    0x00, 0x00,  // base0 = 0
    0x00,        // base1 = 0
    0x9b,        // P = 1, DPL = 0, S = 1, type = 0xB (code, readable, accessed)  1_00_1_1011
    0xaf,        // G = 1, D = 0, L = 1, AVL = 0, limit1 = 0xf                     1_0_1_0_1111
    0x00,        // base2 = 0
  ]

  @Test func kernelCS() throws {
    let d = try SegmentDescriptor(bytes: Self.kernelCSBytes)
    #expect(d.raw == 0x00af_9b00_0000_ffff)
    #expect(d.base == 0)
    #expect(d.limit == 0xfffff)
    #expect(d.byteLimit == 0xffff_ffff)  // 0xfffff 4 KiB units
    #expect(d.rawType == 0xB)
    #expect(d.s && !d.isSystem)
    #expect(d.dpl == 0)
    #expect(d.present)
    #expect(!d.available)
    #expect(d.long)
    #expect(!d.defaultBig)
    #expect(d.granularity)
    #expect(d.codeMode == .bits64)
    let type = try #require(d.codeDataType)
    #expect(type.isCode && type.readable && type.accessed && !type.conforming)
    #expect(!type.writable && !type.expandDown)
    #expect(type.description == "Execute/Read, accessed")
    #expect(d.encode() == Self.kernelCSBytes)
  }

  /// One row of the x86-64 `gdt_page` initialiser.
  struct GDTRow: Sendable, CustomStringConvertible {
    var slot: Int
    var raw: UInt64
    var isCode: Bool
    var dpl: Int
    var mode: CodeSegmentMode?
    var typeText: String
    var description: String { "GDT[\(slot)] 0x\(String(raw, radix: 16))" }
  }

  static let linuxGDT: [GDTRow] = [
    // GDT_ENTRY_KERNEL32_CS: DESC_CODE32 = _DESC_CODE | G | D/B → type 0xB, flags 0xc (G, D)
    GDTRow(slot: 1, raw: 0x00cf_9b00_0000_ffff, isCode: true, dpl: 0, mode: .bits32,
      typeText: "Execute/Read, accessed"),
    // GDT_ENTRY_KERNEL_CS: DESC_CODE64 = _DESC_CODE | G | L → flags 0xa (G, L)
    GDTRow(slot: 2, raw: 0x00af_9b00_0000_ffff, isCode: true, dpl: 0, mode: .bits64,
      typeText: "Execute/Read, accessed"),
    // GDT_ENTRY_KERNEL_DS: DESC_DATA64 = _DESC_DATA | G | D/B → type 0x3, access 0x93
    GDTRow(slot: 3, raw: 0x00cf_9300_0000_ffff, isCode: false, dpl: 0, mode: nil,
      typeText: "Read/Write, accessed"),
    // GDT_ENTRY_DEFAULT_USER32_CS: DESC_CODE32 | DESC_USER (DPL 3) → access 0xfb
    GDTRow(slot: 4, raw: 0x00cf_fb00_0000_ffff, isCode: true, dpl: 3, mode: .bits32,
      typeText: "Execute/Read, accessed"),
    // GDT_ENTRY_DEFAULT_USER_DS: DESC_DATA64 | DESC_USER → access 0xf3
    GDTRow(slot: 5, raw: 0x00cf_f300_0000_ffff, isCode: false, dpl: 3, mode: nil,
      typeText: "Read/Write, accessed"),
    // GDT_ENTRY_DEFAULT_USER_CS: DESC_CODE64 | DESC_USER → access 0xfb, flags 0xa
    GDTRow(slot: 6, raw: 0x00af_fb00_0000_ffff, isCode: true, dpl: 3, mode: .bits64,
      typeText: "Execute/Read, accessed"),
  ]

  @Test(arguments: linuxGDT) func linuxGDTEntries(row: GDTRow) throws {
    let d = SegmentDescriptor(row.raw)
    #expect(d.base == 0)
    #expect(d.limit == 0xfffff)
    #expect(d.granularity)
    #expect(d.byteLimit == 0xffff_ffff)
    #expect(d.present && d.s)
    #expect(d.dpl == row.dpl)
    #expect(d.codeMode == row.mode)
    let type = try #require(d.codeDataType)
    #expect(type.isCode == row.isCode)
    #expect(type.description == row.typeText)
    #expect(try SegmentDescriptor(bytes: d.encode()) == d)
  }

  @Test func perCPUSegmentFromDump() throws {
    // CPU 0's GDT_ENTRY_PER_CPU in the 6.12 dump: 0x0040f50000000000. The kernel stores
    // vdso_encode_cpunode(cpu, node) in the limit (0 for CPU 0, node 0).
    // swift-format-ignore
    let bytes: [UInt8] = [
      0x00, 0x00,  // limit0 = 0 (CPU 0)
      0x00, 0x00,  // base0
      0x00,        // base1
      0xf5,        // P = 1, DPL = 3, S = 1, type = 0x5 (data, expand-down, accessed) 1_11_1_0101
      0x40,        // G = 0, D/B = 1, L = 0, AVL = 0, limit1 = 0 (node 0)         0_1_0_0_0000
      0x00,        // base2
    ]
    let d = try SegmentDescriptor(bytes: bytes)
    #expect(d.raw == 0x0040_f500_0000_0000)
    #expect(d.limit == 0)
    #expect(d.byteLimit == 0)
    #expect(d.dpl == 3)
    #expect(d.defaultBig && !d.granularity && !d.long)
    #expect(d.codeMode == nil)
    let type = try #require(d.codeDataType)
    #expect(!type.isCode && type.expandDown && type.accessed && !type.writable)
    #expect(type.description == "Read-Only, expand-down, accessed")
  }

  @Test func splitBaseAndLimit() throws {
    // Base 0x12345678 and limit 0x54321 spread over the fields of Figure 3-8.
    // swift-format-ignore
    var bytes: [UInt8] = [
      0x21, 0x43,  // limit0 = 0x4321
      0x78, 0x56,  // base0 = 0x5678
      0x34,        // base1 = 0x34
      0x92,        // P = 1, DPL = 0, S = 1, type = 0x2 (data, read/write)
      0x45,        // G = 0, D/B = 1, limit1 = 0x5
      0x12,        // base2 = 0x12
    ]
    var d = try SegmentDescriptor(bytes: bytes)
    #expect(d.base == 0x1234_5678)
    #expect(d.limit == 0x54321)
    #expect(d.byteLimit == 0x54321)
    #expect(d.codeDataType?.description == "Read/Write")
    bytes[6] = 0xc5  // G = 1
    d = try SegmentDescriptor(bytes: bytes)
    #expect(d.limit == 0x54321)
    #expect(d.byteLimit == 0x5432_1fff)
  }

  @Test func codeTypesOfTable31() {
    // Table 3-1 rows 8–15 (code): execute-only, +accessed, execute/read, conforming, …
    let expected = [
      "Execute-Only", "Execute-Only, accessed", "Execute/Read", "Execute/Read, accessed",
      "Execute-Only, conforming", "Execute-Only, conforming, accessed",
      "Execute/Read, conforming", "Execute/Read, conforming, accessed",
    ]
    for (i, text) in expected.enumerated() {
      #expect(CodeDataType(UInt8(8 + i)).description == text)
    }
    // Rows 0–7 (data).
    let data = [
      "Read-Only", "Read-Only, accessed", "Read/Write", "Read/Write, accessed",
      "Read-Only, expand-down", "Read-Only, expand-down, accessed",
      "Read/Write, expand-down", "Read/Write, expand-down, accessed",
    ]
    for (i, text) in data.enumerated() { #expect(CodeDataType(UInt8(i)).description == text) }
  }

  @Test func codeModesAndSystemDescriptors() {
    // L = 1 and D = 1 together are reserved for code (SDM §3.4.5).
    #expect(SegmentDescriptor(0x00ef_9b00_0000_ffff).codeMode == .reserved)
    #expect(SegmentDescriptor(0x008f_9b00_0000_ffff).codeMode == .bits16)
    // S = 0: the low half of a TSS descriptor, not code or data.
    let tssLow = SegmentDescriptor(0x2f00_8bf2_8000_4087)
    #expect(tssLow.isSystem)
    #expect(tssLow.codeDataType == nil)
    #expect(tssLow.codeMode == nil)
  }

  @Test func wrongSizes() {
    #expect(throws: BinaryError.self) { try SegmentDescriptor(bytes: [0xff, 0xff, 0, 0, 0, 0x9b, 0xaf]) }
    #expect(throws: BinaryError.self) { try SegmentDescriptor(bytes: Self.kernelCSBytes + [0]) }
    let view = ByteView.copying(Self.kernelCSBytes, file: "gdt", fileOffset: 0x40)
    #expect(throws: BinaryError.self) { try SegmentDescriptor(parsing: view, at: 1) }
  }
}

@Suite struct SystemSegmentDescriptorTests {
  /// A busy 64-bit TSS: base 0xfffffe0000003000, limit 0x4087, type 0xB, DPL 0, P, G = 0.
  // swift-format-ignore
  static let busyTSS: [UInt8] = [
    0x87, 0x40,              // limit0 = 0x4087
    0x00, 0x30,              // base0 = 0x3000
    0x00,                    // base1 = 0x00
    0x8b,                    // P = 1, DPL = 0, S = 0, type = 0xB (busy TSS)   1_00_0_1011
    0x00,                    // G = 0, zero0 (L, D/B) = 0, AVL = 0, limit1 = 0
    0x00,                    // base2 = 0x00
    0x00, 0xfe, 0xff, 0xff,  // base3 = 0xfffffe00
    0x00, 0x00, 0x00, 0x00,  // zero1 (bits 12–8 of this dword must be 0)
  ]

  @Test func busyTSS() throws {
    let d = try SystemSegmentDescriptor(bytes: Self.busyTSS)
    #expect(d.base == 0xffff_fe00_0000_3000)
    #expect(d.limit == 0x4087)
    #expect(d.byteLimit == 0x4087)
    #expect(d.rawType == 0xB)
    #expect(d.type == .busyTSS)
    #expect(d.type.isTSS)
    #expect(d.type.description == "64-bit TSS (Busy)")
    #expect(!d.systemBit)
    #expect(d.dpl == 0)
    #expect(d.present)
    #expect(!d.granularity && !d.available)
    #expect(d.upperTypeBitsClear && d.reservedBitsClear)
    #expect(d.isWellFormed)
    #expect(d.encode() == Self.busyTSS)
  }

  @Test func realTSSFromDump() {
    // CPU 0's GDT[8..9] in the 6.12 QEMU dump. The base is in the (randomised, v6.2+)
    // cpu_entry_area; the limit is __KERNEL_TSS_LIMIT = IO_BITMAP_OFFSET_VALID_ALL (0x2080)
    // + IO_BITMAP_BYTES (0x2000) + sizeof(unsigned long) - 1 = 0x4087.
    let d = SystemSegmentDescriptor(low: 0x2f00_8bf2_8000_4087, high: 0x0000_0000_ffff_fe7b)
    #expect(d.base == 0xffff_fe7b_2ff2_8000)
    #expect(d.limit == 0x4087)
    #expect(d.type == .busyTSS)  // loaded by LTR, so busy
    #expect(d.isWellFormed)
  }

  @Test func typesOfTable32() {
    for raw in UInt8(0)...15 {
      let d = SystemSegmentDescriptor(low: UInt64(raw) << 40 | 1 << 47, high: 0)
      switch raw {
      case 0x2: #expect(d.type == .ldt)
      case 0x9: #expect(d.type == .availableTSS)  // DESC_TSS, as set_tssldt_descriptor writes
      case 0xB: #expect(d.type == .busyTSS)
      default: #expect(d.type == .other(raw))
      }
      #expect(d.type.rawValue == raw)
      #expect(d.isWellFormed == [0x2, 0x9, 0xB].contains(raw))
    }
    #expect(SystemSegmentType.ldt.description == "LDT")
    #expect(SystemSegmentType.availableTSS.description == "64-bit TSS (Available)")
  }

  @Test func reservedAndSystemBits() {
    let good = SystemSegmentDescriptor(low: 0x8b << 40, high: 0)
    #expect(good.isWellFormed)
    // S = 1 (the top bit of the kernel's 5-bit ldttss_desc.type).
    let s = SystemSegmentDescriptor(low: good.low | 1 << 44, high: 0)
    #expect(s.systemBit && !s.isWellFormed)
    // Bits 12–8 of the fourth dword (bits 40–44 of `high`).
    for bit in 40..<45 {
      let d = SystemSegmentDescriptor(low: good.low, high: 1 << UInt64(bit))
      #expect(!d.upperTypeBitsClear)
      #expect(!d.reservedBitsClear)
      #expect(!d.isWellFormed)
    }
    // Elsewhere in the fourth dword: reserved, but not the type bits.
    let top = SystemSegmentDescriptor(low: good.low, high: 1 << 63)
    #expect(top.upperTypeBitsClear && !top.reservedBitsClear && !top.isWellFormed)
    // L or D/B (the kernel's zero0) set.
    #expect(!SystemSegmentDescriptor(low: good.low | 1 << 53, high: 0).reservedBitsClear)
    #expect(!SystemSegmentDescriptor(low: good.low | 1 << 54, high: 0).reservedBitsClear)
    // AVL is the SDM's, not reserved.
    let avl = SystemSegmentDescriptor(low: good.low | 1 << 52, high: 0)
    #expect(avl.available && avl.reservedBitsClear)
    // G scales the limit.
    let g = SystemSegmentDescriptor(low: good.low | 1 << 55 | 0xf << 48 | 0xffff, high: 0)
    #expect(g.limit == 0xfffff && g.byteLimit == 0xffff_ffff)
  }

  @Test func randomRoundTrips() throws {
    var rng = SeededGenerator(seed: 0x4087)
    for _ in 0..<1000 {
      let d = SystemSegmentDescriptor(low: rng.next(), high: rng.next())
      #expect(try SystemSegmentDescriptor(bytes: d.encode()) == d)
      let s = SegmentDescriptor(rng.next())
      #expect(try SegmentDescriptor(bytes: s.encode()) == s)
    }
  }

  @Test func wrongSizes() {
    #expect(throws: BinaryError.self) { try SystemSegmentDescriptor(bytes: Array(Self.busyTSS.prefix(8))) }
    let view = ByteView.copying(Self.busyTSS, file: "gdt", fileOffset: 0)
    #expect(throws: BinaryError.self) { try SystemSegmentDescriptor(parsing: view, at: 8) }
  }
}
