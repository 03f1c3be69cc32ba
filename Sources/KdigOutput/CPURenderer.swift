// `cpu` output: one block of labelled lines per CPU.

import KdigAnalyzers
import KdigBinary

/// Renders per-CPU state.
public enum CPURenderer {
  public static func text(_ states: [CPUState]) -> String {
    states.map { s in
      var l = LabeledLines()
      l.add("CPU", "\(s.cpu)", how: s.status)
      l.add("PER-CPU OFFSET", hex0x(s.perCPUOffset.value))
      if let t = s.currentTask {
        l.add("CURRENT", "\(hex0x(t.value))  PID \(s.currentPID.map(String.init) ?? "?")  \"\(s.currentComm ?? "?")\"", how: s.sources["current_task"])
      }
      for key in ["top_of_stack", "hardirq_stack_ptr"] {
        if let v = s.values[key] { l.add(key.uppercased(), hex0x(v.value), how: s.sources[key]) }
      }
      if let inUse = s.hardirqStackInUse { l.add("IRQ STACK IN USE", inUse ? "yes" : "no", how: s.sources["hardirq_stack_inuse"]) }
      l.add("SOFTIRQ STACK", s.softirqStack)
      if let p = s.preemptCount {
        // PREEMPT_NEED_RESCHED is bit 31, stored inverted (preempt.h).
        l.add("PREEMPT COUNT", hex0x(UInt64(p)), how: "\(s.sources["preempt_count"] ?? ""); need_resched \(p & 0x8000_0000 == 0 ? "set" : "clear")")
      }
      if let c = s.cr3 {
        var v = "\(c.fields.value)  PGD \(c.fields.table)  PCID \(c.fields.pcid)"
        if let a = c.asid { v += " (ASID \(a)\(c.userPCID ? ", user" : ""))" }
        l.add("CR3", v, how: "\(c.pgd); \(s.cr3Source ?? "")")
      }
      if let mm = s.loadedMM { l.add("LOADED_MM", hex0x(mm.value), how: "cpu_tlbstate") }
      if let a = s.loadedMMASID { l.add("LOADED_MM_ASID", "\(a)  (kernel PCID \(a + 1), user PCID \((a + 1) | 0x800))") }
      if let n = s.nextASID { l.add("NEXT_ASID", "\(n)") }
      for c in s.contexts {
        l.add("CTXS[\(c.asid)]", "ctx_id \(c.ctxID)  tlb_gen \(c.tlbGen)  PCIDs \(c.kernelPCID)/\(hex0x(UInt64(c.userPCID)))")
      }
      return l.render()
    }.joined(separator: "\n")
  }
}
