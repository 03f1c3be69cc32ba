// The kernel as found in a dump: its physical memory, VMCOREINFO, the vmlinux (when there is
// one), where the kernel sits (KASLR, phys_base, page-table root) and its virtual address
// space. Everything above this layer reads the kernel through this type.

import KdigBinary
import KdigDump
import KdigMemory
import KdigTranslation

/// A dump and its kernel, ready for analyzers.
public final class KernelImage {
  /// Physical memory of the dump (format-independent).
  public let memory: any PhysicalMemory
  /// Facts about the dump file, for reports.
  public let dumpSummary: DumpSummary
  public let dumpPath: String
  public let dumpFileSize: UInt64
  /// CPU register notes and VMCOREINFO text.
  public let notes: DumpNotes
  public let vmcoreinfo: VMCoreInfo?
  public let vmlinux: VmlinuxFile?
  public let layout: KernelLayout
  /// The kernel's address space (init_top_pgt).
  public let kernelSpace: PageTableAddressSpace
  /// How the vmlinux was checked against the dump.
  public private(set) var vmlinuxMatch: String?
  /// The ORC table, once read (ORC/ORCTable.swift).
  var cachedORC: ORCTable?
  /// The dump's kallsyms, once read (no-vmlinux mode, KernelImage+DumpSources.swift), or
  /// why they could not be.
  var cachedKallsyms: KallsymsTable?
  var kallsymsFailure: (any Error)?
  /// Read BTF, kallsyms and ORC from the dump itself, never from the per-build copies
  /// (`kdig extract` must see every page those tables occupy).
  public var readsTablesFromDump = false
  /// Values analyzers derive once per kernel (stack map, pt_regs layout), by key.
  private var memos: [String: Any] = [:]

  /// `make()`'s value, computed on the first call for `key` and kept for this kernel.
  public func memoized<T>(_ key: String, _ make: () throws -> T) rethrows -> T {
    // Boxed: with an Optional T, `memos[key] as? T` would take a missing entry for a kept nil.
    if let kept = memos[key] as? Memo<T> { return kept.value }
    let v = try make()
    memos[key] = Memo(value: v)
    return v
  }

  private struct Memo<T> {
    let value: T
  }

  /// Opens the kernel in `dump`, checking that `vmlinux` belongs to it unless `force`.
  public init(dump: any DumpFile, vmlinux: VmlinuxFile?, force: Bool = false) throws {
    memory = dump
    dumpSummary = dump.summary
    dumpPath = dump.path
    dumpFileSize = dump.fileSize
    notes = dump.notes
    let info = dump.notes.vmcoreinfo.map { VMCoreInfo(text: $0) }
    vmcoreinfo = info
    self.vmlinux = vmlinux
    var match: String?
    if let vmlinux, let info {
      match = try Self.checkMatch(vmlinux: vmlinux, info: info, dumpPath: dump.path, force: force)
    }
    layout = try KernelLocator(dump: dump, vmcoreinfo: info, vmlinux: vmlinux).locate()
    let physicalBits = info?.number("MAX_PHYSMEM_BITS").map { Int($0) } ?? 52
    let walker = PageTableWalker(
      memory: dump, mode: layout.pagingMode.value, encryptionMask: layout.encryptionMask.value,
      physicalBits: physicalBits)
    kernelSpace = PageTableAddressSpace(walker: walker, root: layout.rootTable.value)
    if let vmlinux, match == nil {
      match = try checkBanner(vmlinux: vmlinux, force: force)
    }
    vmlinuxMatch = match
  }

  /// Compares build-ids (or releases when the dump has no BUILD-ID).
  static func checkMatch(vmlinux: VmlinuxFile, info: VMCoreInfo, dumpPath: String, force: Bool) throws -> String? {
    if let want = info.buildID, let have = vmlinux.buildID {
      if want == have { return "build-id \(have) matches VMCOREINFO BUILD-ID" }
      if force { return "build-id MISMATCH ignored (--force): dump \(want), vmlinux \(have)" }
      throw KernelImageError(
        .mismatch,
        "vmlinux \(vmlinux.path) does not match the dump \(dumpPath): dump BUILD-ID \(want) "
          + "(OSRELEASE \(info.osRelease ?? "?")), vmlinux build-id \(have) (\(vmlinux.release ?? "?")); "
          + "use --force to use it anyway")
    }
    return nil
  }

