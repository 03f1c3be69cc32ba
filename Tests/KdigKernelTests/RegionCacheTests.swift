// The per-build copies of read-only tables (RegionCache): the first read keeps a copy, the
// next one uses it, and a copy that differs from the dump on a sampled page is replaced by
// the dump's bytes.

import Foundation
import KdigBinary
import Testing

@testable import KdigKernel

@Suite struct RegionCacheTests {
  @Test func copyIsKeptUsedAndReplacedWhenTheDumpDisagrees() throws {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("kdig-rodata-\(UUID().uuidString)").path
    defer { try? FileManager.default.removeItem(atPath: root) }
    let cache = try #require(RegionCache(buildID: "d74ef9d763bbd2561619db994071f549808d2ce1", root: root))
    let memory = FakeKernelMemory()
    let base: UInt64 = 0xffff_ffff_8b00_0000
    // 130 pages: sampled are pages 0, 64, 128 and the last one.
    let size = 130 * 4096 + 100
    memory.regions = [(base, (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 7) })]
    let reader = CachedRegionReader(memory: memory, cache: cache, kaslrOffset: 0x9800000)

    let first = try reader.region(at: base, count: size, key: "btf", "BTF")
    #expect(first.file.hasPrefix("kernel memory"), "read from the dump: \(first.file)")
    let second = try reader.region(at: base, count: size, key: "btf", "BTF")
    #expect(second.file.contains("/rodata/d74ef9d7"), "read from the copy: \(second.file)")
    #expect(try second.array(0, size, "all") == memory.regions[0].bytes)
    #expect(second.file.hasSuffix("btf-ffffffff81800000-\(size).bin"), "named by link address: \(second.file)")

    // The dump changes on a sampled page (64): the copy is not used, and is rewritten.
    memory.regions[0].bytes[64 * 4096 + 5] ^= 0xff
    let third = try reader.region(at: base, count: size, key: "btf", "BTF")
    #expect(third.file.hasPrefix("kernel memory"), "a stale copy must not be used: \(third.file)")
    let fourth = try reader.region(at: base, count: size, key: "btf", "BTF")
    #expect(try fourth.array(0, size, "all") == memory.regions[0].bytes)
  }

  @Test func noBuildIDMeansNoCopies() {
    #expect(RegionCache(buildID: nil, root: "x") == nil)
    #expect(RegionCache(buildID: "../../etc", root: "x") == nil, "only hex build-ids become paths")
  }
}
