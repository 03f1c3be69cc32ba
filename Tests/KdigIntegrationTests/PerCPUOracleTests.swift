// `cea --verify` on every real sample: clean dumps verify with no finding, and every per-CPU
// fact equals what drgn 0.3.0 reads from the same dump (Samples/oracles/percpu_drgn.py,
// PERCPU.md): area address and slot, all 59 pages' frames, backing objects, both views of
// the GDT and of the TSS, current task, pcpu_hot / per-CPU variables, cpu_tlbstate.
// Samples drgn cannot open use the oracle of the sample with the same memory; only the
// no-VMCOREINFO sample has none (drgn cannot open it and it has no twin).

import Foundation
import Kdig
import KdigTestSupport
import KdigX86
import Testing

@Suite struct PerCPUOracleTests {
  static func oracle(_ s: Sample) -> [String: Any]? { s.drgnOracle("percpu.drgn") }

  static let withoutOracle: Set<String> = ["6.12-novmcoreinfo-qemu-elf"]

  @Test(arguments: Samples.forTests)
  func cleanDumpVerifiesAndEqualsDrgn(sample: Sample) throws {
    let s = try sample.require()
    let kernel = try Session(dumpPath: s.file, vmlinuxPath: s.vmlinux).kernel
    let report = try PerCPUVerifier(kernel: kernel).report()
    #expect(report.errors == 0, "\(s.name): \(report.findings.map(\.message))")
    #expect(report.unreadable.isEmpty, "\(s.name): \(report.unreadable)")
    #expect(report.summary.hasPrefix("PER-CPU OK"), "\(s.name): \(report.summary)")
    #expect(!report.checks.contains { $0.status == "failed" })
    let twin = try Samples.named(s.same_memory_as ?? s.name)
    guard let o = Self.oracle(s) ?? Self.oracle(twin) else {
      #expect(Self.withoutOracle.contains(s.name), "\(s.name): no drgn per-CPU oracle")
      return
    }
    let oracleCPUs = try #require(o["cpus"] as? [[String: Any]])
    #expect(report.cpus.map(\.area.cpu) == oracleCPUs.compactMap { $0["cpu"] as? Int }, "\(s.name): CPU list")
    let states = try kernel.cpuStates()
    for (state, oc) in zip(report.cpus, oracleCPUs) {
      try compare(state, oc, states.first { $0.cpu == state.area.cpu }, s.name)
    }
    let panic = o["panic_cpu"] as? Int
    for st in states {
      #expect(st.status.hasPrefix("panicking") == (panic == st.cpu), "\(s.name) CPU \(st.cpu): \(st.status)")
      #expect(st.online == ((o["online_cpus"] as? [Int]) ?? []).contains(st.cpu))
    }
  }

