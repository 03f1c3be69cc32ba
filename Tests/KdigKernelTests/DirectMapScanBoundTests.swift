// Without a vmlinux, page_offset_base is found by scanning the direct-map window for the
// page that maps physical 0. With 5-level paging the window holds 2^25 gigabytes: hostile
// tables that map every gigabyte (and never physical 0) must not make that scan run for
// hours (issue 11); it stops after KernelImage.directMapScanLimit walks.

import Foundation
import KdigDump
import KdigKernel
import KdigTestSupport
import Testing

@Suite struct DirectMapScanBoundTests {
  @Test func scanOfAFullyMappedWindowIsBounded() throws {
    // 5-level: PGD[256..511] -> P4D 0x2000 -> PUD 0x3000 whose 512 entries are 1 GiB leaves
    // at physical 1 GiB: every gigabyte of the kernel half maps, none to physical 0.
    let spec = """
      @0x1800 0x2063*256          # PGD[256..511] -> P4D 0x2000
      @0x2000 0x3063*512          # P4D[*] -> PUD 0x3000
      @0x3000 0x400000e3*512      # PUD[*] -> 1 GiB page at 0x40000000
      """
    let memory = try PageTableSpec.memory(spec)
    var b = KdumpBuilder(maxPFN: 16)
    b.vmcoreinfo = "OSRELEASE=6.12.0\nPAGESIZE=4096\nSYMBOL(init_top_pgt)=ffffffff80001000\n"
      + "NUMBER(phys_base)=0\nKERNELOFFSET=0\nNUMBER(pgtable_l5_enabled)=1\n"
    for r in memory.ranges {
      b.pages[r.start >> 12] = .data(try memory.bytes(at: r.start, count: 4096), .compressed(.zlib))
    }
    let kernel = try KernelImage(dump: try b.build().open(), vmlinux: nil)
    #expect(kernel.layout.pagingMode.value == .fiveLevel)
    let started = Date()
    let map = kernel.memoryMap(pti: false)
    #expect(Date().timeIntervalSince(started) < 20)
    #expect(map.pageOffsetBase.value == 0xff11_0000_0000_0000)
    #expect(map.pageOffsetBase.how.contains("stopped after 65536 page-table walks"), "\(map.pageOffsetBase.how)")
  }
}
