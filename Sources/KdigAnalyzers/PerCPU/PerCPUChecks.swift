// The checks of `cea --verify`: each one compares the dump with what the kernel's own code
// writes (cpu_entry_area.c setup_cpu_entry_area, common.c gdt_page / cpu_init /
// cpu_init_exception_handling / setup_getcpu / tss_setup_ist / tss_setup_io_bitmap,
// desc.h set_tss_desc / load_fixmap_gdt / load_TLS). One tampered fact gives one finding.

import KdigBinary
import KdigKernel
import KdigX86

struct PerCPUChecks {
  let kernel: KernelImage
  let layout: CEALayout
  /// CR4.PGE / X86_FEATURE_PGE: cea_set_pte sets _PAGE_GLOBAL on present entries.
  let pge: Bool
  let cpus: PerCPUSet

  // MARK: - cpu_entry_area pages

  func checkArea(_ area: CPUEntryArea, _ checks: inout [CheckResult], _ findings: inout [Finding]) {
    let cpu = area.cpu
    if let p = area.ceaExceptionStacksPointer, let estacks = layout.fields.first(where: { $0.name.hasPrefix("estacks.") }) {
      let want = area.base.value &+ UInt64(estacks.offset)
      if p.value == want {
        checks.append(CheckResult("cea.cpu\(cpu).slot", "passed", "per_cpu(cea_exception_stacks) = &cea->estacks \(p) (slot \(area.slot) from \(area.slotSource))"))
      } else {
        checks.append(CheckResult("cea.cpu\(cpu).slot", "failed", "per_cpu(cea_exception_stacks) \(p) is not \(Hex64(want))"))
        findings.append(Finding(.error, "cea.slot-mismatch", "CPU \(cpu): per_cpu(cea_exception_stacks) \(p) is not &cea->estacks \(Hex64(want)) of slot \(area.slot)", evidence: ["cpu": "\(cpu)", "pointer": p.description, "expected": Hex64(want).description]))
      }
    }
    var byField: [String: [String]] = [:]
    var order: [String] = []
    for page in area.pages {
      if byField[page.field] == nil { order.append(page.field) }
      var problems = byField[page.field] ?? []
      for (code, message) in pageProblems(page) {
        problems.append(message)
        var evidence = ["cpu": "\(cpu)", "virtual": page.virtual.description, "field": page.field, "expected": page.expected]
        if let e = page.entry { evidence["entry"] = e.description }
        if let p = page.physical { evidence["frame"] = p.description }
        if let b = page.backingPhysical { evidence["backingFrame"] = b.description }
        if let b = page.backing { evidence["backing"] = b }
        findings.append(Finding(.error, code, "CPU \(cpu) \(page.field)+0x\(hex(UInt64(page.offsetInField))) \(page.virtual): \(message)", evidence: evidence))
      }
      byField[page.field] = problems
    }
    for f in order {
      let pages = area.pages.filter { $0.field == f }
      let problems = byField[f] ?? []
      let first = pages.first
      let detail = problems.isEmpty
        ? "\(pages.count) page\(pages.count == 1 ? "" : "s"): \(first?.mapped == true ? (first?.effective ?? "") + (first?.global == true ? " GLOBAL" : "") : first?.note ?? "not mapped") (expected \(first?.expected ?? ""))"
          + (first?.mapped == true ? first?.backing.map { ", frames = \($0)" } ?? "" : "")
        : problems.joined(separator: "; ")
      checks.append(CheckResult("cea.cpu\(cpu).\(f)", problems.isEmpty ? "passed" : "failed", detail))
    }
  }

