// KallsymsTable on tables built as scripts/kallsyms.c writes them: names through the token
// table (a letter inside a multi-character token, 2-byte lengths), the three address
// encodings, kallsyms' inferred sizes, link-time addresses under KASLR, and damaged tables
// that must fail with a clear error instead of wrong symbols.

import KdigBinary
import Testing

@testable import KdigKernel

@Suite struct KallsymsTests {
  static let kaslr: UInt64 = 0x2a00_0000

  /// A small kernel: two per-cpu symbols, text, an alias, data, with KASLR applied.
  static var symbols: [FakeSymbol] {
    [
      FakeSymbol(letter: "A", name: "__per_cpu_start", address: 0),
      FakeSymbol(letter: "A", name: "gdt_page", address: 0xb000),
      FakeSymbol(letter: "T", name: "_text", address: 0xffff_ffff_8100_0000 + kaslr),
      FakeSymbol(letter: "T", name: "startup_64", address: 0xffff_ffff_8100_0000 + kaslr),
      FakeSymbol(letter: "t", name: "foo_helper", address: 0xffff_ffff_8100_0040 + kaslr),
      FakeSymbol(letter: "W", name: "weak_thing", address: 0xffff_ffff_8100_0100 + kaslr),
      FakeSymbol(letter: "D", name: "jiffies", address: 0xffff_ffff_8200_0000 + kaslr),
      FakeSymbol(letter: "d", name: "foo_helper", address: 0xffff_ffff_8200_0040 + kaslr),
    ]
  }

  func table(_ b: KallsymsBuilder) throws -> KallsymsTable {
    let (memory, info) = b.build()
    return try KallsymsTable.read(from: memory, location: try KallsymsLocation.from(info), kaslrOffset: Self.kaslr)
  }

  func builder(_ e: KallsymsBuilder.Encoding, symbols: [FakeSymbol] = symbols) -> KallsymsBuilder {
    KallsymsBuilder(symbols: symbols, encoding: e, relativeBase: 0xffff_ffff_8100_0000 + Self.kaslr)
  }

  @Test(arguments: [KallsymsBuilder.Encoding.absolutePercpu, .relative, .absolute])
  func namesLettersAndLinkAddresses(encoding: KallsymsBuilder.Encoding) throws {
    // Plain relative offsets cannot hold per-cpu offsets below the base: drop them there.
    let syms = encoding == .relative ? Self.symbols.filter { $0.address > 0xffff } : Self.symbols
    let t = try table(builder(encoding, symbols: syms))
    #expect(t.count == syms.count)
    let jiffies = try #require(t.first("jiffies"))
    #expect(jiffies.value == 0xffff_ffff_8200_0000, "link-time: runtime minus the KASLR offset")
    #expect(jiffies.letter == "D" && jiffies.binding == 1 && jiffies.type == 1)
    // foo_helper exists twice (text and data, both local): both are found, in table order.
    #expect(t.lookup("foo_helper").map(\.letter) == ["t", "d"])
    #expect(t.first("weak_thing")?.binding == 2)
    #expect(t.first("startup_64")?.name == "startup_64", "the 'tfo' token holds the letter and part of the name")
    #expect(t.lookup("no_such_symbol").isEmpty)
    if encoding != .relative {
      #expect(t.first("gdt_page")?.value == 0xb000, "per-cpu offsets stay as they are")
    }
    let expected: KallsymsEncoding = encoding == .absolute ? .absolute : encoding == .relative ? .relative : .absolutePercpu
    #expect(t.encoding == expected)
  }

  @Test func inferredSizesAndSymbolize() throws {
    let t = try table(builder(.absolutePercpu))
    #expect(!t.sizesAreExact)
    // _text and startup_64 share an address: both run to foo_helper (kallsyms_lookup_size_offset).
    #expect(t.first("_text")?.size == 0x40)
    #expect(t.first("startup_64")?.size == 0x40)
    #expect(t.first("foo_helper")?.size == 0xc0)
    #expect(t.lookup("foo_helper").last?.size == 0, "the last symbol has no next address")
    let (s, off) = try #require(t.symbolize(linkAddress: 0xffff_ffff_8100_0050))
    #expect(s.name == "foo_helper" && off == 0x10)
    // Aliases: the ELF table's rule with sizes guessed: _text is a linker label (no size in
    // ELF), so the function startup_64 names the address, as with the vmlinux.
    #expect(t.symbolize(linkAddress: 0xffff_ffff_8100_0000)?.symbol.name == "startup_64")
    #expect(KallsymsTable.looksUnsized("__cpuidle_text_start") && KallsymsTable.looksUnsized("_etext"))
    #expect(!KallsymsTable.looksUnsized("default_idle") && !KallsymsTable.looksUnsized("wait_table"))
    #expect(t.symbolize(linkAddress: 0x1000) == nil, "per-cpu offsets are not addresses")
  }

