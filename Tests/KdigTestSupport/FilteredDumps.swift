// makedumpfile -d 31 leaves pages out, and on the 6.12 kexec samples (makedumpfile 1.7.2:
// "The kernel version is not supported") which slab and stack pages it drops changes with
// every boot — sometimes the panicking task's own task_struct and stack. A test whose oracle
// is the console then cannot expect the frames; it can expect kdig to say the stack is not in
// the dump, and the unfiltered twin of the same memory (same_memory_as) to have them.

import Kdig

public enum FilteredDumps {
  /// Why `sample`'s panicking backtrace may stop early (nil: it must not): the dump is
  /// makedumpfile-filtered, kdig's walk says the stack is not in the dump, and the twin's
  /// walk from the same registers reaches panic().
  public static func excusedBacktrace(_ sample: Sample, end: String) throws -> String? {
    guard let level = sample.dump_level, level > 0, end.contains("is not in the dump"),
      let twinName = sample.same_memory_as
    else { return nil }
    let twin = try Samples.named(twinName).require()
    let kernel = try Session(dumpPath: twin.file, vmlinuxPath: twin.vmlinux).kernel
    guard let bt = try kernel.backtraces(.panicking).first, bt.frames.contains(where: { $0.function == "panic" }) else {
      return nil
    }
    return "\(sample.name): makedumpfile -d \(level) left the panicking task's stack out (\(end)); \(twinName), the same memory unfiltered, reaches panic()"
  }
}
