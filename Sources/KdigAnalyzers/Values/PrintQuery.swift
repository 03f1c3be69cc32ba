// `p`: evaluates an expression over kernel memory with DWARF types and formats it the way
// crash (gdb) prints it. Symbols resolve through the vmlinux relocated by KASLR.

import KdigBinary
import KdigKernel

/// The result of `kdig p`.
public struct PrintAnswer: Sendable, Encodable {
  public var expression: String
  public var type: String
  /// Where the value lives, for lvalues.
  public var address: Hex64?
  /// The value's bytes in hex (little-endian memory order).
  public var bytes: String
  /// The value as an integer, for scalars and pointers.
  public var integer: Hex64?
  /// gdb's rendering of the value.
  public var value: String
}

/// Evaluates print expressions against a kernel.
public struct PrintQuery {
  public let kernel: KernelImage
  public var hexIntegers = false

  public init(kernel: KernelImage, hexIntegers: Bool = false) {
    self.kernel = kernel
    self.hexIntegers = hexIntegers
  }

  public func evaluate(_ text: String) throws -> PrintAnswer {
    let types = try kernel.types()
    let k = kernel
    var evaluator = ValueEvaluator(
      types: types, symbolAddress: { try? k.lookup($0).address },
      read: { try k.kernelSpace.bytes(at: $0, count: $1) })
    evaluator.linkTimeAddress = { try? k.symbols().first($0)?.value }
    let v = try evaluator.evaluate(text)
    let formatter = ValueFormatter(
      options: .init(hex: hexIntegers), types: types,
      symbolize: { address in
        // gdb prints symbol offsets in decimal: <idt_table+16>.
        guard let (s, off) = k.symbolize(address), off < max(s.size, 1) || off == 0 else { return nil }
        return off == 0 ? s.name : "\(s.name)+\(off)"
      },
      readMemory: { try k.kernelSpace.bytes(at: $0, count: $1) })
    let rendered = try formatter.format(v.type, bytes: v.bytes, address: v.address)
    var integer: Hex64?
    switch v.type.resolved {
    case .base, .pointer, .enumeration:
      if v.bytes.count <= 8 {
        integer = Hex64(v.bytes.enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) })
      }
    default: break
    }
    return PrintAnswer(
      expression: text, type: v.type.name, address: v.address.map { Hex64($0) },
      bytes: v.bytes.map { hexPadded(UInt64($0), width: 2) }.joined(), integer: integer, value: rendered)
  }
}
