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
  /// The "KDIG" note `kdig extract` writes: what the file was extracted from.
  public var kdigExtract: String?
  /// Every note seen: name, type and descriptor size (for `kdig info --notes`).
  public var inventory: [(name: String, type: UInt32, size: Int)] = []
  /// Every note with its descriptor bytes, in file order, so a writer can carry them into
  /// another dump (`kdig extract`).
  public var records: [RawNote] = []

  public init() {}

  /// The note a kdig extract carries (name "KDIG", type 1): "from FORMAT FILE; parts …".
  public static let kdigNoteName = "KDIG"
  public static let kdigNoteType: UInt32 = 1

  /// Adds the notes parsed from one note area.
  public mutating func collect(_ notes: [ElfNote]) throws(BinaryError) {
    for note in notes {
      inventory.append((note.name, note.type, note.desc.count))
      records.append(RawNote(name: note.name, type: note.type, desc: note.desc.withUnsafeBytes { Array($0) }))
      switch (note.name, note.type) {
      case ("CORE", 1):  // NT_PRSTATUS
        prstatus.append(try PRStatus(parsing: note.desc))
      case ("QEMU", 0):
        qemuCPUs.append(try QEMUCPUState(parsing: note.desc))
        qemuCPUOffsets.append(note.desc.fileOffset)
      case (Self.kdigNoteName, Self.kdigNoteType):
        let bytes = note.desc.withUnsafeBytes { Array($0.prefix(4096)) }
        kdigExtract = String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
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

/// One note as it was stored: name, type and descriptor bytes.
public struct RawNote: Sendable, Equatable {
  public var name: String
  public var type: UInt32
  public var desc: [UInt8]

  public init(name: String, type: UInt32, desc: [UInt8]) {
    self.name = name
    self.type = type
    self.desc = desc
  }
}
