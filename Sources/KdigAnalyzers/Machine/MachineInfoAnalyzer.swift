// Builds `MachineInfo` from a `KernelImage`: reads init_uts_ns, the CPU counters and the
// region bases from kernel memory, and collects the per-CPU registers of the dump's notes.

import KdigBinary
import KdigKernel
import KdigMemory

/// Gathers what `kdig info` shows.
public struct MachineInfoAnalyzer {
  public let kernel: KernelImage

  public init(kernel: KernelImage) { self.kernel = kernel }

  /// new_utsname fields are char[__NEW_UTS_LEN + 1] = 65 (include/uapi/linux/utsname.h, UAPI).
  static let utsFieldLength = 65
  /// 2^52 bytes: the most RAM an x86-64 machine can address (MAX_PHYSMEM_BITS 52).
  static let physicalLimit: UInt64 = 1 << 52

  public func analyze() -> MachineInfo {
    let k = kernel
    let map = k.memoryMap()
    let uts = utsname()
    let info = k.vmcoreinfo
    let pageSize = info?.pageSize.map { Sourced($0, "VMCOREINFO PAGESIZE") }
      ?? Sourced(k.memory.pageSize, "x86-64 base page size")
    return MachineInfo(
      dump: dumpInfo(),
      vmlinux: k.vmlinux?.path,
      vmlinuxSource: k.vmlinux?.source,
      vmlinuxMatch: k.vmlinuxMatch,
      release: uts?.release ?? info?.osRelease.map { Sourced($0, "VMCOREINFO OSRELEASE") },
      version: uts?.version,
      machine: uts?.machine,
      nodename: uts?.nodename,
      buildID: info?.buildID.map { Sourced($0, "VMCOREINFO BUILD-ID") }
        ?? k.vmlinux?.buildID.map { Sourced($0, "vmlinux .note.gnu.build-id") },
      crashTime: info?.crashTime.map { Sourced($0, "VMCOREINFO CRASHTIME") },
      kernelMemory: presentMemory(),
      cpusInDump: max(k.notes.prstatus.count, k.notes.qemuCPUs.count),
      cpusOnline: counter("__num_online_cpus"),
      cpusPossible: counter("nr_cpu_ids"),
      pageSize: pageSize,
      kaslrOffset: sourced(k.layout.kaslrOffset),
      physBase: sourced(k.layout.physBase),
      kernelPGD: sourced(k.layout.rootTable),
      pagingLevels: Sourced(k.layout.pagingMode.value.rawValue, k.layout.pagingMode.how),
      smeMask: sourced(k.layout.encryptionMask),
      pageOffset: sourced(map.pageOffsetBase),
      vmallocBase: sourced(map.vmallocBase),
      vmemmapBase: sourced(map.vmemmapBase),
      kernelStartMap: Hex64(KernelConstants.startKernelMap),
      cpuEntryArea: Hex64(KernelConstants.cpuEntryAreaBase),
      pti: map.pti.map { Sourced($0.value, $0.how) },
      cpus: cpus(),
      // Last: what the lines above loaded decides how much these can say.
      symbols: k.symbolSourceDescription, types: k.typeSourceDescription)
  }

  private func sourced(_ f: Found<UInt64>) -> Sourced<Hex64> { Sourced(Hex64(f.value), f.how) }

  func dumpInfo() -> DumpFileInfo {
    let s = kernel.dumpSummary
    var notes: [String: Int] = [:]
    for n in kernel.notes.inventory { notes["\(n.name)/\(n.type)", default: 0] += 1 }
    return DumpFileInfo(
      path: kernel.dumpPath, format: s.format.rawValue, producer: s.producer, flattened: s.flattened,
      compression: s.compression, headerVersion: s.headerVersion, dumpLevel: s.dumpLevel,
      incomplete: s.incomplete, fileSize: kernel.dumpFileSize,
      memorySize: kernel.memory.describedMemorySize, dumpedPages: s.dumpedPages, maxPFN: s.maxPFN,
      segments: s.segmentCount, headerRelease: s.headerRelease,
      headerPhysBase: s.headerPhysBase.map { Hex64($0) },
      splitRange: s.splitRange.map { [Hex64($0.start), Hex64($0.end)] },
      notes: notes.keys.sorted().map { "\($0) ×\(notes[$0] ?? 0)" })
  }

  struct UTS {
    var release, version, machine, nodename: Sourced<String>
  }

