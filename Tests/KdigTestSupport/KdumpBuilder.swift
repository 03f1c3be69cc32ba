// Builds small makedumpfile compressed kdump (and legacy diskdump) files in memory, laid
// out as makedumpfile and QEMU write them (dump-formats.md §1.1-§1.9): header block, sub
// header + notes, bitmap 1, bitmap 2, one descriptor per dumped pfn, the shared zero page,
// then page data in pfn order. Like libkdumpfile's tests/mkdiskdump.c, but in Swift.

import KdigBinary
import KdigCodecs
import KdigDump

/// A recipe for a compressed kdump file.
public struct KdumpBuilder {
  /// The page size every built file uses.
  public static let pageSize = 4096

  /// Which header signature to write.
  public enum Signature: Sendable { case kdump, diskdump }

  /// How a stored page is written.
  public enum Storage: Sendable, Equatable {
    /// Uncompressed, flags 0.
    case raw
    /// Compressed with a codec (stored raw if it does not shrink, as makedumpfile does).
    case compressed(PageCompression)
  }

  /// What one pfn below `maxPFN` is; pfns missing from `pages` are holes (bit 1 clear).
  public enum Page: Sendable, Equatable {
    /// A dumped page with these 4096 bytes.
    case data([UInt8], Storage)
    /// An all-zero page pointing at the shared zero page.
    case zero
    /// RAM that makedumpfile filtered out: bit 1 set, bit 2 clear.
    case excluded
    /// Dumped, but its descriptor was never written (an incomplete dump).
    case lost
  }

  public var signature = Signature.kdump
  public var headerVersion: Int32 = 6
  /// max_mapnr: page frames of the dumped machine.
  public var maxPFN: UInt64
  public var pages: [UInt64: Page] = [:]
  /// Header status codec bits (DUMP_DH_COMPRESSED_*).
  public var status: UInt32 = 0x1
  /// Sets DUMP_DH_COMPRESSED_INCOMPLETE (0x8).
  public var incompleteFlag = false
  /// Sets DUMP_DH_EXCLUDED_VMEMMAP (0x10).
  public var excludedVmemmap = false
  /// For one part of a split dump: the pfns this file holds.
  public var split: Range<UInt64>?
  /// Writes one bitmap only (old diskdump files), so holes cannot be told from exclusions.
  public var singleBitmap = false
  public var release = "6.12.0-kdig-test"
  public var machine = "x86_64"
  public var physBase: UInt64 = 0x1_0000_0000
  public var dumpLevel: Int32 = 31
  public var nrCPUs: Int32 = 2
  /// The ELF note blob (header version 4+: offset_note/size_note).
  public var notes: [UInt8] = []
  /// VMCOREINFO text: a note appended to `notes` (version 4+), or the bare text that
  /// offset_vmcoreinfo points at (version 3).
  public var vmcoreinfo: String?

  /// A builder for a machine of `maxPFN` page frames, all holes until `pages` says more.
  public init(maxPFN: UInt64) {
    self.maxPFN = maxPFN
  }

  /// The built file, with where everything went.
  public func build() throws -> BuiltKdump {
    let bs = Self.pageSize
    let hv = Int(headerVersion)
    var noteBlob: [UInt8] = []
    if signature == .kdump && hv >= 4 {
      noteBlob = notes + (vmcoreinfo.map { Self.vmcoreinfoNote($0) } ?? [])
    } else if signature == .kdump && hv == 3, let vmcoreinfo {
      noteBlob = Array(vmcoreinfo.utf8)
    }
    let subBlocks = max(1, (104 + noteBlob.count + bs - 1) / bs)
    let bitmapBytes = ((Int(maxPFN) + 7) / 8 + bs - 1) / bs * bs
    let bitmapBlocks = (singleBitmap ? 1 : 2) * bitmapBytes / bs
    let bitmapOffset = (1 + subBlocks) * bs
    let descOffset = bitmapOffset + bitmapBlocks * bs

    var ram = [UInt8](repeating: 0, count: bitmapBytes)
    var dumped = [UInt8](repeating: 0, count: bitmapBytes)
    for (pfn, page) in pages where pfn < maxPFN {
      ram[Int(pfn / 8)] |= 1 << UInt8(pfn % 8)
      if page != .excluded { dumped[Int(pfn / 8)] |= 1 << UInt8(pfn % 8) }
    }
    let range = split ?? 0..<maxPFN
    let stored = pages.filter { range.contains($0.key) && $0.value != .excluded }.keys.sorted()
    let dataStart = descOffset + 24 * stored.count
    var built = BuiltKdump(
      bytes: [], descriptorTableOffset: descOffset, dataOffset: dataStart, bitmapOffset: bitmapOffset)

    var descriptors: [UInt8] = []
    var data: [UInt8] = []
    let hasZero = stored.contains { pages[$0] == .zero }
    if hasZero { data += [UInt8](repeating: 0, count: bs) }
    for pfn in stored {
      built.descriptorOffsets[pfn] = descOffset + descriptors.count
      var offset = 0
      var size = 0
      var flags: UInt32 = 0
      switch pages[pfn] {
      case .data(let bytes, let storage)?:
        precondition(bytes.count == bs, "test pages are 4096 bytes")
        built.contents[pfn] = bytes
        var payload = bytes
        if case .compressed(let codec) = storage {
          let packed = try compressPage(bytes, codec: codec)
          if packed.count < bs {
            payload = packed
            flags = codec.flag
          }
        }
        offset = dataStart + data.count
        size = payload.count
        data += payload
        built.storedCodecs[pfn] = flags == 0 ? nil : PageCompression.allCases.first { $0.flag == flags }
      case .zero?:
        built.contents[pfn] = [UInt8](repeating: 0, count: bs)
        offset = dataStart
        size = bs
      default:
        break  // .lost: an all-zero descriptor
      }
      if offset != 0 { built.dataOffsets[pfn] = offset }
      descriptors += kdumpLE(UInt64(offset)) + kdumpLE(UInt32(size)) + kdumpLE(flags) + kdumpLE(UInt64(0))
    }

    var file = [UInt8](repeating: 0, count: descOffset)
    kdumpPut(&file, 0, Array((signature == .kdump ? "KDUMP   " : "DISKDUMP").utf8))
    kdumpPut(&file, 8, kdumpLE(UInt32(bitPattern: headerVersion)))
    if !release.isEmpty {
      kdumpPut(&file, 12, Array("Linux".utf8))
      kdumpPut(&file, 77, Array("kdig-test".utf8))
      kdumpPut(&file, 142, Array(release.utf8))
    }
    kdumpPut(&file, 272, Array(machine.utf8))
    var st = status
    if incompleteFlag { st |= 0x8 }
    if excludedVmemmap { st |= 0x10 }
    kdumpPut(&file, 424, kdumpLE(st))
    kdumpPut(&file, 428, kdumpLE(UInt32(bs)))
    kdumpPut(&file, 432, kdumpLE(UInt32(subBlocks)))
    kdumpPut(&file, 436, kdumpLE(UInt32(bitmapBlocks)))
    kdumpPut(&file, 440, kdumpLE(UInt32(min(maxPFN, UInt64(UInt32.max)))))
    kdumpPut(&file, 460, kdumpLE(UInt32(bitPattern: nrCPUs)))
    if signature == .kdump && hv >= 1 {
      writeSubHeader(&file, version: hv, blob: noteBlob)
    }
    kdumpPut(&file, bitmapOffset, singleBitmap ? dumped : ram)
    if !singleBitmap { kdumpPut(&file, bitmapOffset + bitmapBytes, dumped) }
    built.bytes = file + descriptors + data
    return built
  }

