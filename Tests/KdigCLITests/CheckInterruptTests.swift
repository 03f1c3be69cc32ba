// `kdig check` stopped by SIGTERM or SIGINT: it kills its checkers (none outlives it), reports
// the dumps that finished and a summary marked interrupted, and exits 143 or 130. The checkers
// still running are given FIFOs as dumps: opening one blocks until a writer comes, so they hang
// until killed.

import Foundation
import KdigTestSupport
import Testing

#if canImport(Glibc)
  import Glibc
#endif

@Suite struct CheckInterruptTests {
  @Test(arguments: zip([SIGTERM, SIGINT], [true, false]))
  func interruptKillsTheCheckersAndReportsWhatFinished(_ signal: Int32, _ json: Bool) throws {
    let s = try Samples.named("6.12-qemu-elf").require()
    let dir = try TemporaryDirectory("fifos")
    let fifos = try (0..<6).map { i in
      let path = "\(dir.path)/hang-\(i).vmcore"
      guard mkfifo(path, 0o600) == 0 else { throw CheckLines.Problem("mkfifo \(path): \(errno)") }
      return path
    }
    let dumps = [s.file] + fifos + [s.file, s.file]
    let p = Process()
    p.executableURL = URL(fileURLWithPath: KdigProcess.binary)
    p.arguments = ["check"] + (json ? ["--json"] : []) + ["--jobs", "2", "--vmlinux", s.vmlinux] + dumps
    var env = ProcessInfo.processInfo.environment
    for k in ["KDIG_DUMP", "KDIG_VMLINUX", "DEBUGINFOD_URLS"] { env[k] = nil }
    p.environment = env
    let out = Pipe()
    p.standardOutput = out
    p.standardError = FileHandle.nullDevice
    try p.run()
    var survivors: [pid_t] = []
    defer {
      if p.isRunning {
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
      }
      for pid in survivors { kill(pid, SIGKILL) }
    }
    let reader = LineReader(fd: out.fileHandleForReading.fileDescriptor)
    let first = try #require(reader.line(within: 60), "no result line within 60 s")
    // The first sample is done; the next two checkers hang on FIFOs.
    var checkers: [pid_t] = []
    let deadline = Date().addingTimeInterval(10)
    while checkers.count < 2 && Date() < deadline {
      checkers = childProcesses(of: p.processIdentifier)
      usleep(20_000)
    }
    #expect(checkers.count == 2, "checkers running: \(checkers)")

    kill(p.processIdentifier, signal)
    let exitDeadline = Date().addingTimeInterval(30)
    while p.isRunning && Date() < exitDeadline { usleep(20_000) }
    #expect(!p.isRunning, "kdig check still runs 30 s after the signal")
    guard !p.isRunning else { return }
    #expect(p.terminationReason == .exit && p.terminationStatus == 128 + signal, "status \(p.terminationStatus)")
    survivors = checkers.filter { FileManager.default.fileExists(atPath: "/proc/\($0)") }
    #expect(survivors.isEmpty, "checkers outlived kdig check: \(survivors)")

    let output = first + "\n" + reader.rest(within: 10)
    let name = signal == SIGTERM ? "SIGTERM" : "SIGINT"
    if json {
      let lines = try CheckLines(output)
      #expect(lines.dumps.count == 1)
      #expect(try lines.dump(s.file)["status"] as? String == "ok")
      #expect(lines.summary["interrupted"] as? String == name)
      #expect(lines.summary["notChecked"] as? Int == dumps.count - 1)
      #expect(lines.summary["total"] as? Int == 1)
      #expect(lines.summary["exitCode"] as? Int == Int(128 + signal))
      let valid = try CheckSchema.validate(output)
      #expect(valid.status == 0, "\(valid.stdout)\(valid.stderr)")
    } else {
      #expect(first.hasPrefix("OK       "), "\(first)")
      #expect(output.contains("1 dump: 1 ok, 0 with findings, 0 errors"), "\(output)")
      #expect(output.contains("exit \(128 + signal)\ninterrupted by \(name): \(dumps.count - 1) dumps not checked\n"), "\(output)")
    }
  }

  /// Processes whose parent is `parent` (from /proc/PID/stat: "pid (comm) state ppid …").
  func childProcesses(of parent: pid_t) -> [pid_t] {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return entries.compactMap { entry -> pid_t? in
      guard let pid = pid_t(entry),
        let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
        let close = stat.lastIndex(of: ")")
      else { return nil }
      let fields = stat[stat.index(after: close)...].split(separator: " ")
      return fields.count > 1 && pid_t(fields[1]) == parent ? pid : nil
    }
  }
}

/// Lines from a pipe, each read within a deadline (a hung kdig fails the test, not the run).
final class LineReader {
  let fd: Int32
  var buffer: [UInt8] = []
  var atEnd = false

  init(fd: Int32) { self.fd = fd }

  /// The next line, or nil at end of file or after `seconds`.
  func line(within seconds: Double) -> String? {
    let deadline = Date().addingTimeInterval(seconds)
    while true {
      if let newline = buffer.firstIndex(of: 10) {
        let line = String(decoding: buffer[..<newline], as: UTF8.self)
        buffer.removeFirst(newline + 1)
        return line
      }
      guard !atEnd, fill(until: deadline) else { return nil }
    }
  }

  /// Everything up to end of file (or what came within `seconds`).
  func rest(within seconds: Double) -> String {
    let deadline = Date().addingTimeInterval(seconds)
    while !atEnd && fill(until: deadline) {}
    defer { buffer = [] }
    return String(decoding: buffer, as: UTF8.self)
  }

  /// Reads what is there once readable; false when the deadline passed.
  private func fill(until deadline: Date) -> Bool {
    let wait = Int32(max(0, min(deadline.timeIntervalSinceNow, 60)) * 1000)
    guard wait > 0 else { return false }
    var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
    guard poll(&p, 1, wait) > 0 else { return false }
    var chunk = [UInt8](repeating: 0, count: 65536)
    let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
    if n <= 0 {
      atEnd = true
    } else {
      buffer += chunk[0..<n]
    }
    return true
  }
}
