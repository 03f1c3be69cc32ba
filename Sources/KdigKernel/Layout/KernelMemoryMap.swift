// The randomized region bases (CONFIG_RANDOMIZE_MEMORY: page_offset_base, vmalloc_base,
// vmemmap_base) and page-table isolation. x86-64 VMCOREINFO lacks page_offset_base, so it is
// read from the kernel variable, else taken from a kdump ELF's direct-map PT_LOAD, else found
// by scanning the direct-map window for the page that maps physical 0 (dump-formats.md §4.5).

import KdigBinary
import KdigDump
import KdigTranslation

/// Bases of the kernel's virtual-memory regions.
public struct KernelMemoryMap: Sendable {
  public var pageOffsetBase: Found<UInt64>
  public var vmallocBase: Found<UInt64>
  public var vmemmapBase: Found<UInt64>
  /// Page-table isolation (PTI) on or off, when it can be told.
  public var pti: Found<Bool>?
}

extension KernelImage {
  /// Page-table walks the direct-map scan makes at most: a real kernel's window is empty up
  /// to page_offset_base (skipped a top-level entry at a time) and maps physical 0 there.
  public static let directMapScanLimit = 1 << 16

  /// Finds the region bases and, unless `pti` is false (it needs DWARF), the PTI state.
  public func memoryMap(pti wantPTI: Bool = true) -> KernelMemoryMap {
    let five = layout.pagingMode.value == .fiveLevel
    let pageOffset =
      variable("page_offset_base")
      ?? directMapFromELF()
      ?? directMapByScan()
      ?? Found(KernelConstants.defaultPageOffset(five), "default __PAGE_OFFSET_BASE (not read from the dump)")
    let vmalloc =
      vmcoreinfo?.number("VMALLOC_START").map { Found(UInt64(bitPattern: $0), "VMCOREINFO NUMBER(VMALLOC_START)") }
      ?? variable("vmalloc_base")
      ?? Found(KernelConstants.defaultVmallocBase(five), "default __VMALLOC_BASE (not read from the dump)")
    let vmemmap =
      vmcoreinfo?.symbol("vmemmap").map { Found($0, "VMCOREINFO SYMBOL(vmemmap)") }
      ?? variable("vmemmap_base")
      ?? Found(KernelConstants.defaultVmemmapBase(five), "default __VMEMMAP_BASE (not read from the dump)")
    return KernelMemoryMap(
      pageOffsetBase: pageOffset, vmallocBase: vmalloc, vmemmapBase: vmemmap, pti: wantPTI ? ptiState() : nil)
  }

  /// The value of a u64 kernel variable, read through the kernel page tables (its address
  /// from the vmlinux or, without one, the dump's kallsyms).
  func variable(_ name: String) -> Found<UInt64>? {
    guard let v = try? readU64(symbol: name) else { return nil }
    return Found(v, "kernel variable \(name)")
  }

  func directMapFromELF() -> Found<UInt64>? {
    guard dumpSummary.format == .elfKdump, let elf = memory as? ElfCoreDump, let off = elf.directMapOffset
    else { return nil }
    return Found(off, "ELF direct-map PT_LOAD p_vaddr - p_paddr")
  }

  /// libkdumpfile linux_directmap_by_pgt: the lowest 1 GiB-aligned address of the direct-map
  /// window whose translation is physical 0 (randomized bases are PUD aligned).
  /// Bounded in walks (`directMapScanLimit`): with hostile tables every probe can succeed
  /// without mapping physical 0, and the 5-level window holds 2^25 gigabytes.
  func directMapByScan() -> Found<UInt64>? {
    let five = layout.pagingMode.value == .fiveLevel
    var va = KernelConstants.defaultPageOffset(five)
    let end = five ? 0xffd0_0000_0000_0000 : 0xffff_c800_0000_0000 as UInt64
    var probes = 0
    while va < end && probes < Self.directMapScanLimit {
      probes += 1
      do {
        let t = try kernelSpace.walk(va)
        if t.physicalAddress == 0 { return Found(va, "page-table scan: first direct-map address mapping physical 0") }
        va &+= 1 << 30
      } catch {
        // Skip the whole unmapped table the walk stopped at.
        let level = error.steps.last?.level ?? .pud
        let span = max(UInt64(1) << 30, UInt64(1) << UInt64(level.shift(in: layout.pagingMode.value)))
        va = (va & ~(span - 1)) &+ span
      }
    }
    guard va < end else { return nil }
    return Found(
      KernelConstants.defaultPageOffset(five),
      "default __PAGE_OFFSET_BASE (not read from the dump: the direct-map scan stopped after "
        + "\(Self.directMapScanLimit) page-table walks without finding physical 0)")
  }

