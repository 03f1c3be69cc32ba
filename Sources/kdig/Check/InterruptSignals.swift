// SIGINT and SIGTERM during `kdig check`: blocked in the parent and taken between its polls
// (sigtimedwait), so a signal never cuts into the bookkeeping. The batch then kills and reaps
// its checkers, and the run reports what finished with a summary marked interrupted, exiting
// 128 + the signal (130, 143). The checkers start with nothing blocked (ChildProcess).

#if canImport(Glibc)
  import Glibc
#endif

/// The interrupting signals, held pending until the batch looks.
struct InterruptSignals {
  private var set = sigset_t()

  /// Blocks SIGINT and SIGTERM in this process (kdig check runs on one thread). A signal the
  /// caller ignores (a script's `kdig check … &` ignores SIGINT) stays ignored: blocking it
  /// would queue it instead.
  static func block() -> InterruptSignals {
    var signals = InterruptSignals()
    sigemptyset(&signals.set)
    for sig in [SIGINT, SIGTERM] where !isIgnored(sig) { sigaddset(&signals.set, sig) }
    _ = sigprocmask(SIG_BLOCK, &signals.set, nil)
    return signals
  }

  static func isIgnored(_ sig: Int32) -> Bool {
    var current = sigaction()
    guard sigaction(sig, nil, &current) == 0, let handler = current.__sigaction_handler.sa_handler else { return false }
    return unsafeBitCast(handler, to: Int.self) == unsafeBitCast(SIG_IGN, to: Int.self)
  }

  /// The signal that arrived since the last call, if any (consumed; never waits).
  func take() -> Int32? {
    var wanted = set
    var noWait = timespec(tv_sec: 0, tv_nsec: 0)
    let sig = sigtimedwait(&wanted, nil, &noWait)
    return sig > 0 ? sig : nil
  }

  /// "SIGTERM", for the summary.
  static func name(_ sig: Int32) -> String {
    switch sig {
    case SIGINT: return "SIGINT"
    case SIGTERM: return "SIGTERM"
    default: return "signal \(sig)"
    }
  }
}
