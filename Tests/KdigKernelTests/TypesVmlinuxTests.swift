// The real Debian 6.12 vmlinux: DWARF (libdw) and BTF are independent descriptions of the
// same types, so for ~35 kernel structs every size, member offset, bitfield and type
// name must agree. Plus numbers known from the kernel headers / pahole
// (dump-formats.md Appendix A) and the on-disk index's cold/warm/corrupt behaviour.
// These tests FAIL (not skip) when no vmlinux is found: see TypesTestVmlinux.path().

import KdigBinary
import Testing

@testable import KdigKernel

#if canImport(Glibc)
  import Glibc
#endif

@Suite struct TypesVmlinuxTests {
  static let structs = [
    "mm_struct", "task_struct", "gate_struct", "desc_struct", "x86_hw_tss", "tss_struct",
    "cpu_entry_area", "pt_regs", "page", "folio", "uts_namespace", "new_utsname", "idt_bits",
    "list_head", "hlist_node", "rb_node", "qspinlock", "spinlock", "mutex", "rw_semaphore",
    "vm_area_struct", "file", "inode", "dentry", "super_block", "cred", "pid", "sched_entity",
    "thread_struct", "fpu", "zone", "pglist_data", "irq_desc", "module", "kobject",
    "timer_list", "sk_buff", "net_device", "cpuinfo_x86", "maple_tree", "printk_ringbuffer",
  ]

  /// Every member reachable without a pointer: path, bit offset, width, type name.
  static func layout(
    _ type: KernelType, _ provider: any TypeProvider, prefix: String = "",
    base: Int = 0, into out: inout [String]
  ) throws {
    guard let agg = type.aggregate else { return }
    let full = try provider.complete(agg)
    for (i, m) in (full.members ?? []).enumerated() {
      let name = m.name ?? "<anon\(i)>"
      // pahole flattens `T [4][2][5]` to `T [40]`, and cannot tell `[]` from `[0]`.
      let (element, count) = flattenArray(m.type)
      var typeName = count.map { "\(element.name) [\($0)]" } ?? m.type.name
      if case .base(let b) = element.resolved { typeName += " (\(b.encoding.rawValue))" }
      if case .enumeration(let e) = element.resolved {
        typeName +=
          " {\(e.size) \(e.isSigned) "
          + e.enumerators.map { "\($0.name)=\($0.value)" }.joined(separator: ",") + "}"
      }
      out.append("\(prefix)\(name) @\(base + m.bitOffset) w\(m.bitSize ?? 0) \(typeName)")
      if element.aggregate != nil {
        try layout(
          element, provider, prefix: "\(prefix)\(name).", base: base + m.bitOffset, into: &out)
      }
    }
  }

  /// A (possibly multi-dimensional) array as its innermost element and total count.
  static func flattenArray(_ t: KernelType) -> (KernelType, Int?) {
    guard case .array(let element, let count) = t.resolved else { return (t, nil) }
    let (inner, innerCount) = flattenArray(element)
    guard case .array = element.resolved else { return (element, count ?? 0) }
    return (inner, (count ?? 0) * (innerCount ?? 0))
  }

  @Test(arguments: structs)
  func dwarfAndBTFAgree(_ name: String) throws {
    let (dwarf, btf) = try TypesVmlinuxTests.providers()
    let d = try dwarf.type(named: "struct \(name)")
    let b = try btf.type(named: "struct \(name)")
    #expect(d.byteSize == b.byteSize, "sizeof(struct \(name))")
    var dl: [String] = []
    var bl: [String] = []
    try TypesVmlinuxTests.layout(d, dwarf, into: &dl)
    try TypesVmlinuxTests.layout(b, btf, into: &bl)
    #expect(dl.count > 0)
    #expect(dl.count == bl.count, "member count of struct \(name)")
    for (x, y) in zip(dl, bl) where x != y {
      Issue.record("struct \(name): DWARF \(x) vs BTF \(y)")
    }
  }

  /// One DWARF and one BTF provider per process (opening is cheap; sharing keeps the
  /// DWARF conversions memoised across the parameterised tests).
  static func providers() throws -> (DWARFTypes, BTFTypes) {
    try TypesShared.lock.withLock { _ in
      if let p = TypesShared.providers { return p }
      let path = try TypesTestVmlinux.path()
      let p = (try DWARFTypes(path: path, cache: .disabled), try BTFTypes(elfPath: path))
      TypesShared.providers = p
      return p
    }
  }

