// ELF vmcores built by ElfCoreBuilder, read back through the opener (detection by content).

import KdigBinary
import KdigDump
import KdigMemory
import KdigTestSupport
import Testing

@Suite struct ElfCoreTests {
  static func page(_ seed: UInt8, count: Int = 4096) -> [UInt8] {
    (0..<count).map { UInt8(truncatingIfNeeded: Int(seed) &* 31 &+ $0) }
  }

  static func kdumpStyle() -> ElfCoreBuilder {
    var b = ElfCoreBuilder()
    b.notes =
      ElfNoteEncoder.note(name: "CORE", type: 1, desc: ElfNoteEncoder.prstatus(pid: 42, registers: ["rip": 0xffff_ffff_8100_1234, "rsp": 0xffffc900_0001_0000]))
      + ElfNoteEncoder.note(name: "CORE", type: 1, desc: ElfNoteEncoder.prstatus(pid: 0, registers: [:]))
      + ElfNoteEncoder.vmcoreinfo(["OSRELEASE=6.12.0-test", "PAGESIZE=4096", "NUMBER(phys_base)=-16777216"])
    // Kernel text PT_LOAD overlapping the direct-map one (as /proc/vmcore has it).
    b.segments = [
      CoreSegment(physicalAddress: 0x100_0000, virtualAddress: 0xffff_ffff_8100_0000, data: page(9)),
      CoreSegment(physicalAddress: 0x1000, virtualAddress: 0xffff_8880_0000_1000, data: page(1) + page(2)),
      CoreSegment(physicalAddress: 0x100_0000, virtualAddress: 0xffff_8880_0100_0000, data: page(9) + page(3), memorySize: 4 * 4096),
    ]
    return b
  }

  @Test func readsKdumpStyleCore() throws {
    let file = try TemporaryFile(Self.kdumpStyle().build())
    let dump = try openDump(path: file.path)
    #expect(dump.summary.format == .elfKdump)
    #expect(dump.notes.prstatus.count == 2)
    #expect(dump.notes.prstatus[0].pid == 42)
    #expect(dump.notes.prstatus[0].register("rip") == 0xffff_ffff_8100_1234)
    #expect(dump.notes.vmcoreinfo?.contains("OSRELEASE=6.12.0-test") == true)
    #expect(try dump.bytes(at: 0x1000, count: 4096) == Self.page(1))
    #expect(try dump.bytes(at: 0x2ffe, count: 2) == Array(Self.page(2)[4094...]))
    #expect(try dump.bytes(at: 0x100_1000, count: 4096) == Self.page(3))
    // p_filesz < p_memsz: the tail reads as zeros.
    #expect(try dump.bytes(at: 0x100_2000, count: 8192) == [UInt8](repeating: 0, count: 8192))
    #expect(dump.ranges == [PhysicalRange(start: 0x1000, end: 0x3000), PhysicalRange(start: 0x100_0000, end: 0x100_4000)])
    let elf = try #require(dump as? ElfCoreDump)
    #expect(elf.kernelTextSegment?.vaddr == 0xffff_ffff_8100_0000)
    #expect(elf.directMapOffset == 0xffff_8880_0000_0000)
  }

  @Test func holeIsNotCovered() throws {
    let file = try TemporaryFile(Self.kdumpStyle().build())
    let dump = try openDump(path: file.path)
    do {
      _ = try dump.bytes(at: 0x2ff8, count: 16)  // runs past 0x3000 into a hole
      Issue.record("read across a hole")
    } catch {
      #expect(error.reason == .notCovered)
      #expect(error.address == 0x3000)
      #expect(error.category == .notInDump)
      #expect(error.description.contains(file.path))
    }
  }