  /// Without BUILD-ID: the banner in dump memory must equal the vmlinux's linux_banner.
  func checkBanner(vmlinux: VmlinuxFile, force: Bool) throws -> String? {
    guard let banner = try vmlinux.symbols().first("linux_banner"),
      let expected = vmlinux.string(atLinkAddress: banner.value, limit: 256), !expected.isEmpty
    else { return nil }
    let got = try? kernelSpace.bytes(at: runtimeAddress(banner), count: expected.utf8.count)
    if let got, got.elementsEqual(expected.utf8) { return "linux_banner in the dump equals the vmlinux's" }
    if force { return "linux_banner MISMATCH ignored (--force)" }
    let seen = got.map { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) } ?? "unreadable"
    throw KernelImageError(
      .mismatch,
      "vmlinux \(vmlinux.path) does not match the dump \(dumpPath): its linux_banner is "
        + "\"\(expected.trimmingWhitespace())\" but the dump has \"\(seen.trimmingWhitespace())\"; use --force to use it anyway")
  }

  // MARK: - Page-table conventions

  /// Decodes entries with this kernel's software bits and swap-type layout. MAX_SWAPFILES
  /// is the length of `swap_info[MAX_SWAPFILES]` (its ELF symbol size / 8: no DWARF needed).
  public func entryDecoder() -> EntryDecoder {
    EntryDecoder(
      frameMask: kernelSpace.walker.frameMask, kernelBits: .forRelease(vmcoreinfo?.osRelease ?? vmlinux?.release)
    ) { [weak self] in
      guard let s = try? self?.symbols().first("swap_info"), s.size >= 8, s.size % 8 == 0, s.size <= 32 * 8 else {
        return nil
      }
      return Int(s.size / 8)
    }
  }

  /// A walker for another root (a task's PGD, a CR3) with the kernel's settings.
  public func addressSpace(root: UInt64) -> PageTableAddressSpace {
    PageTableAddressSpace(walker: kernelSpace.walker, root: root)
  }

  // MARK: - Types

  private var typeProvider: (any TypeProvider)?
  /// The type provider if a command already opened it (for describing it without loading).
  var typeProviderIfLoaded: (any TypeProvider)? { typeProvider }

  /// Kernel types: the vmlinux's DWARF, or without a vmlinux the BTF inside the dump
  /// (KernelImage+DumpSources.swift). Opened on first use, through one `TypeProvider`.
  public func types() throws -> any TypeProvider {
    if let typeProvider { return typeProvider }
    let primary: any TypeProvider
    if let vmlinux {
      primary = try DWARFTypes(vmlinux: vmlinux)
    } else {
      primary = try dumpTypes()
    }
    // Types only a module defines come from its BTF, read on the first miss (ModuleTypes).
    let provider = ModuleTypes(primary: primary) { [weak self] in
      guard let self else { throw KernelTypeError(file: "the dump", "the kernel image is closed") }
      let base = try self.baseBTF()
      let modules = try self.moduleBTFs().compactMap { m in (try? self.bytes(of: m)).map { (m.module, $0) } }
      return ModuleTypes.ModuleBTFSources(base: base, modules: modules)
    }
    typeProvider = provider
    return provider
  }

  // MARK: - Symbols

  /// Runtime address of a vmlinux symbol: kernel-image symbols move by the KASLR offset;
  /// per-cpu offsets and absolute values do not.
  public func runtimeAddress(_ symbol: ElfSymbol) -> UInt64 {
    KernelConstants.isKernelImage(symbol.value) ? symbol.value &+ layout.kaslrOffset.value : symbol.value
  }

  /// The kernel's symbols: the vmlinux .symtab, or without a vmlinux the kallsyms tables
  /// inside the dump (Kallsyms/). Both at link-time addresses, behind one interface.
  public func symbols() throws -> any SymbolProvider {
    if let vmlinux { return try vmlinux.symbols() }
    return try dumpSymbols()
  }

  /// The symbol `name` and its runtime address. Falls back to VMCOREINFO SYMBOL().
  public func lookup(_ name: String) throws -> (symbol: ElfSymbol, address: UInt64) {
    if vmlinux == nil, let a = vmcoreinfo?.symbol(name) {
      return (ElfSymbol(name: name, value: a, size: 0, type: 0, binding: 1, letter: "?", index: 0), a)
    }
    guard let s = try symbols().first(name) else {
      throw KernelImageError(.unknownSymbol, "no symbol \"\(name)\" in \(vmlinux?.path ?? "the dump's kallsyms")")
    }
    return (s, runtimeAddress(s))
  }

  /// The symbol containing runtime `address`, with the offset into it.
  public func symbolize(_ address: UInt64) -> (symbol: ElfSymbol, offset: UInt64)? {
    // Module space: the module's own kallsyms, never the vmlinux's last symbol + a distance.
    if address >= KernelRegions.modulesStart && address < KernelRegions.modulesEnd {
      return moduleSymbol(at: address).map { ($0.symbol, $0.offset) }
    }
    guard let table = try? symbols() else { return nil }
    let link = KernelConstants.isKernelImage(address &- layout.kaslrOffset.value)
      ? address &- layout.kaslrOffset.value : address
    return table.symbolize(linkAddress: link)
  }

  /// `name+0xoff` for an address, or nil.
  public func symbolName(_ address: UInt64) -> String? {
    if address >= KernelRegions.modulesStart && address < KernelRegions.modulesEnd {
      guard let (s, off, module) = moduleSymbol(at: address) else { return nil }
      return symbolDisplay(s.name, offset: off, module: module)
    }
    guard let (s, off) = symbolize(address) else { return nil }
    return symbolDisplay(s.name, offset: off)
  }

  /// Reads a kernel variable's 64-bit value.
  public func readU64(symbol name: String) throws -> UInt64 {
    try kernelSpace.u64(at: try lookup(name).address)
  }
}

extension VmlinuxFile {
  /// The release from the vmlinux's own linux_banner ("Linux version REL (…").
  public var release: String? {
    guard let s = try? symbols().first("linux_banner"), let b = string(atLinkAddress: s.value, limit: 256)
    else { return nil }
    let words = b.split(separator: " ")
    return words.count >= 3 ? String(words[2]) : nil
  }
}
