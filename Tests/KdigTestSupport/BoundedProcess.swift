// Runs `kdig` as a child process under limits, for tests that feed it hostile dumps: a wall
// clock timeout (the child is killed, by its pid, when it passes), a cap on its data segment
// (`ulimit -d`, so a runaway allocation fails instead of eating the machine), and its peak
// resident size (VmHWM, polled). Output goes to temporary files, so a chatty child never blocks
// on a full pipe.

import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// How one bounded run ended.
public struct BoundedRun: Sendable, CustomStringConvertible {
  /// Exit status, when the child exited by itself.
  public var status: Int32?
  /// The signal that ended it (a trap is SIGILL or SIGTRAP; a timeout is SIGKILL).
  public var signal: Int32?
  public var timedOut: Bool
  public var seconds: Double
  /// Peak resident set size (ru_maxrss).
  public var maxRSSKiB: Int
  public var stdout: String
  public var stderr: String

  public var description: String {
    let how = timedOut ? "timed out" : signal.map { "killed by signal \($0)" } ?? "exit \(status ?? -1)"
    return "\(how) after \(String(format: "%.2f", seconds)) s, peak \(maxRSSKiB / 1024) MiB; stderr: "
      + String(stderr.prefix(400))
  }
}

/// Runs a program with a timeout and a memory cap.
public enum BoundedProcess {
  public struct SpawnError: Error, CustomStringConvertible {
    public var description: String
  }

  /// Runs `executable` with `arguments`; KDIG_DUMP, KDIG_VMLINUX and DEBUGINFOD_URLS are
  /// removed from the environment, then `environment` is added (a "" value removes).
  /// `dataLimitMiB` caps the data segment (heap and anonymous mappings; the mapped dump file is
  /// not counted).
  public static func run(
    _ executable: String, _ arguments: [String], timeout: Double, dataLimitMiB: Int = 2048,
    environment: [String: String] = [:]
  ) throws -> BoundedRun {
    let dir = FileManager.default.temporaryDirectory.path
    let tag = UUID().uuidString
    let outPath = "\(dir)/kdig-bounded-\(tag).out"
    let errPath = "\(dir)/kdig-bounded-\(tag).err"
    defer {
      try? FileManager.default.removeItem(atPath: outPath)
      try? FileManager.default.removeItem(atPath: errPath)
    }
    // sh applies the limit and execs kdig in the same process, so the pid is kdig's.
    let argv = ["/bin/sh", "-c", "ulimit -d \(dataLimitMiB * 1024) && exec \"$0\" \"$@\"", executable] + arguments
    var env = ProcessInfo.processInfo.environment
    env["KDIG_DUMP"] = nil
    env["KDIG_VMLINUX"] = nil
    env["DEBUGINFOD_URLS"] = nil
    for (k, v) in environment { env[k] = v.isEmpty ? nil : v }
    let envp = env.map { "\($0.key)=\($0.value)" }

    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)

    let start = Date()
    var pid: pid_t = 0
    let spawned = withCStrings(argv) { cArgv in
      withCStrings(envp) { cEnv in posix_spawn(&pid, "/bin/sh", &actions, nil, cArgv, cEnv) }
    }
    guard spawned == 0 else { throw SpawnError(description: "posix_spawn failed: \(spawned)") }

    var status: Int32 = 0
    var usage = rusage()
    var timedOut = false
    var peakKiB = 0
    while true {
      // The child's own peak: VmHWM of its current mm. wait4's ru_maxrss cannot be used:
      // posix_spawn's vfork child shares this process's mm until exec, and exec records that
      // mm's high-water mark (this test process's, gigabytes) as the child's maxrss.
      peakKiB = max(peakKiB, Self.highWaterKiB(pid, ifRunning: executable))
      let r = wait4(pid, &status, WNOHANG, &usage)
      if r == pid { break }
      if r < 0 && errno != EINTR { throw SpawnError(description: "wait4 failed: \(errno)") }
      if Date().timeIntervalSince(start) > timeout {
        timedOut = true
        kill(pid, SIGKILL)
        while wait4(pid, &status, 0, &usage) < 0 && errno == EINTR {}
        break
      }
      usleep(2000)
    }
    let seconds = Date().timeIntervalSince(start)
    // The wait status: low 7 bits the signal (0 when it exited), bits 8-15 the exit code.
    let signal = status & 0x7f
    return BoundedRun(
      status: signal == 0 ? (status >> 8) & 0xff : nil, signal: signal == 0 ? nil : signal, timedOut: timedOut,
      seconds: seconds, maxRSSKiB: peakKiB, stdout: readText(outPath), stderr: readText(errPath))
  }

  /// VmHWM of process `pid` in KiB, once it runs `executable` (0 before: the shell that sets
  /// the limits, and once it has exited).
  static func highWaterKiB(_ pid: pid_t, ifRunning executable: String) -> Int {
    let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/exe")) ?? ""
    guard exe == URL(fileURLWithPath: executable).resolvingSymlinksInPath().path || exe == executable,
      let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
      let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") })
    else { return 0 }
    return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
  }

  /// The first 1 MiB of a file, as text.
  static func readText(_ path: String) -> String {
    guard let h = FileHandle(forReadingAtPath: path) else { return "" }
    defer { try? h.close() }
    return String(decoding: (try? h.read(upToCount: 1 << 20)) ?? Data(), as: UTF8.self)
  }

  /// Calls `body` with a NULL-terminated array of C strings.
  static func withCStrings<R>(_ strings: [String], _ body: ([UnsafeMutablePointer<CChar>?]) -> R) -> R {
    var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
    pointers.append(nil)
    defer { for p in pointers { free(p) } }
    return body(pointers)
  }
}
