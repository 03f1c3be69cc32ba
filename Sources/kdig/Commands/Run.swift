// Runs a command body, printing its text or JSON and turning errors into exit codes.

import ArgumentParser
import Foundation
import Kdig

/// Exit code for an error category (docs/exit-codes.md).
func exitCode(for category: ErrorCategory) -> Int32 {
  switch category {
  case .notMapped: return 1
  case .malformedInput, .unreadable, .unsupported, .notInDump: return 2
  case .debugInfo: return 3
  case .usage: return 64
  }
}

/// What a command prints, rendered only in the form asked for.
struct CommandOutput {
  var text: () -> String
  var json: () -> String
  /// Exit status when the command ran: 0, 1 (findings) or 2 (memory not in the dump).
  var status: Int32 = 0
}

/// Runs `body`; on failure prints `kdig: error: …` (or a JSON error) and exits with its code.
func runCommand(_ command: String, json: Bool, _ body: () throws -> CommandOutput) throws {
  do {
    let out = try body()
    if json { print(out.json()) } else { print(out.text(), terminator: "") }
    if out.status != 0 { throw ExitCode(out.status) }
  } catch let e as ExitCode {
    throw e
  } catch {
    let category = (error as? any KdigError)?.category ?? .unreadable
    let code = exitCode(for: category)
    let message = String(describing: error)
    if json {
      print(JSONOutput.renderError(command: command, category: category, exitCode: code, message: message))
    }
    FileHandle.standardError.write(Data("kdig \(command): error: \(message)\n".utf8))
    throw ExitCode(code)
  }
}