  /// (finding id, message) for every way a page differs from its expectation.
  func pageProblems(_ page: CEAPage) -> [(String, String)] {
    var out: [(String, String)] = []
    switch page.expectation {
    case .readOnly, .writable, .optionalWritable:
      guard page.mapped else {
        if case .optionalWritable = page.expectation { return [] }
        return [("cea.page-unmapped", "not mapped (\(page.note ?? "")); the kernel maps \(page.backing ?? "it") here")]
      }
      if page.executable { out.append(("cea.executable", "executable: the kernel maps every cpu_entry_area page NX")) }
      if page.user { out.append(("cea.user-accessible", "user-accessible (U/S set on every level)")) }
      if case .readOnly = page.expectation, page.writable {
        let code = page.field == "gdt" ? "cea.gdt-writable" : page.field == "tss" ? "cea.tss-writable" : "cea.writable"
        out.append((code, "writable: the kernel maps it PAGE_KERNEL_RO"))
      }
      if case .readOnly = page.expectation {} else if !page.writable {
        out.append(("cea.stack-readonly", "read-only: the kernel maps it PAGE_KERNEL (the CPU writes this stack)"))
      }
      if pge && !page.global { out.append(("cea.not-global", "not GLOBAL: cea_set_pte sets _PAGE_GLOBAL when the CPU has PGE")) }
      if let frame = page.physical, let want = page.backingPhysical, frame.value & ~0xfff != want.value & ~0xfff {
        out.append(("cea.frame-mismatch", "maps frame \(frame), not \(page.backing ?? "its per-CPU object")'s \(want)"))
      }
    case .unmapped(let why):
      if page.mapped {
        out.append((page.field.hasSuffix("_guard") ? "cea.guard-mapped" : "cea.unexpected-mapping", "mapped (\(page.effective ?? "") → \(page.physical?.description ?? "?")): expected \(why)"))
      }
    case .inaccessible(let why):
      if page.mapped { out.append(("cea.debug-buffers-mapped", "present (\(page.effective ?? "")): expected \(why)")) }
    }
    return out
  }

  /// One passed check, or a failed check with one error finding per problem.
  static func record(
    _ check: String, _ code: String, _ subject: String, _ problems: [String], _ ok: String,
    _ evidence: [String: String], _ checks: inout [CheckResult], _ findings: inout [Finding]
  ) {
    guard !problems.isEmpty else { return checks.append(CheckResult(check, "passed", ok)) }
    checks.append(CheckResult(check, "failed", problems.joined(separator: "; ")))
    for p in problems { findings.append(Finding(.error, code, "\(subject): \(p)", evidence: evidence)) }
  }

  // MARK: - GDT

  /// GDT_ENTRY_INIT values of common.c's gdt_page (x86-64), used when the vmlinux file's
  /// initial gdt_page cannot be read: (flags, 0, 0xfffff) with DESC_CODE32/64, DESC_DATA64, DESC_USER.
  static let knownInitialGDT: [Int: UInt64] = [
    1: 0x00cf_9b00_0000_ffff, 2: 0x00af_9b00_0000_ffff, 3: 0x00cf_9300_0000_ffff,
    4: 0x00cf_fb00_0000_ffff, 5: 0x00cf_f300_0000_ffff, 6: 0x00af_fb00_0000_ffff, 7: 0,
  ]

