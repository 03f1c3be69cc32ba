// The wall-clock time of boot, for `kdig log -T`. crash takes it as the timekeeper's
// xtime_sec (the wall clock's seconds) minus the uptime, (jiffies_64 - INITIAL_JIFFIES) / HZ
// (task.c, kernel.c get_xtime/get_uptime), with HZ inferred from the mq-deadline scheduler's
// code. HZ is in no variable of the dump, but the same timekeeper keeps the uptime itself:
// ktime_sec, the CLOCK_MONOTONIC seconds (include/linux/timekeeper_internal.h). So kdig's boot
// second is xtime_sec - ktime_sec, crash's formula without the HZ guess, and each record's
// time is that plus its whole seconds, as crash prints it. Neither the timekeeper (tk_core)
// nor its layout is in VMCOREINFO: -T needs the kernel's symbols and types (a vmlinux).

import KdigBinary
import KdigKernel

public enum BootTimeReader {
  /// Where kernels keep the timekeeper: `tk_core`, or `timekeeper_data[]` in newer ones
  /// (element 0 is the core timekeeper); crash's get_xtime looks for both.
  static let variables = ["tk_core", "timekeeper_data"]

  public static func read(kernel: KernelImage) throws -> BootTime {
    do {
      return try readTimekeeper(kernel)
    } catch let e as LogError {
      throw e
    } catch {
      // No symbols or types (no vmlinux, and nothing usable in the dump): say what -T needs.
      throw ContextError(
        "-T needs the boot time from the timekeeper (tk_core), which VMCOREINFO does not carry: "
          + "give the vmlinux (--vmlinux or KDIG_VMLINUX)", error)
    }
  }

  static func readTimekeeper(_ kernel: KernelImage) throws -> BootTime {
    let types = try kernel.types()
    let symbols = try kernel.symbols()
    for name in variables {
      guard let symbol = symbols.first(name) else { continue }
      var type = try types.variableType(name, address: symbol.value)
      if case .array(let element, _) = type.resolved { type = element }
      let base = kernel.runtimeAddress(symbol)
      func field(_ member: String) throws -> Int64 {
        let m = try types.member(of: type, path: "timekeeper.\(member)", displayPrefix: name)
        guard m.size == 8, m.bitSize == nil, let address = base.adding(UInt64(m.offset)) else {
          throw LogError("\(name).timekeeper.\(member) is not a 64-bit field in \(types.source)", category: .debugInfo)
        }
        return try withContext("reading \(name).timekeeper.\(member) at 0x\(hex(address))") {
          try kernel.kernelSpace.integer(Int64.self, at: address)
        }
      }
      let xtime = try field("xtime_sec")
      let uptime = try field("ktime_sec")
      guard case let (boot, false) = xtime.subtractingReportingOverflow(uptime) else {
        throw LogError("\(name).timekeeper: xtime_sec \(xtime) - ktime_sec \(uptime) overflows")
      }
      return BootTime(
        epochSeconds: boot, source: "\(name).timekeeper.xtime_sec - ktime_sec", xtimeSec: xtime, uptimeSec: uptime,
        offsRealNsec: try? field("offs_real"))
    }
    throw LogError(
      "-T needs the boot time, but the kernel's symbols have neither \(variables.joined(separator: " nor "))",
      category: .debugInfo)
  }
}
