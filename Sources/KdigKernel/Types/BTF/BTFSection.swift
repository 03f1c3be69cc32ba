// Getting BTF out of a vmlinux file: libelf finds the `.BTF` section, and the bytes are
// a view on a read-only mapping of the file (only the ~4.5 MiB of BTF is ever touched).
// The dump-only path reads the same bytes from memory (__start_BTF..__stop_BTF,
// dump-formats.md §5.2) and calls `BTFTypes(bytes:)` directly.

import KdigBinary

/// The `.BTF` section of the ELF file at `path`, without copying it.
public func readBTFSection(fromELF path: String) throws -> ByteView {
  let elf = try ElfImage(path: path)
  guard let section = try elf.section(named: ".BTF") else {
    throw KernelTypeError(file: path, "no .BTF section")
  }
  guard let count = Int(exactly: section.size) else {
    throw KernelTypeError(file: path, "a .BTF section of \(section.size) bytes is too large")
  }
  let file = try MappedFile(path: path)
  return try file.view(at: section.offset, count: count, ".BTF section")
}

extension BTFTypes {
  /// The BTF of the vmlinux (or module) at `path`.
  public convenience init(elfPath path: String) throws {
    try self.init(bytes: try readBTFSection(fromELF: path), source: "\(path) (.BTF)")
  }
}