  func checkGDT(_ g: CPUGDT, area: CPUEntryArea, _ checks: inout [CheckResult], _ findings: inout [Finding]) {
    let cpu = g.cpu
    func add(_ name: String, _ code: String, _ problems: [String], _ ok: String, _ evidence: [String: String] = [:]) {
      Self.record("gdt.cpu\(cpu).\(name)", code, "CPU \(cpu) GDT", problems, ok, evidence.merging(["cpu": "\(cpu)"]) { a, _ in a }, &checks, &findings)
    }
    if let agree = g.viewsAgree {
      add("views", "gdt.views-differ", agree ? [] : ["the CEA alias \(g.alias) and gdt_page \(g.backing?.description ?? "?") hold different bytes"],
        "the CEA alias and gdt_page hold the same 128 bytes")
    }
    // Code and data segments 1–7 as GDT_ENTRY_INIT set them; the CPU may set the accessed bit.
    let initialSource = g.initialEntries != nil ? "gdt_page in the vmlinux file" : "common.c's GDT_ENTRY_INIT values"
    for index in 1...7 {
      guard index < g.rawEntries.count else { break }
      let want = g.initialEntries?[index] ?? Self.knownInitialGDT[index] ?? 0
      let have = g.rawEntries[index]
      let accessed: UInt64 = 1 << 40
      let name = LinuxGDT.name(ofEntry: index) ?? "slot \(index)"
      if have | accessed == want | accessed {
        checks.append(CheckResult("gdt.cpu\(cpu).\(name)", "passed", "\(Hex64(have)) as \(initialSource)"))
        continue
      }
      let (h, w) = (SegmentDescriptor(have), SegmentDescriptor(want))
      var differs: [String] = []
      if h.dpl != w.dpl { differs.append("DPL \(h.dpl) (expected \(w.dpl))") }
      if h.rawType | 1 != w.rawType | 1 || h.s != w.s { differs.append("type \(h.codeDataType?.description ?? "system") (expected \(w.codeDataType?.description ?? "system"))") }
      if h.long != w.long || h.defaultBig != w.defaultBig { differs.append("L/D \(h.long ? 1 : 0)/\(h.defaultBig ? 1 : 0) (expected \(w.long ? 1 : 0)/\(w.defaultBig ? 1 : 0))") }
      if h.present != w.present { differs.append(h.present ? "present" : "not present") }
      if h.base != w.base || h.limit != w.limit || h.granularity != w.granularity { differs.append("base/limit \(hex0x(UInt64(h.base)))/\(hex0x(UInt64(h.byteLimit)))") }
      if differs.isEmpty { differs.append("other bits") }
      let code = differs.count == 1 && h.dpl != w.dpl ? "gdt.segment-dpl" : "gdt.segment-differs"
      add(name, code, ["\(name) is \(Hex64(have)): \(differs.joined(separator: ", ")); \(initialSource) has \(Hex64(want))"], "",
        ["slot": "\(index)", "found": Hex64(have).description, "expected": Hex64(want).description])
    }
    checkTSSDescriptor(g, area: area, add)
    // LDT: empty (clear_LDT loads a null LDTR without writing the slot) or an LDT descriptor.
    if LinuxGDT.ldt + 1 < g.rawEntries.count {
      let low = g.rawEntries[LinuxGDT.ldt]
      let ldt = SystemSegmentDescriptor(low: low, high: g.rawEntries[LinuxGDT.ldt + 1])
      let ok = low == 0 || (ldt.type == .ldt && ldt.dpl == 0 && !ldt.systemBit)
      add("ldt", "gdt.ldt", ok ? [] : ["GDT_ENTRY_LDT is \(Hex64(low)): \(ldt.type), DPL \(ldt.dpl) (expected empty or a DPL-0 LDT descriptor)"],
        low == 0 ? "empty (no task with an LDT was running)" : "LDT at \(Hex64(ldt.base)), limit \(hex0x(UInt64(ldt.byteLimit)))")
    }
    checkTLS(g, add)
    checkCPUNode(g, add)
    if let base = g.gdtrBase, let limit = g.gdtrLimit {
      var p: [String] = []
      if base != area.gdt { p.append("GDTR base \(base) is not the CEA gdt \(area.gdt) (load_fixmap_gdt)") }
      if limit != LinuxGDT.entries * 8 - 1 { p.append("GDTR limit \(hex0x(UInt64(limit))) is not GDT_SIZE-1 0x7f") }
      add("gdtr", "gdt.gdtr", p, "GDTR \(base)/0x7f = the CEA alias (CPU state note)")
    } else {
      checks.append(CheckResult("gdt.cpu\(cpu).gdtr", "skipped", "the dump has no CPU GDTR (only QEMU dumps carry it)"))
    }
    if let tr = g.trSelector {
      let want = SegmentSelector(index: LinuxGDT.tss).description
      add("tr", "gdt.tr", tr == want ? [] : ["TR selector \(tr) is not GDT_ENTRY_TSS*8 \(want)"], "TR = \(tr)")
    }
  }

