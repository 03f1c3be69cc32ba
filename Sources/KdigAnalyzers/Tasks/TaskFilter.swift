// crash's ps selection: tasks named by PID, task_struct address or command (an all-digit
// command written `\123`, a regular expression between single quotes), and the -k (kernel
// threads), -u (user tasks) and -G (thread-group leaders) restrictions.

import KdigBinary

/// A selection that names no task, or a pattern that does not parse (exit 64, as an unknown symbol).
public struct TaskFilterError: KdigError {
  public var message: String
  public var category: ErrorCategory { .usage }
  public var description: String { message }
}

/// Which tasks a `ps` shows.
public struct TaskFilter: Sendable {
  public enum Kind: Sendable { case all, kernelThreads, userTasks }

  public var kind: Kind
  public var groupLeadersOnly: Bool
  public var selectors: [String]

  public init(kind: Kind = .all, groupLeadersOnly: Bool = false, selectors: [String] = []) {
    (self.kind, self.groupLeadersOnly, self.selectors) = (kind, groupLeadersOnly, selectors)
  }

  enum Selector {
    case pid(Int32)
    case task(UInt64)
    case command(String)
    case pattern(Regex<AnyRegexOutput>, String)
  }

  /// Each selector as crash reads it: digits are a PID, 0x… or a long hex word a task, \… or any
  /// other word a command, '…' a pattern on the command.
  static func parse(_ word: String) throws -> Selector {
    if word.count >= 2, word.hasPrefix("'"), word.hasSuffix("'") {
      let body = String(word.dropFirst().dropLast())
      do {
        return .pattern(try Regex(body), body)
      } catch {
        throw TaskFilterError(message: "'\(body)' is not a regular expression: \(error)")
      }
    }
    if word.hasPrefix("\\") { return .command(String(word.dropFirst())) }
    if let pid = Int32(word), pid >= 0 { return .pid(pid) }
    let hexDigits = word.hasPrefix("0x") ? word.dropFirst(2) : Substring(word)
    if hexDigits.count >= 8, let address = UInt64(hexDigits, radix: 16) { return .task(address) }
    return .command(word)
  }

  static func matches(_ s: Selector, _ t: TaskInfo) -> Bool {
    switch s {
    case .pid(let pid): return t.pid == pid
    case .task(let address): return t.task.value == address
    case .command(let name): return t.comm == name
    case .pattern(let regex, _): return (try? regex.firstMatch(in: t.comm)) != nil
    }
  }

  /// The tasks chosen, in their order; a selector that names no task is an error.
  public func apply(_ tasks: [TaskInfo]) throws -> [TaskInfo] {
    let parsed = try selectors.map(Self.parse)
    for (word, s) in zip(selectors, parsed) where !tasks.contains(where: { Self.matches(s, $0) }) {
      throw TaskFilterError(message: "no task with PID, task_struct address or command \(word)")
    }
    return tasks.filter { t in
      switch kind {
      case .all: break
      case .kernelThreads: if t.kernelThread != true { return false }
      case .userTasks: if t.kernelThread != false { return false }
      }
      if groupLeadersOnly, let tgid = t.tgid, tgid != t.pid { return false }
      return parsed.isEmpty || parsed.contains { Self.matches($0, t) }
    }
  }
}
