// `kdig p` expressions: parsing, and evaluation over a fake kernel (a mock TypeProvider
// and a dictionary of memory) checking both the printed result and which reads happened.

import KdigAnalyzers
import KdigBinary
import KdigKernel
import Testing

/// A TypeProvider from dictionaries, for tests.
final class TypesMockProvider: TypeProvider, @unchecked Sendable {
  let source = "mock-vmlinux"
  var types: [TypeQuery: KernelType] = [:]
  var variables: [String: KernelType] = [:]
  var complete: [String: Aggregate] = [:]

  func findType(_ query: TypeQuery) throws -> KernelType? { types[query] }
  func findVariableType(_ name: String, address: UInt64?) throws -> KernelType? { variables[name] }
  func findEnumerator(_ name: String) throws -> (type: EnumType, enumerator: Enumerator)? { nil }
  func complete(_ aggregate: Aggregate) throws -> Aggregate {
    if aggregate.members != nil { return aggregate }
    guard let name = aggregate.name, let full = complete[name] else {
      throw KernelTypeError(file: source, "\(aggregate.displayName) is only declared")
    }
    return full
  }
}

/// Memory as a dictionary of byte runs, logging every read.
final class TypesFakeMemory: @unchecked Sendable {
  var regions: [(UInt64, [UInt8])] = []
  var reads: [(UInt64, Int)] = []

  func read(_ address: UInt64, _ count: Int) throws -> [UInt8] {
    reads.append((address, count))
    for (base, bytes) in regions
    where address >= base && address - base + UInt64(count) <= UInt64(bytes.count) {
      let start = Int(address - base)
      return Array(bytes[start..<(start + count)])
    }
    throw ValueError("cannot read \(count) bytes at \(hex0x(address))", category: .notInDump)
  }
}

