// The one libelf wrapper of kdig: open an ELF file (the vmlinux), list its section and
// program headers, find a section by name, read the GNU build-id note, and hand the handle
// to libdw (DWARFTypes). libelf maps the file (ELF_C_READ_MMAP); nothing is read eagerly.
// Sources: libelf.h / gelf.h (elfutils 0.188); NT_GNU_BUILD_ID in elf.h.

import CElfUtils
import KdigBinary

#if canImport(Glibc)
  import Glibc
#endif

/// An open ELF file, closed (`elf_end`, `close`) when released.
final class ElfImage {
  let path: String
  /// The libelf handle; valid for the lifetime of this object.
  let elf: OpaquePointer
  private let fd: Int32

  init(path: String) throws {
    self.path = path
    fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else {
      throw FileError(path: path, reason: "cannot open: \(String(cString: strerror(errno)))")
    }
    _ = elf_version(UInt32(EV_CURRENT))
    guard let handle = elf_begin(fd, ELF_C_READ_MMAP, nil) else {
      let message = ElfImage.libelfMessage()
      close(fd)
      throw KernelTypeError(file: path, "libelf error: \(message)", category: .unreadable)
    }
    guard elf_kind(handle) == ELF_K_ELF else {
      elf_end(handle)
      close(fd)
      throw KernelTypeError(file: path, "not an ELF file", category: .debugInfo)
    }
    elf = handle
  }

  deinit {
    elf_end(elf)
    close(fd)
  }

  /// `elf_errmsg(-1)`: the last libelf error.
  static func libelfMessage() -> String {
    elf_errmsg(-1).map { String(cString: $0) } ?? "unknown error"
  }

  /// e_machine of the ELF header (62 for x86-64), or nil when libelf cannot read it.
  var machine: UInt16? {
    var ehdr = GElf_Ehdr()
    return gelf_getehdr(elf, &ehdr) != nil ? ehdr.e_machine : nil
  }

  /// Every section header, index 0 (the null section) included, so `[i]` is section i.
  func sectionHeaders() throws -> [VmlinuxSection] {
    var shstrndx = 0
    guard elf_getshdrstrndx(elf, &shstrndx) == 0 else {
      throw KernelTypeError(file: path, "libelf error: \(ElfImage.libelfMessage())", category: .malformedInput)
    }
    var out = [VmlinuxSection(name: "", type: 0, flags: 0, address: 0, offset: 0, size: 0, link: 0, entrySize: 0)]
    var scn = elf_nextscn(elf, nil)
    while let s = scn {
      var shdr = GElf_Shdr()
      if gelf_getshdr(s, &shdr) != nil {
        let name = elf_strptr(elf, shstrndx, Int(shdr.sh_name)).map { String(cString: $0) } ?? ""
        out.append(
          VmlinuxSection(
            name: name, type: shdr.sh_type, flags: shdr.sh_flags, address: shdr.sh_addr,
            offset: shdr.sh_offset, size: shdr.sh_size, link: shdr.sh_link, entrySize: shdr.sh_entsize))
      }
      scn = elf_nextscn(elf, s)
    }
    return out
  }

  /// PT_LOAD segments: (link-time vaddr, file offset, file size).
  func loadSegments() -> [(vaddr: UInt64, offset: UInt64, size: UInt64)] {
    var out: [(UInt64, UInt64, UInt64)] = []
    var count = 0
    guard elf_getphdrnum(elf, &count) == 0 else { return [] }
    for i in 0..<count {
      var ph = GElf_Phdr()
      if gelf_getphdr(elf, Int32(i), &ph) != nil, ph.p_type == 1 { out.append((ph.p_vaddr, ph.p_offset, ph.p_filesz)) }
    }
    return out
  }

  /// File offset, size, type and flags of the first section called `name`.
  func section(named name: String) throws -> (
    offset: UInt64, size: UInt64, type: UInt32, flags: UInt64
  )? {
    var shstrndx = 0
    guard elf_getshdrstrndx(elf, &shstrndx) == 0 else {
      throw KernelTypeError(
        file: path, "libelf error: \(ElfImage.libelfMessage())", category: .malformedInput)
    }
    var scn = elf_nextscn(elf, nil)
    while let s = scn {
      var shdr = GElf_Shdr()
      if gelf_getshdr(s, &shdr) != nil, let cName = elf_strptr(elf, shstrndx, Int(shdr.sh_name)),
        strcmp(cName, name) == 0
      {
        return (shdr.sh_offset, shdr.sh_size, shdr.sh_type, shdr.sh_flags)
      }
      scn = elf_nextscn(elf, s)
    }
    return nil
  }

  /// The GNU build-id (NT_GNU_BUILD_ID note), or nil when the file has none.
  func buildID() -> [UInt8]? {
    var scn = elf_nextscn(elf, nil)
    while let s = scn {
      defer { scn = elf_nextscn(elf, s) }
      var shdr = GElf_Shdr()
      guard gelf_getshdr(s, &shdr) != nil, shdr.sh_type == UInt32(SHT_NOTE),
        let data = elf_getdata(s, nil), let base = data.pointee.d_buf
      else { continue }
      var offset = 0
      var nhdr = GElf_Nhdr()
      var nameOffset = 0
      var descOffset = 0
      while true {
        let next = gelf_getnote(data, offset, &nhdr, &nameOffset, &descOffset)
        if next == 0 { break }
        offset = next
        // gelf_getnote checked that name and desc lie inside the data buffer.
        let name = base.advanced(by: nameOffset).assumingMemoryBound(to: CChar.self)
        if nhdr.n_type == UInt32(NT_GNU_BUILD_ID), nhdr.n_namesz == 4, strcmp(name, "GNU") == 0 {
          let desc = UnsafeRawBufferPointer(
            start: base.advanced(by: descOffset), count: Int(nhdr.n_descsz))
          return Array(desc)
        }
      }
    }
    return nil
  }
}
