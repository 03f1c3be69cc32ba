// Two audits of the kernel's page tables, for `kdig check`:
//  - W^X: no kernel mapping both writable and executable, the kernel's CONFIG_DEBUG_WX check
//    (arch/x86/mm/dump_pagetables.c ptdump_walk_pgd_level_checkwx, "x86/mm: Checked W+X
//    mappings"), on the kernel page tables and on PTI's user tables;
//  - PTI: the user PGD (init_top_pgt + 4096) maps only what arch/x86/mm/pti.c clones into it:
//    the cpu_entry_area (pti_clone_user_shared: the whole P4D), each CPU's cpu_tss_rw page
//    (the SYSCALL64 scratch word), the entry text (pti_clone_entry_text), the ESPFIX P4D
//    (pti_setup_espfix64), the vsyscall page (pti_setup_vsyscall), the LDT remap (per mm) and,
//    when the kernel image may be global (pti_kernel_image_global_ok: no PCID), the kernel
//    text and rodata (pti_clone_kernel_text, read-only). Anything else of the kernel is a leak.
// Both walks use PageTableTraversal, bounded in work (docs/hardening.md).

import KdigBinary
import KdigKernel
import KdigTranslation

/// The result of one audit: named checks with evidence and findings with stable ids.
public struct MappingAudit: Sendable {
  public var checks: [CheckResult] = []
  public var findings: [Finding] = []
}

/// Audits the kernel's and PTI's page tables.
public struct KernelMappingAudit {
  public let kernel: KernelImage
  /// Findings listed per audit before the rest are counted only.
  static let maxFindings = 16

  public init(kernel: KernelImage) { self.kernel = kernel }

  var kernelHalfStart: UInt64 {
    kernel.layout.pagingMode.value == .fiveLevel ? 0xff10_0000_0000_0000 : 0xffff_8800_0000_0000
  }

  func space(user: Bool) -> ResolvedSpace {
    let root = kernel.layout.rootTable.value
    return ResolvedSpace(
      root: Hex64(user ? root | 0x1000 : root), pgdVirtual: nil,
      description: user ? "kernel (init_top_pgt), PTI user PGD" : "kernel (init_top_pgt)", userPGD: user, cr3: nil,
      task: nil)
  }

  /// W+X ranges in the kernel half of the kernel tables, and anywhere in PTI's user tables.
  public func writableExecutable() -> MappingAudit {
    var audit = MappingAudit()
    let dumper = PageTableDump(kernel: kernel)
    let pti = kernel.memoryMap().pti?.value ?? false
    for (user, id) in [(false, "wx.kernel-mapping"), (true, "wx.pti-user-mapping")] where !user || pti {
      let report = dumper.dump(space: space(user: user), from: user ? 0 : kernelHalfStart, to: 0)
      let wx = report.ranges.filter(\.writableExecutable)
      let name = user ? "wx.pti-user" : "wx.kernel"
      let what = user ? "PTI's user page tables" : "the kernel page tables"
      for r in wx.prefix(Self.maxFindings) {
        audit.findings.append(
          Finding(
            .error, id, "\(hex0x(r.start.value))-\(hex0x(r.end.value)) is writable and executable in \(what) (\(r.symbol ?? r.region))",
            evidence: ["range": "\(hex0x(r.start.value))-\(hex0x(r.end.value))", "prot": r.prot, "level": r.level,
              "region": r.region, "physical": r.physical.map { hex0x($0.value) } ?? "-"]))
      }
      let walked = "\(report.entriesVisited) entries\(report.complete ? "" : ", INCOMPLETE: " + report.notes.joined(separator: "; "))"
      audit.checks.append(
        CheckResult(
          name, wx.isEmpty ? "passed" : "failed",
          wx.isEmpty ? "no W+X mapping in \(what) (\(walked))" : "\(wx.count) W+X ranges in \(what) (\(walked))"))
    }
    if !pti { audit.checks.append(CheckResult("wx.pti-user", "skipped", "PTI is off: no user page tables")) }
    return audit
  }

