// ValueFormatter against real gdb output. The expected strings were printed by gdb 13.1
// (`set print pretty on`, and `set output-radix 16` for hex) from this C program built
// with gcc 12 -g; the types and bytes below mirror its `struct s` member for member:
//
//   struct in { int a; unsigned char b; };  enum color { RED, GREEN = 5, BLUE };
//   enum flags { FA = 1, FB = 2, FC = 4 };
//   struct bits { unsigned int x:3, y:5; int z:4; unsigned long long w:40; };
//   struct s { int ten[10]; int eleven[11]; char name[16]; char full[4]; char mid[24];
//     struct in arr[3]; struct in same[12]; long neg; unsigned long big; bool t; char c;
//     enum color col, bad; enum flags fl, fl2; struct bits bf; union { int u1; char u2; };
//     void *p; void (*fn)(void); int (*fn2)(int, char *); int (*parr)[4]; int mat[2][3];
//     unsigned char uc; signed char sc; short sh[3]; double d; float f; char *str; }
//   gs = { .name = "Linux", .full = "abcd", .mid = "ab\001ccccccccccccccc" "xy\n",
//     .arr = {{1,2},{3,4},{5,6}}, .neg = -5, .big = ~0UL, .t = true, .c = 'A',
//     .col = GREEN, .bad = 3, .fl = FA|FC, .fl2 = 9, .bf = {5, 17, -3, 0x123456789},
//     .u1 = 0x41, .p = (void *)0x4020, .uc = 200, .sc = -2, .sh = {1,-1,7}, .d = 1.5,
//     .f = 0.1f, .str = (char *)0x2004 };

import KdigAnalyzers
import KdigKernel
import Testing

@Suite struct TypesValueFormatterTests {
  static let int = KernelType.base(BaseType(name: "int", size: 4, encoding: .signed))
  static let uint = KernelType.base(BaseType(name: "unsigned int", size: 4, encoding: .unsigned))
  static let char = KernelType.base(BaseType(name: "char", size: 1, encoding: .signedChar))
  static let uchar = KernelType.base(
    BaseType(name: "unsigned char", size: 1, encoding: .unsignedChar))
  static let schar = KernelType.base(BaseType(name: "signed char", size: 1, encoding: .signedChar))
  static let short = KernelType.base(BaseType(name: "short", size: 2, encoding: .signed))
  static let long = KernelType.base(BaseType(name: "long", size: 8, encoding: .signed))
  static let ulong = KernelType.base(BaseType(name: "unsigned long", size: 8, encoding: .unsigned))
  static let ullong = KernelType.base(
    BaseType(name: "unsigned long long", size: 8, encoding: .unsigned))
  static let bool = KernelType.base(BaseType(name: "_Bool", size: 1, encoding: .bool))
  static let double = KernelType.base(BaseType(name: "double", size: 8, encoding: .float))
  static let float = KernelType.base(BaseType(name: "float", size: 4, encoding: .float))

  static let inStruct = KernelType.aggregate(
    Aggregate(
      kind: .structure, name: "in", size: 8,
      members: [
        Member(name: "a", type: int, bitOffset: 0), Member(name: "b", type: uchar, bitOffset: 32),
      ]))
  static let color = KernelType.enumeration(
    EnumType(
      name: "color", size: 4, isSigned: false,
      enumerators: [
        Enumerator(name: "RED", value: 0), Enumerator(name: "GREEN", value: 5),
        Enumerator(name: "BLUE", value: 6),
      ]))
  static let flags = KernelType.enumeration(
    EnumType(
      name: "flags", size: 4, isSigned: false,
      enumerators: [
        Enumerator(name: "FA", value: 1), Enumerator(name: "FB", value: 2),
        Enumerator(name: "FC", value: 4),
      ]))
  static let bits = KernelType.aggregate(
    Aggregate(
      kind: .structure, name: "bits", size: 8,
      members: [
        Member(name: "x", type: uint, bitOffset: 0, bitSize: 3),
        Member(name: "y", type: uint, bitOffset: 3, bitSize: 5),
        Member(name: "z", type: int, bitOffset: 8, bitSize: 4),
        Member(name: "w", type: ullong, bitOffset: 12, bitSize: 40),
      ]))
  static let anonUnion = KernelType.aggregate(
    Aggregate(
      kind: .union, name: nil, size: 4,
      members: [
        Member(name: "u1", type: int, bitOffset: 0), Member(name: "u2", type: char, bitOffset: 0),
      ]))
  static let voidFn = KernelType.function(
    FunctionType(returnType: .void, parameters: [], isVariadic: false))
  static let fn2 = KernelType.function(
    FunctionType(returnType: int, parameters: [int, .pointer(char)], isVariadic: false))

