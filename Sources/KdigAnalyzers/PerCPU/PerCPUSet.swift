// The kernel's CPUs as its own masks and tables describe them: possible and online CPUs
// (__cpu_possible_mask, __cpu_online_mask), __per_cpu_offset[] (per_cpu_ptr(p, cpu) =
// p + __per_cpu_offset[cpu] on x86-64 SMP, include/asm-generic/percpu.h) and panic_cpu
// (kernel/panic.c: the CPU that entered panic(), PANIC_CPU_INVALID -1 otherwise).

import KdigBinary
import KdigKernel

/// Possible/online CPUs and per-CPU offsets of one kernel.
public struct PerCPUSet: Sendable, Encodable {
  public var possible: [Int]
  public var online: [Int]
  public var offsets: [Int: Hex64]
  /// panic_cpu, when a CPU entered panic().
  public var panicCPU: Int?
  /// nr_cpu_ids: the bound of every CPU number.
  public var cpuIDs: Int

  /// NR_CPUS can be 8192 (CONFIG_MAXSMP): more means a corrupt nr_cpu_ids.
  public static let maxCPUs = 8192

  public func isOnline(_ cpu: Int) -> Bool { online.contains(cpu) }
}

/// A per-CPU variable could not be found or read.
public struct PerCPUError: KdigError {
  public var message: String
  public var category: ErrorCategory
  public var description: String { message }
  public init(_ message: String, _ category: ErrorCategory = .debugInfo) {
    self.message = message
    self.category = category
  }
}

extension KernelImage {
  /// Reads the CPU masks, offsets and panic_cpu.
  public func perCPUSet() throws -> PerCPUSet {
    let ids = Int(try kernelSpace.integer(UInt32.self, at: try lookup("nr_cpu_ids").address))
    guard ids >= 1, ids <= PerCPUSet.maxCPUs else {
      throw PerCPUError("nr_cpu_ids = \(ids) is outside 1…\(PerCPUSet.maxCPUs)", .malformedInput)
    }
    let possible = (try? cpuMask("__cpu_possible_mask", count: ids)) ?? Array(0..<ids)
    let online = (try? cpuMask("__cpu_online_mask", count: ids)) ?? []
    let table = try lookup("__per_cpu_offset").address
    var offsets: [Int: Hex64] = [:]
    for cpu in possible {
      offsets[cpu] = Hex64(try kernelSpace.u64(at: table &+ UInt64(cpu * 8)))
    }
    var panicCPU: Int?
    if let p = try? lookup("panic_cpu").address, let v = try? kernelSpace.integer(Int32.self, at: p), v >= 0,
      Int(v) < ids
    {
      panicCPU = Int(v)
    }
    return PerCPUSet(possible: possible, online: online, offsets: offsets, panicCPU: panicCPU, cpuIDs: ids)
  }

  /// The CPUs whose bits are set in the cpumask variable `name` (its first `count` bits).
  func cpuMask(_ name: String, count: Int) throws -> [Int] {
    let bytes = try kernelSpace.bytes(at: try lookup(name).address, count: (count + 7) / 8)
    return (0..<count).filter { bytes[$0 / 8] & (1 << UInt8($0 % 8)) != 0 }
  }

  /// per_cpu_ptr(&name, cpu): the per-CPU symbol's offset plus the CPU's __per_cpu_offset.
  public func perCPUAddress(_ name: String, cpu: Int, in set: PerCPUSet) throws -> UInt64 {
    guard let base = set.offsets[cpu] else {
      throw PerCPUError("CPU \(cpu) is not a possible CPU (nr_cpu_ids \(set.cpuIDs))", .usage)
    }
    guard let symbol = try symbols().first(name) else {
      throw PerCPUError("no per-CPU symbol \(name) in \(vmlinux?.path ?? "the vmlinux")")
    }
    return symbol.value &+ base.value
  }
}
