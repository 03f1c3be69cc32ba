// The type model on its own: C/gdb spellings of declarators, name canonicalisation,
// type-name queries, member paths and anonymous-member search.

import Testing

@testable import KdigKernel

@Suite struct TypesModelTests {
  static let int = KernelType.base(BaseType(name: "int", size: 4, encoding: .signed))
  static let char = KernelType.base(BaseType(name: "char", size: 1, encoding: .signedChar))
  static let ulong = KernelType.base(
    BaseType(name: "long unsigned int", size: 8, encoding: .unsigned))

  @Test func declaratorsAsGdbSpellsThem() {
    let int = TypesModelTests.int
    let char = TypesModelTests.char
    let gate = KernelType.typedef(
      name: "gate_desc",
      target: .aggregate(Aggregate(kind: .structure, name: "gate_struct", size: 16, members: [])))
    let pgd = KernelType.typedef(
      name: "pgd_t",
      target: .aggregate(Aggregate(kind: .structure, name: nil, size: 8, members: nil)))
    let voidFn = KernelType.function(
      FunctionType(returnType: .void, parameters: [], isVariadic: false))
    let cases: [(KernelType, String)] = [
      (TypesModelTests.ulong, "unsigned long"),
      (.pointer(pgd), "pgd_t *"),
      (
        .aggregate(Aggregate(kind: .structure, name: "mm_struct", size: 8, members: nil)),
        "struct mm_struct"
      ),
      (.aggregate(Aggregate(kind: .union, name: nil, size: 8, members: [])), "union {...}"),
      (.enumeration(EnumType(name: nil, size: 4, isSigned: false, enumerators: [])), "enum {...}"),
      (.array(element: gate, count: 256), "gate_desc [256]"),
      (.pointer(.array(element: gate, count: 256)), "gate_desc (*)[256]"),
      (.pointer(.pointer(.array(element: int, count: 4))), "int (**)[4]"),
      (.pointer(voidFn), "void (*)(void)"),
      (
        .pointer(
          .function(
            FunctionType(returnType: int, parameters: [int, .pointer(char)], isVariadic: false))),
        "int (*)(int, char *)"
      ),
      (
        .pointer(
          .function(FunctionType(returnType: .pointer(char), parameters: [], isVariadic: false))),
        "char *(*)(void)"
      ),
      (
        .pointer(
          .function(
            FunctionType(returnType: int, parameters: [], isVariadic: false, isPrototyped: false))),
        "int (*)()"
      ),
      (
        .pointer(
          .function(
            FunctionType(
              returnType: int, parameters: [.pointer(.qualified(.const, char))], isVariadic: true))),
        "int (*)(const char *, ...)"
      ),
      (.array(element: .pointer(char), count: 4), "char *[4]"),
      (.array(element: .array(element: int, count: 3), count: 2), "int [2][3]"),
      (.pointer(.array(element: .array(element: int, count: 3), count: 2)), "int (*)[2][3]"),
      (.array(element: char, count: nil), "char []"),
      (.pointer(.qualified(.const, char)), "const char *"),
      (.qualified(.const, .pointer(char)), "char * const"),
      (.qualified(.volatile, TypesModelTests.ulong), "volatile unsigned long"),
      (.pointer(.pointer(char)), "char **"),
      (.pointer(.void), "void *"),
      (.array(element: .pointer(voidFn), count: 2), "void (*[2])(void)"),
    ]
    for (t, expected) in cases { #expect(t.name == expected) }
    #expect(KernelType.pointer(voidFn).declaration(of: "release") == "void (*release)(void)")
    #expect(KernelType.array(element: char, count: 16).declaration(of: "comm") == "char comm[16]")
    #expect(KernelType.pointer(char).declaration(of: "name") == "char *name")
    #expect(KernelType.qualified(.const, .pointer(char)).declaration(of: "p") == "char * const p")
  }

  @Test func baseTypeNamesAreCanonical() {
    #expect(canonicalBaseTypeName("long unsigned int") == "unsigned long")
    #expect(canonicalBaseTypeName("long  long   unsigned int") == "unsigned long long")
    #expect(canonicalBaseTypeName("short int") == "short")
    #expect(canonicalBaseTypeName("long int") == "long")
    #expect(canonicalBaseTypeName("char") == "char")
    #expect(canonicalBaseTypeName("_Bool") == "_Bool")
    #expect(
      TypeQuery(parsing: "long unsigned int") == TypeQuery(namespace: .any, name: "unsigned long"))
    #expect(
      TypeQuery(parsing: "struct mm_struct") == TypeQuery(namespace: .structure, name: "mm_struct"))
    #expect(TypeQuery(parsing: "union  thread_union").namespace == .union)
    #expect(TypeQuery(parsing: "enum pageflags").description == "enum pageflags")
    #expect(TypeQuery(parsing: "gate_desc").description == "gate_desc")
  }

  @Test func memberPaths() throws {
    #expect(try parseMemberPath("tss.x86_tss") == [.member("tss"), .member("x86_tss")])
    #expect(try parseMemberPath(".ist[2]") == [.member("ist"), .index(2)])
    #expect(try parseMemberPath("gdt[0x1][0]") == [.member("gdt"), .index(1), .index(0)])
    #expect(try parseMemberPath("[3]") == [.index(3)])
    for bad in ["", ".", "a..b", "a.", "a[", "a[x]", "a[-1]", "a b", "a[1]b", "a->b", "1a"] {
      #expect(throws: MemberPathSyntaxError.self, "\(bad)") { try parseMemberPath(bad) }
    }
  }

  @Test func anonymousMembersAreSearched() {
    let int = TypesModelTests.int
    let inner = Aggregate(
      kind: .union, name: nil, size: 4,
      members: [
        Member(name: "counter", type: int, bitOffset: 0),
        Member(name: "flag", type: int, bitOffset: 0, bitSize: 1),
      ])
    let outer = Aggregate(
      kind: .structure, name: "s", size: 12,
      members: [
        Member(name: "a", type: int, bitOffset: 0),
        Member(name: nil, type: .aggregate(inner), bitOffset: 64),
      ])
    #expect(outer.member(named: "counter")?.bitOffset == 64)
    #expect(outer.member(named: "flag")?.bitSize == 1)
    #expect(outer.member(named: "nope") == nil)
    #expect(outer.flattenedMembers.map(\.name) == ["a", "counter", "flag"])
    #expect(outer.flattenedMembers.map(\.offset) == [0, 8, 8])
    #expect(KernelType.aggregate(outer).byteSize == 12)
    #expect(KernelType.array(element: int, count: Int.max).byteSize == nil)
    #expect(KernelType.typedef(name: "t", target: .qualified(.const, int)).resolved == int)
  }
}
