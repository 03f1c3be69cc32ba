// Opens a dump by content, never by file name (dump-formats.md §2.5): the flattened
// wrapper first, then kdump/diskdump, then ELF.

import KdigBinary
import KdigMemory

/// Opens the dump at `path`, detecting its format from its first bytes.
public func openDump(path: String) throws -> any DumpFile {
  let file = try MappedFile(path: path)
  return try openDump(source: file, path: path, fileSize: file.size)
}

/// Opens a dump held by `source` (a plain file, or a flattened stream's logical file).
public func openDump(source: ByteSource, path: String, fileSize: UInt64) throws -> any DumpFile {
  guard source.size >= 8 else {
    throw BinaryError(
      file: path, offset: 0, expected: "a dump signature (ELF, KDUMP, DISKDUMP or makedumpfile)",
      found: "a file of \(source.size) bytes")
  }
  let head = try source.view(at: 0, count: min(16, Int(source.size)), "a dump signature")
  if FlattenedFile.hasSignature(head) {
    let logical = try FlattenedFile(file: source)
    var dump = try openDump(source: logical, path: path, fileSize: fileSize)
    if let kdump = dump as? KdumpDump {
      kdump.markFlattened()
      dump = kdump
    }
    return dump
  }
  if KdumpDump.hasSignature(head) {
    return try KdumpDump(source: source, path: path, fileSize: fileSize)
  }
  if head.matches([0x7f, 0x45, 0x4c, 0x46], at: 0) {
    return try ElfCoreDump(source: source, path: path, fileSize: fileSize)
  }
  let shown = (try? head.array(0, min(8, head.count), "signature"))?.map { hexPadded(UInt64($0), width: 2) }
    .joined(separator: " ") ?? "?"
  throw UnsupportedError(
    file: path,
    reason: "not a dump kdig reads: expected an ELF core, a makedumpfile kdump (\"KDUMP   \"), "
      + "a diskdump or a flattened makedumpfile stream at offset 0x0, found bytes \(shown)")
}
