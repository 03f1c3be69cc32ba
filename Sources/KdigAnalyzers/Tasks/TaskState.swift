// A task's state as /proc, ps, drgn and crash show it: task_struct.__state (`state` before
// 5.14) and exit_state folded into one "report" state by the kernel's task_state_index()
// (include/linux/sched.h), one letter from fs/proc/array.c's task_state_array, and crash's
// two-letter column (crash task.c task_state_string: RU, IN, UN, ST, TR, DE, ZO, PA, ID).
// The bits are #defines, in no DWARF or BTF; they have kept these values since 5.14 (TASK_FROZEN
// since 6.1). The rules are the current kernel's: TASK_IDLE and TASK_RTLOCK_WAIT tested as
// masks (2023), frozen tasks reported as D (2024; both backported to the stable kernels).

/// The state a task reports, decoded from __state and exit_state.
public struct TaskState: Sendable, Equatable, Encodable {
  // include/linux/sched.h
  static let interruptible: UInt32 = 0x1
  static let uninterruptible: UInt32 = 0x2
  static let stopped: UInt32 = 0x4
  static let traced: UInt32 = 0x8
  static let exitDead: UInt32 = 0x10
  static let exitZombie: UInt32 = 0x20
  static let parked: UInt32 = 0x40
  static let noLoad: UInt32 = 0x400
  static let rtLockWait: UInt32 = 0x1000
  static let frozen: UInt32 = 0x8000
  /// TASK_REPORT: the bits /proc reports; TASK_REPORT_IDLE is the next bit.
  static let report: UInt32 = 0x7f
  static let reportIdle: UInt32 = 0x80
  static let idle = uninterruptible | noLoad

  /// fs/proc/array.c task_state_array, indexed by fls(report state).
  static let letters: [Character] = ["R", "S", "D", "T", "t", "X", "Z", "P", "I"]
  /// crash's ps column for the same index.
  static let crashNames = ["RU", "IN", "UN", "ST", "TR", "DE", "ZO", "PA", "ID"]

  /// task_state_index(): 0 running, then one per report bit, 8 idle.
  public let index: Int

  /// Decodes the raw fields as task_state_index() does.
  public init(state: UInt32, exitState: UInt32) {
    var report = (state | exitState) & Self.report
    if state & Self.idle == Self.idle { report = Self.reportIdle }
    // Tasks waiting on an RT lock or frozen are reported as uninterruptible.
    if state & Self.rtLockWait != 0 || state & Self.frozen != 0 { report = Self.uninterruptible }
    index = report == 0 ? 0 : 32 - report.leadingZeroBitCount
  }

  /// The /proc, ps and drgn letter (R, S, D, T, t, X, Z, P, I).
  public var letter: String { String(Self.letters[min(index, Self.letters.count - 1)]) }
  /// Encoded as its letter.
  public func encode(to encoder: any Encoder) throws {
    var c = encoder.singleValueContainer()
    try c.encode(letter)
  }

  /// crash's ps column (RU, IN, UN, …).
  public var crashName: String { Self.crashNames[min(index, Self.crashNames.count - 1)] }
}