  /// PTI: the kernel's own feature bit X86_FEATURE_PTI in boot_cpu_data.x86_capability (its
  /// number found by name in x86_cap_flags, the table /proc/cpuinfo prints), cross-checked
  /// with the page tables: with isolation the kernel fills the user half of its 8 KiB PGD
  /// (init_top_pgt + 4096, pti_clone_user_shared); without it that page stays zero.
  func ptiState() -> Found<Bool>? {
    let userPGD = layout.rootTable.value &+ 4096
    var present: Int?
    if let words = try? memory.bytes(at: userPGD, count: 4096) {
      present = stride(from: 0, to: 4096, by: 8).filter { words[$0] & 1 != 0 }.count
    }
    let tables = present.map {
      "user half of init_top_pgt (physical 0x\(hex(userPGD))) has \($0) present entr\($0 == 1 ? "y" : "ies")"
    }
    if let (bit, set) = cpuFeature("pti") {
      let how = "X86_FEATURE_PTI (bit \(bit / 32)*32+\(bit % 32)) \(set ? "set" : "clear") in boot_cpu_data"
      return Found(set, tables.map { "\(how); \($0)" } ?? how)
    }
    guard let present, let tables else { return nil }
    return Found(present > 0, tables)
  }

  /// Bit number and value of a CPU feature in boot_cpu_data.x86_capability, by its
  /// /proc/cpuinfo name. nil without symbols or types.
  public func cpuFeature(_ name: String) -> (bit: Int, set: Bool)? {
    guard let table = try? symbols().first("x86_cap_flags"), table.size >= 8,
      let types = try? types(), let capability = try? types.member("cpuinfo_x86.x86_capability"),
      let boot = try? lookup("boot_cpu_data")
    else { return nil }
    let count = Int(min(table.size / 8, 4096))
    // x86_cap_flags and its strings: from the vmlinux file, or without one the dump's own
    // copy (.rodata; no-vmlinux mode, docs/no-vmlinux.md).
    guard let raw = try? readOnlyBytes(of: table, count: count * 8) else { return nil }
    for i in 0..<count {
      let pointer = (0..<8).reduce(UInt64(0)) { $0 | UInt64(raw[i * 8 + $1]) << (8 * UInt64($1)) }
      guard pointer != 0, readOnlyString(pointer: pointer, limit: 32) == name else { continue }
      let word = boot.address &+ UInt64(capability.offset) &+ UInt64(i / 32 * 4)
      guard let value = try? kernelSpace.integer(UInt32.self, at: word) else { return nil }
      return (i, value & (1 << UInt32(i % 32)) != 0)
    }
    return nil
  }

  /// A NUL-terminated string in kernel memory, at most `limit` bytes, read without crossing
  /// into a page it does not need (the next one may be unmapped).
  public func kernelString(at address: UInt64, limit: Int) -> String? {
    var bytes: [UInt8] = []
    var at = address
    while bytes.count < limit {
      let inPage = Int(4096 - (at & 0xfff))
      let n = min(inPage, limit - bytes.count)
      guard let chunk = try? kernelSpace.bytes(at: at, count: n) else { return nil }
      if let end = chunk.firstIndex(of: 0) { return String(decoding: bytes + chunk[..<end], as: UTF8.self) }
      bytes += chunk
      at &+= UInt64(n)
    }
    return String(decoding: bytes, as: UTF8.self)
  }
}
