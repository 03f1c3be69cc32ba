// The inputs kept in the repository: Fuzz/Regressions/<target>/ (crashers, minimized) and
// Fuzz/Seeds/<target>/ (tiny hand-made seeds), replayed by the KdigFuzzTests suite.

import Foundation

public enum FuzzCorpus {
  /// The repository this harness was built from (this file is Fuzz/Targets/FuzzCorpus.swift):
  /// targets that run over a fixed real file (the shipped extract, the tiny vmlinux) open it here.
  static let repositoryRoot: String = {
    var parts = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false)
    parts.removeLast(3)
    return parts.joined(separator: "/")
  }()

  /// The files at `path`: itself, or the regular files of a directory (sorted, no dotfiles).
  public static func files(at path: String) -> [String] {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return [path] }
    guard isDirectory.boolValue else { return [path] }
    let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
    return names.filter { !$0.hasPrefix(".") }.sorted().map { "\(path)/\($0)" }
  }

  /// The committed inputs of `target` under the repository root `root`.
  public static func committed(_ target: FuzzTarget, root: String) -> [String] {
    ["Regressions", "Seeds"].flatMap { files(at: "\(root)/Fuzz/\($0)/\(target.rawValue)") }
      .filter { FileManager.default.fileExists(atPath: $0) }
  }
}
