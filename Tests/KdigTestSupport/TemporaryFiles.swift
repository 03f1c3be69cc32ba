// Writes fixture bytes to a unique temporary file and removes it afterwards.

import Foundation

/// A temporary file holding fixture bytes; deleted when released.
public final class TemporaryFile {
  public let path: String

  public init(_ bytes: [UInt8], name: String = "fixture") throws {
    let dir = FileManager.default.temporaryDirectory.path
    path = "\(dir)/kdig-\(name)-\(UUID().uuidString)"
    try Data(bytes).write(to: URL(fileURLWithPath: path))
  }

  deinit { try? FileManager.default.removeItem(atPath: path) }
}
