import ArgumentParser
import Kdig

struct PtdumpCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "ptdump",
    abstract: "Dump page-table mappings in the kernel's ptdump format, with frames and regions.",
    discussion: """
      WHAT is a range START-END (hex), or one of: kernel (default: the kernel half), user, \
      user-pgd (PTI's user tables, whole address space), cpu_entry_area, modules, vmalloc, \
      vmemmap, fixmap, all. --user-pgd walks PTI's user page \
      tables (what stays mapped while user code runs); -c/--cr3/--cpu pick another root.
      """)

  @Argument(help: "A range START-END or a region name (kernel, user, cpu_entry_area, modules, vmalloc, vmemmap, fixmap, all).")
  var what: String = "kernel"

  @Option(name: .customShort("c"), help: "Walk the page tables of this PID or task_struct address.")
  var context: String?

  @Flag(name: .customLong("user-pgd"), help: "Walk PTI's user page tables (PGD + 4096).")
  var userPGD = false

  @Option(name: .customLong("cr3"), help: "Walk from this CR3 value.")
  var cr3: String?

  @Option(name: .customLong("cpu"), help: "Walk from the CR3 this CPU had in the dump.")
  var cpu: Int?

  @OptionGroup var options: DumpOptions

  func run() throws {
    try runCommand("ptdump", json: options.json) {
      let session = try options.openSession()
      let kernel = session.kernel
      var choice = AddressSpaceChoice.kernel
      if let context { choice = .task(context) }
      if let cr3 {
        guard let v = parseInteger(cr3, defaultHex: true) else { throw UsageError("--cr3: not a number: \(cr3)") }
        choice = .cr3(v)
      }
      if let cpu { choice = .cpu(cpu) }
      // `ptdump user-pgd` is PTI's user page tables over the whole address space.
      let space = try kernel.resolve(choice, userPGD: userPGD || what == "user-pgd")
      let dumper = PageTableDump(kernel: kernel)
      let (from, to) = try range(kernel: kernel, dumper: dumper)
      let report = dumper.dump(space: space, from: from, to: to)
      return CommandOutput(
        text: { PtdumpRenderer.render(report) }, json: { JSONOutput.render(report, command: "ptdump") })
    }
  }

  func range(kernel: KernelImage, dumper: PageTableDump) throws -> (UInt64, UInt64) {
    let r = kernel.regions()
    let five = r.mode == .fiveLevel
    // GUARD_HOLE_END_ADDR: the kernel's ptdump starts the kernel half there.
    let kernelStart: UInt64 = five ? 0xff10_0000_0000_0000 : 0xffff_8800_0000_0000
    switch what {
    case "all", "user-pgd": return (0, 0)
    case "kernel": return (kernelStart, 0)
    case "user": return (0, five ? 1 << 56 : 1 << 47)
    case "cpu_entry_area": return (KernelConstants.cpuEntryAreaBase, KernelConstants.cpuEntryAreaBase + (1 << 39))
    case "modules": return (KernelRegions.modulesStart, KernelRegions.modulesEnd)
    case "vmalloc": return (r.vmallocBase, r.vmallocBase &+ (five ? 12800 << 40 : 32 << 40))
    case "vmemmap": return (r.vmemmapBase, r.vmemmapBase &+ (five ? 1 << 49 : 1 << 40))
    case "fixmap": return (KernelRegions.modulesEnd, 0xffff_ffff_ff80_0000)
    default:
      let parts = what.split(separator: "-")
      guard parts.count == 2, let a = parseInteger(String(parts[0]), defaultHex: true),
        let b = parseInteger(String(parts[1]), defaultHex: true), a < b || b == 0
      else { throw UsageError("ptdump: \(what) is neither START-END nor a region name") }
      return (a, b)
    }
  }
}