  /// set_tss_desc(cpu, &get_cpu_entry_area(cpu)->tss.x86_tss): base = the CEA TSS, limit =
  /// __KERNEL_TSS_LIMIT, type 64-bit TSS made busy by LTR, DPL 0, present.
  func checkTSSDescriptor(_ g: CPUGDT, area: CPUEntryArea, _ add: (String, String, [String], String, [String: String]) -> Void) {
    guard LinuxGDT.tss + 1 < g.rawEntries.count else { return }
    let d = SystemSegmentDescriptor(low: g.rawEntries[LinuxGDT.tss], high: g.rawEntries[LinuxGDT.tss + 1])
    let ev = ["base": Hex64(d.base).description, "expected": area.tss.description]
    add("tss-base", "gdt.tss-base", d.base == area.tss.value ? [] : ["TSS descriptor base \(Hex64(d.base)) is not the CEA TSS \(area.tss)"],
      "TSS descriptor base \(Hex64(d.base)) = &cea->tss.x86_tss", ev)
    add("tss-type", "gdt.tss-type", d.type == .busyTSS ? [] : ["TSS descriptor type is \(d.type) (expected 64-bit TSS (Busy): LTR marks it busy)"],
      "64-bit TSS (Busy)", ev)
    add("tss-limit", "gdt.tss-limit", Int(d.byteLimit) == layout.kernelTSSLimit ? [] : ["TSS descriptor limit \(hex0x(UInt64(d.byteLimit))) is not __KERNEL_TSS_LIMIT \(hex0x(UInt64(layout.kernelTSSLimit)))"],
      "limit \(hex0x(UInt64(d.byteLimit))) = __KERNEL_TSS_LIMIT", ev)
    var p: [String] = []
    if d.dpl != 0 { p.append("TSS descriptor DPL \(d.dpl) (expected 0)") }
    if !d.present { p.append("TSS descriptor not present") }
    if !d.upperTypeBitsClear || !d.reservedBitsClear || d.systemBit { p.append("TSS descriptor reserved bits set") }
    add("tss-descriptor", "gdt.tss-descriptor", p, "DPL 0, present, reserved bits clear", ev)
  }

  /// load_TLS copies the running task's thread.tls_array into slots 12–14; set_thread_area
  /// accepts only DPL-3 code/data descriptors (fill_ldt: DPL 3, S = 1).
  func checkTLS(_ g: CPUGDT, _ add: (String, String, [String], String, [String: String]) -> Void) {
    var p: [String] = []
    for (i, index) in (LinuxGDT.tlsMin...LinuxGDT.tlsMax).enumerated() where index < g.rawEntries.count {
      let v = g.rawEntries[index]
      let d = SegmentDescriptor(v)
      if v != 0 && d.present && (d.dpl != 3 || d.isSystem) {
        p.append("TLS slot \(index) \(Hex64(v)) has DPL \(d.dpl)\(d.isSystem ? ", system type" : ""): set_thread_area only installs DPL-3 code/data")
      }
      if let tls = g.tlsArray, i < tls.count, tls[i].value != v {
        p.append("TLS slot \(index) \(Hex64(v)) differs from the current task's tls_array[\(i)] \(tls[i])")
      }
    }
    let who = g.currentTask.map { "the current task \($0)'s tls_array" } ?? "DPL-3 rules (current task unknown)"
    add("tls", "gdt.tls", p, "slots 12–14 match \(who)", [:])
  }

  /// setup_getcpu: limit = vdso_encode_cpunode(cpu, node) = node << 12 | cpu, type 5 (RO data,
  /// expand-down, accessed), DPL 3, S, P, D.
  func checkCPUNode(_ g: CPUGDT, _ add: (String, String, [String], String, [String: String]) -> Void) {
    guard LinuxGDT.perCPU < g.rawEntries.count else { return }
    let d = SegmentDescriptor(g.rawEntries[LinuxGDT.perCPU])
    var p: [String] = []
    let cpuBits = Int(d.limit & 0xfff)
    let node = Int(d.limit >> 12)
    if cpuBits != g.cpu { p.append("CPUNODE limit encodes CPU \(cpuBits), not \(g.cpu)") }
    if let n = numaNode(g.cpu), n != node { p.append("CPUNODE limit encodes node \(node), not \(n)") }
    if d.rawType != 5 || !d.s || d.dpl != 3 || !d.present || !d.defaultBig {
      p.append("CPUNODE descriptor \(Hex64(d.raw)) is not type 5, DPL 3, S, P, D as setup_getcpu writes it")
    }
    add("cpunode", "gdt.cpunode", p, "GDT_ENTRY_CPUNODE limit \(hex0x(UInt64(d.limit))) = node \(node) << 12 | CPU \(cpuBits)", ["limit": hex0x(UInt64(d.limit))])
  }

