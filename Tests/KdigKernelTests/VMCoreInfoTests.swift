import KdigKernel
import Testing

@Suite struct VMCoreInfoTests {
  // Shape of a real 6.12 VMCOREINFO tail (dump-formats.md §3.5).
  static let text = """
    OSRELEASE=6.12.107+deb12-cloud-amd64
    BUILD-ID=D74EF9D763BBD2561619DB994071F549808D2CE1
    PAGESIZE=4096
    SYMBOL(init_uts_ns)=ffffffffaf21a0e0
    OFFSET(uts_namespace.name)=0
    NUMBER(VMALLOC_START)=0xffffc90000000000
    SYMBOL(vmemmap)=ffffea0000000000
    NUMBER(phys_base)=-738197504
    SYMBOL(init_top_pgt)=ffffffffaf222000
    NUMBER(pgtable_l5_enabled)=0
    KERNELOFFSET=2c600000
    NUMBER(sme_mask)=0
    LENGTH(mem_section)=0800
    CRASHTIME=1732612345
    garbage line without equals
    """

  @Test func parsesEveryKeyKind() {
    let v = VMCoreInfo(text: Self.text)
    #expect(v.osRelease == "6.12.107+deb12-cloud-amd64")
    #expect(v.buildID == "d74ef9d763bbd2561619db994071f549808d2ce1")
    #expect(v.pageSize == 4096)
    #expect(v.symbol("init_top_pgt") == 0xffff_ffff_af22_2000)
    #expect(v.kernelOffset == 0x2c60_0000)
    // NUMBER(phys_base) is signed decimal (VMCOREINFO_NUMBER prints %ld).
    #expect(v.number("phys_base") == -738_197_504)
    // NUMBER(VMALLOC_START) is printed as 0x%lx.
    #expect(v.number("VMALLOC_START").map { UInt64(bitPattern: $0) } == 0xffff_c900_0000_0000)
    // A leading zero is decimal, never octal.
    #expect(v.length("mem_section") == 800)
    #expect(v.offset("uts_namespace.name") == 0)
    #expect(v.crashTime == 1_732_612_345)
    #expect(v.entries.count == 15)
    #expect(v.entries.last?.key == "")
    #expect(v.symbol("nonexistent") == nil)
  }

  @Test func lastLineWithoutNewlineAndEmptyText() {
    #expect(VMCoreInfo(text: "PAGESIZE=4096").pageSize == 4096)
    #expect(VMCoreInfo(text: "").entries.isEmpty)
  }

  @Test func locatorCandidates() {
    let c = VmlinuxLocator.candidates(release: "6.1.0-56-cloud-amd64", buildID: "abcdef")
    #expect(c.first == "/usr/lib/debug/boot/vmlinux-6.1.0-56-cloud-amd64")
    #expect(c.contains("/usr/lib/debug/lib/modules/6.1.0-56-cloud-amd64/vmlinux"))
    #expect(c.last == "/usr/lib/debug/.build-id/ab/cdef.debug")
  }
}
