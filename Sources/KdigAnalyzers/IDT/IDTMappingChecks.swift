// The read-only proof: how the IDT page is mapped (cpu_entry_area alias, idt_table's kernel
// mapping, the direct-map alias of the frame, PTI's user page tables) and what each CPU's
// IDTR points at.

import KdigBinary
import KdigKernel
import KdigTranslation

/// Checks of the IDT's mappings and IDTRs.
struct IDTMappingChecks {
  let kernel: KernelImage
  let views: IDTViews
  /// CPU_ENTRY_AREA_RO_IDT and IDT_TABLE_SIZE − 1 (256 gates × 16 bytes − 1).
  static let roIDT = KernelConstants.cpuEntryAreaBase
  static let idtLimit = 256 * 16 - 1

  func run(_ checks: inout [CheckResult], _ findings: inout [Finding]) {
    let walker = kernel.kernelSpace.walker
    let root = kernel.layout.rootTable.value
    let idtPA = kernel.layout.physicalAddress(ofKernelImage: views.idtTable)
    // 1. The CEA alias leaf.
    let alias = try? walker.walk(Self.roIDT, root: root)
    let table = try? walker.walk(views.idtTable, root: root)
    if let alias {
      var problems: [String] = []
      let p = alias.permissions
      if p.writable { problems.append("writable") }
      if p.executable { problems.append("executable (no NX)") }
      if p.user { problems.append("user-accessible") }
      if !alias.leaf.global && pgeEnabled != false { problems.append("not GLOBAL") }
      if alias.pageBase != idtPA { problems.append("frame \(hex0x(alias.pageBase)) is not __pa_symbol(idt_table) \(hex0x(idtPA))") }
      if let table, table.pageBase != alias.pageBase {
        problems.append("frame differs from idt_table's kernel mapping (\(hex0x(table.pageBase)))")
      }
      let evidence = ["leaf": hex0x(alias.leaf.raw), "frame": hex0x(alias.pageBase), "__pa_symbol(idt_table)": hex0x(idtPA),
        "effective": p.summary]
      record("mapping.cea-alias", problems, "CEA alias 0xfffffe0000000000 → \(hex0x(alias.pageBase)): \(p.summary), \(alias.leaf.global ? "GLOBAL" : "not global")",
        code: "idt.cea-alias", evidence: evidence, &checks, &findings)
    } else {
      record("mapping.cea-alias", ["not mapped"], "", code: "idt.cea-alias", evidence: [:], &checks, &findings)
    }
    // 2. idt_table's own kernel mapping is read-only (set_memory_ro in idt_setup_apic_and_irq_gates).
    if let table {
      var problems: [String] = []
      if table.permissions.writable { problems.append("writable (set_memory_ro not in effect)") }
      if table.pageBase != idtPA { problems.append("frame \(hex0x(table.pageBase)) is not __pa_symbol(idt_table)") }
      record("mapping.idt-table-ro", problems, "idt_table \(hex0x(views.idtTable)) → \(hex0x(table.pageBase)): \(table.permissions.summary)",
        code: "idt.idt-table-writable", evidence: ["leaf": hex0x(table.leaf.raw), "effective": table.permissions.summary], &checks, &findings)
    } else {
      record("mapping.idt-table-ro", ["idt_table's kernel address is not mapped"], "", code: "idt.idt-table-unmapped", evidence: [:], &checks, &findings)
    }
    // 3. Every CPU's IDTR points at the alias with the full limit.
    if views.idtr.isEmpty {
      checks.append(CheckResult("idtr", "skipped", "the dump has no CPU IDTR and no readable idt_descr"))
    }
    for r in views.idtr {
      var problems: [String] = []
      if r.base.value != Self.roIDT { problems.append("base \(r.base) is not CPU_ENTRY_AREA_RO_IDT 0xfffffe0000000000") }
      if r.limit != Self.idtLimit { problems.append("limit \(hex0x(UInt64(r.limit))) is not 0xfff") }
      let who = r.cpu.map { "CPU \($0)" } ?? "idt_descr"
      record("idtr.\(r.cpu.map(String.init) ?? "idt_descr")", problems, "\(who) IDTR \(r.base)/\(hex0x(UInt64(r.limit))) (\(r.source))",
        code: "idt.idtr", evidence: ["base": r.base.description, "limit": hex0x(UInt64(r.limit)), "source": r.source], &checks, &findings)
    }
    // 4. PTI: the user page tables map the alias with the same leaf, and not idt_table.
    let pti = kernel.memoryMap().pti?.value ?? false
    if pti, let alias {
      let userRoot = root | 0x1000
      let userAlias = try? walker.walk(Self.roIDT, root: userRoot)
      let userTable = try? walker.walk(views.idtTable, root: userRoot)
      var problems: [String] = []
      if let u = userAlias {
        if u.leaf.raw != alias.leaf.raw { problems.append("user leaf \(hex0x(u.leaf.raw)) differs from the kernel's \(hex0x(alias.leaf.raw))") }
      } else {
        problems.append("the user page tables do not map the IDT alias (a CPU entering from user mode could not read its IDT)")
      }
      if let t = userTable { problems.append("the user page tables map idt_table's kernel address (\(hex0x(t.pageBase)))") }
      record("mapping.pti-user", problems, "PTI user PGD maps the alias with the kernel's leaf and not idt_table",
        code: "idt.pti-user", evidence: [:], &checks, &findings)
    } else {
      checks.append(CheckResult("mapping.pti-user", "skipped", pti ? "the alias is not mapped" : "PTI is off"))
    }
    // 5. The direct-map alias of the IDT frame. set_memory_ro() on idt_table also changes
    // the direct-map alias of its frame (cpa_process_alias), so it is expected read-only.
    let direct = kernel.memoryMap(pti: false).pageOffsetBase.value &+ idtPA
    if let d = try? walker.walk(direct, root: root) {
      let p = d.permissions
      var problems: [String] = []
      if p.writable { problems.append("the direct-map alias \(hex0x(direct)) of the IDT frame is writable") }
      if p.executable { problems.append("the direct-map alias is executable") }
      record("mapping.direct-map-alias", problems,
        "direct-map alias \(hex0x(direct)): \(p.summary) (expected read-only: set_memory_ro changes the alias too, cpa_process_alias)",
        code: "idt.direct-map-alias", evidence: ["leaf": hex0x(d.leaf.raw), "level": d.leafLevel.name], &checks, &findings)
    } else {
      checks.append(CheckResult("mapping.direct-map-alias", "passed", "the direct map does not map the IDT frame"))
    }
  }

  /// CR4.PGE (bit 7) of the CPU notes, when the dump has them.
  var pgeEnabled: Bool? { kernel.notes.qemuCPUs.first.map { $0.cr4 & (1 << 7) != 0 } }

  func record(
    _ name: String, _ problems: [String], _ ok: String, code: String, evidence: [String: String],
    _ checks: inout [CheckResult], _ findings: inout [Finding]
  ) {
    if problems.isEmpty {
      checks.append(CheckResult(name, "passed", ok))
    } else {
      checks.append(CheckResult(name, "failed", problems.joined(separator: "; ")))
      for p in problems { findings.append(Finding(.error, code, p, evidence: evidence)) }
    }
  }
}