  /// init_uts_ns.name, read through the kernel page tables.
  func utsname() -> UTS? {
    let k = kernel
    let base: UInt64
    let how: String
    if let sym = k.vmcoreinfo?.symbol("init_uts_ns") {
      // A damaged OFFSET (negative, huge) counts as absent: name is the first member.
      base = sym &+ UInt64(k.vmcoreinfo?.offset("uts_namespace.name", upTo: 4096) ?? 0)
      how = "init_uts_ns (VMCOREINFO SYMBOL + OFFSET(uts_namespace.name))"
    } else if let s = try? k.lookup("init_uts_ns") {
      base = s.address
      how = "init_uts_ns (vmlinux symbol)"
    } else {
      return nil
    }
    // Field offsets from DWARF when there is a vmlinux; else the UAPI layout (6 × char[65]).
    let n = Self.utsFieldLength
    let types = try? k.types()
    func field(_ name: String, _ index: Int) -> String? {
      let offset = (try? types?.offsetof("new_utsname.\(name)")) ?? index * n
      guard let bytes = try? k.kernelSpace.bytes(at: base &+ UInt64(offset), count: n) else { return nil }
      return String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
    }
    guard let release = field("release", 2) else { return nil }
    return UTS(
      release: Sourced(release, how), version: Sourced(field("version", 3) ?? "", how),
      machine: Sourced(field("machine", 4) ?? "", how), nodename: Sourced(field("nodename", 1) ?? "", how))
  }

  /// An int-sized kernel counter (atomic_t and unsigned int both start with the 32-bit value).
  func counter(_ name: String) -> Sourced<Int>? {
    guard let s = try? kernel.lookup(name),
      let v = try? kernel.kernelSpace.integer(UInt32.self, at: s.address)
    else { return nil }
    return Sourced(Int(v), "kernel variable \(name)")
  }

  /// crash's MEMORY: pages present in every NUMA node (node_data[i]->node_present_pages).
  func presentMemory() -> Sourced<UInt64>? {
    let k = kernel
    guard let types = try? k.types(), let offset = try? types.offsetof("pglist_data.node_present_pages"),
      let nodeData = (try? k.lookup("node_data").address) ?? k.vmcoreinfo?.symbol("node_data")
    else { return nil }
    // MAX_NUMNODES is at most 1 << 10 (NODES_SHIFT 10); a damaged LENGTH is not trusted.
    let count = k.vmcoreinfo?.length("node_data", upTo: 1 << 12) ?? 1024
    var pages: UInt64 = 0
    for i in 0..<count {
      guard let node = try? k.kernelSpace.u64(at: nodeData &+ UInt64(i * 8)) else { return nil }
      guard node != 0 else { continue }
      guard let present = try? k.kernelSpace.u64(at: node &+ UInt64(offset)) else { return nil }
      pages = pages.saturatingAdd(present)
    }
    let pageSize = UInt64(max(k.vmcoreinfo?.pageSize ?? k.memory.pageSize, 1))
    let bytes = pages.saturatingMultiply(pageSize)
    // x86-64 has at most 52 physical address bits: more is damage in the dump, said so
    // rather than printed as if it were RAM.
    let how = "sum of node_data[]->node_present_pages"
    guard bytes <= Self.physicalLimit else {
      return Sourced(bytes, how + " (implausible: above the 2^52-byte physical address space; the dump is damaged)")
    }
    return Sourced(bytes, how)
  }

  func cpus() -> [CPUInfo] {
    let notes = kernel.notes
    let count = max(notes.prstatus.count, notes.qemuCPUs.count)
    return (0..<count).map { i in
      let pr = i < notes.prstatus.count ? notes.prstatus[i] : nil
      let q = i < notes.qemuCPUs.count ? notes.qemuCPUs[i] : nil
      return CPUInfo(
        cpu: i, pid: pr?.pid,
        rip: (pr?.register("rip") ?? q?.rip).map { Hex64($0) },
        rsp: (pr?.register("rsp") ?? q?.register("rsp")).map { Hex64($0) },
        cr3: q.map { Hex64($0.cr3) }, cr4: q.map { Hex64($0.cr4) },
        idtBase: q.map { Hex64($0.idt.base) }, idtLimit: q?.idt.limit,
        gdtBase: q.map { Hex64($0.gdt.base) }, gdtLimit: q?.gdt.limit,
        trBase: q.map { Hex64($0.tr.base) })
    }
  }
}
