// Runs the built `kdig` executable, for tests of the command line as users see it.

import Foundation

/// Output of one `kdig` run.
public struct KdigRun {
  public var status: Int32
  public var stdout: String
  public var stderr: String
}

/// Finds and runs the `kdig` binary built beside the test bundle (or `$KDIG_BINARY`).
public enum KdigProcess {
  public static var binary: String {
    if let b = ProcessInfo.processInfo.environment["KDIG_BINARY"], !b.isEmpty { return b }
    var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    // The test runner may live inside an .xctest bundle directory.
    for _ in 0..<4 {
      let candidate = dir.appendingPathComponent("kdig").path
      if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
      dir = dir.deletingLastPathComponent()
    }
    return ".build/debug/kdig"
  }

  /// Runs kdig with `arguments`; `environment` entries are added to (or, with "", removed
  /// from) the current environment.
  public static func run(_ arguments: [String], environment: [String: String] = [:]) throws -> KdigRun {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: binary)
    p.arguments = arguments
    var env = ProcessInfo.processInfo.environment
    env["KDIG_DUMP"] = nil
    env["KDIG_VMLINUX"] = nil
    // A login shell may set it (Debian's libdebuginfod-common): tests ask a server only on purpose.
    env["DEBUGINFOD_URLS"] = nil
    for (k, v) in environment { env[k] = v.isEmpty ? nil : v }
    p.environment = env
    let out = Pipe()
    let err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    // Read before waiting: a large output would otherwise fill the pipe and block.
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return KdigRun(
      status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self),
      stderr: String(decoding: e, as: UTF8.self))
  }
}
