// Global variable types without DWARF. vmlinux BTF describes every type but, as pahole
// writes it for these kernels, carries a VAR record only for per-cpu variables: it cannot
// say that `init_mm` is a `struct mm_struct`. kdig therefore declares the types of the
// globals people print and its analyzers read, spelled as the kernel headers declare them
// (stable across v5.x–v6.x); the layouts behind those names still come from the dump's BTF.
// Arrays sized by configuration ([] below) take their length from the symbol's size, char
// arrays initialised from a string (linux_banner) from the string's length.
// docs/no-vmlinux.md lists them; anything else is cast by hand: p *(struct foo *)ADDRESS.

import KdigBinary

/// `extern` declarations kdig knows, name → C type (the headers they come from).
public enum KnownVariables {
  public static let declarations: [String: String] = [
    // mm/init-mm.c, init/init_task.c, kernel/utsname.c (include/linux/*.h)
    "init_mm": "struct mm_struct",
    "init_task": "struct task_struct",
    "init_uts_ns": "struct uts_namespace",
    "init_nsproxy": "struct nsproxy",
    "init_pid_ns": "struct pid_namespace",
    // include/linux/jiffies.h
    "jiffies": "volatile unsigned long",
    "jiffies_64": "u64",
    // arch/x86: idt.c, head_64.S, page_64.h, pgtable_64.h, setup.c, processor.h
    "idt_table": "gate_desc [256]",
    "init_top_pgt": "pgd_t [512]",
    "phys_base": "unsigned long",
    "page_offset_base": "unsigned long",
    "vmalloc_base": "unsigned long",
    "vmemmap_base": "unsigned long",
    "boot_cpu_data": "struct cpuinfo_x86",
    "pgdir_shift": "unsigned int",
    "ptrs_per_p4d": "unsigned int",
    "__pgtable_l5_enabled": "unsigned int",
    "sme_me_mask": "u64",
    "__supported_pte_mask": "pteval_t",
    "physical_mask": "phys_addr_t",
    "__per_cpu_offset": "unsigned long []",
    "sys_call_table": "const sys_call_ptr_t []",
    // include/linux: cpumask.h, mmzone.h, mm.h, memblock.h, swap.h, kernel.h, panic.h
    "nr_cpu_ids": "unsigned int",
    "__num_online_cpus": "atomic_t",
    "__cpu_online_mask": "struct cpumask",
    "__cpu_possible_mask": "struct cpumask",
    "__cpu_present_mask": "struct cpumask",
    "__cpu_active_mask": "struct cpumask",
    "node_data": "struct pglist_data *[]",
    "mem_section": "struct mem_section **",
    "max_pfn": "unsigned long",
    "_totalram_pages": "atomic_long_t",
    "swap_info": "struct swap_info_struct *[]",
    "linux_banner": "const char []",
    "saved_command_line": "char *",
    "tainted_mask": "unsigned long",
    "oops_in_progress": "int",
    "panic_cpu": "atomic_t",
    "panic_on_oops": "int",
    "system_state": "enum system_states",
    // kernel/module, kernel/printk
    "modules": "struct list_head",
    "prb": "struct printk_ringbuffer *",
  ]

  /// Declarations that changed: before release (major, minor) the variable had this type.
  /// node_data moved from arch/x86/mm/numa.c (pg_data_t *) to mm/numa.c (struct pglist_data *)
  /// in v6.12.
  public static let olderDeclarations: [String: (before: (Int, Int), type: String)] = [
    "node_data": ((6, 12), "pg_data_t *[]")
  ]

  /// The declaration of `name` for a kernel `release` ("6.1.0-56-cloud-amd64").
  public static func declaration(of name: String, release: String?) -> String? {
    if let older = olderDeclarations[name], let version = release.flatMap(majorMinor), version < older.before {
      return older.type
    }
    return declarations[name]
  }

  /// (major, minor) of a release string.
  static func majorMinor(_ release: String) -> (Int, Int)? {
    let parts = release.split(whereSeparator: { !$0.isNumber }).prefix(2).compactMap { Int($0) }
    return parts.count == 2 ? (parts[0], parts[1]) : nil
  }
}

/// The dump's BTF with global variable types filled in from `KnownVariables`.
public final class DumpTypes: TypeProvider, Sendable {
  public let btf: BTFTypes
  public var source: String { btf.source }
  /// The size in bytes of configuration-sized arrays (kallsyms size; string length + 1 for
  /// char arrays initialised from a string), by variable name.
  let arrayBytes: [String: UInt64]
  /// The kernel release, for declarations that changed (`KnownVariables.olderDeclarations`).
  let release: String?

  public init(btf: BTFTypes, arrayBytes: [String: UInt64], release: String?) {
    self.btf = btf
    self.arrayBytes = arrayBytes
    self.release = release
  }

  public func findType(_ query: TypeQuery) throws -> KernelType? { try btf.findType(query) }
  public func findEnumerator(_ name: String) throws -> (type: EnumType, enumerator: Enumerator)? {
    try btf.findEnumerator(name)
  }
  public func complete(_ aggregate: Aggregate) throws -> Aggregate { try btf.complete(aggregate) }

  /// Per-cpu variables from BTF's VAR records; other globals from the declarations.
  public func findVariableType(_ name: String, address: UInt64?) throws -> KernelType? {
    if let t = try btf.findVariableType(name, address: address) { return t }
    guard let declaration = KnownVariables.declaration(of: name, release: release) else {
      throw KernelTypeError(
        file: source,
        "no type for variable '\(name)': the dump's BTF types only per-cpu variables, and '\(name)' is not one of the "
          + "\(KnownVariables.declarations.count) globals kdig declares (docs/no-vmlinux.md); cast its address: "
          + "p *(TYPE *)ADDRESS with the address from `kdig sym \(name)`")
    }
    return try type(declared: declaration, for: name)
  }

  /// Parses `[const|volatile] NAME [*…] [\[N\]|\[\]]` into a type from BTF.
  func type(declared text: String, for name: String) throws -> KernelType {
    var base = Substring(text)
    var arrayCount: Int??
    if let open = base.firstIndex(of: "["), base.hasSuffix("]") {
      let inside = base[base.index(after: open)..<base.index(before: base.endIndex)]
      arrayCount = inside.isEmpty ? .some(nil) : .some(Int(inside))
      base = base[..<open]
    }
    var words = base.split(separator: " ").map(String.init)
    var qualifier: TypeQualifier?
    if let first = words.first, first == "const" || first == "volatile" {
      qualifier = first == "const" ? .const : .volatile
      words.removeFirst()
    }
    var element = try btf.type(named: words.joined(separator: " "))
    if let qualifier { element = .qualified(qualifier, element) }
    guard let arrayCount else { return element }
    if let count = arrayCount { return .array(element: element, count: count) }
    // A configuration-sized array: as many elements as the symbol's (kallsyms) size holds.
    guard let elementSize = try btf.completed(element).byteSize, elementSize > 0,
      let size = arrayBytes[name], size >= UInt64(elementSize), size / UInt64(elementSize) <= 1 << 20
    else { return .array(element: element, count: nil) }
    return .array(element: element, count: Int(size / UInt64(elementSize)))
  }
}