  @Test func knownLayouts() throws {
    let (dwarf, btf) = try TypesVmlinuxTests.providers()
    #expect(
      dwarf.buildID == TypesTestVmlinux.buildID, "these numbers are for the Debian 6.12.107 build")
    for p in [dwarf as any TypeProvider, btf] {
      #expect(try p.sizeof("struct pt_regs") == 168)
      let ptRegs: [(String, Int)] = [
        ("r15", 0), ("r14", 8), ("r13", 16), ("r12", 24), ("bp", 32), ("bx", 40), ("r11", 48),
        ("r10", 56), ("r9", 64), ("r8", 72), ("ax", 80), ("cx", 88), ("dx", 96), ("si", 104),
        ("di", 112), ("orig_ax", 120), ("ip", 128), ("cs", 136), ("flags", 144), ("sp", 152),
        ("ss", 160),
      ]
      for (m, off) in ptRegs { #expect(try p.offsetof("pt_regs.\(m)") == off, "pt_regs.\(m)") }
      #expect(try p.sizeof("gate_struct") == 16)
      #expect(try p.sizeof("gate_desc") == 16)
      #expect(try p.offsetof("gate_struct.offset_middle") == 6)
      #expect(try p.offsetof("gate_struct.offset_high") == 8)
      let ist = try p.member("gate_struct.bits.ist")
      #expect(ist.bitOffset == 32 && ist.bitSize == 3)
      let dpl = try p.member("gate_struct.bits.dpl")
      #expect(dpl.bitOffset == 32 + 13 && dpl.bitSize == 2)
      #expect(try p.sizeof("struct desc_struct") == 8)
      let g = try p.member("desc_struct.g")
      #expect(g.bitOffset == 55 && g.bitSize == 1)
      #expect(try p.sizeof("struct x86_hw_tss") == 104)
      #expect(try p.offsetof("x86_hw_tss.ist") == 36)
      #expect(try p.offsetof("x86_hw_tss.ist[2]") == 52)
      #expect(try p.arrayLength(ofMember: "x86_hw_tss.ist") == 7)
      #expect(try p.offsetof("x86_hw_tss.io_bitmap_base") == 102)
      #expect(try p.sizeof("struct tss_struct") == 20480)
      #expect(try p.offsetof("tss_struct.io_bitmap") == 104)
      #expect(try p.offsetof("tss_struct.x86_tss.ist[1]") == 44)
      #expect(try p.sizeof("struct cpu_entry_area") == 241664)
      let x86tss = try p.member("cpu_entry_area.tss.x86_tss")
      #expect(
        x86tss.offset == 8192 && x86tss.size == 104 && x86tss.type.name == "struct x86_hw_tss")
      #expect(try p.offsetof("cpu_entry_area.entry_stack_page") == 4096)
      #expect(try p.offsetof("cpu_entry_area.estacks") == 28672)
      #expect(try p.offsetof("cpu_entry_area.cpu_debug_store") == 106496)
      #expect(try p.offsetof("cpu_entry_area.cpu_debug_buffers") == 110592)
      let pgd = try p.member("mm_struct.pgd")
      #expect(pgd.type.name == "pgd_t *" && pgd.size == 8)
      #expect(try p.sizeof("struct mm_struct") == 1344)
      #expect(try p.type(named: "gate_desc").name == "gate_desc")
      #expect(try p.type(named: "unsigned long").name == "unsigned long")
      #expect(try p.sizeof("long unsigned int") == 8)
      #expect(try p.enumValue("PG_head") == 6)
      #expect(try p.enumValue("NR_FREE_PAGES") == 0)
      #expect(try p.sizeof("struct new_utsname") == 390)
      #expect(try p.member("new_utsname.release").type.name == "char [65]")
    }
    // Only DWARF knows ordinary globals.
    #expect(try dwarf.variableType("init_mm").name == "struct mm_struct")
    #expect(
      try dwarf.variableType("init_mm", address: 0xffff_ffff_82d6_8d80).name == "struct mm_struct")
    #expect(
      try dwarf.variableType("idt_table", address: 0xffff_ffff_836d_4000).name == "gate_desc [256]")
    #expect(try dwarf.arrayLength(ofVariable: "idt_table") == 256)
    #expect(try dwarf.variableType("jiffies").name == "volatile unsigned long")
    #expect(try dwarf.variableType("init_uts_ns").name == "struct uts_namespace")
    // Per-cpu variables are in both.
    #expect(try dwarf.variableType("cpu_tss_rw").name == "struct tss_struct")
    #expect(try btf.variableType("cpu_tss_rw").name == "struct tss_struct")
    #expect(try btf.findVariableType("init_mm", address: nil) == nil)
  }

  @Test func missingThingsAreDebugInfoErrorsNamingTheFile() throws {
    let (dwarf, _) = try TypesVmlinuxTests.providers()
    let e = #expect(throws: KernelTypeError.self) { try dwarf.member("mm_struct.foo") }
    #expect(e?.description == "\(dwarf.source): no member 'foo' in struct mm_struct")
    #expect(e?.category == .debugInfo)
    let t = #expect(throws: KernelTypeError.self) { try dwarf.sizeof("struct kdig_no_such_struct") }
    #expect(t?.description == "\(dwarf.source): no type named 'struct kdig_no_such_struct'")
    #expect(throws: KernelTypeError.self) { try dwarf.variableType("kdig_no_such_variable") }
  }

  @Test func indexColdWarmAndCorrupt() throws {
    let path = try TypesTestVmlinux.path()
    let dir = try TypesTestVmlinux.temporaryDirectory()
    defer { removeTree(dir) }
    func lookups(_ p: DWARFTypes) throws {
      #expect(try p.sizeof("struct mm_struct") == 1344)
      #expect(try p.offsetof("mm_struct.pgd") == 120)
      #expect(try p.offsetof("cpu_entry_area.tss.x86_tss") == 8192)
      #expect(try p.variableType("init_mm").name == "struct mm_struct")
      #expect(try p.sizeof("gate_struct") == 16)
      #expect(try p.enumValue("PG_head") == 6)
      #expect(try p.findType(TypeQuery(parsing: "struct kdig_absent")) == nil)
    }
    let cold = try DWARFTypes(path: path, cache: .directory(dir))
    try lookups(cold)
    #expect(cold.statistics.scans == 7)
    #expect(cold.statistics.cacheHits == 0)
    let indexPath = try #require(cold.cachePath)
    #expect(indexPath == "\(dir)/\(TypesTestVmlinux.buildID).idx")

    let warm = try DWARFTypes(path: path, cache: .directory(dir))
    try lookups(warm)
    #expect(warm.statistics.scans == 0)
    #expect(warm.statistics.unitsScanned == 0)
    #expect(warm.statistics.cacheHits == 7)
    #expect(warm.cacheRejection == nil)

    // A flipped byte breaks the checksum: the whole file is ignored and rewritten.
    var text = try #require(TypeIndexCache.readFile(indexPath))
    text = text.typesReplacing("any mm_struct", with: "any mm_strucT")
    try writeFile(indexPath, text)
    let corrupt = try DWARFTypes(path: path, cache: .directory(dir))
    #expect(corrupt.cacheRejection == "checksum mismatch")
    try lookups(corrupt)
    #expect(corrupt.statistics.scans == 7)
    #expect(TypeIndexCache.readFile(indexPath)?.contains("any mm_struct") == true)

    // A well-formed file whose offset points at the wrong DIE: that entry is rejected.
    let good = try #require(TypeIndexCache.readFile(indexPath))
    var lines = good.split(separator: "\n").map(String.init).dropLast()
    lines = lines.map { $0.hasSuffix(" any gate_struct") ? "1 any gate_struct" : $0 }[...]
    let body = lines.joined(separator: "\n") + "\n"
    try writeFile(indexPath, body + "checksum \(TypeIndexCache.checksum(body))\n")
    let stale = try DWARFTypes(path: path, cache: .directory(dir))
    #expect(stale.cacheRejection == nil)
    try lookups(stale)
    #expect(stale.statistics.cacheRejects == 1)
    #expect(stale.statistics.scans == 1)
    #expect(stale.statistics.cacheHits == 6)

    // Garbage and an empty file are ignored too.
    for junk in ["", "kdig-types-index 1\n", String(repeating: "\u{0}\u{7f}", count: 300)] {
      try writeFile(indexPath, junk)
      let p = try DWARFTypes(path: path, cache: .directory(dir))
      #expect(try p.sizeof("struct mm_struct") == 1344)
      #expect(p.cacheRejection != nil)
      #expect(p.statistics.scans == 1)
    }
  }

  @Test func sixOneVmlinuxAgreesToo() throws {
    // The Debian 6.1 kernel of the 6.1 samples: required, like the 6.12 one.
    let path = try TypesTestVmlinux.sampleVmlinux("6.1-qemu-elf")
    let dwarf = try DWARFTypes(path: path, cache: .disabled)
    let btf = try BTFTypes(elfPath: path)
    for name in [
      "mm_struct", "task_struct", "gate_struct", "pt_regs", "x86_hw_tss", "cpu_entry_area", "page",
    ] {
      var dl: [String] = []
      var bl: [String] = []
      try TypesVmlinuxTests.layout(try dwarf.type(named: "struct \(name)"), dwarf, into: &dl)
      try TypesVmlinuxTests.layout(try btf.type(named: "struct \(name)"), btf, into: &bl)
      #expect(
        try dwarf.sizeof("struct \(name)") == (try btf.sizeof("struct \(name)")), "6.1 \(name)")
      #expect(dl == bl, "6.1 struct \(name)")
    }
    #expect(try dwarf.sizeof("struct pt_regs") == 168)
  }
}

