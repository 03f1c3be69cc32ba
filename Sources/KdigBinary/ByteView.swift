// A bounds-checked window on bytes that came from a file. Every read names the file and
// the absolute offset when it fails.

/// Byte order of a multi-byte field.
public enum Endianness: Sendable {
  case little
  case big
}

/// Bytes at a known place in a file, kept alive by their owner (a mapping or a copy).
public struct ByteView {
  /// The bytes themselves.
  public let bytes: UnsafeRawBufferPointer
  /// Keeps `bytes` valid (a `MappedFile`, or a heap copy).
  public let owner: AnyObject?
  /// Name of the file the bytes came from, for errors.
  public let file: String
  /// Offset in `file` of `bytes[0]`.
  public let fileOffset: UInt64

  public init(bytes: UnsafeRawBufferPointer, owner: AnyObject?, file: String, fileOffset: UInt64) {
    self.bytes = bytes
    self.owner = owner
    self.file = file
    self.fileOffset = fileOffset
  }

  /// A copy of `data` that owns its storage.
  public static func copying(_ data: [UInt8], file: String, fileOffset: UInt64) -> ByteView {
    let box = ByteBox(data)
    return ByteView(bytes: box.buffer, owner: box, file: file, fileOffset: fileOffset)
  }

  public var count: Int { bytes.count }

  /// Runs `body` on the bytes while keeping their owner alive. Use this, not `bytes`, when the
  /// view is a temporary: an owned copy may be freed right after the view's last use.
  @inlinable
  public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
    try withExtendedLifetime(owner) { try body(bytes) }
  }

  /// The error for a read of `need` bytes at `offset` that does not fit.
  public func truncated(at offset: Int, need: Int, _ what: String) -> BinaryError {
    BinaryError(
      file: file, offset: fileOffset &+ UInt64(max(0, offset)),
      expected: "\(need) bytes of \(what)",
      found: "\(max(0, count - max(0, offset))) bytes before the end")
  }

  /// Absolute file offset of `offset` in this view, for error messages.
  public func location(_ offset: Int) -> UInt64 { fileOffset &+ UInt64(max(0, offset)) }

  @inlinable
  func check(_ offset: Int, _ size: Int, _ what: @autoclosure () -> String) throws(BinaryError) {
    // safe, can't overflow: both are non-negative Ints well below Int.max / 2 after the checks.
    guard offset >= 0, size >= 0, offset <= count, size <= count - offset else {
      throw truncated(at: offset, need: size, what())
    }
  }

  /// Reads an integer of type `T` at `offset`.
  @inlinable
  public func read<T: FixedWidthInteger>(
    _ type: T.Type, at offset: Int, _ endianness: Endianness = .little,
    _ what: @autoclosure () -> String = "field"
  ) throws(BinaryError) -> T {
    try check(offset, MemoryLayout<T>.size, what())
    let raw = bytes.loadUnaligned(fromByteOffset: offset, as: T.self)
    return endianness == .little ? T(littleEndian: raw) : T(bigEndian: raw)
  }

  @inlinable public func u8(_ offset: Int, _ what: @autoclosure () -> String = "byte")
    throws(BinaryError) -> UInt8
  { try read(UInt8.self, at: offset, .little, what()) }

  @inlinable public func u16(_ offset: Int, _ what: @autoclosure () -> String = "u16 field")
    throws(BinaryError) -> UInt16
  { try read(UInt16.self, at: offset, .little, what()) }

  @inlinable public func u32(_ offset: Int, _ what: @autoclosure () -> String = "u32 field")
    throws(BinaryError) -> UInt32
  { try read(UInt32.self, at: offset, .little, what()) }

  @inlinable public func u64(_ offset: Int, _ what: @autoclosure () -> String = "u64 field")
    throws(BinaryError) -> UInt64
  { try read(UInt64.self, at: offset, .little, what()) }

  @inlinable public func i32(_ offset: Int, _ what: @autoclosure () -> String = "i32 field")
    throws(BinaryError) -> Int32
  { try read(Int32.self, at: offset, .little, what()) }

  @inlinable public func i64(_ offset: Int, _ what: @autoclosure () -> String = "i64 field")
    throws(BinaryError) -> Int64
  { try read(Int64.self, at: offset, .little, what()) }

  /// A sub-view of `size` bytes at `offset`.
  public func slice(_ offset: Int, _ size: Int, _ what: @autoclosure () -> String)
    throws(BinaryError) -> ByteView
  {
    try check(offset, size, what())
    let sub = UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + size)])
    return ByteView(bytes: sub, owner: owner, file: file, fileOffset: location(offset))
  }

  /// The bytes at `offset..<offset+size` as an array.
  public func array(_ offset: Int, _ size: Int, _ what: @autoclosure () -> String)
    throws(BinaryError) -> [UInt8]
  {
    try check(offset, size, what())
    return Array(bytes[offset..<(offset + size)])
  }

  /// A NUL-terminated string in a fixed field of `size` bytes (no NUL needed if full).
  public func fixedString(_ offset: Int, _ size: Int, _ what: @autoclosure () -> String)
    throws(BinaryError) -> String
  {
    let field = try array(offset, size, what())
    let end = field.firstIndex(of: 0) ?? field.count
    return String(decoding: field[..<end], as: UTF8.self)
  }

  /// True when the bytes at `offset` equal `expected`.
  public func matches(_ expected: [UInt8], at offset: Int) -> Bool {
    guard offset >= 0, offset <= count, expected.count <= count - offset else { return false }
    for (i, b) in expected.enumerated() where bytes[offset + i] != b { return false }
    return true
  }
}

/// Heap storage that a `ByteView` can own.
public final class ByteBox {
  public let buffer: UnsafeRawBufferPointer
  private let storage: UnsafeMutableRawBufferPointer

  public init(_ data: [UInt8]) {
    let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, data.count), alignment: 16)
    data.withUnsafeBytes { src in
      if let base = src.baseAddress, let dst = storage.baseAddress {
        dst.copyMemory(from: base, byteCount: src.count)
      }
    }
    self.storage = storage
    buffer = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(storage)[0..<data.count])
  }

  /// Storage of `count` zero bytes the caller fills through `mutableBuffer`.
  public init(zeroedCount count: Int) {
    storage = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, count), alignment: 16)
    storage.initializeMemory(as: UInt8.self, repeating: 0)
    buffer = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(storage)[0..<count])
  }

  /// Writable access for the code that fills a box it just made.
  public var mutableBuffer: UnsafeMutableRawBufferPointer {
    UnsafeMutableRawBufferPointer(mutating: buffer)
  }

  deinit { storage.deallocate() }
}