@Suite struct TypesExpressionTests {
  @Test func parsing() throws {
    let cases: [(String, PrintExpression)] = [
      ("jiffies", .symbol("jiffies")),
      ("init_mm.pgd", .member(.symbol("init_mm"), "pgd")),
      ("init_task.mm->pgd", .arrow(.member(.symbol("init_task"), "mm"), "pgd")),
      ("idt_table[3]", .index(.symbol("idt_table"), 3)),
      ("&init_mm", .addressOf(.symbol("init_mm"))),
      ("*init_mm.pgd", .dereference(.member(.symbol("init_mm"), "pgd"))),
      ("&idt_table[0x10].bits", .addressOf(.member(.index(.symbol("idt_table"), 16), "bits"))),
      (
        "(struct mm_struct *)0xffff888000000000",
        .cast(typeName: "struct mm_struct", pointerDepth: 1, .integer(0xffff_8880_0000_0000))
      ),
      ("*(pgd_t **) 0x10", .dereference(.cast(typeName: "pgd_t", pointerDepth: 2, .integer(16)))),
      (
        "((struct page *)0x1000)->flags",
        .arrow(.cast(typeName: "struct page", pointerDepth: 1, .integer(0x1000)), "flags")
      ),
      ("(init_mm).pgd", .member(.symbol("init_mm"), "pgd")),
      (
        "(unsigned long) jiffies",
        .cast(typeName: "unsigned long", pointerDepth: 0, .symbol("jiffies"))
      ),
      (
        "  init_uts_ns . name . sysname ",
        .member(.member(.symbol("init_uts_ns"), "name"), "sysname")
      ),
    ]
    for (text, expected) in cases {
      #expect(try PrintExpression(parsing: text) == expected, "\(text)")
    }
    #expect(
      try PrintExpression(parsing: "&idt_table[16].bits").description == "&idt_table[16].bits")
    #expect(
      try PrintExpression(parsing: "((pgd_t *)16)->pgd").description == "((pgd_t *)0x10)->pgd")
    for bad in [
      "", "init_mm.", "a[", "a[b]", "a[1", "a +", "a->", "(a", "1x", "a)", "&", "a..b", "a - b",
    ] {
      #expect(throws: ValueError.self, "\(bad)") { try PrintExpression(parsing: bad) }
    }
  }

  /// A small kernel: init_mm (struct mm_struct { pgd_t *pgd; unsigned long flags:3, :61; int
  /// counts[4]; struct mm_struct *next; }), init_top_pgt, pgdir_shift.
  static func kernel() -> (TypesMockProvider, TypesFakeMemory, ValueEvaluator) {
    let int = KernelType.base(BaseType(name: "int", size: 4, encoding: .signed))
    let ulong = KernelType.base(BaseType(name: "unsigned long", size: 8, encoding: .unsigned))
    let pgd = KernelType.typedef(
      name: "pgd_t",
      target: .aggregate(
        Aggregate(
          kind: .structure, name: nil, size: 8,
          members: [
            Member(name: "pgd", type: .typedef(name: "pgdval_t", target: ulong), bitOffset: 0)
          ])))
    let mmRef = Aggregate(kind: .structure, name: "mm_struct", size: 40, members: nil)
    let mm = Aggregate(
      kind: .structure, name: "mm_struct", size: 40,
      members: [
        Member(name: "pgd", type: .pointer(pgd), bitOffset: 0),
        Member(name: "flags", type: ulong, bitOffset: 64, bitSize: 3),
        Member(name: "counts", type: .array(element: int, count: 4), bitOffset: 128),
        Member(name: "next", type: .pointer(.aggregate(mmRef)), bitOffset: 256),
      ])
    let types = TypesMockProvider()
    types.types[TypeQuery(parsing: "struct mm_struct")] = .aggregate(mm)
    types.types[TypeQuery(parsing: "pgd_t")] = pgd
    types.complete["mm_struct"] = mm
    types.variables["init_mm"] = .aggregate(mm)
    types.variables["init_top_pgt"] = .array(element: pgd, count: 512)
    types.variables["pgdir_shift"] = int
    let memory = TypesFakeMemory()
    var initMM = typesLE(0xffff_ffff_82c2_2000, 8) + typesLE(0b101, 8)
    initMM +=
      [7, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0]
      + typesLE(0xffff_ffff_82d6_8d80, 8)
    memory.regions.append((0xffff_ffff_82d6_8d80, initMM))
    memory.regions.append(
      (
        0xffff_ffff_82c2_2000,
        typesLE(0x0000_0001_0a00_1067, 8) + [UInt8](repeating: 0, count: 4088)
      ))
    memory.regions.append((0xffff_ffff_8250_0000, typesLE(39, 4)))
    let symbols: [String: UInt64] = [
      "init_mm": 0xffff_ffff_82d6_8d80, "init_top_pgt": 0xffff_ffff_82c2_2000,
      "pgdir_shift": 0xffff_ffff_8250_0000,
    ]
    let evaluator = ValueEvaluator(types: types, symbolAddress: { symbols[$0] }, read: memory.read)
    return (types, memory, evaluator)
  }

  static func printer() -> ValueFormatter {
    let names: [UInt64: String] = [
      0xffff_ffff_82d6_8d80: "init_mm", 0xffff_ffff_82c2_2000: "init_top_pgt",
    ]
    return ValueFormatter(symbolize: { names[$0] })
  }

  private func p(_ text: String, _ evaluator: ValueEvaluator, hex: Bool = false) throws -> String {
    var f = TypesExpressionTests.printer()
    f.options.hex = hex
    let v = try evaluator.evaluate(text)
    return try f.formatAssignment(text, type: v.type, bytes: v.bytes, address: v.address)
  }

  @Test func evaluation() throws {
    let (_, memory, e) = TypesExpressionTests.kernel()
    #expect(try p("pgdir_shift", e) == "pgdir_shift = 39")
    #expect(try p("pgdir_shift", e, hex: true) == "pgdir_shift = 0x27")
    #expect(memory.reads.last.map { $0 == (0xffff_ffff_8250_0000, 4) } == true)
    memory.reads = []
    #expect(try p("init_mm.pgd", e) == "init_mm.pgd = (pgd_t *) 0xffffffff82c22000 <init_top_pgt>")
    #expect(memory.reads.count == 1 && memory.reads[0] == (0xffff_ffff_82d6_8d80, 8))
    #expect(try p("&init_mm", e) == "&init_mm = (struct mm_struct *) 0xffffffff82d68d80 <init_mm>")
    #expect(try p("init_mm.pgd->pgd", e) == "init_mm.pgd->pgd = 4462743655")
    #expect(try p("init_mm.pgd->pgd", e, hex: true) == "init_mm.pgd->pgd = 0x10a001067")
    #expect(try p("*init_mm.pgd", e) == "*init_mm.pgd = {\n  pgd = 4462743655\n}")
    #expect(try p("init_top_pgt[0].pgd", e) == "init_top_pgt[0].pgd = 4462743655")
    #expect(try p("init_mm.counts", e) == "init_mm.counts = {7, -2, 0, 0}")
    #expect(try p("init_mm.counts[1]", e) == "init_mm.counts[1] = -2")
    #expect(try p("init_mm.flags", e) == "init_mm.flags = 5")
    #expect(
      try p("init_mm.next->next->pgd", e)
        == "init_mm.next->next->pgd = (pgd_t *) 0xffffffff82c22000 <init_top_pgt>")
    #expect(
      try p("init_mm.next.pgd", e)
        == "init_mm.next.pgd = (pgd_t *) 0xffffffff82c22000 <init_top_pgt>")
    #expect(try p("&init_mm.counts[2]", e) == "&init_mm.counts[2] = (int *) 0xffffffff82d68d98")
    #expect(
      try p("*(pgd_t *)0xffffffff82c22000", e)
        == "*(pgd_t *)0xffffffff82c22000 = {\n  pgd = 4462743655\n}")
    #expect(
      try p("((struct mm_struct *)0xffffffff82d68d80)->counts[0]", e)
        == "((struct mm_struct *)0xffffffff82d68d80)->counts[0] = 7")
    #expect(try p("*init_mm.counts", e) == "*init_mm.counts = 7")
    let whole = try p("init_mm", e)
    #expect(
      whole == """
        init_mm = {
          pgd = 0xffffffff82c22000 <init_top_pgt>,
          flags = 5,
          counts = {7, -2, 0, 0},
          next = 0xffffffff82d68d80 <init_mm>
        }
        """)
  }

  @Test func evaluationErrors() throws {
    let (_, _, e) = TypesExpressionTests.kernel()
    let noSymbol = #expect(throws: ValueError.self) { try e.evaluate("no_such") }
    #expect(noSymbol?.description == "no symbol \"no_such\" in current context")
    let noMember = #expect(throws: ValueError.self) { try e.evaluate("init_mm.foo") }
    #expect(noMember?.description == "there is no member named foo in struct mm_struct")
    #expect(throws: ValueError.self) { try e.evaluate("pgdir_shift->x") }
    #expect(throws: ValueError.self) { try e.evaluate("pgdir_shift[1]") }
    #expect(throws: ValueError.self) { try e.evaluate("&init_mm.flags") }  // bitfield
    #expect(throws: ValueError.self) { try e.evaluate("&5") }
    #expect(throws: ValueError.self) { try e.evaluate("*pgdir_shift") }
    #expect(throws: ValueError.self) { try e.evaluate("(struct mm_struct)init_mm") }  // not a scalar cast
    #expect(throws: KernelTypeError.self) { try e.evaluate("(struct nope *)0") }
    // Reading an unmapped address surfaces the reader's error (category not-in-dump).
    let unmapped = #expect(throws: ValueError.self) { try e.evaluate("*(pgd_t *)0x1000") }
    #expect(unmapped?.category == .notInDump)
  }
}
