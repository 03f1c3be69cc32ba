// Seeds for the `locator` target: the tiny vmlinux (Fuzz/Seeds/vmlinux/tiny-vmlinux) loaded
// KASLR-style into a small ELF core with no VMCOREINFO, so KernelLocator must place it the
// way crash's calc_kaslr_offset does — from a QEMU CPU note's CR3 (the first page of the
// kernel map, then the IDT) or from a kdump's kernel-text PT_LOAD.

@testable import KdigFuzzTargets
import KdigKernel
import KdigTestSupport
import KdigX86

enum LocatorSeeds {
  /// Virtual KASLR slide and where _text sits in physical memory (2 MiB aligned).
  static let kaslr: UInt64 = 0x0e00_0000
  static let textPhysical: UInt64 = 0x3000_0000
  /// phys_base = physical _text − (virtual _text − __START_KERNEL_map).
  static var physBase: UInt64 { textPhysical &- (0xffff_ffff_8100_0000 &+ kaslr &- 0xffff_ffff_8000_0000) }
  /// The PDPT and the PD under init_top_pgt, outside the image.
  static let pdpt: UInt64 = 0x2000
  static let pd: UInt64 = 0x3000
  static let present: UInt64 = 0x63  // present, RW, accessed, dirty
  static let large: UInt64 = 0x80

  enum Path: CaseIterable { case cpuBanner, cpuIDT, textSegment }

  static func all() throws -> [TinySeeds.Seed] {
    [
      (.locator, "tiny-cpu-state.elf", try core(.cpuBanner)),
      (.locator, "tiny-cpu-state-idt.elf", try core(.cpuIDT)),
      (.locator, "tiny-text-segment.elf", try core(.textSegment)),
    ]
  }

  static func symbol(_ name: String) throws -> UInt64 {
    let vmlinux = try LocatorTarget.vmlinux.get()
    guard let s = try vmlinux.symbols().first(name) else { throw FuzzSetupError("tiny vmlinux has no \(name)") }
    return s.value
  }

  /// Physical address of init_top_pgt: the root every path must find.
  static func root() throws -> UInt64 { textPhysical &+ (try symbol("init_top_pgt") &- symbol("_text")) }

  /// `.cpuBanner`: CR3 → init_top_pgt, the kernel map's first page is _text + kaslr.
  /// `.cpuIDT`: a first page at __START_KERNEL_map whose banner does not read back, so only
  /// IDT vector 0 (asm_exc_divide_error + kaslr) places the kernel.
  /// `.textSegment`: no CPU note; a kdump-style PT_LOAD at _text + kaslr.
  static func core(_ path: Path) throws -> [UInt8] {
    let text = try symbol("_text")
    let vmlinux = try LocatorTarget.vmlinux.get()
    let imageSize = Int(try symbol("init_top_pgt") - text) + 4096
    var image = [UInt8](repeating: 0, count: imageSize)
    // The image as it sits in memory: the banner, IDT vector 0, and init_top_pgt's top entry.
    let bannerAddress = try symbol("linux_banner")
    let banner = Array((vmlinux.string(atLinkAddress: bannerAddress, limit: 64) ?? "").utf8)
    image.replaceSubrange(offset(bannerAddress, text)..<offset(bannerAddress, text) + banner.count, with: banner)
    let gate = GateDescriptor(
      handler: try symbol("asm_exc_divide_error") &+ kaslr, selector: SegmentSelector(0x10), type: .interrupt)
    let idt = offset(try symbol("idt_table"), text)
    image.replaceSubrange(idt..<idt + GateDescriptor.size, with: gate.encode())
    image.writeLE(pdpt | present, at: offset(try symbol("init_top_pgt"), text) + 511 * 8)
    // PDPT[510] covers __START_KERNEL_map; the PD maps _text + kaslr with a 2 MiB page.
    var tables = [UInt8](repeating: 0, count: 8192)
    tables.writeLE(pd | present, at: 510 * 8)
    let textIndex = Int(((text &+ kaslr) >> 21) & 511)
    tables.writeLE(textPhysical | present | large, at: 4096 + textIndex * 8)
    if path == .cpuIDT { tables.writeLE(0x4000_0000 | present | large, at: 4096) }

    var b = ElfCoreBuilder()
    let tableSegment = CoreSegment(physicalAddress: pdpt, data: tables)
    switch path {
    case .cpuBanner, .cpuIDT:
      b.notes = ElfNoteEncoder.note(
        name: "QEMU", type: 0,
        desc: ElfNoteEncoder.qemuCPUState(cr3: try root(), cr4: 0, idtBase: try symbol("idt_table") &+ kaslr))
      b.segments = [tableSegment, CoreSegment(physicalAddress: textPhysical, data: image)]
    case .textSegment:
      b.notes = ElfNoteEncoder.note(name: "CORE", type: 1, desc: ElfNoteEncoder.prstatus(pid: 1, registers: [:]))
      b.segments = [tableSegment, CoreSegment(physicalAddress: textPhysical, virtualAddress: text &+ kaslr, data: image)]
    }
    return b.build()
  }

  static func offset(_ address: UInt64, _ text: UInt64) -> Int { Int(address - text) }
}

import Testing

/// Each locator seed places the tiny vmlinux where it was put, by the path it was made for
/// (the values are the seed's construction, not kdig's output), and a seed whose banner
/// does not read back places nothing.
@Suite struct LocatorSeedTests {
  @Test(arguments: zip(
    LocatorSeeds.Path.allCases,
    ["first mapped page of the kernel map", "IDT vector 0 handler", "ELF kernel-text PT_LOAD"]))
  func seedPlacesTheKernel(_ path: LocatorSeeds.Path, _ how: String) throws {
    let (layout, _) = try LocatorTarget.locate(try LocatorSeeds.core(path))
    #expect(layout.kaslrOffset.value == LocatorSeeds.kaslr)
    #expect(layout.kaslrOffset.how.hasPrefix(how), "\(layout.kaslrOffset.how)")
    #expect(layout.physBase.value == LocatorSeeds.physBase)
    #expect(layout.rootTable.value == (try LocatorSeeds.root()))
    try FuzzTarget.locator.check(try LocatorSeeds.core(path))
  }

  @Test func cpuStateWithAnotherBannerIsNotAccepted() throws {
    var bytes = try LocatorSeeds.core(.cpuBanner)
    let banner = Array("Linux version 6.12.0-fuzz".utf8)
    let at = try #require(bytes.firstRange(of: banner), "banner not in the seed")
    bytes[at.lowerBound + 14] = UInt8(ascii: "5")
    #expect(throws: KernelImageError.self) { try LocatorTarget.locate(bytes) }
  }
}
