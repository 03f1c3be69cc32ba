// The IDT gate tables without a vmlinux. The kernel builds its IDT from __initconst tables
// (arch/x86/kernel/idt.c: early_idts, early_pf_idts, def_idts, ia32_idt, apic_idts) that
// free_initmem() poisons and unmaps after boot, so a dump no longer holds them. What they
// say is fixed by the kernel source: a vector, an entry symbol, and INTG/SYSG/ISTG (the
// gate kind, DPL and IST index). This file is those tables as of v6.1–v6.12, with vector
// numbers from arch/x86/include/asm/trapnr.h and irq_vectors.h. An entry applies when its
// entry symbol exists in kallsyms (the configuration that defines the handler also puts it
// in the table) and the kernel marked the vector in system_vectors (every table is loaded
// with sys=true, so an entry the kernel skipped, such as ia32_idt with ia32_emulation=0,
// has its bit clear). Limits: docs/no-vmlinux.md.

import KdigKernel

/// One `struct idt_data` the kernel source declares.
struct ConventionGate {
  var vector: Int
  /// Entry symbols that may implement it, newest first.
  var symbols: [String]
  /// idt_bits.ist: IST_INDEX_* + 1 for ISTG, 0 otherwise.
  var ist: UInt16 = 0
  /// SYSG: DPL 3 (reachable with `int` from user mode); INTG/ISTG: DPL 0.
  var user = false

  /// struct idt_bits as G() builds it: present, GATE_INTERRUPT, the DPL and the IST.
  var bits: UInt16 { 0x8e00 | (user ? 0x6000 : 0) | ist }
}