  /// What PTI's user page tables map of the kernel, against what pti.c clones.
  public func ptiUserTables() -> MappingAudit {
    var audit = MappingAudit()
    guard kernel.memoryMap().pti?.value == true else {
      audit.checks.append(CheckResult("pti.user-tables", "skipped", "PTI is off: no user page tables"))
      return audit
    }
    let allowed = allowedUserRanges()
    let report = PageTableDump(kernel: kernel).dump(space: space(user: true), from: kernelHalfStart, to: 0)
    var leaks: [PtdumpRange] = []
    var writableImage: [PtdumpRange] = []
    for r in report.ranges where r.present && r.notWalked == nil {
      let covering = Self.covering(r, allowed)
      guard !covering.isEmpty else {
        leaks.append(r)
        continue
      }
      if covering.contains(where: \.readOnly), r.effective?.writable == true { writableImage.append(r) }
    }
    for r in leaks.prefix(Self.maxFindings) {
      audit.findings.append(
        Finding(
          .error, "pti.user-maps-kernel",
          "PTI's user page tables map \(hex0x(r.start.value))-\(hex0x(r.end.value)) (\(r.symbol ?? r.region), \(r.prot)): pti.c clones nothing there",
          evidence: ["range": "\(hex0x(r.start.value))-\(hex0x(r.end.value))", "region": r.region, "prot": r.prot,
            "physical": r.physical.map { hex0x($0.value) } ?? "-"]))
    }
    for r in writableImage.prefix(Self.maxFindings) {
      audit.findings.append(
        Finding(
          .error, "pti.user-image-writable",
          "PTI's user page tables map kernel image \(hex0x(r.start.value))-\(hex0x(r.end.value)) writable (pti_clone_kernel_text clones it read-only)",
          evidence: ["range": "\(hex0x(r.start.value))-\(hex0x(r.end.value))", "prot": r.prot]))
    }
    let ok = leaks.isEmpty && writableImage.isEmpty
    audit.checks.append(
      CheckResult(
        "pti.user-tables", ok ? "passed" : "failed",
        ok
          ? "the user PGD maps only what pti.c clones: \(allowed.map(\.name).joined(separator: ", "))"
          : "\(leaks.count) ranges of kernel memory mapped in the user page tables, \(writableImage.count) writable image ranges"))
    return audit
  }

  struct AllowedRange {
    var name: String
    var start: UInt64
    /// Exclusive; 0 means the top of the address space.
    var end: UInt64
    var readOnly: Bool
  }

  /// The allowed ranges that together cover all of `r`, or [] when some part of it is outside them.
  static func covering(_ r: PtdumpRange, _ allowed: [AllowedRange]) -> [AllowedRange] {
    // Inclusive last addresses, so that ranges ending at the top of the space (end 0) compare.
    let last = r.end.value &- 1
    var cursor = r.start.value
    var used: [AllowedRange] = []
    for _ in 0...allowed.count {
      guard let a = allowed.first(where: { cursor >= $0.start && cursor <= $0.end &- 1 }) else { return [] }
      used.append(a)
      if last <= a.end &- 1 { return used }
      cursor = a.end
    }
    return []
  }

  func allowedUserRanges() -> [AllowedRange] {
    let five = kernel.layout.pagingMode.value == .fiveLevel
    let p4d: UInt64 = 1 << 39
    let pmd: UInt64 = 1 << 21
    var out = [
      AllowedRange(name: "cpu_entry_area", start: KernelConstants.cpuEntryAreaBase, end: KernelConstants.cpuEntryAreaBase &+ p4d, readOnly: false),
      AllowedRange(name: "ESPFIX", start: 0xffff_ff00_0000_0000, end: 0xffff_ff00_0000_0000 &+ p4d, readOnly: false),
      AllowedRange(name: "vsyscall page", start: 0xffff_ffff_ff60_0000, end: 0xffff_ffff_ff60_1000, readOnly: true),
    ]
    // LDT_BASE_ADDR = LDT_PGD_ENTRY << PGDIR_SHIFT, one PGD entry (pgtable_64_types.h).
    let ldt: UInt64 = five ? 0xff90_0000_0000_0000 : 0xffff_8800_0000_0000
    out.append(AllowedRange(name: "LDT remap", start: ldt, end: ldt &+ (five ? 1 << 48 : p4d), readOnly: false))
    // Entry text and (global image) the kernel's text and rodata, cloned at PMD granularity.
    func symbol(_ n: String) -> UInt64? { try? kernel.lookup(n).address }
    if let s = symbol("__entry_text_start"), let e = symbol("__entry_text_end") {
      out.append(AllowedRange(name: "entry text", start: s & ~(pmd - 1), end: (e &+ pmd &- 1) & ~(pmd - 1), readOnly: true))
    }
    let pcid = kernel.cpuFeature("pcid")?.set ?? false
    if !pcid, let s = symbol("_text"), let e = symbol("__end_rodata_aligned") ?? symbol("__end_rodata") {
      out.append(AllowedRange(name: "kernel text and rodata (global image: no PCID)", start: s & ~(pmd - 1), end: (e &+ pmd &- 1) & ~(pmd - 1), readOnly: true))
    }
    // Each CPU's cpu_tss_rw page (pti_clone_user_shared: the sp2 scratch slot).
    if let cpus = try? kernel.perCPUSet() {
      for cpu in cpus.possible {
        guard let a = try? kernel.perCPUAddress("cpu_tss_rw", cpu: cpu, in: cpus) else { continue }
        out.append(AllowedRange(name: "CPU \(cpu) cpu_tss_rw", start: a & ~0xfff, end: (a & ~0xfff) &+ 0x1000, readOnly: false))
      }
    }
    return out
  }
}