private enum TypesShared {
  static let lock = TypesTestLock()
  nonisolated(unsafe) static var providers: (DWARFTypes, BTFTypes)?
}

/// A mutex for test-shared state (no Foundation).
private final class TypesTestLock: @unchecked Sendable {
  private var mutex = pthread_mutex_t()
  init() { pthread_mutex_init(&mutex, nil) }
  func withLock<T>(_ body: (()) throws -> T) rethrows -> T {
    pthread_mutex_lock(&mutex)
    defer { pthread_mutex_unlock(&mutex) }
    return try body(())
  }
}

private func writeFile(_ path: String, _ text: String) throws {
  let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
  guard fd >= 0 else { throw TypesTestSetupError("cannot write \(path)") }
  defer { close(fd) }
  let bytes = Array(text.utf8)
  let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
  guard n == bytes.count else { throw TypesTestSetupError("short write to \(path)") }
}

private func removeTree(_ dir: String) {
  guard let d = opendir(dir) else { return }
  while let entry = readdir(d) {
    let name = withUnsafeBytes(of: entry.pointee.d_name) {
      String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self)
    }
    if name == "." || name == ".." { continue }
    let child = "\(dir)/\(name)"
    if unlink(child) != 0 { removeTree(child) }
  }
  closedir(d)
  rmdir(dir)
}

