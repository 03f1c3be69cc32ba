// Known findings a team has accepted, each with a reason (`kdig check --baseline FILE`):
// matching findings are marked accepted and stop counting; entries that matched nothing
// are reported so the file does not rot.

#if canImport(Glibc)
  import Glibc
#endif

/// One accepted finding: an id, optionally narrowed to a kernel release and a dump.
public struct BaselineEntry: Sendable, Codable, Equatable {
  /// The finding id, exactly (`idt.early-handler`).
  public var id: String
  /// A kernel release or glob (`6.1.*`); nil matches every release.
  public var release: String?
  /// A dump path or glob, matched against the path as given; a pattern without `/` is also
  /// matched against the file name. nil matches every dump.
  public var dump: String?
  /// Why the finding is accepted (required: a baseline documents itself).
  public var reason: String

  public init(id: String, release: String? = nil, dump: String? = nil, reason: String) {
    self.id = id
    self.release = release
    self.dump = dump
    self.reason = reason
  }

  /// Whether this entry accepts `finding` in `report`.
  public func matches(_ finding: DumpFinding, in report: DumpCheckReport) -> Bool {
    guard finding.id == id else { return false }
    if let release, !globMatch(release, report.kernel?.release ?? "") { return false }
    if let dump {
      let name = report.dump.split(separator: "/").last.map(String.init) ?? report.dump
      if !globMatch(dump, report.dump) && (dump.contains("/") || !globMatch(dump, name)) { return false }
    }
    return true
  }
}

/// The baseline file: a JSON array of entries.
public struct CheckBaseline: Sendable {
  public var entries: [BaselineEntry]
  /// How many findings each entry accepted so far (same order as `entries`).
  public private(set) var matchCounts: [Int]

  public init(entries: [BaselineEntry]) {
    self.entries = entries
    matchCounts = Array(repeating: 0, count: entries.count)
  }

  /// Marks the findings of `report` that an entry accepts (the first matching entry's
  /// reason) and updates its status.
  public mutating func apply(to report: inout DumpCheckReport) {
    for i in report.findings.indices {
      guard let e = entries.firstIndex(where: { $0.matches(report.findings[i], in: report) }) else { continue }
      report.findings[i].accepted = entries[e].reason
      matchCounts[e] += 1
    }
    report.updateStatus()
  }

  /// Entries that accepted nothing in this batch.
  public var unmatched: [BaselineEntry] {
    zip(entries, matchCounts).filter { $0.1 == 0 }.map(\.0)
  }
}

/// Shell-style glob (`*`, `?`, `[...]`); `*` also crosses `/`.
func globMatch(_ pattern: String, _ text: String) -> Bool {
  fnmatch(pattern, text, 0) == 0
}
