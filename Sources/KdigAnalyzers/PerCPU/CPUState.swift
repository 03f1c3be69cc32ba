// `kdig cpu`: the per-CPU state around interrupt entry. pcpu_hot (v6.2–v6.14: current_task,
// preempt_count, cpu_number, top_of_stack, hardirq_stack_ptr, hardirq_stack_inuse,
// softirq_pending) or the separate per-CPU variables of older kernels; cpu_tlbstate
// (arch/x86/include/asm/tlbflush.h) with the PCIDs kern_pcid()/user_pcid() derive from an
// ASID (asid + 1, user | 1 << X86_CR3_PTI_PCID_USER_BIT 11); the CPU's CR3 from the dump.
// x86-64 runs softirqs on the hardirq stack (do_softirq_own_stack → call_on_irqstack).

import KdigBinary
import KdigKernel
import KdigTranslation

/// One tlb_state.ctxs[] entry.
public struct TLBContext: Sendable, Encodable {
  public var asid: Int
  public var ctxID: UInt64
  public var tlbGen: UInt64
  public var kernelPCID: Int
  public var userPCID: Int
}

/// CR3 decoded as Linux uses it.
public struct CR3State: Sendable, Encodable {
  public var fields: CR3Fields
  /// PCID bit 11 (X86_CR3_PTI_PCID_USER_BIT): the user PCID of an ASID.
  public var userPCID: Bool
  /// The ASID the PCID belongs to (kern_pcid(asid) = asid + 1), when PCIDs are in use.
  public var asid: Int?
  /// Which PGD it selects: the kernel's, or PTI's user copy (bit 12).
  public var pgd: String
}

/// Per-CPU state of one CPU.
public struct CPUState: Sendable, Encodable {
  public var cpu: Int
  public var perCPUOffset: Hex64
  public var online: Bool
  /// panicking, stopped (offline after the panic: stop_this_cpu clears the online bit), online, offline.
  public var status: String
  public var currentTask: Hex64?
  public var currentPID: Int32?
  public var currentComm: String?
  /// The variable each value came from (pcpu_hot.x or the per-CPU symbol).
  public var values: [String: Hex64]
  public var sources: [String: String]
  /// hardirq_stack_ptr is the top of the IRQ stack (+8: the next-frame slot, irq_stack.h).
  public var hardirqStackInUse: Bool?
  public var softirqStack: String
  public var preemptCount: UInt32?
  public var cr3: CR3State?
  public var cr3Source: String?
  public var loadedMM: Hex64?
  public var loadedMMASID: Int?
  public var nextASID: Int?
  public var contexts: [TLBContext]
}

extension KernelImage {
  /// The state of the chosen CPUs (all possible CPUs when `cpu` is nil).
  public func cpuStates(cpu: Int? = nil) throws -> [CPUState] {
    let cpus = try perCPUSet()
    let chosen = cpu.map { [$0] } ?? cpus.possible
    return try chosen.map { try cpuState($0, cpus) }
  }

