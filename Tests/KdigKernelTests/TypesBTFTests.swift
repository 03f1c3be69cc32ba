// BTFTypes on hand-made blobs: an annotated byte array, then one blob with every kind
// (include/uapi/linux/btf.h kinds 1–19) and the lookups built on it.

import KdigBinary
import Testing

@testable import KdigKernel

@Suite struct TypesBTFTests {
  @Test func annotatedMinimalBlob() throws {
    let bytes: [UInt8] = [
      // struct btf_header
      0x9f, 0xeb,  // magic 0xeb9f
      0x01,  // version 1
      0x00,  // flags
      0x18, 0x00, 0x00, 0x00,  // hdr_len 24
      0x00, 0x00, 0x00, 0x00,  // type_off 0
      0x1c, 0x00, 0x00, 0x00,  // type_len 28 = INT (16) + PTR (12)
      0x1c, 0x00, 0x00, 0x00,  // str_off 28
      0x05, 0x00, 0x00, 0x00,  // str_len 5
      // type 1: INT "int"
      0x01, 0x00, 0x00, 0x00,  // name_off 1 → "int"
      0x00, 0x00, 0x00, 0x01,  // info: kind 1 (INT), vlen 0
      0x04, 0x00, 0x00, 0x00,  // size 4
      0x20, 0x00, 0x00, 0x01,  // encoding SIGNED (bit 24), offset 0, nr_bits 32
      // type 2: PTR → 1
      0x00, 0x00, 0x00, 0x00,  // name_off 0 (anonymous)
      0x00, 0x00, 0x00, 0x02,  // info: kind 2 (PTR)
      0x01, 0x00, 0x00, 0x00,  // type 1
      // string section
      0x00, 0x69, 0x6e, 0x74, 0x00,  // "", "int"
    ]
    let btf = try BTFTypes(bytes: ByteView.copying(bytes, file: "tiny.btf", fileOffset: 0))
    #expect(btf.typeCount == 2)
    let int = try btf.type(named: "int")
    #expect(int == .base(BaseType(name: "int", size: 4, encoding: .signed)))
    #expect(try btf.convertForTest(2).name == "int *")
    #expect(try btf.sizeof("int") == 4)
  }