  /// per_cpu(numa_node, cpu) where the kernel keeps it (CONFIG_USE_PERCPU_NUMA_NODE_ID).
  func numaNode(_ cpu: Int) -> Int? {
    guard let a = try? kernel.perCPUAddress("numa_node", cpu: cpu, in: cpus),
      let v = try? kernel.kernelSpace.integer(Int32.self, at: a), v >= 0
    else { return nil }
    return Int(v)
  }

  // MARK: - TSS

  func checkTSS(_ t: CPUTSS, area: CPUEntryArea, _ checks: inout [CheckResult], _ findings: inout [Finding]) {
    let cpu = t.cpu
    func add(_ name: String, _ code: String, _ problems: [String], _ ok: String, _ evidence: [String: String] = [:]) {
      Self.record("tss.cpu\(cpu).\(name)", code, "CPU \(cpu) TSS", problems, ok, evidence.merging(["cpu": "\(cpu)"]) { a, _ in a }, &checks, &findings)
    }
    if let agree = t.viewsAgree {
      add("views", "tss.views-differ", agree ? [] : ["the CEA alias \(t.alias) and cpu_tss_rw \(t.backing?.description ?? "?") hold different x86_hw_tss bytes"],
        "the CEA alias and cpu_tss_rw hold the same x86_hw_tss")
    }
    add("sp0", "tss.sp0", t.sp0 == t.entryStackTop ? [] : ["sp0 \(t.sp0) is not the top of the CPU's entry stack \(t.entryStackTop) (cpu_init: load_sp0)"],
      "sp0 \(t.sp0) = cpu_entry_stack(\(cpu)) + 1", ["sp0": t.sp0.description, "expected": t.entryStackTop.description])
    for slot in t.ist {
      if let want = slot.expected, let stack = slot.stack {
        add("ist\(slot.ist)", "tss.ist", slot.value == want ? [] : ["IST\(slot.ist) \(slot.value) is not the top of the \(stack) stack \(want) (tss_setup_ist)\(kernel.symbolName(slot.value.value).map { ", it points into \($0)" } ?? "")"],
          "IST\(slot.ist) = top of the \(stack) stack \(want)", ["ist": "\(slot.ist)", "value": slot.value.description, "expected": want.description])
      } else {
        add("ist\(slot.ist)", "tss.ist", slot.value.value == 0 ? [] : ["IST\(slot.ist) \(slot.value) is set but the kernel leaves it 0"],
          "IST\(slot.ist) unused (0)", ["ist": "\(slot.ist)", "value": slot.value.description])
      }
    }
    let validBases = [layout.ioBitmapInvalid, layout.ioBitmapValidMap, layout.ioBitmapValidAll].compactMap { $0 }
    add("io-bitmap", "tss.io-bitmap", validBases.contains(t.ioBitmapBase) ? [] : ["io_bitmap_base \(hex0x(UInt64(t.ioBitmapBase))) is none of \(validBases.map { hex0x(UInt64($0)) })"],
      "io_bitmap_base \(hex0x(UInt64(t.ioBitmapBase))): \(t.ioBitmap)")
    add("reserved", "tss.reserved", t.reservedBitsClear ? [] : ["reserved fields are not zero"], "reserved fields zero")
    if let tr = t.trBase {
      add("tr-base", "tss.tr-base", tr == area.tss ? [] : ["TR base \(tr) is not the CEA TSS \(area.tss)"], "TR base \(tr) = &cea->tss.x86_tss (CPU state note)")
    } else {
      checks.append(CheckResult("tss.cpu\(cpu).tr-base", "skipped", "the dump has no CPU TR (only QEMU dumps carry it)"))
    }
  }
}
