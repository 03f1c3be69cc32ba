// The clone's own files and the tools Samples/test-tools.sh installs, for tests that run them.
// A missing tool is an error that says how to install it: tests fail, never skip.

import Foundation

/// Files of this clone.
public enum Repository {
  /// This file is Tests/KdigTestSupport/TestTools.swift.
  public static let root: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.path
  }()

  public static func path(_ relative: String) -> String { root + "/" + relative }
}

/// Programs the tests need.
public enum TestTools {
  public struct Missing: Error, CustomStringConvertible {
    public var description: String
  }

  /// The drgn venv's python, which has jsonschema (Samples/test-tools.sh).
  public static func python() throws -> String {
    let path = Samples.cacheDirectory + "/venv-drgn/bin/python"
    guard FileManager.default.isExecutableFile(atPath: path) else {
      throw Missing(description: "no python at \(path): run bash Samples/make-samples.sh and bash Samples/test-tools.sh")
    }
    return path
  }

  /// `name` found in PATH.
  public static func executable(_ name: String) throws -> String {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
    for dir in path.split(separator: ":") where FileManager.default.isExecutableFile(atPath: "\(dir)/\(name)") {
      return "\(dir)/\(name)"
    }
    throw Missing(description: "\(name) is not installed (not in PATH): run bash Samples/test-tools.sh")
  }
}

/// A temporary directory, removed with everything in it when released.
public final class TemporaryDirectory {
  public let path: String

  public init(_ name: String) throws {
    path = FileManager.default.temporaryDirectory.appendingPathComponent("kdig-\(name)-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
  }

  deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// The published schema of `kdig check --json`, applied by a real validator (python
/// jsonschema, Samples/lib/validate_jsonl.py), not by kdig's own types.
public enum CheckSchema {
  public static var path: String { Repository.path("docs/check.schema.json") }

  /// Validates every line of `jsonLines`; status 0 when all are valid, 1 with one line per
  /// violation on stdout, 2 when the validator cannot run.
  public static func validate(_ jsonLines: String) throws -> BoundedRun {
    let file = try TemporaryFile(Array(jsonLines.utf8), name: "check-lines")
    return try BoundedProcess.run(
      try TestTools.python(), [Repository.path("Samples/lib/validate_jsonl.py"), path, file.path], timeout: 60)
  }
}
