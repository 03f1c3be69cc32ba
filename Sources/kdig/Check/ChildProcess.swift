// A checker child process: posix_spawn with stdout and stderr on pipes that the parent polls.
// The pipes are close-on-exec so no child inherits another's pipe (its EOF would never come).

import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// A running child whose output is collected in memory.
final class ChildProcess {
  let pid: pid_t
  /// Read ends of the child's stdout and stderr; -1 once closed.
  var stdoutFD: Int32
  var stderrFD: Int32
  var stdout: [UInt8] = []
  var stderr: [UInt8] = []
  /// The wait status once reaped.
  var waitStatus: Int32?

  /// Output beyond these sizes is dropped (a report is a few KiB; a crash trace more).
  static let stdoutCap = 64 << 20
  static let stderrCap = 64 << 10

  struct SpawnError: Error, CustomStringConvertible {
    var description: String
  }

  init(executable: String, arguments: [String], environment: [String: String]) throws {
    var out: [Int32] = [-1, -1]
    var err: [Int32] = [-1, -1]
    guard makePipe(&out) else { throw SpawnError(description: "pipe: \(String(cString: strerror(errno)))") }
    guard makePipe(&err) else {
      close(out[0])
      close(out[1])
      throw SpawnError(description: "pipe: \(String(cString: strerror(errno)))")
    }
    defer {
      close(out[1])
      close(err[1])
    }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_adddup2(&actions, out[1], 1)
    posix_spawn_file_actions_adddup2(&actions, err[1], 2)
    let argv = ([executable] + arguments).map { strdup($0) } + [nil]
    let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer {
      for p in argv { free(p) }
      for p in envp { free(p) }
    }
    // The parent blocks SIGINT and SIGTERM (InterruptSignals); a checker must not inherit that.
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var nothingBlocked = sigset_t()
    sigemptyset(&nothingBlocked)
    posix_spawnattr_setsigmask(&attributes, &nothingBlocked)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK))
    var child = pid_t()
    let rc = posix_spawn(&child, executable, &actions, &attributes, argv, envp)
    guard rc == 0 else {
      close(out[0])
      close(err[0])
      throw SpawnError(description: "cannot start \(executable): \(String(cString: strerror(rc)))")
    }
    pid = child
    stdoutFD = out[0]
    stderrFD = err[0]
  }

  /// Both pipes are at end of file.
  var outputClosed: Bool { stdoutFD < 0 && stderrFD < 0 }

  /// Reads what `fd` has (poll said it is readable); closes it at end of file.
  func drain(_ fd: Int32) {
    var chunk = [UInt8](repeating: 0, count: 65536)
    let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
    if n < 0 && (errno == EINTR || errno == EAGAIN) { return }
    if n <= 0 {
      close(fd)
      if fd == stdoutFD { stdoutFD = -1 } else if fd == stderrFD { stderrFD = -1 }
      return
    }
    if fd == stdoutFD {
      if stdout.count < Self.stdoutCap { stdout += chunk[0..<n] }
    } else {
      stderr += chunk[0..<n]
      if stderr.count > Self.stderrCap { stderr.removeFirst(stderr.count - Self.stderrCap) }
    }
  }

  /// Reaps the child if it has exited; true once reaped.
  func reap() -> Bool {
    if waitStatus != nil { return true }
    var status: Int32 = 0
    let r = waitpid(pid, &status, WNOHANG)
    if r == pid {
      waitStatus = status
      return true
    }
    return false
  }

  func kill() { _ = Glibc.kill(pid, SIGKILL) }

  /// Kills the child and waits for it, so that none outlives an interrupted batch.
  func killAndReap() {
    guard waitStatus == nil else { return }
    kill()
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    waitStatus = status
    closePipes()
  }

  /// Closes what is still open (after the child was reaped).
  func closePipes() {
    if stdoutFD >= 0 { close(stdoutFD) }
    if stderrFD >= 0 { close(stderrFD) }
    stdoutFD = -1
    stderrFD = -1
  }
}

/// A pipe whose ends are close-on-exec (pipe2 is not visible to Swift; kdig spawns from
/// one thread, so there is no race between pipe and fcntl).
private func makePipe(_ fds: inout [Int32]) -> Bool {
  guard pipe(&fds) == 0 else { return false }
  for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
  return true
}

/// How a child ended, from its wait status.
enum ChildExit {
  case exited(Int32)
  case signaled(Int32)

  init(waitStatus s: Int32) {
    // WIFEXITED / WEXITSTATUS / WTERMSIG are macros Swift does not import.
    if s & 0x7f == 0 {
      self = .exited((s >> 8) & 0xff)
    } else {
      self = .signaled(s & 0x7f)
    }
  }
}

/// The path of the running kdig binary, to start checker children from.
func currentExecutable() -> String {
  var buffer = [CChar](repeating: 0, count: 4097)
  let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
  if n > 0 {
    return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
  }
  return CommandLine.arguments.first ?? "kdig"
}
