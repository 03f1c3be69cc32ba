// What `kdig info` reports: crash's `sys`, `mach` and `help -m` in one model, each value with
// how it was found. Plain data: renderers turn it into text or JSON.

import KdigBinary
import KdigKernel

/// A reported value and where it came from.
public struct Sourced<Value: Sendable & Encodable>: Sendable, Encodable {
  public var value: Value
  public var how: String

  public init(_ value: Value, _ how: String) {
    self.value = value
    self.how = how
  }
}

/// The dump file, as `kdig info` describes it.
public struct DumpFileInfo: Sendable, Encodable {
  public var path: String
  public var format: String
  public var producer: String
  public var flattened: Bool
  public var compression: String
  public var headerVersion: Int?
  public var dumpLevel: Int?
  public var incomplete: Bool
  public var fileSize: UInt64
  /// RAM the dump describes (PT_LOAD sizes, or bitmap-1 pages).
  public var memorySize: UInt64
  /// Pages stored in a kdump file.
  public var dumpedPages: UInt64?
  public var maxPFN: UInt64?
  public var segments: Int?
  public var headerRelease: String?
  public var headerPhysBase: Hex64?
  public var splitRange: [Hex64]?
  public var notes: [String]
}

/// One CPU's state as the dump records it.
public struct CPUInfo: Sendable, Encodable {
  public var cpu: Int
  /// pr_pid of the NT_PRSTATUS note.
  public var pid: Int32?
  public var rip: Hex64?
  public var rsp: Hex64?
  public var cr3: Hex64?
  public var cr4: Hex64?
  public var idtBase: Hex64?
  public var idtLimit: UInt32?
  public var gdtBase: Hex64?
  public var gdtLimit: UInt32?
  public var trBase: Hex64?
}

/// Everything `kdig info` prints.
public struct MachineInfo: Sendable, Encodable {
  public var dump: DumpFileInfo
  public var vmlinux: String?
  /// How kdig came by the vmlinux (given, searched, fetched from debuginfod).
  public var vmlinuxSource: VmlinuxSource?
  public var vmlinuxMatch: String?
  /// The vmlinux was fetched from a debuginfod server (not encoded: `vmlinuxSource` says it).
  public var vmlinuxFromDebuginfod: Bool { vmlinuxSource == .debuginfod }
  public var release: Sourced<String>?
  public var version: Sourced<String>?
  public var machine: Sourced<String>?
  public var nodename: Sourced<String>?
  public var buildID: Sourced<String>?
  public var crashTime: Sourced<Int64>?
  /// RAM the kernel manages (sum of pglist_data.node_present_pages), as crash's MEMORY.
  public var kernelMemory: Sourced<UInt64>?
  public var cpusInDump: Int
  public var cpusOnline: Sourced<Int>?
  public var cpusPossible: Sourced<Int>?
  public var pageSize: Sourced<Int>
  public var kaslrOffset: Sourced<Hex64>
  public var physBase: Sourced<Hex64>
  public var kernelPGD: Sourced<Hex64>
  public var pagingLevels: Sourced<Int>
  public var smeMask: Sourced<Hex64>
  public var pageOffset: Sourced<Hex64>
  public var vmallocBase: Sourced<Hex64>
  public var vmemmapBase: Sourced<Hex64>
  public var kernelStartMap: Hex64
  public var cpuEntryArea: Hex64
  public var pti: Sourced<Bool>?
  public var cpus: [CPUInfo]
  /// Where symbols and types came from: the vmlinux (.symtab, DWARF) or the dump (kallsyms,
  /// BTF; docs/no-vmlinux.md).
  public var symbols: String?
  public var types: String?
}
