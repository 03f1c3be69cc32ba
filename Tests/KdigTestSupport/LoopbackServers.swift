// Servers on 127.0.0.1 for the debuginfod tests: a real debuginfod serving the samples' -dbg
// packages from the index Samples/test-tools.sh built, and a listener that never answers.

import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// A loopback TCP socket bound to a port the kernel chose; `listening` makes it accept
/// connections (which then never get an answer).
public final class LoopbackSocket {
  public let port: Int
  private let fd: Int32

  public struct Failure: Error, CustomStringConvertible {
    public var description: String
  }

  public init(listening: Bool) throws {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw Failure(description: "socket: \(String(cString: strerror(errno)))") }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let size = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, size) }
    }
    var length = size
    let named = withUnsafeMutablePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    guard bound == 0, named == 0, !listening || listen(fd, 16) == 0 else {
      close(fd)
      throw Failure(description: "cannot bind a loopback port: \(String(cString: strerror(errno)))")
    }
    self.fd = fd
    port = Int(UInt16(bigEndian: address.sin_port))
  }

  deinit { close(fd) }

  /// A port nothing listens on at the moment (bound, then released).
  public static func freePort() throws -> Int { try LoopbackSocket(listening: false).port }

  /// Whether something accepts TCP connections on `port`.
  public static func accepts(port: Int) -> Bool {
    let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard s >= 0 else { return false }
    defer { close(s) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = UInt16(port).bigEndian
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    return withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(s, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    } == 0
  }
}

/// `debuginfod --passive` on a free loopback port over `$KDIG_CACHE/debuginfod/index.sqlite`:
/// it serves what the index holds (the vmlinux files inside the samples' -dbg .debs) and
/// scans nothing. Stopped when released.
public final class DebuginfodServer {
  public let port: Int
  public var url: String { "http://127.0.0.1:\(port)" }
  private let process: Process
  private let log: String

  public static var indexPath: String { Samples.cacheDirectory + "/debuginfod/index.sqlite" }

  public init() throws {
    let index = Self.indexPath
    guard FileManager.default.fileExists(atPath: index) else {
      throw TestTools.Missing(description: "no debuginfod index at \(index): run bash Samples/test-tools.sh")
    }
    let program = try TestTools.executable("debuginfod")
    var lastLog = ""
    // Another process may take the free port before debuginfod binds it: try a few.
    for _ in 0..<3 {
      let port = try LoopbackSocket.freePort()
      let log = FileManager.default.temporaryDirectory.appendingPathComponent("kdig-debuginfod-\(UUID().uuidString).log").path
      FileManager.default.createFile(atPath: log, contents: nil)
      let p = Process()
      p.executableURL = URL(fileURLWithPath: program)
      // -U: the index points into .deb files, which the server opens with bsdtar.
      p.arguments = ["--passive", "-U", "-d", index, "-p", String(port)]
      let out = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
      p.standardOutput = out
      p.standardError = out
      p.standardInput = FileHandle.nullDevice
      try p.run()
      let deadline = Date().addingTimeInterval(20)
      while p.isRunning && Date() < deadline && !LoopbackSocket.accepts(port: port) { usleep(50_000) }
      if p.isRunning && LoopbackSocket.accepts(port: port) {
        self.port = port
        self.process = p
        self.log = log
        return
      }
      if p.isRunning {
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
      }
      lastLog = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
      try? FileManager.default.removeItem(atPath: log)
    }
    throw TestTools.Missing(description: "debuginfod did not start listening: \(lastLog.suffix(1500))")
  }

  /// What the server logged (each request is a line).
  public var logText: String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }

  /// SIGKILL: the test thread that started it may block SIGTERM, and a child inherits that
  /// mask; --passive keeps the database read-only, so nothing is lost.
  deinit {
    if process.isRunning {
      kill(process.processIdentifier, SIGKILL)
      process.waitUntilExit()
    }
    try? FileManager.default.removeItem(atPath: log)
  }
}
