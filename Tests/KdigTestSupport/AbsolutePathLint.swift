// Finds absolute path literals that only one machine has (issue 7: a test read a vmlinux
// from a scratch directory that existed on the submitting machine alone). Tests, scripts,
// benchmarks and docs must take real files from the sample manifest and cache instead.

import Foundation

/// One absolute path outside the allowed system locations, with where it was found.
public struct AbsolutePathFinding: Equatable, CustomStringConvertible, Sendable {
  public var file: String  // relative to the scanned root
  public var line: Int
  public var path: String
  public var description: String { "\(file):\(line): absolute path \(path) is not in the clone or the sample cache" }
}

public enum AbsolutePathLint {
  /// Top-level directories that belong to the system (read-only facts of any Debian machine,
  /// or the kernel's own interfaces) and may be named anywhere.
  public static let allowedRoots: Set<String> = [
    "proc", "sys", "dev", "usr", "lib", "lib32", "lib64", "bin", "sbin", "boot", "etc",
  ]
  /// Allowed paths under otherwise disallowed roots, as components: kdump's conventional
  /// output directory (docs examples) and the toolchain.
  public static let allowedUnderMachineRoots: [[String]] = [["var", "crash"], ["opt", "swift"]]
  /// Top-level directories that hold one machine's or one user's files.
  public static let machineRoots: Set<String> = [
    "tmp", "home", "root", "work", "opt", "var", "mnt", "srv", "media", "run", "data", "scratch",
    "Users", "private", "nix", "snap",
  ]
  /// Folders scanned, relative to the repository root, and the file kinds read in them.
  public static let scannedFolders = ["Sources", "Tests", "Samples", ".ci", "docs"]
  public static let scannedTopFiles = ["README.md", "Package.swift"]
  static let extensions: Set<String> = ["swift", "sh", "py", "md", "tsv", "cmds", "json", "txt", ""]
  /// A line carrying this marker and a reason is exempt (e.g. a path inside the guest).
  public static let exemptionMarker = "path-ok:"

  /// Every finding under `root`, in file then line order.
  public static func scan(root: String) throws -> [AbsolutePathFinding] {
    var findings: [AbsolutePathFinding] = []
    for relative in try files(root: root) {
      let text = try String(contentsOfFile: root + "/" + relative, encoding: .utf8)
      findings += scan(text: text, file: relative)
    }
    return findings
  }

  /// Findings in one file's text.
  public static func scan(text: String, file: String) -> [AbsolutePathFinding] {
    var findings: [AbsolutePathFinding] = []
    for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
    where !line.contains(exemptionMarker) {
      for path in absolutePaths(in: Substring(line)) where !isAllowed(path) {
        findings.append(AbsolutePathFinding(file: file, line: index + 1, path: path))
      }
    }
    return findings
  }

  /// Paths that start at the root: a "/" not preceded by a name, variable or expression
  /// character (so `dir + "/x"`, `$HOME/x`, `a/b` and URLs are not absolute paths).
  static func absolutePaths(in line: Substring) -> [String] {
    let chars = Array(line)
    var paths: [String] = []
    var i = 0
    while i < chars.count {
      defer { i += 1 }
      guard chars[i] == "/" else { continue }
      if i > 0 {
        let before = chars[i - 1]
        if before.isLetter || before.isNumber || "_.$})]>~-/:*\\".contains(before) { continue }
      }
      var j = i + 1
      while j < chars.count, chars[j].isLetter || chars[j].isNumber || "_.+-/".contains(chars[j]) {
        j += 1
      }
      let path = String(chars[i..<j])
      let first = path.dropFirst().split(separator: "/").first.map(String.init) ?? ""
      if machineRoots.contains(first) || allowedRoots.contains(first) { paths.append(path) }
      i = j - 1
    }
    return paths
  }

  static func isAllowed(_ path: String) -> Bool {
    let first = path.dropFirst().split(separator: "/").first.map(String.init) ?? ""
    if allowedRoots.contains(first) { return true }
    let components = path.split(separator: "/").map(String.init)
    return allowedUnderMachineRoots.contains { Array(components.prefix($0.count)) == $0 }
  }

  public static func files(root: String) throws -> [String] {
    let fm = FileManager.default
    var out: [String] = scannedTopFiles.filter { fm.fileExists(atPath: root + "/" + $0) }
    for folder in scannedFolders where fm.fileExists(atPath: root + "/" + folder) {
      guard let walker = fm.enumerator(atPath: root + "/" + folder) else { continue }
      while let item = walker.nextObject() as? String {
        let relative = folder + "/" + item
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: root + "/" + relative, isDirectory: &isDirectory) else { continue }
        if isDirectory.boolValue {
          if item.split(separator: "/").last?.hasPrefix(".build") == true { walker.skipDescendants() }
          continue
        }
        let ext = (item as NSString).pathExtension
        if extensions.contains(ext) { out.append(relative) }
      }
    }
    return out.sorted()
  }
}
