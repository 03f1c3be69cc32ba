// The wall-clock time of boot, for `kdig log -T`, as crash computes it (task.c, kernel.c
// get_xtime/get_uptime): the timekeeper's xtime_sec (the wall clock's seconds) minus the
// uptime, (jiffies_64 - INITIAL_JIFFIES) / HZ, INITIAL_JIFFIES being (u32)(-300 * HZ)
// (include/linux/jiffies.h). HZ is in no variable of the dump (crash reads it off the
// mq-deadline scheduler's write_expire = 5 * HZ through gdb); kdig takes the HZ among the
// x86 choices whose jiffies uptime agrees with the timekeeper's own monotonic seconds
// (ktime_sec) — only the right one does, the others are off by minutes. Both uptimes are
// whole seconds of slightly different clocks, so they can differ by one: crash's is the
// one printed. Without jiffies_64, or with no HZ that agrees, ktime_sec is the uptime.
// Neither the timekeeper (tk_core) nor its layout is in VMCOREINFO: -T needs the kernel's
// symbols and types (a vmlinux).

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
      let monotonic = try field("ktime_sec")
      let jiffies = jiffiesUptime(kernel, monotonicSeconds: monotonic)
      let uptime = jiffies?.seconds ?? monotonic
      guard case let (boot, false) = xtime.subtractingReportingOverflow(uptime) else {
        throw LogError("\(name).timekeeper: xtime_sec \(xtime) - uptime \(uptime) overflows")
      }
      let source =
        jiffies.map { "\(name).timekeeper.xtime_sec - (jiffies_64 - INITIAL_JIFFIES) / HZ (HZ \($0.hz))" }
        ?? "\(name).timekeeper.xtime_sec - ktime_sec"
      return BootTime(
        epochSeconds: boot, source: source, xtimeSec: xtime, uptimeSec: uptime, hz: jiffies?.hz,
        offsRealNsec: try? field("offs_real"))
    }
    throw LogError(
      "-T needs the boot time, but the kernel's symbols have neither \(variables.joined(separator: " nor "))",
      category: .debugInfo)
  }

  /// HZ values x86 kernels are built with (kernel/Kconfig.hz).
  static let hzChoices: [Int64] = [100, 250, 300, 1000]

  /// crash's uptime in whole seconds and the HZ that makes it agree with the monotonic
  /// clock (within a second); nil without jiffies_64 or without such an HZ.
  static func jiffiesUptime(_ kernel: KernelImage, monotonicSeconds: Int64) -> (seconds: Int64, hz: Int64)? {
    guard let symbol = try? kernel.symbols().first("jiffies_64"),
      let jiffies = try? kernel.kernelSpace.integer(UInt64.self, at: kernel.runtimeAddress(symbol))
    else { return nil }
    return uptime(jiffies64: jiffies, monotonicSeconds: monotonicSeconds)
  }

  public static func uptime(jiffies64: UInt64, monotonicSeconds: Int64) -> (seconds: Int64, hz: Int64)? {
    var best: (seconds: Int64, hz: Int64, off: Int64)?
    for hz in hzChoices {
      // INITIAL_JIFFIES: jiffies_64 starts 5 minutes before its 32-bit wrap; crash's
      // get_uptime undoes it with the same wrapping arithmetic.
      let initial = UInt64(UInt32(truncatingIfNeeded: -300 * hz))
      let ticks = jiffies64 &- initial
      guard let seconds = Int64(exactly: ticks / UInt64(hz)) else { continue }
      let (difference, overflow) = seconds.subtractingReportingOverflow(monotonicSeconds)
      guard !overflow, difference.magnitude <= 1 else { continue }
      if best.map({ difference.magnitude < $0.off.magnitude }) ?? true { best = (seconds, hz, difference) }
    }
    return best.map { ($0.seconds, $0.hz) }
  }
}
