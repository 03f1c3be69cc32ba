// `rd`: memory as 64-bit words, by kernel virtual or physical address, like crash's `rd`.

import KdigBinary
import KdigKernel
import KdigMemory

/// Which address space an `rd` address is in.
public enum AddressKind: String, Sendable, Encodable {
  case kernelVirtual = "kvaddr"
  case physical = "paddr"
}

/// Words read from memory.
public struct MemoryWords: Sendable, Encodable {
  public var kind: AddressKind
  public var address: Hex64
  /// Symbol at the start address, when there is one.
  public var symbol: String?
  public var words: [Hex64]
  /// The same bytes, for the ASCII column.
  public var bytes: [UInt8]
}

/// Reads `count` 64-bit words at `address`.
public struct MemoryReader {
  public let kernel: KernelImage

  public init(kernel: KernelImage) { self.kernel = kernel }

  /// Upper bound on one `rd`, so a typo cannot ask for gigabytes.
  public static let maxWords = 1 << 20

  public func words(at address: UInt64, count: Int, kind: AddressKind) throws -> MemoryWords {
    let n = max(1, min(count, Self.maxWords))
    let bytes: [UInt8]
    switch kind {
    case .physical: bytes = try kernel.memory.bytes(at: address, count: n * 8)
    case .kernelVirtual: bytes = try kernel.kernelSpace.bytes(at: address, count: n * 8)
    }
    var words: [Hex64] = []
    words.reserveCapacity(n)
    for i in 0..<n {
      var w: UInt64 = 0
      for j in 0..<8 { w |= UInt64(bytes[i * 8 + j]) << (8 * UInt64(j)) }
      words.append(Hex64(w))
    }
    return MemoryWords(
      kind: kind, address: Hex64(address),
      symbol: kind == .kernelVirtual ? kernel.symbolName(address) : nil, words: words, bytes: bytes)
  }
}