  @Test func qemuStyleCoreWithExtendedNumbering() throws {
    var b = ElfCoreBuilder()
    b.useExtendedNumbering = true
    b.notes =
      ElfNoteEncoder.note(name: "CORE", type: 1, desc: ElfNoteEncoder.prstatus(pid: 1, registers: [:]))
      + ElfNoteEncoder.note(name: "QEMU", type: 0, desc: ElfNoteEncoder.qemuCPUState(cr3: 0x10_1000, cr4: 0x1000, idtBase: 0xffff_fe00_0000_0000))
    b.segments = [CoreSegment(physicalAddress: 0, data: Self.page(5))]
    let file = try TemporaryFile(b.build())
    let dump = try openDump(path: file.path)
    #expect(dump.summary.format == .elfQEMU)
    let cpu = try #require(dump.notes.qemuCPUs.first)
    #expect(cpu.cr3 == 0x10_1000)
    #expect(cpu.la57)
    #expect(cpu.idt.base == 0xffff_fe00_0000_0000)
    #expect(cpu.idt.limit == 0xfff)
    #expect(cpu.kernelGSBase == 0)
    #expect(try dump.bytes(at: 0, count: 4096) == Self.page(5))
    #expect((dump as? ElfCoreDump)?.kernelTextSegment == nil)
  }

  @Test func truncationAnywhereIsAMalformedInputErrorWithOffset() throws {
    let bytes = Self.kdumpStyle().build()
    // Every cut inside headers, notes and data must fail at open, naming the file.
    for cut in stride(from: 1, to: bytes.count - 1, by: 97) {
      let file = try TemporaryFile(Array(bytes[..<cut]))
      do {
        _ = try openDump(path: file.path)
        Issue.record("opened a dump truncated at \(cut)")
      } catch let e as any KdigError {
        #expect(e.category == .malformedInput, "cut \(cut): \(e)")
        #expect(e.description.contains(file.path), "cut \(cut): \(e)")
        #expect(e.description.contains("offset 0x"), "cut \(cut): \(e)")
      }
    }
  }

  @Test func corruptHeaderFields() throws {
    let good = Self.kdumpStyle().build()
    func expectMalformed(_ patch: (inout [UInt8]) -> Void, _ what: String) throws {
      var b = good
      patch(&b)
      let file = try TemporaryFile(b)
      do {
        _ = try openDump(path: file.path)
        Issue.record("accepted \(what)")
      } catch let e as any KdigError {
        #expect(e.category == .malformedInput || e.category == .unsupported, "\(what): \(e)")
        #expect(e.description.contains(file.path), "\(what): \(e)")
      }
    }
    try expectMalformed({ $0.writeLE(UInt64(1 << 60), at: 32) }, "e_phoff past EOF")
    try expectMalformed({ $0.writeLE(UInt16(0xfffe), at: 56) }, "huge e_phnum")
    try expectMalformed({ $0[4] = 1 }, "ELFCLASS32")
    try expectMalformed({ $0.writeLE(UInt16(3), at: 18) }, "EM_386")
    // PT_NOTE size far beyond the file.
    try expectMalformed({ $0.writeLE(UInt64(1 << 40), at: 64 + 32) }, "note size")
    // First PT_LOAD: p_offset past EOF; p_filesz > p_memsz; p_paddr + p_memsz overflows.
    try expectMalformed({ $0.writeLE(UInt64(1 << 50), at: 64 + 56 + 8) }, "segment offset")
    try expectMalformed({ $0.writeLE(UInt64(1), at: 64 + 56 + 40) }, "filesz > memsz")
    try expectMalformed({ $0.writeLE(UInt64.max, at: 64 + 56 + 24) }, "paddr overflow")
    // A note whose descsz runs past the note segment.
    try expectMalformed({ $0.writeLE(UInt32(0xffff_fff0), at: 64 + 56 * 4 + 4) }, "note descsz")
  }

  @Test func unknownFormatIsUnsupported() throws {
    let file = try TemporaryFile(Array("this is not a dump at all".utf8))
    do {
      _ = try openDump(path: file.path)
      Issue.record("opened text as a dump")
    } catch let e as any KdigError {
      #expect(e.category == .unsupported)
      #expect(e.description.contains("74 68 69 73"))
    }
  }
}
