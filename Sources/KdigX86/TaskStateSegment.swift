// The 64-bit task-state segment (Intel SDM Vol. 3A §9.7, Figure 9-11 "64-Bit TSS Format"):
// 104 bytes, packed. Kernel view: `struct x86_hw_tss` (arch/x86/include/asm/processor.h,
// CONFIG_X86_64), BUILD_BUG_ON(sizeof(struct x86_hw_tss) != 0x68) in cpu_entry_area.c:
//
//   reserved1 u32 @0 | sp0 @4 | sp1 @12 | sp2 @20 | reserved2 @28 | ist[7] @36
//   reserved3 u32 @92 | reserved4 u32 @96 | reserved5 u16 @100 | io_bitmap_base u16 @102
//
// Linux uses sp0 (RSP0: the stack the CPU switches to on entry from ring 3, the per-CPU
// entry stack), ist[0..6] (IST1..IST7: the exception stacks) and io_bitmap_base; ring 1/2
// are unused, so entry_SYSCALL_64 stashes the user RSP in sp2 (processor.h comment).

import KdigBinary

/// A decoded 64-bit TSS (SDM Figure 9-11).
public struct TaskStateSegment: Sendable, Hashable {
  /// sizeof(struct x86_hw_tss) = 0x68.
  public static let size = 104
  /// Byte offsets of the fields (SDM Figure 9-11).
  public static let offsets: [String: Int] = [
    "reserved1": 0, "sp0": 4, "sp1": 12, "sp2": 20, "reserved2": 28, "ist": 36,
    "reserved3": 92, "reserved4": 96, "reserved5": 100, "io_bitmap_base": 102,
  ]

  /// RSP0: the stack loaded on a privilege change to ring 0.
  public var sp0: UInt64
  /// RSP1 (unused by Linux since v5.9, which moved cpu_current_top_of_stack out of the TSS).
  public var sp1: UInt64
  /// RSP2: entry_SYSCALL_64's scratch slot for the user RSP.
  public var sp2: UInt64
  /// IST1 … IST7 (`ist[0]` is IST1: a gate's IST field n selects `ist[n-1]`).
  public var ist: [UInt64]
  /// Offset of the I/O permission bitmap from the TSS base.
  public var ioBitmapBase: UInt16
  /// reserved1..5 together: the kernel never writes them, so they stay 0.
  public var reservedBitsClear: Bool

  /// Decodes exactly 104 bytes.
  public init(bytes: [UInt8]) throws(BinaryError) {
    let v = try exactView(bytes, count: Self.size, "x86_hw_tss")
    sp0 = try v.u64(4, "x86_hw_tss.sp0")
    sp1 = try v.u64(12, "x86_hw_tss.sp1")
    sp2 = try v.u64(20, "x86_hw_tss.sp2")
    var stacks: [UInt64] = []
    for i in 0..<7 { stacks.append(try v.u64(36 + 8 * i, "x86_hw_tss.ist[\(i)]")) }
    ist = stacks
    ioBitmapBase = try v.u16(102, "x86_hw_tss.io_bitmap_base")
    let reserved =
      UInt64(try v.u32(0, "reserved1")) | (try v.u64(28, "reserved2")) | UInt64(try v.u32(92, "reserved3"))
      | UInt64(try v.u32(96, "reserved4")) | UInt64(try v.u16(100, "reserved5"))
    reservedBitsClear = reserved == 0
  }

  /// Builds a TSS image (for tests and tampering): the inverse of `init(bytes:)`.
  public static func encode(sp0: UInt64, sp1: UInt64 = 0, sp2: UInt64 = 0, ist: [UInt64], ioBitmapBase: UInt16)
    -> [UInt8]
  {
    var out = [UInt8](repeating: 0, count: size)
    func put(_ value: UInt64, _ offset: Int, _ width: Int) {
      for i in 0..<width { out[offset + i] = UInt8(truncatingIfNeeded: value >> UInt64(8 * i)) }
    }
    put(sp0, 4, 8)
    put(sp1, 12, 8)
    put(sp2, 20, 8)
    for (i, s) in ist.prefix(7).enumerated() { put(s, 36 + 8 * i, 8) }
    put(UInt64(ioBitmapBase), 102, 2)
    return out
  }
}