  @Test func twoByteLengthsOfBigSymbols() throws {
    // 200 tokens: the length takes two bytes (v6.1 big symbols).
    let long = String(repeating: "x", count: 199)
    var syms = Self.symbols
    syms.insert(FakeSymbol(letter: "t", name: long, address: 0xffff_ffff_8100_0080 + Self.kaslr), at: 5)
    let t = try table(builder(.absolutePercpu, symbols: syms))
    #expect(t.first(long)?.value == 0xffff_ffff_8100_0080)
    #expect(t.first("jiffies") != nil, "entries after the big one still decode")
  }

  @Test func missingAnnouncementSaysWhatIsMissing() throws {
    let info = VMCoreInfo(text: "SYMBOL(kallsyms_names)=ffffffff82000000\n")
    #expect(throws: KallsymsError.self) { try KallsymsLocation.from(info) }
    do {
      _ = try KallsymsLocation.from(info)
    } catch let e as KallsymsError {
      #expect(e.kind == .notAnnounced && e.category == .debugInfo)
      #expect(e.message.contains("kallsyms_num_syms") && e.message.contains("kallsyms_offsets"))
    }
    do {
      _ = try KallsymsLocation.from(nil)
    } catch let e as KallsymsError {
      #expect(e.message.contains("no VMCOREINFO"))
    }
  }

  /// Reads after `damage` patched the built memory; the error must be a corrupt-table one.
  struct TableOffsets {
    var numSyms, names, tokenIndex, offsets, relativeBase: Int
  }

  func expectCorrupt(_ what: String, _ damage: (inout [UInt8], TableOffsets) -> Void) throws {
    let b = builder(.absolutePercpu)
    let (memory, info) = b.build()
    func at(_ key: String) throws -> Int { Int(try #require(info.symbol(key)) - b.base) }
    let offsets = TableOffsets(
      numSyms: try at("kallsyms_num_syms"), names: try at("kallsyms_names"),
      tokenIndex: try at("kallsyms_token_index"), offsets: try at("kallsyms_offsets"),
      relativeBase: try at("kallsyms_relative_base"))
    damage(&memory.regions[0].bytes, offsets)
    do {
      _ = try KallsymsTable.read(from: memory, location: try KallsymsLocation.from(info), kaslrOffset: Self.kaslr)
      Issue.record("\(what): damaged table accepted")
    } catch let e as KallsymsError {
      #expect(e.kind == .corrupt && e.category == .malformedInput, "\(what): \(e)")
    } catch {
      Issue.record("\(what): \(error)")
    }
  }

  @Test func damagedTablesAreClearErrors() throws {
    try expectCorrupt("symbol count beyond the names") { bytes, o in
      bytes[o.numSyms] = 200
    }
    try expectCorrupt("symbol count zero") { bytes, o in
      bytes[o.numSyms] = 0
    }
    try expectCorrupt("token index past the token table") { bytes, o in
      bytes[o.tokenIndex + 511] = 0xff
    }
    try expectCorrupt("entry longer than the table") { bytes, o in
      bytes[o.names] = 0xff
    }
    try expectCorrupt("a relative base that overflows with the offsets") { bytes, o in
      for i in 0..<8 { bytes[o.relativeBase + i] = 0xff }
    }
    try expectCorrupt("addresses out of order") { bytes, o in
      // Swap the offsets of symbols 2 and 6 (_text and jiffies).
      let a = o.offsets + 8
      let b = o.offsets + 24
      for i in 0..<4 { bytes.swapAt(a + i, b + i) }
    }
  }
}
