// Which page tables a translation walks: the kernel's (init_top_pgt), PTI's user copy of a
// PGD (PGD + 4096), a task's mm->pgd, an explicit CR3, or a CPU's CR3 from the dump's notes.

import KdigBinary
import KdigKernel
import KdigTranslation

/// The address space to translate in.
public enum AddressSpaceChoice: Sendable {
  case kernel
  /// The task with this PID or task_struct address.
  case task(String)
  /// An explicit CR3 value.
  case cr3(UInt64)
  /// The CR3 a CPU had when the dump was taken.
  case cpu(Int)
}

/// A resolved root table and how to describe it.
public struct ResolvedSpace: Sendable, Encodable {
  /// Physical address of the top-level table walked.
  public var root: Hex64
  /// Virtual address of the PGD (crash's "PGD DIRECTORY"), when known.
  public var pgdVirtual: Hex64?
  /// What this space is: "kernel (init_top_pgt)", "PID 1 (init)", "CR3 0x…".
  public var description: String
  /// True when walking PTI's user half (PGD + 4096).
  public var userPGD: Bool
  /// CR3 fields when the space came from a CR3 value.
  public var cr3: CR3Fields?
  /// The task, for `-c`.
  public var task: TaskInfo?
}

/// Errors in choosing an address space.
public struct AddressSpaceError: KdigError {
  public var message: String
  public var category: ErrorCategory
  public var description: String { message }
}

extension KernelImage {
  /// Resolves `choice` (optionally PTI's user half) to a root table.
  public func resolve(_ choice: AddressSpaceChoice, userPGD: Bool) throws -> ResolvedSpace {
    var space: ResolvedSpace
    switch choice {
    case .kernel:
      let pgdVirtual = (try? lookup("init_top_pgt").address) ?? vmcoreinfo?.symbol("init_top_pgt")
      space = ResolvedSpace(
        root: Hex64(layout.rootTable.value), pgdVirtual: pgdVirtual.map { Hex64($0) },
        description: "kernel (init_top_pgt)", userPGD: false, cr3: nil, task: nil)
    case .task(let selector):
      let task = try TaskList(kernel: self).find(selector)
      guard let pgd = task.pgd?.value, task.mm.value != 0 else {
        throw AddressSpaceError(
          message: "PID \(task.pid) (\(task.comm)) is a kernel thread: it has no mm, so no user address space",
          category: .usage)
      }
      space = ResolvedSpace(
        root: Hex64(try kernelSpace.translate(pgd)), pgdVirtual: Hex64(pgd),
        description: "PID \(task.pid) (\(task.comm))", userPGD: false, cr3: nil, task: task)
    case .cr3(let value):
      let f = CR3Fields(value)
      // CR3 names the table in use: with PTI's bit 12 set that is already the user PGD.
      space = ResolvedSpace(
        root: Hex64(value & kernelSpace.walker.frameMask), pgdVirtual: nil, description: "CR3 \(hex0x(value))",
        userPGD: f.ptiUser, cr3: f, task: nil)
    case .cpu(let n):
      let cpus = notes.qemuCPUs
      guard n >= 0, n < cpus.count else {
        throw AddressSpaceError(
          message: cpus.isEmpty
            ? "the dump has no CR3 for any CPU (only QEMU dumps carry control registers)"
            : "no CPU \(n) in the dump (it has \(cpus.count))", category: .usage)
      }
      let value = cpus[n].cr3
      let f = CR3Fields(value)
      space = ResolvedSpace(
        root: Hex64(value & kernelSpace.walker.frameMask), pgdVirtual: nil,
        description: "CPU \(n) CR3 \(hex0x(value))", userPGD: f.ptiUser, cr3: f, task: nil)
    }
    if userPGD && !space.userPGD {
      // PTI allocates 8 KiB PGDs; the user copy is the upper 4 KiB (kernel_to_user_pgdp).
      space.root = Hex64(space.root.value | 0x1000)
      space.pgdVirtual = space.pgdVirtual.map { Hex64($0.value | 0x1000) }
      space.description += ", PTI user PGD"
      space.userPGD = true
    }
    return space
  }
}
