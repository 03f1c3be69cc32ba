// The notes a dump carries, collected once at open time from the ELF PT_NOTE segments or
// from the kdump note blob.

import KdigBinary

/// CPU states and VMCOREINFO found in a dump.
public struct DumpNotes {
  /// NT_PRSTATUS notes in file order (note index is not always the CPU number).
  public var prstatus: [PRStatus] = []
  /// QEMU per-vCPU states, in vCPU order.
  public var qemuCPUs: [QEMUCPUState] = []
  /// File offset of each QEMU state's descriptor (for tools that patch or carve dumps).
  public var qemuCPUOffsets: [UInt64] = []
  /// The VMCOREINFO text, as written by the kernel.
  public var vmcoreinfo: String?
  /// File offset of the VMCOREINFO text, for messages.
  public var vmcoreinfoOffset: UInt64?
  /// Every note seen: name, type and descriptor size (for `kdig info --notes`).
  public var inventory: [(name: String, type: UInt32, size: Int)] = []

  public init() {}

  /// Adds the notes parsed from one note area.
  public mutating func collect(_ notes: [ElfNote]) throws(BinaryError) {
    for note in notes {
      inventory.append((note.name, note.type, note.desc.count))
      switch (note.name, note.type) {
      case ("CORE", 1):  // NT_PRSTATUS
        prstatus.append(try PRStatus(parsing: note.desc))
      case ("QEMU", 0):
        qemuCPUs.append(try QEMUCPUState(parsing: note.desc))
        qemuCPUOffsets.append(note.desc.fileOffset)
      case ("VMCOREINFO", 0):
        let bytes = note.desc.withUnsafeBytes { Array($0) }
        let end = bytes.firstIndex(of: 0) ?? bytes.count
        vmcoreinfo = String(decoding: bytes[..<end], as: UTF8.self)
        vmcoreinfoOffset = note.desc.fileOffset
      default:
        continue
      }
    }
  }
}