  /// A blob using every kind, shaped like kernel types.
  static func kitchenSink() -> TypesBTFBuilder {
    var b = TypesBTFBuilder()
    let int = b.int("int", size: 4, signed: true)  // 1
    let uint = b.int("unsigned int", size: 4)  // 2
    let ulong = b.int("long unsigned int", size: 8)  // 3
    let char = b.int("char", size: 1, signed: true, char: true)  // 4
    let bool = b.int("_Bool", size: 1, bool: true)  // 5
    let u16 = b.typedef("u16", b.int("short unsigned int", size: 2))  // 6, 7
    let pgdval = b.typedef("pgdval_t", ulong)  // 8
    let pgdStruct = b.structure(nil, size: 8, [("pgd", pgdval, 0, nil)])  // 9
    let pgdT = b.typedef("pgd_t", pgdStruct)  // 10
    // struct idt_bits { u16 ist:3, zero:5, type:5, dpl:2, p:1; } (kind_flag bitfields)
    let idtBits = b.structure(
      "idt_bits", size: 2, kindFlag: true,
      [
        ("ist", u16, 0, 3), ("zero", u16, 3, 5), ("type", u16, 8, 5), ("dpl", u16, 13, 2),
        ("p", u16, 15, 1),
      ])  // 11
    let gate = b.structure(
      "gate_struct", size: 16,
      [
        ("offset_low", u16, 0, nil), ("segment", u16, 16, nil), ("bits", idtBits, 32, nil),
        ("offset_middle", u16, 48, nil), ("offset_high", uint, 64, nil),
        ("reserved", uint, 96, nil),
      ])  // 12
    let gateDesc = b.typedef("gate_desc", gate)  // 13
    let idtArray = b.array(gateDesc, index: int, count: 256)  // 14
    let idtPtr = b.ptr(idtArray)  // 15
    let mmFwd = b.forward("mm_struct")  // 16
    let mmPtr = b.ptr(mmFwd)  // 17
    // An anonymous union inside an anonymous struct, as mm_struct does.
    let anonUnion = b.structure(
      nil, size: 8, union: true, [("counter", int, 0, nil), ("raw", ulong, 0, nil)])  // 18
    let pgdPtr = b.ptr(pgdT)  // 19
    let inner = b.structure(
      nil, size: 24,
      [("pgd", pgdPtr, 0, nil), (nil, anonUnion, 64, nil), ("next", mmPtr, 128, nil)])  // 20
    let mm = b.structure("mm_struct", size: 32, [(nil, inner, 0, nil), ("flags", ulong, 192, nil)])  // 21
    let color = b.enumeration("color", signed: true, [("RED", 0), ("GREEN", 5), ("NEG", -2)])  // 22
    let big = b.enum64("bigflags", [("BIG_LOW", 1), ("BIG_HIGH", 0x8000_0000_0000_0000)])  // 23
    let constChar = b.const(char)  // 24
    let constCharPtr = b.ptr(constChar)  // 25
    let volatileUlong = b.volatile(ulong)  // 26
    let charPtr = b.ptr(char)  // 27
    let restrictPtr = b.restrict(charPtr)  // 28
    let proto = b.functionProto(returns: int, [("a", int), ("s", charPtr)])  // 29
    let fn = b.function("do_thing", proto: proto)  // 30
    let fnPtr = b.ptr(proto)  // 31
    let voidProto = b.functionProto(returns: 0, [])  // 32
    let voidFnPtr = b.ptr(voidProto)  // 33
    let printkProto = b.functionProto(returns: int, [("fmt", constCharPtr)], variadic: true)  // 34
    let tss = b.structure(
      "tss_struct", size: 16,
      [("sp0", ulong, 0, nil), ("ist", b.array(ulong, index: int, count: 1), 64, nil)])  // 35, 36
    let percpu = b.variable("cpu_tss_rw", tss)  // 37
    _ = b.dataSection(".data..percpu", size: 16, [(percpu, 0, 16)])  // 38
    let dbl = b.float("double", size: 8)  // 39
    _ = b.declTag("noinline", fn)  // 40
    let userTag = b.typeTag("user", char)  // 41
    let userPtr = b.ptr(userTag)  // 42
    let ops = b.structure(
      "ops", size: 64,
      [
        ("open", fnPtr, 0, nil), ("release", voidFnPtr, 64, nil),
        ("printk", b.ptr(printkProto), 128, nil),
        ("ro", constCharPtr, 192, nil), ("jiffies", volatileUlong, 256, nil),
        ("r", restrictPtr, 320, nil),
        ("ratio", dbl, 384, nil), ("buf", userPtr, 448, nil),
      ])  // 44 (43 = ptr to printk proto)
    let flagsOld = b.int("unsigned int", size: 4, bits: 3, offset: 2)  // 45: old-style INT bitfield
    _ = b.structure("oldbits", size: 4, [("f", flagsOld, 0, nil), ("g", uint, 0, nil)])  // 46
    _ = b.forward("only_declared")  // 47
    _ = b.forward("some_union", union: true)  // 48
    _ = b.structure(
      "with_flex", size: 8,
      [("n", ulong, 0, nil), ("data", b.array(char, index: int, count: 0), 64, nil)])  // 50 (49)
    _ = b.typedef("bool", bool)  // 51
    _ = (idtPtr, mm, color, big, ops, fn)
    return b
  }

  @Test func everyKindConverts() throws {
    let btf = try BTFTypes(bytes: TypesBTFTests.kitchenSink().view)
    #expect(btf.typeCount == 51)

    let gate = try btf.type(named: "struct gate_struct")
    #expect(gate.byteSize == 16)
    let gateAgg = try #require(gate.aggregate)
    #expect(
      gateAgg.members?.map(\.name) == [
        "offset_low", "segment", "bits", "offset_middle", "offset_high", "reserved",
      ])
    // kind_flag bitfields: idt_bits.dpl is 2 bits at bit 13.
    let dpl = try btf.member("gate_struct.bits.dpl")
    #expect(dpl.bitOffset == 32 + 13)
    #expect(dpl.bitSize == 2)
    #expect(dpl.type.name == "u16")
    // Old-style bitfield: width and offset in the INT type.
    let old = try btf.member("oldbits.f")
    #expect(old.bitOffset == 2)
    #expect(old.bitSize == 3)

    #expect(try btf.convertForTest(14).name == "gate_desc [256]")
    #expect(try btf.convertForTest(15).name == "gate_desc (*)[256]")
    #expect(try btf.convertForTest(19).name == "pgd_t *")