enum IDTConventions {
  /// The tables in the order the kernel applies them (later gates overwrite earlier ones).
  static let tables: [(GateSource, [ConventionGate])] = [
    (.earlyIdts, [
      ConventionGate(vector: 0x01, symbols: ["asm_exc_debug"]),
      ConventionGate(vector: 0x03, symbols: ["asm_exc_int3"], user: true),
      ConventionGate(vector: 0x14, symbols: ["asm_exc_virtualization_exception"]),
    ]),
    (.earlyPfIdts, [ConventionGate(vector: 0x0e, symbols: ["asm_exc_page_fault"])]),
    (.defIdts, [
      ConventionGate(vector: 0x00, symbols: ["asm_exc_divide_error"]),
      ConventionGate(vector: 0x02, symbols: ["asm_exc_nmi"], ist: 2),
      ConventionGate(vector: 0x05, symbols: ["asm_exc_bounds"]),
      ConventionGate(vector: 0x06, symbols: ["asm_exc_invalid_op"]),
      ConventionGate(vector: 0x07, symbols: ["asm_exc_device_not_available"]),
      ConventionGate(vector: 0x09, symbols: ["asm_exc_coproc_segment_overrun"]),
      ConventionGate(vector: 0x0a, symbols: ["asm_exc_invalid_tss"]),
      ConventionGate(vector: 0x0b, symbols: ["asm_exc_segment_not_present"]),
      ConventionGate(vector: 0x0c, symbols: ["asm_exc_stack_segment"]),
      ConventionGate(vector: 0x0d, symbols: ["asm_exc_general_protection"]),
      ConventionGate(vector: 0x0f, symbols: ["asm_exc_spurious_interrupt_bug"]),
      ConventionGate(vector: 0x10, symbols: ["asm_exc_coprocessor_error"]),
      ConventionGate(vector: 0x11, symbols: ["asm_exc_alignment_check"]),
      ConventionGate(vector: 0x13, symbols: ["asm_exc_simd_coprocessor_error"]),
      ConventionGate(vector: 0x08, symbols: ["asm_exc_double_fault"], ist: 1),
      ConventionGate(vector: 0x01, symbols: ["asm_exc_debug"], ist: 3),
      ConventionGate(vector: 0x12, symbols: ["asm_exc_machine_check"], ist: 4),
      ConventionGate(vector: 0x15, symbols: ["asm_exc_control_protection"]),
      ConventionGate(vector: 0x1d, symbols: ["asm_exc_vmm_communication"], ist: 5),
      ConventionGate(vector: 0x04, symbols: ["asm_exc_overflow"], user: true),
    ]),
    // IA32_SYSCALL_VECTOR: asm_int80_emulation since v6.7, entry_INT80_compat before. Its
    // table is ia32_idt where the kernel has one (kallsyms keeps the freed table's name);
    // stable backports (Debian 6.1) put it at the end of def_idts instead (`gates` below).
    (.ia32Idt, [ConventionGate(vector: 0x80, symbols: ["asm_int80_emulation", "entry_INT80_compat"], user: true)]),
    (.apicIdts, [
      ConventionGate(vector: 0xfd, symbols: ["asm_sysvec_reschedule_ipi"]),
      ConventionGate(vector: 0xfc, symbols: ["asm_sysvec_call_function"]),
      ConventionGate(vector: 0xfb, symbols: ["asm_sysvec_call_function_single"]),
      ConventionGate(vector: 0x20, symbols: ["asm_sysvec_irq_move_cleanup"]),
      ConventionGate(vector: 0xf8, symbols: ["asm_sysvec_reboot"]),
      ConventionGate(vector: 0xfa, symbols: ["asm_sysvec_thermal"]),
      ConventionGate(vector: 0xf9, symbols: ["asm_sysvec_threshold"]),
      ConventionGate(vector: 0xf4, symbols: ["asm_sysvec_deferred_error"]),
      ConventionGate(vector: 0xec, symbols: ["asm_sysvec_apic_timer_interrupt"]),
      ConventionGate(vector: 0xf7, symbols: ["asm_sysvec_x86_platform_ipi"]),
      ConventionGate(vector: 0xf2, symbols: ["asm_sysvec_kvm_posted_intr_ipi"]),
      ConventionGate(vector: 0xf1, symbols: ["asm_sysvec_kvm_posted_intr_wakeup_ipi"]),
      ConventionGate(vector: 0xf0, symbols: ["asm_sysvec_kvm_posted_intr_nested_ipi"]),
      ConventionGate(vector: 0xf6, symbols: ["asm_sysvec_irq_work"]),
      ConventionGate(vector: 0xff, symbols: ["asm_sysvec_spurious_apic_interrupt"]),
      ConventionGate(vector: 0xfe, symbols: ["asm_sysvec_error_interrupt"]),
      ConventionGate(vector: 0xeb, symbols: ["asm_sysvec_posted_msi_notification"]),
    ]),
  ]

  /// What the evidence says about a model built from these tables.
  static let source =
    "kernel conventions: arch/x86/kernel/idt.c tables (v6.1–v6.12) with handlers from kallsyms, "
    + "because the __initconst tables are freed in the dump (no vmlinux)"

  /// The gates these tables give for `kernel`: (table, vector, segment, bits, runtime handler).
  static func gates(kernel: KernelImage, symbols: any SymbolProvider, system: [Bool])
    -> (gates: [(GateSource, Int, UInt16, UInt16, UInt64)], sizes: [String: Int])
  {
    var out: [(GateSource, Int, UInt16, UInt16, UInt64)] = []
    var sizes: [String: Int] = [:]
    let hasIA32Table = symbols.first("ia32_idt") != nil
    for (table, entries) in tables {
      let source = table == .ia32Idt && !hasIA32Table ? GateSource.defIdts : table
      for e in entries where e.vector < system.count && system[e.vector] {
        guard let s = e.symbols.lazy.compactMap({ symbols.first($0) }).first else { continue }
        out.append((source, e.vector, IDTModel.kernelCS, e.bits, kernel.runtimeAddress(s)))
        sizes[source.rawValue, default: 0] += 1
      }
    }
    return (out, sizes)
  }
}