  private func writeSubHeader(_ file: inout [UInt8], version hv: Int, blob: [UInt8]) {
    let s = Self.pageSize
    let blobOffset = s + 104
    kdumpPut(&file, s, kdumpLE(physBase))
    kdumpPut(&file, s + 8, kdumpLE(UInt32(bitPattern: dumpLevel)))
    if hv >= 2, let split {
      kdumpPut(&file, s + 12, kdumpLE(UInt32(1)))
      kdumpPut(&file, s + 16, kdumpLE(split.lowerBound) + kdumpLE(split.upperBound))
    }
    if hv == 3 && !blob.isEmpty {
      kdumpPut(&file, s + 32, kdumpLE(UInt64(blobOffset)) + kdumpLE(UInt64(blob.count)))
    }
    if hv >= 4 && !blob.isEmpty {
      kdumpPut(&file, s + 48, kdumpLE(UInt64(blobOffset)) + kdumpLE(UInt64(blob.count)))
      if let vmcoreinfo {
        // offset_vmcoreinfo points at the descriptor of the VMCOREINFO note (§1.3).
        let text = blobOffset + blob.count - Self.vmcoreinfoNote(vmcoreinfo).count + 24
        kdumpPut(&file, s + 32, kdumpLE(UInt64(text)) + kdumpLE(UInt64(vmcoreinfo.utf8.count)))
      }
    }
    if hv >= 6 {
      kdumpPut(&file, s + 80, kdumpLE(split?.lowerBound ?? 0) + kdumpLE(split?.upperBound ?? 0) + kdumpLE(maxPFN))
    }
    kdumpPut(&file, blobOffset, blob)
  }
}

/// A built kdump file and where its parts are, for tests that damage it.
public struct BuiltKdump: Sendable {
  /// The whole file.
  public var bytes: [UInt8]
  /// File offset of page_desc[0].
  public var descriptorTableOffset: Int
  /// File offset of the first page data (the shared zero page, when there is one).
  public var dataOffset: Int
  /// File offset of bitmap 1 (or of the only bitmap).
  public var bitmapOffset: Int
  /// pfn → file offset of its descriptor.
  public var descriptorOffsets: [UInt64: Int] = [:]
  /// pfn → file offset of its stored data.
  public var dataOffsets: [UInt64: Int] = [:]
  /// pfn → codec its data was stored with (absent: raw).
  public var storedCodecs: [UInt64: PageCompression] = [:]
  /// pfn → the 4096 bytes the page must read back as.
  public var contents: [UInt64: [UInt8]] = [:]

  /// Opens the bytes as kdig would open a file named `name`.
  public func open(name: String = "test.kdump") throws -> any DumpFile {
    let file = KdumpBuilder.MemoryFile(name: name, bytes: bytes)
    return try openDump(source: file, path: name, fileSize: file.size)
  }

  /// Overwrites the bytes at `offset` with `value`, little-endian.
  public mutating func patch<T: FixedWidthInteger>(_ offset: Int, _ value: T) {
    kdumpPut(&bytes, offset, kdumpLE(value))
  }

  /// Overwrites the bytes at `offset` with `data`.
  public mutating func patch(_ offset: Int, bytes data: [UInt8]) {
    kdumpPut(&bytes, offset, data)
  }
}

/// Little-endian bytes of an integer.
func kdumpLE<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
  withUnsafeBytes(of: value.littleEndian) { Array($0) }
}

/// Overwrites `file[offset...]` with `bytes`, growing it if needed.
func kdumpPut(_ file: inout [UInt8], _ offset: Int, _ bytes: [UInt8]) {
  if file.count < offset + bytes.count {
    file += [UInt8](repeating: 0, count: offset + bytes.count - file.count)
  }
  file.replaceSubrange(offset..<(offset + bytes.count), with: bytes)
}
