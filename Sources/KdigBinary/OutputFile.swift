// A file written under a temporary name and renamed into place when complete, so a reader
// (or an interrupted run) never sees half a file.

#if canImport(Glibc)
  import Glibc
#endif

/// An output file being written; `commit()` publishes it, anything else removes it.
public final class OutputFile {
  public let path: String
  let temporary: String
  private var fd: Int32
  private var committed = false

  /// Creates `path`'s temporary sibling (mode 0644).
  public init(path: String) throws {
    self.path = path
    temporary = "\(path).\(getpid()).tmp"
    fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw FileError(path: path, reason: "cannot create \(temporary): \(systemError())") }
  }

  deinit { discard() }

  /// Writes `bytes` at `offset`.
  public func write(_ bytes: [UInt8], at offset: UInt64) throws {
    var done = 0
    // Each pwrite moves forward or the loop throws: at most count iterations.
    while done < bytes.count {
      let n = bytes.withUnsafeBytes { buffer -> Int in
        guard let base = buffer.baseAddress else { return -1 }
        return pwrite(fd, base + done, buffer.count - done, off_t(offset) + off_t(done))
      }
      guard n > 0 else { throw FileError(path: path, reason: "write failed at offset \(offset + UInt64(done)): \(systemError())") }
      done += n
    }
  }

  /// Sets the file's size (a file may end in a hole).
  public func truncate(to size: UInt64) throws {
    guard ftruncate(fd, off_t(size)) == 0 else { throw FileError(path: path, reason: "cannot size to \(size): \(systemError())") }
  }

  /// Closes the file and renames it into place; `durable` first flushes it to disk (a
  /// cache file need not be: a lost one is rebuilt).
  public func commit(durable: Bool = true) throws {
    guard fd >= 0 else { throw FileError(path: path, reason: "already closed") }
    let ok = !durable || fsync(fd) == 0
    close(fd)
    fd = -1
    guard ok, rename(temporary, path) == 0 else {
      unlink(temporary)
      throw FileError(path: path, reason: "cannot complete: \(systemError())")
    }
    committed = true
  }

  /// Removes the temporary file unless committed.
  public func discard() {
    if fd >= 0 {
      close(fd)
      fd = -1
    }
    if !committed { unlink(temporary) }
  }

  /// Writes `bytes` as the whole of `path`, atomically, creating its directory (a cache
  /// file: not flushed); false when it could not.
  @discardableResult
  public static func replace(_ path: String, with bytes: [UInt8]) -> Bool {
    if let slash = path.lastIndex(of: "/") { CacheDirectory.makeDirectories(String(path[..<slash])) }
    guard let file = try? OutputFile(path: path) else { return false }
    do {
      try file.write(bytes, at: 0)
      try file.commit(durable: false)
      return true
    } catch {
      return false
    }
  }
}

private func systemError() -> String { String(cString: strerror(errno)) }
