// Copies a range of kernel virtual memory out of the dump into a bounds-checked ByteView,
// so the table parsers (kallsyms, BTF, ORC) read dump memory with the same checked
// accessors they use on a vmlinux file. Errors name the virtual address, not a file offset.

import KdigBinary
import KdigTranslation

/// Heap bytes filled from dump memory; owns the storage a ByteView points at.
final class DumpMemoryCopy {
  let storage: UnsafeMutableRawBufferPointer

  /// Uninitialized storage: the caller fills every byte (VirtualMemory.read copies all of
  /// them or throws, and a copy that threw is dropped). Not zeroed first: these copies are
  /// megabytes (BTF, ORC) and zeroing them would cost as much as the read.
  init(count: Int) {
    storage = UnsafeMutableRawBufferPointer.allocate(byteCount: max(count, 1), alignment: 16)
  }

  deinit { storage.deallocate() }
}

extension VirtualMemory {
  /// `count` bytes at `address` as an owned ByteView whose "file" is the dump's kernel
  /// memory and whose offsets are the virtual addresses (so an error points at memory).
  public func view(at address: UInt64, count: Int, _ what: String) throws -> ByteView {
    guard count >= 0, address.adding(UInt64(count)) != nil else {
      throw BinaryError(file: "kernel memory", offset: address, expected: "\(count) bytes of \(what) inside the address space")
    }
    let copy = DumpMemoryCopy(count: count)
    let target = UnsafeMutableRawBufferPointer(rebasing: copy.storage[0..<count])
    do {
      try read(address, into: target)
    } catch {
      throw ContextError("reading \(what) (\(count) bytes at 0x\(hex(address)))", error)
    }
    return ByteView(bytes: UnsafeRawBufferPointer(target), owner: copy, file: "kernel memory (\(what))", fileOffset: address)
  }
}

/// Reads a range of kernel memory as one ByteView: the dump itself, or a copy of it kept
/// per kernel build (RegionCache.swift). Only for data the kernel never writes after boot.
public protocol KernelRegionReader {
  /// `count` bytes at runtime `address`; `key` names the region in a cache
  /// (`btf`, `kallsyms_names`…), `what` in errors.
  func region(at address: UInt64, count: Int, key: String, _ what: String) throws -> ByteView
  /// Where indexes computed from the regions are kept (DerivedIndexCache.swift); nil:
  /// compute them each time.
  var derivedIndexes: DerivedIndexCache? { get }
}

/// Straight from the dump.
public struct DumpRegionReader: KernelRegionReader {
  public let memory: any VirtualMemory

  public init(memory: any VirtualMemory) { self.memory = memory }

  public func region(at address: UInt64, count: Int, key: String, _ what: String) throws -> ByteView {
    try memory.view(at: address, count: count, what)
  }
}
