// A BTF blob (a vmlinux .BTF section, or __start_BTF…__stop_BTF read from a dump): the
// header and record walk, then the lookups the analyzers make, which convert types and
// follow their references (members, pointers, arrays, typedef chains).

import KdigBinary
import KdigKernel

enum BTFTarget {
  /// Names the no-vmlinux path asks for (percpu, log, backtrace, tasks), and base types.
  static let typeNames = [
    "struct task_struct", "struct list_head", "struct printk_info", "struct printk_ringbuffer",
    "struct prb_desc", "struct orc_entry", "struct pt_regs", "struct mm_struct", "union thread_union",
    "struct cpu_entry_area", "atomic_long_t", "int", "unsigned long", "char", "u64", "enum printk_info_flags",
  ]
  static let members = [
    "task_struct.tasks.next", "printk_info.dev_info.subsystem", "printk_ringbuffer.desc_ring.count_bits",
    "list_head.next", "pt_regs.ip", "mm_struct.pgd", "cpu_entry_area.entry_stack_page",
  ]

  static func run(_ bytes: [UInt8]) throws {
    let view = ByteView.copying(bytes, file: "fuzz-input", fileOffset: 0)
    let btf = try BTFTypes(bytes: view, source: "fuzz BTF")
    _ = btf.typeCount
    for name in typeNames {
      guard let type = try? btf.type(named: name) else { continue }
      _ = try? btf.completed(type)
    }
    for path in members {
      _ = try? btf.member(path)
      _ = try? btf.arrayLength(ofMember: path)
    }
    // For replays: a blob without even a list_head is not a kernel's.
    _ = try btf.sizeof("struct list_head")
    _ = try? btf.enumValue("LOG_CONT")
    _ = try? btf.variableType("runqueues")
  }
}
