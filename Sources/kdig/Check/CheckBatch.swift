// Checks many dumps, each in its own child process (`kdig check --one DUMP`), up to `jobs`
// at once: a dump that traps, exhausts its memory limit or hangs becomes a report with
// status error, and the batch goes on.

import Foundation
import Kdig

#if canImport(Glibc)
  import Glibc
#endif

/// Runs the checker children and hands each report over as it arrives.
struct CheckBatch {
  var dumps: [String]
  var jobs: Int
  /// Seconds one dump may take before its checker is killed.
  var timeout: Double
  /// The checkers' memory limit, named when one dies allocating.
  var memoryLimitMiB: Int
  /// Arguments of the checker child for one dump.
  var childArguments: (String) -> [String]
  /// SIGINT and SIGTERM, taken between polls; nil: not watched.
  var interrupts: InterruptSignals?
  var executable = currentExecutable()

  struct Running {
    var index: Int
    var child: ChildProcess
    var started: ContinuousClock.Instant
    var killedForTimeout = false
  }

  /// Runs every dump; `finished(index, report)` is called as each one completes and
  /// `started(index)` as each child starts. Returns the signal that interrupted the batch
  /// (its running checkers killed and reaped, unreported), or nil when every dump finished.
  func run(started: (Int) -> Void, finished: (Int, DumpCheckReport) -> Void) -> Int32? {
    let clock = ContinuousClock()
    var queue = dumps.indices.makeIterator()
    var running: [Running] = []
    var exhausted = false
    let environment = Self.childEnvironment()
    while true {
      if let sig = interrupted(running) { return sig }
      while !exhausted && running.count < jobs {
        guard let i = queue.next() else {
          exhausted = true
          break
        }
        started(i)
        let t0 = clock.now
        do {
          let child = try ChildProcess(executable: executable, arguments: childArguments(dumps[i]), environment: environment)
          running.append(Running(index: i, child: child, started: t0))
        } catch {
          finished(i, DumpCheckReport(dump: dumps[i], kernel: nil, failure: CheckFailure(category: "crashed", message: "\(error)"), elapsed: 0))
        }
      }
      if running.isEmpty { return nil }
      // A child that closed its output is exiting: look again soon rather than in 100 ms.
      let exiting = running.contains { $0.child.outputClosed }
      pollOutput(running, waitMilliseconds: exiting ? 1 : 100)
      // Before reaping: a checker that died of the same Ctrl-C is not a crashed dump.
      if let sig = interrupted(running) { return sig }
      var still: [Running] = []
      for var r in running {
        let elapsed = seconds(clock.now - r.started)
        if r.child.outputClosed && r.child.reap() {
          r.child.closePipes()
          finished(r.index, report(for: r, elapsed: elapsed))
          continue
        }
        if !r.killedForTimeout && elapsed > timeout {
          r.child.kill()
          r.killedForTimeout = true
        }
        still.append(r)
      }
      running = still
    }
  }

  /// The signal that interrupts the batch, once its running checkers are killed and reaped.
  func interrupted(_ running: [Running]) -> Int32? {
    guard let sig = interrupts?.take() else { return nil }
    for r in running { r.child.killAndReap() }
    return sig
  }

  /// Waits up to `waitMilliseconds` for output from any child and reads it.
  func pollOutput(_ running: [Running], waitMilliseconds: Int32) {
    var fds: [pollfd] = []
    var owners: [ChildProcess] = []
    for r in running {
      for fd in [r.child.stdoutFD, r.child.stderrFD] where fd >= 0 {
        fds.append(pollfd(fd: fd, events: Int16(POLLIN), revents: 0))
        owners.append(r.child)
      }
    }
    if fds.isEmpty {
      usleep(UInt32(waitMilliseconds) * 1000)  // only exited-but-unreaped children left
      return
    }
    guard poll(&fds, nfds_t(fds.count), waitMilliseconds) > 0 else { return }
    for (p, child) in zip(fds, owners) where p.revents != 0 {
      child.drain(p.fd)
    }
  }

  /// The child's report, or an error report saying how it died.
  func report(for r: Running, elapsed: Double) -> DumpCheckReport {
    let dump = dumps[r.index]
    let rounded = (elapsed * 1000).rounded() / 1000
    if r.killedForTimeout {
      return DumpCheckReport(
        dump: dump, kernel: nil,
        failure: CheckFailure(category: "timeout", message: "not checked within \(format(timeout)) s (--timeout): the checker was killed"),
        elapsed: rounded)
    }
    let lines = String(decoding: r.child.stdout, as: UTF8.self).split(separator: "\n")
    if let line = lines.last, var report = CheckJSONLines.decodeReport(line) {
      report.dump = dump
      report.elapsed = rounded
      return report
    }
    let stderrTail = lastLines(String(decoding: r.child.stderr, as: UTF8.self))
    let how: String
    switch ChildExit(waitStatus: r.child.waitStatus ?? 0) {
    case .signaled(let sig):
      how = "the checker process died of signal \(sig) (\(String(cString: strsignal(sig))))"
    case .exited(let code):
      how = "the checker process exited with status \(code) without a report"
    }
    var message = stderrTail.isEmpty ? how : "\(how): \(stderrTail)"
    if stderrTail.contains("allocate") && memoryLimitMiB > 0 {
      message += " (each checker may allocate \(memoryLimitMiB) MiB: --memory-limit)"
    }
    return DumpCheckReport(dump: dump, kernel: nil, failure: CheckFailure(category: "crashed", message: message), elapsed: rounded)
  }

  /// The child's stderr, reduced to its meaningful last lines (a Swift trap says
  /// "Fatal error: …"; prefer that line).
  func lastLines(_ text: String) -> String {
    let lines = text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    if let fatal = lines.last(where: { $0.contains("Fatal error") || $0.contains("error:") }) { return String(fatal.prefix(500)) }
    return lines.suffix(2).joined(separator: " | ").prefix(500).description
  }

  /// The children inherit the environment; the Swift backtracer is off unless asked for,
  /// so a trapping dump costs its "Fatal error" line and not seconds of symbolication.
  static func childEnvironment() -> [String: String] {
    var env = ProcessInfo.processInfo.environment
    if env["SWIFT_BACKTRACE"] == nil { env["SWIFT_BACKTRACE"] = "enable=no" }
    return env
  }
}

/// A Duration in seconds.
func seconds(_ d: Duration) -> Double {
  let c = d.components
  return Double(c.seconds) + Double(c.attoseconds) / 1e18
}

/// "300" or "0.5".
func format(_ t: Double) -> String {
  t == t.rounded() ? String(Int(t)) : String(t)
}