    let ops = try #require(try btf.type(named: "ops").aggregate)
    let names = ops.members?.map { $0.type.declaration(of: $0.name ?? "") }
    #expect(
      names == [
        "int (*open)(int, char *)", "void (*release)(void)", "int (*printk)(const char *, ...)",
        "const char *ro", "volatile unsigned long jiffies", "char * restrict r", "double ratio",
        "char *buf",
      ])

    let color = try btf.type(named: "enum color")
    guard case .enumeration(let e) = color else {
      Issue.record("enum color is \(color)")
      return
    }
    #expect(e.isSigned)
    #expect(e.enumerators.map(\.value) == [0, 5, -2])
    #expect(try btf.enumValue("NEG") == -2)
    #expect(try btf.enumValue("BIG_HIGH") == Int64(bitPattern: 0x8000_0000_0000_0000))

    #expect(
      try btf.type(named: "double") == .base(BaseType(name: "double", size: 8, encoding: .float)))
    #expect(
      try btf.type(named: "bool").resolved
        == .base(BaseType(name: "_Bool", size: 1, encoding: .bool)))
    #expect(
      try btf.type(named: "unsigned long")
        == .base(BaseType(name: "unsigned long", size: 8, encoding: .unsigned)))
    #expect(
      try btf.type(named: "char") == .base(BaseType(name: "char", size: 1, encoding: .signedChar)))

    // Per-cpu VAR.
    #expect(try btf.variableType("cpu_tss_rw").name == "struct tss_struct")
    #expect(try btf.findVariableType("init_mm", address: nil) == nil)
    // FUNC stands for its prototype.
    #expect(try btf.convertForTest(30).name == "int (int, char *)")
    // Flexible array member.
    #expect(try btf.member("with_flex.data").type.name == "char [0]")
  }

  @Test func anonymousMembersAndReferences() throws {
    let btf = try BTFTypes(bytes: TypesBTFTests.kitchenSink().view)
    // Members of the anonymous struct and of the anonymous union inside it.
    #expect(try btf.offsetof("mm_struct.pgd") == 0)
    #expect(try btf.offsetof("struct mm_struct.raw") == 8)
    #expect(try btf.offsetof("mm_struct.next") == 16)
    #expect(try btf.offsetof("mm_struct.flags") == 24)
    #expect(try btf.sizeof("mm_struct") == 32)
    // `next` points to a forward declaration; complete() finds the definition.
    let next = try btf.member("mm_struct.next").type
    guard case .pointer(.aggregate(let ref)) = next else {
      Issue.record("next is \(next)")
      return
    }
    #expect(ref.members == nil)
    let full = try btf.complete(ref)
    #expect(full.size == 32)
    #expect(full.members?.count == 2)
    // pgd_t behind a pointer is a reference too, but its name is right.
    #expect(try btf.member("mm_struct.pgd").type.name == "pgd_t *")
    #expect(try btf.type(named: "struct mm_struct *").name == "struct mm_struct *")
    #expect(try btf.sizeof("gate_desc **") == 8)
    #expect(try btf.arrayLength(ofMember: "tss_struct.ist") == 1)
    #expect(try btf.member("tss_struct.ist[0]").offset == 8)
  }

  @Test func lookupErrorsNameWhatAndWhere() throws {
    let btf = try BTFTypes(bytes: TypesBTFTests.kitchenSink().view)
    let noMember = #expect(throws: KernelTypeError.self) { try btf.member("mm_struct.foo") }
    #expect(noMember?.description == "test.btf: no member 'foo' in struct mm_struct")
    #expect(noMember?.category == .debugInfo)
    let noType = #expect(throws: KernelTypeError.self) { try btf.sizeof("struct nope") }
    #expect(noType?.description == "test.btf: no type named 'struct nope'")
    let noEnum = #expect(throws: KernelTypeError.self) { try btf.enumValue("PG_nope") }
    #expect(noEnum?.description == "test.btf: no enum constant named 'PG_nope'")
    let declared = #expect(throws: KernelTypeError.self) {
      try btf.type(named: "struct only_declared").aggregate.map { try btf.complete($0) }
    }
    #expect(declared?.description.contains("struct only_declared is only declared") == true)
    let pointerPath = #expect(throws: KernelTypeError.self) { try btf.member("mm_struct.pgd.pgd") }
    #expect(pointerPath?.description.contains("do not follow pointers") == true)
    #expect(throws: KernelTypeError.self) { try btf.member("mm_struct") }
    #expect(throws: KernelTypeError.self) { try btf.member("mm_struct.flags[2]") }
    #expect(throws: KernelTypeError.self) { try btf.arrayLength(ofMember: "mm_struct.flags") }
    // A bare name finds a union only through the forward declaration.
    #expect(try btf.type(named: "union some_union").aggregate?.kind == .union)
  }
}

extension BTFTypes {
  /// Converts type `id` (for tests that name types by id).
  func convertForTest(_ id: UInt32) throws -> KernelType {
    try convert(id, shallow: false)
  }
}
