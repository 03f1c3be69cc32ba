import KdigBinary
import KdigTestSupport
import Testing

@Suite struct ByteViewTests {
  let view = ByteView.copying([0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99], file: "f.bin", fileOffset: 0x100)

  @Test func readsLittleAndBigEndian() throws {
    #expect(try view.u16(0) == 0x2211)
    #expect(try view.u32(1) == 0x5544_3322)
    #expect(try view.u64(1) == 0x9988_7766_5544_3322)
    #expect(try view.read(UInt32.self, at: 0, .big) == 0x1122_3344)
  }

  @Test func outOfBoundsNamesFileOffsetAndWhat() {
    do {
      _ = try view.u64(2, "e_phoff")
      Issue.record("read past the end succeeded")
    } catch {
      #expect(error.file == "f.bin")
      #expect(error.offset == 0x102)
      #expect(error.description.contains("8 bytes of e_phoff"))
      #expect(error.description.contains("offset 0x102"))
      #expect(error.category == .malformedInput)
    }
  }

  @Test func negativeAndHugeOffsetsDoNotTrap() {
    #expect(throws: BinaryError.self) { try view.u8(-1) }
    #expect(throws: BinaryError.self) { try view.slice(Int.max - 2, 8, "x") }
    #expect(throws: BinaryError.self) { try view.slice(4, Int.max, "x") }
  }

  @Test func sliceKeepsAbsoluteOffsets() throws {
    let s = try view.slice(4, 4, "tail")
    #expect(try s.u8(0) == 0x55)
    #expect(s.fileOffset == 0x104)
    #expect(throws: BinaryError.self) { try s.u32(1) }
  }

  @Test func fixedStringStopsAtNul() throws {
    let v = ByteView.copying(Array("abc\0def".utf8), file: "s", fileOffset: 0)
    #expect(try v.fixedString(0, 7, "name") == "abc")
    #expect(try v.fixedString(4, 3, "name") == "def")
  }
}

@Suite struct CheckedMathTests {
  @Test func overflowIsAnErrorWithLocation() {
    let m = CheckedArithmetic(file: "dump", offset: 0x40)
    #expect(throws: BinaryError.self) { try m.add(UInt64.max, 1, "segment end") }
    #expect(throws: BinaryError.self) { try m.multiply(1 << 40, 1 << 40, "table size") }
    #expect(throws: BinaryError.self) { try m.int(1 << 40, limit: 1 << 20, "note size") }
    #expect((try? m.add(1, 2, "x")) == 3)
  }

  @Test func parsesAddresses() {
    #expect(parseInteger("0xffffffff81000000", defaultHex: false) == 0xffff_ffff_8100_0000)
    #expect(parseInteger("ffffffff81000000", defaultHex: true) == 0xffff_ffff_8100_0000)
    #expect(parseInteger("42", defaultHex: false) == 42)
    #expect(parseInteger("-1", defaultHex: false) == UInt64.max)
    #expect(parseInteger("zz", defaultHex: true) == nil)
  }
}

@Suite struct MappedFileTests {
  @Test func mapsAndBoundsChecks() throws {
    let tmp = try TemporaryFile([1, 2, 3, 4, 5])
    let f = try MappedFile(path: tmp.path)
    #expect(f.size == 5)
    #expect(try f.view(at: 1, count: 3, "x").u8(2) == 4)
    #expect(throws: BinaryError.self) { try f.view(at: 3, count: 3, "x") }
    #expect(throws: BinaryError.self) { try f.view(at: UInt64.max, count: 1, "x") }
  }

  @Test func missingFileIsUnreadable() {
    do {
      _ = try MappedFile(path: "/nonexistent/kdig")
      Issue.record("opened a missing file")
    } catch {
      #expect(error.category == .unreadable)
      #expect(error.description.contains("/nonexistent/kdig"))
    }
  }

  @Test func hex64EncodesAsString() throws {
    #expect(Hex64(0xffff_ffff_8100_0000).description == "0xffffffff81000000")
  }
}