  func cpuState(_ cpu: Int, _ cpus: PerCPUSet) throws -> CPUState {
    guard let offset = cpus.offsets[cpu] else {
      throw PerCPUError("CPU \(cpu) is not a possible CPU (nr_cpu_ids \(cpus.cpuIDs))", .usage)
    }
    let t = try types()
    let online = cpus.isOnline(cpu)
    let status =
      cpus.panicCPU == cpu ? "panicking (panic_cpu)" : online ? "online"
      : cpus.panicCPU != nil ? "stopped (offline after the panic: stop_this_cpu)" : "offline"
    var values: [String: Hex64] = [:]
    var sources: [String: String] = [:]
    func read(_ key: String, hot: String, legacy: String, size: Int = 8) {
      if let base = try? perCPUAddress("pcpu_hot", cpu: cpu, in: cpus), let m = try? t.member("pcpu_hot.\(hot)") {
        if let v = try? readSized(base &+ UInt64(m.offset), m.size ?? size) {
          values[key] = Hex64(v)
          sources[key] = "pcpu_hot.\(hot)"
        }
      } else if let a = try? perCPUAddress(legacy, cpu: cpu, in: cpus), let v = try? readSized(a, size) {
        values[key] = Hex64(v)
        sources[key] = legacy
      }
    }
    read("current_task", hot: "current_task", legacy: "current_task")
    read("preempt_count", hot: "preempt_count", legacy: "__preempt_count", size: 4)
    read("cpu_number", hot: "cpu_number", legacy: "cpu_number", size: 4)
    read("top_of_stack", hot: "top_of_stack", legacy: "cpu_current_top_of_stack")
    read("hardirq_stack_ptr", hot: "hardirq_stack_ptr", legacy: "hardirq_stack_ptr")
    read("hardirq_stack_inuse", hot: "hardirq_stack_inuse", legacy: "hardirq_stack_inuse", size: 1)
    read("softirq_pending", hot: "softirq_pending", legacy: "__softirq_pending", size: 2)
    var state = CPUState(
      cpu: cpu, perCPUOffset: offset, online: online, status: status, currentTask: values["current_task"],
      currentPID: nil, currentComm: nil, values: values, sources: sources,
      hardirqStackInUse: values["hardirq_stack_inuse"].map { $0.value != 0 },
      softirqStack: "the hardirq stack (x86-64 has no separate softirq stack: do_softirq_own_stack)",
      preemptCount: values["preempt_count"].map { UInt32(truncatingIfNeeded: $0.value) }, cr3: nil, cr3Source: nil,
      loadedMM: nil, loadedMMASID: nil, nextASID: nil, contexts: [])
    if let task = state.currentTask?.value {
      if let p = try? t.offsetof("task_struct.pid") { state.currentPID = try? kernelSpace.integer(Int32.self, at: task &+ UInt64(p)) }
      if let c = try? t.offsetof("task_struct.comm"), let b = try? kernelSpace.bytes(at: task &+ UInt64(c), count: 16) {
        state.currentComm = String(decoding: b.prefix { $0 != 0 }, as: UTF8.self)
      }
    }
    readTLBState(cpu, cpus, t, &state)
    if cpu < notes.qemuCPUs.count {
      state.cr3 = Self.decodeCR3(notes.qemuCPUs[cpu].cr3, pcide: notes.qemuCPUs[cpu].cr4 & (1 << 17) != 0)
      state.cr3Source = "QEMU CPU state note"
    }
    return state
  }

  func readSized(_ address: UInt64, _ size: Int) throws -> UInt64 {
    switch size {
    case 1: return UInt64(try kernelSpace.integer(UInt8.self, at: address))
    case 2: return UInt64(try kernelSpace.integer(UInt16.self, at: address))
    case 4: return UInt64(try kernelSpace.integer(UInt32.self, at: address))
    default: return try kernelSpace.u64(at: address)
    }
  }

  func readTLBState(_ cpu: Int, _ cpus: PerCPUSet, _ t: any TypeProvider, _ state: inout CPUState) {
    guard let base = try? perCPUAddress("cpu_tlbstate", cpu: cpu, in: cpus) else { return }
    func field(_ path: String, _ size: Int) -> UInt64? {
      guard let m = try? t.member("tlb_state.\(path)") else { return nil }
      return try? readSized(base &+ UInt64(m.offset), m.size ?? size)
    }
    state.loadedMM = field("loaded_mm", 8).map(Hex64.init)
    state.loadedMMASID = field("loaded_mm_asid", 2).map(Int.init)
    state.nextASID = field("next_asid", 2).map(Int.init)
    guard let ctxs = try? t.member("tlb_state.ctxs"), let count = try? t.arrayLength(ofMember: "tlb_state.ctxs"),
      count > 0, count <= 64, let size = ctxs.size, size % count == 0,
      let id = try? t.offsetof("tlb_context.ctx_id"), let gen = try? t.offsetof("tlb_context.tlb_gen")
    else { return }
    let stride = size / count
    for asid in 0..<count {
      let at = base &+ UInt64(ctxs.offset + asid * stride)
      guard let ctx = try? kernelSpace.u64(at: at &+ UInt64(id)), let g = try? kernelSpace.u64(at: at &+ UInt64(gen))
      else { continue }
      state.contexts.append(
        TLBContext(asid: asid, ctxID: ctx, tlbGen: g, kernelPCID: asid + 1, userPCID: (asid + 1) | 1 << 11))
    }
  }

  static func decodeCR3(_ value: UInt64, pcide: Bool) -> CR3State {
    let f = CR3Fields(value)
    let user = pcide && value & (1 << 11) != 0
    let asid = pcide && f.pcid > 0 ? (f.pcid & 0x7ff) - 1 : nil
    return CR3State(
      fields: f, userPCID: user, asid: asid,
      pgd: f.ptiUser ? "PTI user PGD (bit 12 set: kernel PGD + 4096)" : "kernel PGD")
  }
}
