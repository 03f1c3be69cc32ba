// ELF notes for built kdump files (the note blob of §1.3), page contents, a seeded random
// generator and an in-memory ByteSource, so tests can open built bytes without the disk. Note layouts: NT_PRSTATUS
// (336-byte elf_prstatus, pr_reg at 112) and QEMU's QEMUCPUState version 1 (440 bytes).

import KdigBinary

extension KdumpBuilder {
  /// One ELF note: {namesz, descsz, type}, name and descriptor each padded to 4 bytes.
  public static func note(name: String, type: UInt32, desc: [UInt8]) -> [UInt8] {
    let nameBytes = Array(name.utf8) + [0]
    func pad(_ b: [UInt8]) -> [UInt8] { b + [UInt8](repeating: 0, count: (4 - b.count % 4) % 4) }
    return kdumpLE(UInt32(nameBytes.count)) + kdumpLE(UInt32(desc.count)) + kdumpLE(type) + pad(nameBytes)
      + pad(desc)
  }

  /// A "VMCOREINFO" note (type 0) holding `text`.
  public static func vmcoreinfoNote(_ text: String) -> [UInt8] {
    note(name: "VMCOREINFO", type: 0, desc: Array(text.utf8))
  }

  /// A "CORE" NT_PRSTATUS note with `pid` and the 27 x86-64 `registers` (pr_reg order).
  public static func prstatusNote(pid: Int32, registers: [UInt64]) -> [UInt8] {
    var desc = [UInt8](repeating: 0, count: 336)
    kdumpPut(&desc, 32, kdumpLE(pid))
    for (i, r) in registers.prefix(27).enumerated() { kdumpPut(&desc, 112 + 8 * i, kdumpLE(r)) }
    return note(name: "CORE", type: 1, desc: desc)
  }

  /// A "QEMU" note (QEMUCPUState version 1, with kernel_gs_base) with `rip`, `cr3`, `cr4`.
  public static func qemuNote(rip: UInt64, cr3: UInt64, cr4: UInt64) -> [UInt8] {
    var desc = [UInt8](repeating: 0, count: 440)
    kdumpPut(&desc, 0, kdumpLE(UInt32(1)))
    kdumpPut(&desc, 4, kdumpLE(UInt32(440)))
    kdumpPut(&desc, 136, kdumpLE(rip))
    kdumpPut(&desc, 392 + 24, kdumpLE(cr3))
    kdumpPut(&desc, 392 + 32, kdumpLE(cr4))
    return note(name: "QEMU", type: 0, desc: desc)
  }

  /// A builder shaped like QEMU's kdump-zlib output: empty utsname but for `machine`,
  /// dump level 1, per-vCPU CORE and QEMU notes, then VMCOREINFO.
  public static func qemu(maxPFN: UInt64, cpus: Int = 2, vmcoreinfo: String? = nil) -> KdumpBuilder {
    var b = KdumpBuilder(maxPFN: maxPFN)
    b.release = ""
    b.dumpLevel = 1
    b.physBase = 0
    b.nrCPUs = Int32(cpus)
    let regs = (0..<27).map { UInt64($0) * 0x1111 }
    b.notes = (0..<cpus).flatMap { prstatusNote(pid: Int32($0 + 1), registers: regs) }
      + (0..<cpus).flatMap { qemuNote(rip: 0xffff_ffff_8100_0000 + UInt64($0), cr3: 0x1234000, cr4: 0x3506f0) }
    b.vmcoreinfo = vmcoreinfo
    return b
  }

  /// A compressible page whose bytes depend on `pfn` (the pfn itself is in bytes 0-7).
  public static func samplePage(_ pfn: UInt64) -> [UInt8] {
    var page = (0..<pageSize).map { UInt8(truncatingIfNeeded: ($0 / 16) &* 31 &+ Int(pfn % 251) &* 7) }
    kdumpPut(&page, 0, kdumpLE(pfn))
    return page
  }

  /// A page of pseudo-random bytes that no codec can shrink.
  public static func randomPage(seed: UInt64) -> [UInt8] {
    var rng = SeededRandom(seed: seed)
    return (0..<pageSize).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
  }

  /// SplitMix64: a reproducible generator for fuzz-style tests.
  public struct SeededRandom: RandomNumberGenerator {
    private var state: UInt64

    /// A generator that always produces the same sequence for `seed`.
    public init(seed: UInt64) { state = seed }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
      state &+= 0x9E37_79B9_7F4A_7C15
      var z = state
      z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
      z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
      return z ^ (z >> 31)
    }
  }

  /// A read-only file held in memory.
  public final class MemoryFile: ByteSource {
    /// The name errors use.
    public let name: String
    /// The number of bytes.
    public let size: UInt64
    private let box: ByteBox

    /// A file called `name` with contents `bytes`.
    public init(name: String, bytes: [UInt8]) {
      self.name = name
      box = ByteBox(bytes)
      size = UInt64(bytes.count)
    }

    /// A zero-copy view of `count` bytes at `offset`.
    public func view(at offset: UInt64, count: Int, _ what: @autoclosure () -> String)
      throws(BinaryError) -> ByteView
    {
      guard count >= 0, offset <= size, UInt64(count) <= size - offset else {
        throw pastEnd(offset, count, what())
      }
      let start = Int(offset)
      let sub = UnsafeRawBufferPointer(rebasing: box.buffer[start..<(start + count)])
      return ByteView(bytes: sub, owner: box, file: name, fileOffset: offset)
    }
  }
}
