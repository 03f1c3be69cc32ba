// Copies of the kernel's read-only tables (BTF, kallsyms, ORC) taken from a dump, kept per
// kernel build: ${KDIG_CACHE:-$HOME/.cache/kdig}/rodata/<build-id>/<key>-<link address>-<size>.bin.
// These tables are .rodata (never written after boot) and position independent, so every
// dump of one build holds the same bytes; a compressed dump costs a decompression per page
// to read them (about 2000 pages for BTF and kallsyms), the copy costs one mmap.
// A copy is not trusted blindly: its build-id, link address and size are in its name, and
// before use it is compared with the dump on sampled pages (the first, every 64th, the
// last); any difference and the dump is read instead and the copy rewritten. Writes go to
// a temporary file renamed into place, so a reader never sees half a copy.

import KdigBinary
import KdigTranslation

#if canImport(Glibc)
  import Glibc
#endif

/// The per-build directory of copies.
struct RegionCache {
  let directory: String

  /// The directory for `buildID` under `root` (default `KDIG_CACHE`, else
  /// `$HOME/.cache/kdig`), or nil when there is no build-id or no cache root.
  init?(buildID: String?, root explicitRoot: String? = nil) {
    // A build-id is hex; anything else must not become a path.
    guard CacheDirectory.isBuildID(buildID), let buildID, let root = explicitRoot ?? CacheDirectory.root else { return nil }
    directory = "\(root)/rodata/\(buildID.lowercased())"
  }

  func path(key: String, link: UInt64, size: Int) -> String {
    "\(directory)/\(key)-\(String(link, radix: 16))-\(size).bin"
  }

  /// The copy, mapped, when one of exactly `size` bytes exists.
  func load(key: String, link: UInt64, size: Int) -> ByteView? {
    guard let file = try? MappedFile(path: path(key: key, link: link, size: size)), file.size == UInt64(size) else {
      return nil
    }
    CacheDirectory.used(path(key: key, link: link, size: size))
    return try? file.view(at: 0, count: size, "\(key) copy")
  }

  /// Writes `bytes` as the copy (best effort: a read-only or full disk only costs the next
  /// run a read of the dump).
  func store(_ bytes: ByteView, key: String, link: UInt64) {
    let copy = bytes.withUnsafeBytes { Array($0) }
    let file = path(key: key, link: link, size: bytes.count)
    if OutputFile.replace(file, with: copy) { CacheDirectory.stored(file) }
  }
}

/// Reads regions through the per-build cache, checking each copy against the dump.
struct CachedRegionReader: KernelRegionReader {
  let memory: any VirtualMemory
  let cache: RegionCache
  let kaslrOffset: UInt64

  /// Pages compared between a copy and the dump: the first, every `stride`-th, the last.
  static let stride = 64

  func region(at address: UInt64, count: Int, key: String, _ what: String) throws -> ByteView {
    let link = KernelConstants.isKernelImage(address &- kaslrOffset) ? address &- kaslrOffset : address
    if let copy = cache.load(key: key, link: link, size: count), agrees(copy, address) { return copy }
    let view = try memory.view(at: address, count: count, what)
    cache.store(view, key: key, link: link)
    return view
  }

  /// True when the sampled pages of `copy` equal the dump's bytes at `address`.
  func agrees(_ copy: ByteView, _ address: UInt64) -> Bool {
    var offsets = Array(Swift.stride(from: 0, to: copy.count, by: Self.stride * 4096))
    offsets.append(max(0, copy.count - 4096))
    for o in offsets {
      let n = min(4096, copy.count - o)
      guard n > 0, let fromDump = try? memory.bytes(at: address &+ UInt64(o), count: n),
        let fromCopy = try? copy.array(o, n, "copy")
      else { return n == 0 }
      if fromDump != fromCopy { return false }
    }
    return true
  }
}

extension KernelImage {
  /// How the dump's read-only tables are read: through the per-build cache when the dump
  /// has a BUILD-ID, else straight from the dump.
  var regionReader: any KernelRegionReader {
    if !readsTablesFromDump, let cache = RegionCache(buildID: vmcoreinfo?.buildID) {
      return CachedRegionReader(memory: kernelSpace, cache: cache, kaslrOffset: layout.kaslrOffset.value)
    }
    return DumpRegionReader(memory: kernelSpace)
  }
}
