// TaskState against include/linux/sched.h's state bits and __task_state_index(), and
// fs/proc/array.c's task_state_array letters: the values below are the kernel's #defines.

import KdigAnalyzers
import Testing

@Suite struct TaskStateTests {
  @Test(arguments: [
    // (__state, exit_state, /proc letter, crash ps column)
    (0x0, 0x0, "R", "RU"),  // TASK_RUNNING
    (0x1, 0x0, "S", "IN"),  // TASK_INTERRUPTIBLE
    (0x2, 0x0, "D", "UN"),  // TASK_UNINTERRUPTIBLE
    (0x102, 0x0, "D", "UN"),  // TASK_KILLABLE = TASK_WAKEKILL | TASK_UNINTERRUPTIBLE
    (0x402, 0x0, "I", "ID"),  // TASK_IDLE = TASK_UNINTERRUPTIBLE | TASK_NOLOAD
    (0x2402, 0x0, "I", "ID"),  // TASK_IDLE | TASK_FREEZABLE (masked since 2023)
    (0x104, 0x0, "T", "ST"),  // TASK_STOPPED = TASK_WAKEKILL | __TASK_STOPPED
    (0x8, 0x0, "t", "TR"),  // __TASK_TRACED
    (0x80, 0x10, "X", "DE"),  // TASK_DEAD with EXIT_DEAD
    (0x80, 0x20, "Z", "ZO"),  // TASK_DEAD with EXIT_ZOMBIE
    (0x40, 0x0, "P", "PA"),  // TASK_PARKED
    (0x1000, 0x0, "D", "UN"),  // TASK_RTLOCK_WAIT is reported as D
    (0x8000, 0x0, "D", "UN"),  // TASK_FROZEN is reported as D (2024)
    (0x200, 0x0, "R", "RU"),  // TASK_WAKING: outside TASK_REPORT
  ])
  func decodesAsTheKernelReportsIt(state: Int, exitState: Int, letter: String, crash: String) {
    let s = TaskState(state: UInt32(state), exitState: UInt32(exitState))
    #expect(s.letter == letter && s.crashName == crash, "\(String(state, radix: 16))/\(exitState): \(s.letter) \(s.crashName)")
  }
}
