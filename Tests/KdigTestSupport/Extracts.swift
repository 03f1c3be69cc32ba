// `kdig extract` files of real samples, made once per test process (several suites compare
// them with their originals) in a temporary directory removed at exit.

import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// One sample's extract and what `kdig extract --json` said about it.
public struct Extract: Sendable {
  public var path: String
  public var fileSize: Int
  public var pages: Int
  public var seconds: Double
}

public enum Extracts {
  nonisolated(unsafe) private static var made: [String: Extract] = [:]
  private static let lock = NSLock()
  nonisolated(unsafe) private static var directory: String?

  /// The extract of `sample` (with its vmlinux), made on first use.
  public static func of(_ sample: Sample) throws -> Extract {
    lock.lock()
    defer { lock.unlock() }
    if let e = made[sample.name] { return e }
    let dir = try workDirectory()
    let path = "\(dir)/\(sample.name).kdump"
    let run = try KdigProcess.run(["extract", "--dump", sample.file, "--vmlinux", sample.vmlinux, "-o", path, "--json"])
    guard run.status == 0,
      let object = try? JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any],
      let result = object["result"] as? [String: Any], let size = result["fileSize"] as? Int,
      let pages = result["pages"] as? Int, let seconds = result["elapsed"] as? Double
    else {
      throw ExtractFailed(description: "kdig extract of \(sample.name) exited \(run.status): \(run.stderr)\(run.stdout.prefix(2000))")
    }
    let e = Extract(path: path, fileSize: size, pages: pages, seconds: seconds)
    made[sample.name] = e
    return e
  }

  private static func workDirectory() throws -> String {
    if let directory { return directory }
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kdig-extracts-\(getpid())").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    directory = dir
    atexit {
      if let d = Extracts.directory { try? FileManager.default.removeItem(atPath: d) }
    }
    return dir
  }

  public struct ExtractFailed: Error, CustomStringConvertible {
    public var description: String
  }
}
