// A read-only memory mapping of a whole file: opening a multi-GB dump costs one mmap, and
// pages are faulted in only when read.

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// What tells one version of a file on disk from another: derived data kept in the cache
/// (a flattened stream's record index) is keyed by it.
public struct FileStamp: Equatable, Sendable {
  public var device: UInt64
  public var inode: UInt64
  public var size: UInt64
  public var modifiedSeconds: Int64
  public var modifiedNanoseconds: Int64
  /// The inode change time: unlike mtime, no one can set it back.
  public var changedSeconds: Int64
  public var changedNanoseconds: Int64
}

/// A file mapped read-only into memory.
public final class MappedFile: ByteSource {
  public let name: String
  public let size: UInt64
  /// Device, inode, size and modification time when the file was opened.
  public let stamp: FileStamp
  /// The whole file; empty for an empty file.
  public let bytes: UnsafeRawBufferPointer
  private let mapping: UnsafeMutableRawPointer?
  /// Kept open for `copyBytes`.
  private let fd: Int32

  /// Maps the file at `path`.
  public init(path: String) throws(FileError) {
    name = path
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw FileError(path: path, reason: MappedFile.errnoText("cannot open")) }
    self.fd = fd
    var ok = false
    defer { if !ok { close(fd) } }
    var st = stat()
    guard fstat(fd, &st) == 0 else {
      throw FileError(path: path, reason: MappedFile.errnoText("cannot stat"))
    }
    guard (st.st_mode & S_IFMT) == S_IFREG else {
      throw FileError(path: path, reason: "not a regular file")
    }
    size = UInt64(st.st_size)
    stamp = FileStamp(
      device: UInt64(st.st_dev), inode: UInt64(st.st_ino), size: size,
      modifiedSeconds: Int64(st.st_mtim.tv_sec), modifiedNanoseconds: Int64(st.st_mtim.tv_nsec),
      changedSeconds: Int64(st.st_ctim.tv_sec), changedNanoseconds: Int64(st.st_ctim.tv_nsec))
    guard st.st_size > 0 else {
      mapping = nil
      bytes = UnsafeRawBufferPointer(start: nil, count: 0)
      ok = true
      return
    }
    guard let length = Int(exactly: st.st_size) else {
      throw FileError(path: path, reason: "too large to map")
    }
    let p = mmap(nil, length, PROT_READ, MAP_PRIVATE, fd, 0)
    guard let p, p != MAP_FAILED else {
      throw FileError(path: path, reason: MappedFile.errnoText("cannot mmap"))
    }
    mapping = p
    bytes = UnsafeRawBufferPointer(start: p, count: length)
    ok = true
  }

  deinit {
    if let mapping { munmap(mapping, bytes.count) }
    close(fd)
  }

  public func view(at offset: UInt64, count: Int, _ what: @autoclosure () -> String)
    throws(BinaryError) -> ByteView
  {
    guard count >= 0, offset <= size, UInt64(count) <= size - offset else {
      throw pastEnd(offset, count, what())
    }
    let start = Int(offset)  // safe: offset <= size, which fit in Int when mapped
    let sub = UnsafeRawBufferPointer(rebasing: bytes[start..<(start + count)])
    return ByteView(bytes: sub, owner: self, file: name, fileOffset: offset)
  }

  /// Copies the bytes at `offset` into `buffer` with pread, without mapping them into this
  /// process: reading every record header of a flattened stream then costs no resident
  /// memory, whatever the file's size. False when they lie past the end or cannot be read.
  public func copyBytes(at offset: UInt64, into buffer: UnsafeMutableRawBufferPointer) -> Bool {
    guard offset <= size, UInt64(buffer.count) <= size - offset, let base = buffer.baseAddress else {
      return buffer.isEmpty && offset <= size
    }
    var done = 0
    while done < buffer.count {
      let n = pread(fd, base + done, buffer.count - done, off_t(offset) + off_t(done))  // offset <= size fits off_t
      if n < 0 && errno == EINTR { continue }
      guard n > 0 else { return false }
      done += n
    }
    return true
  }

  /// The whole file as one view.
  public var wholeView: ByteView {
    ByteView(bytes: bytes, owner: self, file: name, fileOffset: 0)
  }

  private static func errnoText(_ what: String) -> String {
    "\(what): \(String(cString: strerror(errno)))"
  }
}
