// Progress of `kdig check` on stderr — only when stderr is a terminal, so CI logs and
// redirected output stay clean.

import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// "[3/17] checking /dumps/vm12.vmcore" on one rewritten stderr line.
struct CheckProgress {
  let enabled = isatty(STDERR_FILENO) == 1
  var total: Int
  var done = 0
  var inWork: [Int: String] = [:]

  mutating func started(_ index: Int, _ dump: String) {
    inWork[index] = dump
    show()
  }

  /// Counts a finished dump; the caller prints its line, then `show()`s.
  mutating func finished(_ index: Int) {
    inWork[index] = nil
    done += 1
  }

  /// Clears the line before something else is printed to the terminal.
  func clear() {
    if enabled { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
  }

  func show() {
    guard enabled else { return }
    let names = inWork.sorted { $0.key < $1.key }.map { ($0.value as NSString).lastPathComponent }
    guard !names.isEmpty else { return }
    let line = "[\(done)/\(total)] checking \(names.joined(separator: ", "))"
    FileHandle.standardError.write(Data("\r\u{1B}[K\(line.prefix(200))".utf8))
  }
}
