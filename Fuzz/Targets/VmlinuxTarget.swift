// A vmlinux: the ELF file through libelf (section headers, load segments, .symtab) and its
// DWARF through libdw, then the lookups commands make (symbols by name and address, type
// and member lookups, a variable's type). libelf and libdw take a path, so the input is
// written to a file in memory (/dev/shm) first. Seeds: Fuzz/Seeds/vmlinux (a small ELF
// with symbols and DWARF, made by Fuzz/Seeds/make-vmlinux-seed.sh).

import KdigBinary
import KdigKernel

#if canImport(Glibc)
  import Glibc
#endif

enum VmlinuxTarget {
  static let symbolNames = ["linux_banner", "init_task", "idt_table", "_text", "no_such_symbol"]
  static let typeNames = ["struct list_head", "struct task_struct", "struct pt_regs", "unsigned long", "gate_desc"]
  static let members = ["task_struct.tasks.next", "list_head.prev", "pt_regs.ip", "task_struct.comm"]

  /// One file per process, rewritten for each input (in memory where there is /dev/shm).
  static let path = (access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp") + "/kdig-fuzz-vmlinux-\(getpid())"

  static func run(_ bytes: [UInt8]) throws {
    guard OutputFile.replace(path, with: bytes) else { throw FuzzSetupError("cannot write \(path)") }
    let vmlinux = try VmlinuxFile(path: path, keepsSymbolIndex: false)
    _ = try? vmlinux.string(atLinkAddress: 0xffff_ffff_8100_0000, limit: 64)
    let symbols = try vmlinux.symbols()
    for name in symbolNames {
      guard let s = symbols.first(name) else { continue }
      _ = symbols.symbolize(linkAddress: s.value &+ 1)
      _ = try? vmlinux.bytes(atLinkAddress: s.value, count: 16)
    }
    _ = symbols.symbolize(linkAddress: 0xffff_ffff_8100_0010)
    let types = try DWARFTypes(vmlinux: vmlinux, cache: .disabled)
    for name in typeNames {
      guard let t = try? types.type(named: name) else { continue }
      _ = try? types.completed(t)
    }
    for m in members { _ = try? types.member(m) }
    _ = try? types.variableType("init_task", address: symbols.first("init_task")?.value)
    _ = try? types.enumValue("PG_head")
    // For replays: the seed must get this far (symbols and types both read).
    guard symbols.first("init_task") != nil else { throw FuzzSetupError("no init_task symbol") }
    _ = try types.offsetof("task_struct.comm")
  }
}

struct FuzzSetupError: Error, CustomStringConvertible {
  let description: String
  init(_ d: String) { description = d }
}
