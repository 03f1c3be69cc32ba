// ELF note records ({namesz, descsz, type}, name and desc each padded to 4 bytes), as the
// kernel (append_elf_note, kernel/vmcore_info.c) and QEMU (dump.c) write them. Used for
// ELF PT_NOTE segments and for the note blob of kdump-compressed files.

import KdigBinary

/// One ELF note.
public struct ElfNote {
  public var name: String
  public var type: UInt32
  public var desc: ByteView
  /// File offset of the note header, for messages.
  public var fileOffset: UInt64
}

/// Parses every note in `view`. An all-zero header ends a per-CPU buffer and is skipped.
/// Malformed sizes throw with the note's offset; the loop always advances, so it ends.
public func parseElfNotes(_ view: ByteView) throws(BinaryError) -> [ElfNote] {
  var notes: [ElfNote] = []
  var offset = 0
  while offset < view.count {
    // Trailing padding shorter than a header is tolerated (QEMU/kernel pad note segments).
    if view.count - offset < 12 {
      if view.bytes[offset...].allSatisfy({ $0 == 0 }) { break }
      throw view.truncated(at: offset, need: 12, "an ELF note header")
    }
    let namesz = Int(try view.u32(offset, "note n_namesz"))
    let descsz = Int(try view.u32(offset + 4, "note n_descsz"))
    let type = try view.u32(offset + 8, "note n_type")
    if namesz == 0 && descsz == 0 && type == 0 {
      offset += 12
      continue
    }
    let nameStart = offset + 12
    let nameSpan = align4(namesz)
    // Sizes are u32 (< 2^32) and offset < count <= Int.max/2, so these sums cannot overflow.
    guard nameSpan <= view.count - nameStart else {
      throw BinaryError(
        file: view.file, offset: view.location(offset),
        expected: "note name of \(namesz) bytes within the note segment",
        found: "\(view.count - nameStart) bytes left")
    }
    let descStart = nameStart + nameSpan
    guard descsz <= view.count - descStart else {
      throw BinaryError(
        file: view.file, offset: view.location(offset),
        expected: "note descriptor of \(descsz) bytes within the note segment",
        found: "\(view.count - descStart) bytes left")
    }
    let name = try view.fixedString(nameStart, namesz, "note name")
    let desc = try view.slice(descStart, descsz, "note descriptor")
    notes.append(ElfNote(name: name, type: type, desc: desc, fileOffset: view.location(offset)))
    let next = descStart + min(align4(descsz), view.count - descStart)
    offset = next
  }
  return notes
}

@inline(__always) func align4(_ n: Int) -> Int { (n + 3) & ~3 }
