// A read-only memory mapping of a whole file: opening a multi-GB dump costs one mmap, and
// pages are faulted in only when read.

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// A file mapped read-only into memory.
public final class MappedFile: ByteSource {
  public let name: String
  public let size: UInt64
  /// The whole file; empty for an empty file.
  public let bytes: UnsafeRawBufferPointer
  private let mapping: UnsafeMutableRawPointer?

  /// Maps the file at `path`.
  public init(path: String) throws(FileError) {
    name = path
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw FileError(path: path, reason: MappedFile.errnoText("cannot open")) }
    defer { close(fd) }
    var st = stat()
    guard fstat(fd, &st) == 0 else {
      throw FileError(path: path, reason: MappedFile.errnoText("cannot stat"))
    }
    guard (st.st_mode & S_IFMT) == S_IFREG else {
      throw FileError(path: path, reason: "not a regular file")
    }
    size = UInt64(st.st_size)
    guard st.st_size > 0 else {
      mapping = nil
      bytes = UnsafeRawBufferPointer(start: nil, count: 0)
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
  }

  deinit {
    if let mapping { munmap(mapping, bytes.count) }
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

  /// The whole file as one view.
  public var wholeView: ByteView {
    ByteView(bytes: bytes, owner: self, file: name, fileOffset: 0)
  }

  private static func errnoText(_ what: String) -> String {
    "\(what): \(String(cString: strerror(errno)))"
  }
}