  func compare(_ st: CPUEntryState, _ o: [String: Any], _ cpuState: CPUState?, _ name: String) throws {
    let cpu = st.area.cpu
    let what = "\(name) CPU \(cpu)"
    let cea = try #require(o["cea"] as? [String: Any])
    #expect(hexString(cea["address"]) == st.area.base.value, "\(what): cea address")
    #expect(cea["slot"] as? Int == st.area.slot, "\(what): slot")
    // Every page: drgn's follow_phys frame (or not mapped) equals kdig's walk; backing frames too.
    let pages = try #require(o["cea_pages"] as? [[String: Any]])
    #expect(pages.count == st.area.pages.count, "\(what): page count")
    for (mine, theirs) in zip(st.area.pages, pages) {
      #expect(hexString(theirs["address"]) == mine.virtual.value, "\(what): page address")
      let phys = hexString(theirs["phys"])
      #expect(phys == mine.physical?.value, "\(what) \(mine.field)+\(mine.offsetInField): kdig \(mine.physical?.description ?? "unmapped") drgn \(theirs["phys"] ?? "nil")")
      if mine.mapped, let b = hexString(theirs["backing_phys"]) {
        #expect(b == mine.backingPhysical?.value, "\(what) \(mine.field): backing frame")
      }
    }
    // GDT through gdt_page and through the CEA alias.
    let gdt = try #require(st.gdt)
    let drgnGDT = ((o["gdt"] as? [String: Any])?["raw"] as? [String])?.compactMap { hexString($0) }
    let drgnAlias = ((o["gdt_alias"] as? [String: Any])?["raw"] as? [String])?.compactMap { hexString($0) }
    #expect(drgnGDT == gdt.entries.map(\.raw.value), "\(what): gdt_page")
    #expect(drgnAlias == gdt.entries.map(\.raw.value), "\(what): GDT alias")
    #expect(hexString((o["gdt"] as? [String: Any])?["address"]) == gdt.backing?.value)
    // TSS fields through both views.
    let tss = try #require(st.tss)
    for key in ["tss", "tss_alias"] {
      let t = try #require(o[key] as? [String: Any], "\(what): \(key)")
      #expect(hexString(t["sp0"]) == tss.sp0.value, "\(what) \(key).sp0")
      #expect(hexString(t["sp1"]) == tss.sp1.value, "\(what) \(key).sp1")
      #expect(hexString(t["sp2"]) == tss.sp2.value, "\(what) \(key).sp2")
      #expect((t["ist"] as? [String])?.compactMap { hexString($0) } == tss.ist.map(\.value.value), "\(what) \(key).ist")
      #expect(t["io_bitmap_base"] as? Int == tss.ioBitmapBase, "\(what) \(key).io_bitmap_base")
    }
    #expect(hexString((o["tss_alias"] as? [String: Any])?["address"]) == tss.alias.value)
    // What the kernel derives from the area: entry-stack and exception-stack tops.
    let tops = try #require((o["stack_tops"] as? [String: Any])?["estacks"] as? [String: [String: Any]])
    for (stack, v) in tops {
      #expect(hexString(v["top"]) == st.area.exceptionStackTops[stack]?.value, "\(what): \(stack) top")
    }
    // Per-CPU state.
    let state = try #require(o["state"] as? [String: Any])
    let mine = try #require(cpuState)
    #expect(hexString(state["current_task"]) == mine.currentTask?.value, "\(what): current_task")
    #expect(hexString(state["top_of_stack"]) == mine.values["top_of_stack"]?.value, "\(what): top_of_stack")
    #expect(hexString(state["hardirq_stack_ptr"]) == mine.values["hardirq_stack_ptr"]?.value, "\(what): hardirq_stack_ptr")
    #expect((state["hardirq_stack_inuse"] as? Bool) == mine.hardirqStackInUse, "\(what): hardirq_stack_inuse")
    #expect(hexString(state["preempt_count_hex"]) == mine.preemptCount.map(UInt64.init), "\(what): preempt_count")
    let current = try #require(o["current"] as? [String: Any])
    #expect(current["pid"] as? Int == mine.currentPID.map(Int.init), "\(what): pid")
    #expect(current["comm"] as? String == mine.currentComm, "\(what): comm")
    #expect((current["tls_array"] as? [String])?.compactMap { hexString($0) } == gdt.tlsArray?.map(\.value), "\(what): tls_array")
    let tlb = try #require(o["tlbstate"] as? [String: Any])
    #expect(hexString(tlb["loaded_mm"]) == mine.loadedMM?.value, "\(what): loaded_mm")
    #expect(tlb["loaded_mm_asid"] as? Int == mine.loadedMMASID, "\(what): loaded_mm_asid")
    #expect(tlb["next_asid"] as? Int == mine.nextASID, "\(what): next_asid")
    let ctxs = (tlb["ctxs"] as? [[String: Any]]) ?? []
    #expect(ctxs.map { UInt64($0["ctx_id"] as? Int ?? -1) } == mine.contexts.map(\.ctxID), "\(what): ctxs ctx_id")
    #expect(ctxs.map { UInt64($0["tlb_gen"] as? Int ?? -1) } == mine.contexts.map(\.tlbGen), "\(what): ctxs tlb_gen")
  }

  /// The kernel's struct x86_hw_tss (DWARF) is the SDM's 64-bit TSS, field for field.
  @Test func dwarfTSSLayoutIsTheSDMs() throws {
    for name in ["6.12-qemu-elf", "6.1-qemu-elf"] {
      let s = try Samples.named(name).require()
      let t = try Session(dumpPath: s.file, vmlinuxPath: s.vmlinux).kernel.types()
      #expect(try t.sizeof("struct x86_hw_tss") == TaskStateSegment.size, "\(name)")
      for (field, offset) in TaskStateSegment.offsets {
        #expect(try t.offsetof("x86_hw_tss.\(field)") == offset, "\(name): x86_hw_tss.\(field)")
      }
    }
  }
}