  /// `struct s` with offsets laid out in order (natural alignment) and its bytes.
  static func gsValue() -> (KernelType, [UInt8]) {
    var members: [Member] = []
    var bytes = [UInt8](repeating: 0, count: 392)
    func add(_ name: String?, _ type: KernelType, _ offset: Int) {
      members.append(Member(name: name, type: type, bitOffset: offset * 8))
    }
    func put(_ v: UInt64, _ size: Int, at offset: Int) {
      for i in 0..<size { bytes[offset + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(i))) }
    }
    func put(_ s: [UInt8], at offset: Int) {
      for (i, b) in s.enumerated() { bytes[offset + i] = b }
    }
    add("ten", .array(element: int, count: 10), 0)
    add("eleven", .array(element: int, count: 11), 40)
    add("name", .array(element: char, count: 16), 84)
    put(Array("Linux".utf8), at: 84)
    add("full", .array(element: char, count: 4), 100)
    put(Array("abcd".utf8), at: 100)
    add("mid", .array(element: char, count: 24), 104)
    put(Array("ab\u{1}ccccccccccccccc".utf8) + Array("xy\n".utf8), at: 104)
    add("arr", .array(element: inStruct, count: 3), 128)
    for i in 0..<3 {
      put(UInt64(2 * i + 1), 4, at: 128 + 8 * i)
      put(UInt64(2 * i + 2), 1, at: 132 + 8 * i)
    }
    add("same", .array(element: inStruct, count: 12), 152)
    add("neg", long, 248)
    put(UInt64(bitPattern: -5), 8, at: 248)
    add("big", ulong, 256)
    put(~0, 8, at: 256)
    add("t", bool, 264)
    put(1, 1, at: 264)
    add("c", char, 265)
    put(65, 1, at: 265)
    add("col", color, 268)
    put(5, 4, at: 268)
    add("bad", color, 272)
    put(3, 4, at: 272)
    add("fl", flags, 276)
    put(5, 4, at: 276)
    add("fl2", flags, 280)
    put(9, 4, at: 280)
    add("bf", bits, 288)
    // x=5 (bits 0-2), y=17 (3-7), z=-3 (8-11), w=0x123456789 (12-51)
    put(5 | 17 << 3 | 0b1101 << 8 | 0x1_2345_6789 << 12, 8, at: 288)
    add(nil, anonUnion, 296)
    put(0x41, 4, at: 296)
    add("p", .pointer(.void), 304)
    put(0x4020, 8, at: 304)
    add("fn", .pointer(voidFn), 312)
    add("fn2", .pointer(fn2), 320)
    add("parr", .pointer(.array(element: int, count: 4)), 328)
    add("mat", .array(element: .array(element: int, count: 3), count: 2), 336)
    add("uc", uchar, 360)
    put(200, 1, at: 360)
    add("sc", schar, 361)
    put(UInt64(bitPattern: -2), 1, at: 361)
    add("sh", .array(element: short, count: 3), 362)
    put(1, 2, at: 362)
    put(0xffff, 2, at: 364)
    put(7, 2, at: 366)
    add("d", double, 368)
    put((1.5 as Double).bitPattern, 8, at: 368)
    add("f", float, 376)
    put(UInt64((0.1 as Float).bitPattern), 4, at: 376)
    add("str", .pointer(char), 384)
    put(0x2004, 8, at: 384)
    return (.aggregate(Aggregate(kind: .structure, name: "s", size: 392, members: members)), bytes)
  }

  static func noMemory(_ address: UInt64, _ count: Int) throws -> [UInt8] {
    throw TypesTestSetupError("unmapped")
  }

  @Test func structMatchesGdbPretty() throws {
    let (type, bytes) = TypesValueFormatterTests.gsValue()
    let formatter = ValueFormatter(readMemory: TypesValueFormatterTests.noMemory)
    let expected = #"""
      {
        ten = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
        eleven = {0 <repeats 11 times>},
        name = "Linux\000\000\000\000\000\000\000\000\000\000",
        full = "abcd",
        mid = "ab\001", 'c' <repeats 15 times>, "xy\n\000\000",
        arr = {{
            a = 1,
            b = 2 '\002'
          }, {
            a = 3,
            b = 4 '\004'
          }, {
            a = 5,
            b = 6 '\006'
          }},
        same = {{
            a = 0,
            b = 0 '\000'
          } <repeats 12 times>},
        neg = -5,
        big = 18446744073709551615,
        t = true,
        c = 65 'A',
        col = GREEN,
        bad = 3,
        fl = (FA | FC),
        fl2 = (FA | unknown: 0x8),
        bf = {
          x = 5,
          y = 17,
          z = -3,
          w = 4886718345
        },
        {
          u1 = 65,
          u2 = 65 'A'
        },
        p = 0x4020,
        fn = 0x0,
        fn2 = 0x0,
        parr = 0x0,
        mat = {{0, 0, 0}, {0, 0, 0}},
        uc = 200 '\310',
        sc = -2 '\376',
        sh = {1, -1, 7},
        d = 1.5,
        f = 0.100000001,
        str = 0x2004 <error: Cannot access memory at address 0x2004>
      }
      """#
    let text = try formatter.format(type, bytes: bytes)
    #expect(text == expected)
    if text != expected { typesPrintDiff(text, expected) }
  }

  @Test func hexModeMatchesOutputRadix16() throws {
    let (type, bytes) = TypesValueFormatterTests.gsValue()
    let hex = ValueFormatter(options: .init(hex: true))
    guard case .aggregate(let s) = type, let members = s.members else { return }
    func field(_ name: String) throws -> String {
      let m = try #require(members.first { $0.name == name })
      let size = m.type.byteSize ?? 0
      return try hex.format(m.type, bytes: Array(bytes[m.offset..<(m.offset + size)]))
    }
    // gdb 13, `set output-radix 16`:
    #expect(try field("neg") == "0xfffffffffffffffb")
    #expect(try field("c") == "0x41")
    #expect(try field("col") == "GREEN")
    #expect(try field("bad") == "3")
    #expect(try field("sh") == "{0x1, 0xffff, 0x7}")
    #expect(try field("t") == "0x1")
    #expect(try field("fl2") == "(FA | unknown: 0x8)")
    #expect(try field("name") == #""Linux\000\000\000\000\000\000\000\000\000\000""#)
    #expect(
      try field("arr") == """
        {{
            a = 0x1,
            b = 0x2
          }, {
            a = 0x3,
            b = 0x4
          }, {
            a = 0x5,
            b = 0x6
          }}
        """)
  }

  @Test func repeatsAndTheElementLimit() throws {
    let int = TypesValueFormatterTests.int
    var bytes: [UInt8] = []
    for i in 0..<300 { bytes += typesLE(UInt64(i < 20 ? 7 : i), 4) }
    let type = KernelType.array(element: int, count: 300)
    // gdb: a folded run counts 10 toward `print elements` (200), so 20..209 then `...`.
    let expected =
      "{7 <repeats 20 times>, " + (20...209).map(String.init).joined(separator: ", ") + "...}"
    #expect(try ValueFormatter().format(type, bytes: bytes) == expected)
    let hexExpected =
      "{0x7 <repeats 20 times>, "
      + (20...209).map { "0x" + String($0, radix: 16) }.joined(separator: ", ") + "...}"
    #expect(try ValueFormatter(options: .init(hex: true)).format(type, bytes: bytes) == hexExpected)
    // Exactly 10 equal elements are not folded, 11 are.
    let ten = KernelType.array(element: int, count: 10)
    #expect(
      try ValueFormatter().format(ten, bytes: [UInt8](repeating: 0xff, count: 40)) == "{"
        + Array(repeating: "-1", count: 10).joined(separator: ", ") + "}")
    let twelve = KernelType.array(element: int, count: 12)
    #expect(
      try ValueFormatter().format(twelve, bytes: [UInt8](repeating: 0xff, count: 48))
        == "{-1 <repeats 12 times>}")
    // A run in the middle.
    let mixed = [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2].flatMap { typesLE(UInt64($0), 4) }
    #expect(
      try ValueFormatter().format(.array(element: int, count: 14), bytes: mixed)
        == "{1, 0 <repeats 12 times>, 2}")
    // gdb's 4096-byte zero padding: one trailing NUL dropped, the rest folded.
    let padding = KernelType.array(element: TypesValueFormatterTests.char, count: 4096)
    #expect(
      try ValueFormatter().format(padding, bytes: [UInt8](repeating: 0, count: 4096))
        == #"'\000' <repeats 4095 times>"#)
    let empty = KernelType.array(element: TypesValueFormatterTests.char, count: 1)
    #expect(try ValueFormatter().format(empty, bytes: [0]) == #""""#)
  }

  @Test func stringsAndEscapes() throws {
    let f = ValueFormatter()
    let char = TypesValueFormatterTests.char
    // gdb 13 output for char e[12] = "a\"b\\c\t\033\177'"
    let e = Array("a\"b\\c\t".utf8) + [0o33, 0o177, 0x27, 0, 0, 0]
    #expect(
      try f.format(.array(element: char, count: 12), bytes: e) == #""a\"b\\c\t\033\177'\000\000""#)
    #expect(try f.format(char, bytes: [0x27]) == #"39 '\''"#)
    #expect(try f.format(char, bytes: [0x5c]) == #"92 '\\'"#)
    #expect(try f.format(char, bytes: [0x22]) == #"34 '"'"#)
    #expect(try f.format(char, bytes: [0xe9]) == #"-23 '\351'"#)
    #expect(try f.format(TypesValueFormatterTests.uchar, bytes: [0xe9]) == #"233 '\351'"#)
    // u8 arrays print as strings too (kernel `u8 x[]`).
    let u8 = KernelType.typedef(name: "u8", target: TypesValueFormatterTests.uchar)
    #expect(try f.format(.array(element: u8, count: 4), bytes: [1, 2, 0, 0]) == #""\001\002\000""#)
    // Long strings stop after 200 characters with `...`.
    let long = [UInt8](repeating: 0x61, count: 5) + Array((0..<250).map { UInt8(0x41 + $0 % 26) })
    let text = try f.format(.array(element: char, count: long.count), bytes: long)
    #expect(text.hasSuffix("\"..."))
    #expect(text.count == 200 + 2 + 3)
  }

  @Test func pointersAndSymbols() throws {
    let symbols: [UInt64: String] = [
      0x5555_5555_8020: "gs", 0x5555_5555_5129: "myfunc", 0x5555_5555_80a0: "gs+128",
      0x5555_5555_6004: "str",
    ]
    let memory: [UInt64: [UInt8]] = [0x5555_5555_6004: Array("hello".utf8) + [0]]
    let f = ValueFormatter(
      symbolize: { symbols[$0] },
      readMemory: { address, count in
        guard let bytes = memory[address] else { throw TypesTestSetupError("unmapped") }
        return Array(bytes.prefix(count))
      })
    let voidFn = TypesValueFormatterTests.voidFn
    // gdb 13: `p gs.p`, `p gs.fn`, `p gs.parr`, `p &gs.arr`, `p gs.str`.
    #expect(
      try f.format(.pointer(.void), bytes: typesLE(0x5555_5555_8020, 8))
        == "(void *) 0x555555558020 <gs>")
    #expect(
      try f.format(.pointer(voidFn), bytes: typesLE(0x5555_5555_5129, 8))
        == "(void (*)(void)) 0x555555555129 <myfunc>")
    #expect(
      try f.format(.pointer(.pointer(voidFn)), bytes: typesLE(0, 8)) == "(void (**)(void)) 0x0")
    let parr = KernelType.pointer(.array(element: TypesValueFormatterTests.int, count: 4))
    #expect(try f.format(parr, bytes: typesLE(0, 8)) == "(int (*)[4]) 0x0")
    let arrOfIn = KernelType.pointer(.array(element: TypesValueFormatterTests.inStruct, count: 3))
    #expect(
      try f.format(arrOfIn, bytes: typesLE(0x5555_5555_80a0, 8))
        == "(struct in (*)[3]) 0x5555555580a0 <gs+128>")
    #expect(
      try f.format(.pointer(TypesValueFormatterTests.char), bytes: typesLE(0x5555_5555_6004, 8))
        == #"0x555555556004 <str> "hello""#)
    // crash's example: a typedef'd pointer names the typedef.
    let pgd = KernelType.typedef(
      name: "pgd_t",
      target: .aggregate(Aggregate(kind: .structure, name: nil, size: 8, members: nil)))
    let kf = ValueFormatter(symbolize: { $0 == 0xffff_ffff_82c2_2000 ? "init_top_pgt" : nil })
    #expect(
      try kf.formatAssignment(
        "init_mm.pgd", type: .pointer(pgd), bytes: typesLE(0xffff_ffff_82c2_2000, 8))
        == "init_mm.pgd = (pgd_t *) 0xffffffff82c22000 <init_top_pgt>")
    // -x leaves pointers alone.
    let kx = ValueFormatter(options: .init(hex: true), symbolize: kf.symbolize)
    #expect(
      try kx.format(.pointer(pgd), bytes: typesLE(0xffff_ffff_82c2_2000, 8))
        == "(pgd_t *) 0xffffffff82c22000 <init_top_pgt>")
  }

  @Test func scalarsAndErrors() throws {
    let f = ValueFormatter()
    #expect(
      try f.formatAssignment(
        "pgdir_shift", type: TypesValueFormatterTests.int, bytes: typesLE(39, 4))
        == "pgdir_shift = 39")
    #expect(
      try ValueFormatter(options: .init(hex: true)).format(
        TypesValueFormatterTests.int, bytes: typesLE(39, 4)) == "0x27")
    #expect(
      try f.format(TypesValueFormatterTests.ulong, bytes: typesLE(~0, 8)) == "18446744073709551615")
    #expect(try f.format(TypesValueFormatterTests.long, bytes: typesLE(~0, 8)) == "-1")
    #expect(try f.format(TypesValueFormatterTests.bool, bytes: [0]) == "false")
    #expect(try f.format(TypesValueFormatterTests.bool, bytes: [2]) == "2")
    #expect(
      try f.format(TypesValueFormatterTests.double, bytes: typesLE((0.1 as Double).bitPattern, 8))
        == "0.10000000000000001")
    let vol = KernelType.qualified(.volatile, TypesValueFormatterTests.ulong)
    #expect(
      try f.formatAssignment("jiffies", type: vol, bytes: typesLE(4_294_937_296, 8))
        == "jiffies = 4294937296")
    // Signed enum with a negative value; an enum value that matches nothing.
    let signedEnum = KernelType.enumeration(
      EnumType(
        name: "e", size: 4, isSigned: true,
        enumerators: [
          Enumerator(name: "MINUS_ONE", value: -1), Enumerator(name: "THREE", value: 3),
        ]))
    #expect(try f.format(signedEnum, bytes: typesLE(0xffff_ffff, 4)) == "MINUS_ONE")
    #expect(try f.format(signedEnum, bytes: typesLE(0xffff_fffe, 4)) == "-2")
    // Negative bitfields in a signed-char-sized container.
    let s = KernelType.aggregate(
      Aggregate(
        kind: .structure, name: "b", size: 1,
        members: [
          Member(name: "lo", type: TypesValueFormatterTests.int, bitOffset: 0, bitSize: 3),
          Member(name: "hi", type: TypesValueFormatterTests.uint, bitOffset: 3, bitSize: 5),
        ]))
    #expect(try f.format(s, bytes: [0b1111_1100]) == "{\n  lo = -4,\n  hi = 31\n}")
    let i128 = KernelType.base(BaseType(name: "__int128", size: 16, encoding: .signed))
    #expect(try f.format(i128, bytes: [UInt8](repeating: 0xff, count: 16)) == "-1")
    let u128 = KernelType.base(BaseType(name: "unsigned __int128", size: 16, encoding: .unsigned))
    #expect(try f.format(u128, bytes: typesLE(0, 8) + typesLE(1, 8)) == "18446744073709551616")
    // Too few bytes is an error, not a trap.
    #expect(throws: ValueError.self) {
      try f.format(TypesValueFormatterTests.ulong, bytes: [1, 2])
    }
    #expect(throws: ValueError.self) {
      try f.format(.array(element: TypesValueFormatterTests.int, count: 3), bytes: [1])
    }
    #expect(throws: ValueError.self) { try f.format(s, bytes: []) }
    #expect(throws: ValueError.self) { try f.format(.void, bytes: []) }
    // Empty struct and incomplete struct.
    let empty = KernelType.aggregate(Aggregate(kind: .structure, name: "e", size: 0, members: []))
    #expect(try f.format(empty, bytes: []) == "{<No data fields>}")
    let incomplete = KernelType.aggregate(
      Aggregate(kind: .structure, name: "x", size: nil, members: nil))
    #expect(try f.format(incomplete, bytes: []) == "<incomplete type>")
  }
}

func typesLE(_ v: UInt64, _ size: Int) -> [UInt8] {
  (0..<size).map { UInt8(truncatingIfNeeded: v >> (8 * UInt64($0))) }
}

/// Prints the first differing line of two multi-line strings (test diagnostics).
func typesPrintDiff(_ got: String, _ expected: String) {
  let g = got.split(separator: "\n", omittingEmptySubsequences: false)
  let e = expected.split(separator: "\n", omittingEmptySubsequences: false)
  for i in 0..<max(g.count, e.count) {
    let a = i < g.count ? String(g[i]) : "<none>"
    let b = i < e.count ? String(e[i]) : "<none>"
    if a != b {
      Issue.record("line \(i + 1): got \(a)\n expected \(b)")
      return
    }
  }
}
