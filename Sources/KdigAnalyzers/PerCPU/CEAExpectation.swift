// What setup_cpu_entry_area() (arch/x86/mm/cpu_entry_area.c) maps at each page of a CPU's
// area on x86-64, and with which protection:
//   gdt               cea_set_pte(&cea->gdt, get_cpu_gdt_paddr(cpu), PAGE_KERNEL_RO)
//   entry_stack_page  cea_map_percpu_pages(.., entry_stack_storage, 1, PAGE_KERNEL)
//   tss               cea_map_percpu_pages(.., cpu_tss_rw, sizeof(tss_struct)/PAGE_SIZE, PAGE_KERNEL_RO)
//   estacks           percpu_setup_exception_stacks: DF, NMI, DB, MCE from exception_stacks,
//                     PAGE_KERNEL; VC and VC2 only when cc_platform_has(CC_ATTR_GUEST_STATE_ENCRYPT)
//                     (SEV-ES); the *_guard pages and IST_top_guard are never mapped
//   cpu_debug_store   percpu_setup_debug_store, Intel only: cpu_debug_store, PAGE_KERNEL
//   cpu_debug_buffers Intel only: cea_set_pte(cea, 0, PAGE_NONE) placeholders (not present)
// cea_set_pte adds _PAGE_GLOBAL to every present entry when the CPU has PGE.

/// The expected state of one cpu_entry_area page.
public enum CEAExpectation: Sendable, Equatable {
  /// Mapped read-only (PAGE_KERNEL_RO) onto the page of the per-CPU `backing` object at `offset`.
  case readOnly(backing: String, offset: Int)
  /// Mapped writable (PAGE_KERNEL) onto `backing` + `offset`.
  case writable(backing: String, offset: Int)
  /// Mapped writable only in some configurations (the #VC stacks under SEV-ES).
  case optionalWritable(backing: String, offset: Int, when: String)
  /// Never mapped (guard pages), with why.
  case unmapped(String)
  /// A PAGE_NONE placeholder or nothing: never accessible.
  case inaccessible(String)

  public var backing: (name: String, offset: Int)? {
    switch self {
    case .readOnly(let b, let o), .writable(let b, let o), .optionalWritable(let b, let o, _): (b, o)
    case .unmapped, .inaccessible: nil
    }
  }

  /// "RO", "RW", "RW (SEV-ES only)", "not mapped", "no access".
  public var summary: String {
    switch self {
    case .readOnly: "RO NX"
    case .writable: "RW NX"
    case .optionalWritable(_, _, let when): "RW NX or not mapped (\(when))"
    case .unmapped: "not mapped"
    case .inaccessible: "no access"
    }
  }

  /// The expectation for the page at `pageOffset` of `field`. `intel` is boot_cpu_data's
  /// vendor check of percpu_setup_debug_store.
  static func forPage(field: CEAField, pageOffset: Int, layout: CEALayout, intel: Bool) -> CEAExpectation {
    if field.isGuard { return .unmapped("guard page (cea_exception_stacks *_guard)") }
    if let stack = field.exceptionStack {
      guard let base = layout.backingStackOffsets[stack] else {
        return .unmapped("no \(stack)_stack in struct exception_stacks")
      }
      if stack == "VC" || stack == "VC2" {
        return .optionalWritable(backing: "exception_stacks", offset: base + pageOffset, when: "SEV-ES guests only")
      }
      return .writable(backing: "exception_stacks", offset: base + pageOffset)
    }
    switch field.name {
    case "gdt": return .readOnly(backing: "gdt_page", offset: pageOffset)
    case "entry_stack_page": return .writable(backing: "entry_stack_storage", offset: pageOffset)
    case "tss": return .readOnly(backing: "cpu_tss_rw", offset: pageOffset)
    case "cpu_debug_store":
      return intel
        ? .writable(backing: "cpu_debug_store", offset: pageOffset)
        : .unmapped("debug store is mapped on Intel CPUs only")
    case "cpu_debug_buffers":
      return .inaccessible(intel ? "PAGE_NONE placeholder for PEBS/BTS buffers" : "Intel only")
    default: return .unmapped("not a member setup_cpu_entry_area maps")
    }
  }
}
