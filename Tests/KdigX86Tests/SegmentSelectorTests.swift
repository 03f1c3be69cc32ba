// Selectors against Intel SDM Vol. 3A §3.4.2 Figure 3-6 (index 15–3, TI 2, RPL 1–0) and the
// x86-64 definitions in arch/x86/include/asm/segment.h.

import KdigX86
import Testing

@Suite struct SegmentSelectorTests {
  @Test func kernelCS() {
    // __KERNEL_CS = GDT_ENTRY_KERNEL_CS * 8 = 2 * 8 = 0x10: 0b0000000000010_0_00
    let s = SegmentSelector(0x10)
    #expect(s.index == 2)
    #expect(s.table == .gdt)
    #expect(s.rpl == 0)
    #expect(s.tableOffset == 0x10)
    #expect(s.linuxName == "__KERNEL_CS")
    #expect(s.description == "0x10 (GDT[2], RPL 0, __KERNEL_CS)")
    #expect(s == .kernelCS)
  }

  @Test func userSelectors() {
    // __USER_CS = GDT_ENTRY_DEFAULT_USER_CS * 8 + 3 = 6 * 8 + 3 = 0x33: 0b110_0_11
    let cs = SegmentSelector(0x33)
    #expect(cs.index == 6)
    #expect(cs.table == .gdt)
    #expect(cs.rpl == 3)
    #expect(cs.description == "0x33 (GDT[6], RPL 3, __USER_CS)")
    // __USER_DS = GDT_ENTRY_DEFAULT_USER_DS * 8 + 3 = 5 * 8 + 3 = 0x2b: 0b101_0_11
    let ds = SegmentSelector(0x2b)
    #expect(ds.index == 5)
    #expect(ds.rpl == 3)
    #expect(ds.description == "0x2b (GDT[5], RPL 3, __USER_DS)")
  }

  @Test func linuxConstants() {
    #expect(SegmentSelector.kernel32CS.raw == 0x08)  // GDT_ENTRY_KERNEL32_CS 1
    #expect(SegmentSelector.kernelCS.raw == 0x10)  // GDT_ENTRY_KERNEL_CS 2
    #expect(SegmentSelector.kernelDS.raw == 0x18)  // GDT_ENTRY_KERNEL_DS 3
    #expect(SegmentSelector.user32CS.raw == 0x23)  // 4 * 8 + 3
    #expect(SegmentSelector.userDS.raw == 0x2b)  // 5 * 8 + 3
    #expect(SegmentSelector.userCS.raw == 0x33)  // 6 * 8 + 3
    #expect(SegmentSelector.perCPUSeg.raw == 0x7b)  // __PER_CPU_SEG = 15 * 8 + 3
    #expect(SegmentSelector(0x18).description == "0x18 (GDT[3], RPL 0, __KERNEL_DS)")
    #expect(SegmentSelector(0x23).description == "0x23 (GDT[4], RPL 3, __USER32_CS)")
    #expect(LinuxGDT.tss == 8)
    #expect(LinuxGDT.ldt == 10)
    #expect(LinuxGDT.perCPU == 15)
    #expect(LinuxGDT.entries == 16)
    #expect(LinuxGDT.name(ofEntry: 8) == "GDT_ENTRY_TSS")
    #expect(LinuxGDT.name(ofEntry: 9) == "GDT_ENTRY_TSS+1")
    #expect(LinuxGDT.name(ofEntry: 13) == "GDT_ENTRY_TLS_MIN+1")
    #expect(LinuxGDT.name(ofEntry: 7) == nil)
    #expect(LinuxGDT.name(ofEntry: 16) == nil)
  }

  @Test func tableIndicatorAndRPL() {
    // 0x0f = 0b1_1_11: index 1, TI = 1 (LDT), RPL 3; no segment.h name.
    let s = SegmentSelector(0x0f)
    #expect(s.index == 1)
    #expect(s.table == .ldt)
    #expect(s.rpl == 3)
    #expect(s.linuxName == nil)
    #expect(s.description == "0xf (LDT[1], RPL 3)")
    // 0x12 = 0b10_0_10: __KERNEL_CS's slot with RPL 2 is not __KERNEL_CS.
    #expect(SegmentSelector(0x12).linuxName == nil)
    #expect(SegmentSelector(0x12).description == "0x12 (GDT[2], RPL 2)")
    #expect(SegmentSelector(0xffff).index == 0x1fff)
    #expect(SegmentSelector(index: 1, table: .ldt, rpl: 3) == s)
    #expect(SegmentSelector(index: 6, rpl: 3) == .userCS)
  }

  @Test func nullSelector() {
    #expect(SegmentSelector(0).isNull)
    #expect(SegmentSelector(3).isNull)  // RPL is ignored for the null selector
    #expect(!SegmentSelector(4).isNull)  // LDT[0] is not null
    #expect(SegmentSelector(0).description == "0x0 (null selector, RPL 0)")
  }
}