extension String {
  /// Foundation-free replace-all.
  fileprivate func typesReplacing(_ target: String, with replacement: String) -> String {
    guard !target.isEmpty else { return self }
    var out = ""
    var rest = self[...]
    while let r = rest.firstRange(of: target) {
      out += rest[..<r.lowerBound] + replacement
      rest = rest[r.upperBound...]
    }
    return out + rest
  }
}

@Suite struct TypesOpenErrorTests {
  @Test func filesWithoutTypes() throws {
    // An ELF file without DWARF or BTF (a stripped system binary).
    let noDwarf = #expect(throws: KernelTypeError.self) {
      try DWARFTypes(path: "/bin/true", cache: .disabled)
    }
    #expect(noDwarf?.category == .debugInfo)
    #expect(noDwarf?.description.hasPrefix("/bin/true: no usable DWARF (libdw error: ") == true)
    let noBTF = #expect(throws: KernelTypeError.self) { try BTFTypes(elfPath: "/bin/true") }
    #expect(noBTF?.description == "/bin/true: no .BTF section")
    // Not ELF at all, and missing.
    let notElf = #expect(throws: KernelTypeError.self) {
      try DWARFTypes(path: "/etc/passwd", cache: .disabled)
    }
    #expect(notElf?.description == "/etc/passwd: not an ELF file")
    #expect(throws: FileError.self) {
      try DWARFTypes(path: "/nonexistent/vmlinux", cache: .disabled)
    }
  }
}
