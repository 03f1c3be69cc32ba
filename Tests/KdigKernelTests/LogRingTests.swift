// The printk ring reader on built rings: every outcome the kernel's reader distinguishes
// (finalized, committed, reusable, reserved, id mismatch, data-less, wrapping blocks) and the
// ways a dump can hurt it (an excluded page, a reused text block, a text_len beyond its block).

import KdigAnalyzers
import KdigBinary
import KdigKernel
import KdigMemory
import KdigOutput
import KdigTranslation
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// Kernel memory for fixtures: sparse bytes, unwritten bytes read as zero, chosen pages
/// excluded as makedumpfile would.
final class FixtureKernelMemory: VirtualMemory {
  var pages: [UInt64: [UInt8]] = [:]
  var excluded: Set<UInt64> = []

  func translate(_ virtualAddress: UInt64) throws -> UInt64 { virtualAddress }

  func read(_ virtualAddress: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws {
    for i in 0..<buffer.count {
      let a = virtualAddress &+ UInt64(i)
      if excluded.contains(a >> 12) { throw MemoryError(address: a, reason: .excluded, source: "fixture") }
      buffer[i] = pages[a >> 12]?[Int(a & 0xfff)] ?? 0
    }
  }

  func write(_ address: UInt64, _ bytes: [UInt8]) {
    for (i, b) in bytes.enumerated() {
      let a = address &+ UInt64(i)
      pages[a >> 12, default: [UInt8](repeating: 0, count: 4096)][Int(a & 0xfff)] = b
    }
  }

  func write64(_ address: UInt64, _ v: UInt64) { write(address, (0..<8).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) }) }
  func write32(_ address: UInt64, _ v: UInt32) { write(address, (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) }) }
}

/// A printk ring laid out as 6.12's VMCOREINFO describes it: 8 descriptors, 128 text bytes.
struct RingFixture {
  static let vmcoreinfo = """
    SYMBOL(prb)=ffffffff81000000
    SIZE(printk_ringbuffer)=88
    OFFSET(printk_ringbuffer.desc_ring)=0
    OFFSET(printk_ringbuffer.text_data_ring)=48
    OFFSET(printk_ringbuffer.fail)=80
    OFFSET(prb_desc_ring.count_bits)=0
    OFFSET(prb_desc_ring.descs)=8
    OFFSET(prb_desc_ring.infos)=16
    OFFSET(prb_desc_ring.head_id)=24
    OFFSET(prb_desc_ring.tail_id)=32
    SIZE(prb_desc)=24
    OFFSET(prb_desc.state_var)=0
    OFFSET(prb_desc.text_blk_lpos)=8
    OFFSET(prb_data_blk_lpos.begin)=0
    OFFSET(prb_data_blk_lpos.next)=8
    SIZE(printk_info)=88
    OFFSET(printk_info.seq)=0
    OFFSET(printk_info.ts_nsec)=8
    OFFSET(printk_info.text_len)=16
    OFFSET(printk_info.caller_id)=20
    OFFSET(printk_info.dev_info)=24
    OFFSET(dev_printk_info.subsystem)=0
    LENGTH(printk_info_subsystem)=16
    OFFSET(dev_printk_info.device)=16
    LENGTH(printk_info_device)=48
    OFFSET(prb_data_ring.size_bits)=0
    OFFSET(prb_data_ring.data)=8
    OFFSET(prb_data_ring.head_lpos)=16
    OFFSET(prb_data_ring.tail_lpos)=24
    OFFSET(atomic_long_t.counter)=0
    """
  static let ring: UInt64 = 0xffff_ffff_8100_0100
  static let descs: UInt64 = 0xffff_ffff_8101_0000
  static let infos: UInt64 = 0xffff_ffff_8102_0000
  static let data: UInt64 = 0xffff_ffff_8103_0000
  static let countBits = 3
  static let sizeBits = 7

  let memory = FixtureKernelMemory()
  let layout: PrintkLayout
  /// DESC0_ID for 8 descriptors, and the first data position (BLK0_LPOS = -128).
  let desc0 = PrintkIDs.bootstrapID(countBits: countBits)
  let lpos0: UInt64 = 0 &- 128

  init() throws {
    layout = try PrintkLayout.fromVMCoreInfo(VMCoreInfo(text: Self.vmcoreinfo)).get()
    memory.write64(layout.prbSymbol, Self.ring)
    memory.write32(Self.ring, UInt32(Self.countBits))
    memory.write64(Self.ring + 8, Self.descs)
    memory.write64(Self.ring + 16, Self.infos)
    memory.write32(Self.ring + 48, UInt32(Self.sizeBits))
    memory.write64(Self.ring + 56, Self.data)
    memory.write64(Self.ring + 72, lpos0)
    // The bootstrap descriptor, as _DEFINE_PRINTKRB leaves it.
    setDescriptor(id: desc0, state: 3, begin: 1, next: 1)
    setIDs(head: desc0, tail: desc0)
    setDataHead(lpos0)
  }

  func setIDs(head: UInt64, tail: UInt64) {
    memory.write64(Self.ring + 24, head)
    memory.write64(Self.ring + 32, tail)
  }

  func setDataHead(_ lpos: UInt64) { memory.write64(Self.ring + 64, lpos) }

  func setDescriptor(id: UInt64, state: UInt64, begin: UInt64, next: UInt64) {
    let d = Self.descs + (id & 7) * 24
    memory.write64(d, state << 62 | id)
    memory.write64(d + 8, begin)
    memory.write64(d + 16, next)
  }

  func setInfo(id: UInt64, seq: UInt64, ts: UInt64, textLen: Int, level: UInt8 = 6, flags: UInt8 = 2, caller: UInt32 = 1,
    subsystem: String = "", device: String = "")
  {
    let i = Self.infos + (id & 7) * 88
    memory.write64(i, seq)
    memory.write64(i + 8, ts)
    memory.write(i + 16, [UInt8(textLen & 0xff), UInt8(textLen >> 8), 0, level << 5 | flags])
    memory.write32(i + 20, caller)
    memory.write(i + 24, Array(subsystem.utf8) + [0])
    memory.write(i + 40, Array(device.utf8) + [0])
  }

  /// Stores a finalized record as prb_reserve + data_alloc + prb_final_commit would, at data
  /// position `begin`; returns the next free position.
  @discardableResult
  func put(id: UInt64, seq: UInt64, begin: UInt64, text: String, state: UInt64 = 2, caller: UInt32 = 1) -> UInt64 {
    let bytes = Array(text.utf8)
    let size = UInt64((8 + bytes.count + 7) & ~7)
    var next = begin &+ size
    let wraps = begin >> 7 != next >> 7
    if wraps { next = (next & ~127) &+ size }
    memory.write64(Self.data + (begin & 127), id)
    if wraps { memory.write64(Self.data, id) }
    memory.write(Self.data + (wraps ? 8 : (begin & 127) + 8), bytes)
    setDescriptor(id: id, state: state, begin: begin, next: next)
    setInfo(id: id, seq: seq, ts: (seq + 1) * 1_000_000_000, textLen: bytes.count, caller: caller)
    return next
  }

  /// Three records after the bootstrap descriptor: seq 0, 1 (two lines), 2.
  func healthy() {
    var lpos = put(id: desc0 &+ 1, seq: 0, begin: lpos0, text: "first")
    lpos = put(id: desc0 &+ 2, seq: 1, begin: lpos, text: "second\nline", caller: 0x8000_0001)
    lpos = put(id: desc0 &+ 3, seq: 2, begin: lpos, text: "third")
    setIDs(head: desc0 &+ 3, tail: desc0)
    setDataHead(lpos)
  }

  func read() throws -> KernelLog { try KernelLogReader(memory: memory, layout: layout).read() }
}

extension KernelLog {
  var recordList: [LogRecord] { entries.compactMap { if case .record(let r) = $0 { r } else { nil } } }
  var gapList: [LogGap] { entries.compactMap { if case .gap(let g) = $0 { g } else { nil } } }
}

@Suite struct LogRingTests {
  @Test func descriptorWordsAndBootstrapID() {
    // DESC0_ID(12) is computed in 32-bit unsigned int: 0xffffefff (what 6.1/6.12 dumps hold).
    #expect(PrintkIDs.bootstrapID(countBits: 12) == 0xffff_efff)
    #expect(PrintkIDs.state(2 << 62 | 5) == .finalized)
    #expect(PrintkIDs.state(3 << 62 | 5) == .reusable)
    #expect(PrintkIDs.id(3 << 62 | 5) == 5)
    #expect(PrintkIDs.isNewer(9, than: 1))
    #expect(!PrintkIDs.isNewer(1, than: 9))
    #expect(PrintkIDs.isNewer(2, than: PrintkIDs.idMask))  // across the 62-bit wrap
  }

  @Test func textBlockPositionsAsGetDataChecksThem() {
    #expect(TextBlock.locate(begin: 3, next: 3, sizeBits: 7) == .empty)
    #expect(TextBlock.locate(begin: 1, next: 1, sizeBits: 7) == .failed)
    #expect(TextBlock.locate(begin: 128 + 16, next: 128 + 40, sizeBits: 7) == .block(idIndex: 16, dataIndex: 24, dataSize: 16, wraps: false))
    // Wrapping: ID at begin's index, the whole block again at index 0.
    #expect(TextBlock.locate(begin: 0 &- 16, next: 24, sizeBits: 7) == .block(idIndex: 112, dataIndex: 8, dataSize: 16, wraps: true))
    if case .illegal = TextBlock.locate(begin: 8, next: 8 + 3 * 128, sizeBits: 7) {} else { Issue.record("two wraps") }
    if case .illegal = TextBlock.locate(begin: 4, next: 20, sizeBits: 7) {} else { Issue.record("misaligned") }
    if case .illegal = TextBlock.locate(begin: 1, next: 3, sizeBits: 7) {} else { Issue.record("mixed data-less") }
    if case .illegal = TextBlock.locate(begin: 16, next: 16, sizeBits: 7) {} else { Issue.record("empty block") }
  }

  @Test func healthyRingReadsLikeDmesg() throws {
    let f = try RingFixture()
    f.healthy()
    let log = try f.read()
    #expect(log.gapList.isEmpty, "\(log.gapList)")  // the bootstrap descriptor is no record
    #expect(log.recordList.map(\.seq) == [0, 1, 2])
    #expect(LogRenderer.render(log) == "[    1.000000] first\n[    2.000000] second\n               line\n[    3.000000] third\n")
    #expect(LogRenderer.render(log, .init(timestamps: .none, showLevel: true)) == "<6>first\n<6>second\n   line\n<6>third\n")
    let r = log.recordList[1]
    #expect(r.caller == LogCaller(callerID: 0x8000_0001))
    #expect(r.caller.cpu == 1 && r.caller.thread == nil)
    #expect(r.level == 6 && r.facility == 0 && r.flags == ["newline"])
    #expect(log.ring.descriptorCount == 8 && log.ring.textDataSize == 128)
  }

  @Test func wrappingBlockAndDeviceInfo() throws {
    let f = try RingFixture()
    // The data head sits 16 bytes before the end: a 24-byte block wraps to index 0.
    let start = f.lpos0 &+ 112
    let next = f.put(id: f.desc0 &+ 1, seq: 0, begin: start, text: "wrapped!")
    f.setInfo(id: f.desc0 &+ 1, seq: 0, ts: 5, textLen: 8, subsystem: "pci", device: "+pci:0000:00:01.0")
    f.setIDs(head: f.desc0 &+ 1, tail: f.desc0)
    f.setDataHead(next)
    let log = try f.read()
    #expect(log.recordList.first.map { String(decoding: $0.textBytes, as: UTF8.self) } == "wrapped!")
    #expect(log.recordList.first?.subsystem == "pci")
    #expect(log.recordList.first?.device == "+pci:0000:00:01.0")
  }

  @Test func eachBrokenRecordIsReportedNotGuessed() throws {
    let f = try RingFixture()
    let ids = (1...7).map { f.desc0 &+ UInt64($0) }
    var lpos = f.lpos0
    for (i, id) in ids.enumerated() { lpos = f.put(id: id, seq: UInt64(i), begin: lpos, text: "r\(i)") }
    f.setIDs(head: ids[6], tail: f.desc0)
    f.setDataHead(lpos)
    f.setDescriptor(id: ids[1], state: 3, begin: 0, next: 0)  // reusable: text reclaimed
    f.setDescriptor(id: ids[2], state: 0, begin: 0, next: 0)  // reserved by a writer
    f.setDescriptor(id: ids[3], state: 2, begin: 1, next: 1)  // FAILED_LPOS: lost
    f.memory.write64(RingFixture.data + ((f.lpos0 &+ 64) & 127), 0x1234)  // seq 4's block ID reused
    f.setInfo(id: ids[5], seq: 5, ts: 1, textLen: 200)  // text_len beyond its 16-byte block
    f.setDescriptor(id: ids[6], state: 2, begin: 3, next: 3)  // NO_LPOS: an empty record
    f.setInfo(id: ids[6], seq: 6, ts: 7_000_000_000, textLen: 0)
    let log = try f.read()
    #expect(log.recordList.map(\.seq) == [0, 6])
    #expect(log.recordList.last?.textBytes == [])
    let gaps = log.gapList.map { ($0.kind, $0.firstSeq) }
    #expect(gaps.map(\.0) == [.overwritten, .incomplete, .lost, .overwritten, .garbled])
    #expect(gaps.map(\.1) == [1, 2, 3, 4, 5])  // seqs 1 and 2 derived from their position
    let text = LogRenderer.render(log)
    #expect(text.contains("[kdig] 1 record overwritten (seq 1): descriptor reusable"))
    #expect(text.contains("[kdig] 1 record garbled (seq 5): text_len 200 exceeds its 8-byte data block"))
    #expect(text.hasSuffix("[    7.000000] \n"))
  }

  @Test func excludedPagesMakeMissingRecordsWithTheirSeqs() throws {
    let f = try RingFixture()
    f.healthy()
    f.memory.excluded = [RingFixture.data >> 12]
    let log = try f.read()
    #expect(log.recordList.isEmpty)
    #expect(log.gapList.count == 1)
    let g = try #require(log.gapList.first)
    #expect(g.kind == .missing && g.count == 3 && g.firstSeq == 0 && g.lastSeq == 2)
    #expect(g.reason.contains("text page 0xffffffff81030000") && g.reason.contains("excluded"))
    // Without the descriptors nothing anchors the seqs: they are unknown, not invented.
    f.memory.excluded = [RingFixture.descs >> 12]
    let blind = try f.read()
    #expect(blind.gapList.first?.firstSeq == nil && blind.gapList.first?.count == 4)
  }

  @Test func headAndTailTooFarApartReadsOnlyOneRing() throws {
    let f = try RingFixture()
    f.healthy()
    f.setIDs(head: f.desc0 &+ 3, tail: f.desc0 &- 100)
    let log = try f.read()
    #expect(log.gapList.first?.kind == .garbled)
    #expect(log.recordList.map(\.seq) == [0, 1, 2])
  }

  @Test func zeroedLargeRingIsOneGapNotOnePerDescriptor() throws {
    // 65536 descriptors of zeros (a foreign or wiped array): every slot is read once, and the
    // run collapses into one entry instead of 65536.
    let f = try RingFixture()
    f.memory.write32(RingFixture.ring, 16)
    f.memory.write(RingFixture.descs + 7 * 24, [UInt8](repeating: 0, count: 24))  // no bootstrap slot
    f.setIDs(head: 0xffff, tail: 0)
    let log = try f.read()
    #expect(log.recordList.isEmpty)
    // Slot 0 holds id 0 in state 0 (reserved); every other slot an unrelated id.
    #expect(log.gapList.map(\.kind) == [.incomplete, .garbled], "\(log.gapList.map { ($0.kind, $0.count) })")
    #expect(log.gapList.map(\.count).reduce(0, +) == 65536)
    #expect(log.gapList.last?.kind == .garbled)
  }

  @Test func layoutNamesWhatVMCOREINFOLacks() throws {
    let noPrb = RingFixture.vmcoreinfo.replacingOccurrences(of: "SYMBOL(prb)=ffffffff81000000\n", with: "SYMBOL(log_buf)=ffffffff81000000\n")
    guard case .failure(let e) = PrintkLayout.fromVMCoreInfo(VMCoreInfo(text: noPrb)) else {
      Issue.record("a VMCOREINFO without SYMBOL(prb) gave a layout")
      return
    }
    #expect(e.category == .unsupported)
    #expect(e.message.contains("SYMBOL(prb)") && e.message.contains("log_buf"))
    let noSeq = RingFixture.vmcoreinfo.replacingOccurrences(of: "OFFSET(printk_info.seq)=0\n", with: "")
    guard case .failure(let e2) = PrintkLayout.fromVMCoreInfo(VMCoreInfo(text: noSeq)) else {
      Issue.record("a VMCOREINFO without printk_info.seq gave a layout")
      return
    }
    #expect(e2.message.contains("OFFSET(printk_info.seq)"))
    let outside = RingFixture.vmcoreinfo.replacingOccurrences(of: "OFFSET(printk_info.caller_id)=20", with: "OFFSET(printk_info.caller_id)=86")
    guard case .failure(let e3) = PrintkLayout.fromVMCoreInfo(VMCoreInfo(text: outside)) else {
      Issue.record("caller_id beyond printk_info gave a layout")
      return
    }
    #expect(e3.category == .malformedInput && e3.message.contains("caller_id"))
  }

  @Test func hostileHeaderIsRejected() throws {
    let f = try RingFixture()
    f.healthy()
    f.memory.write32(RingFixture.ring, 40)  // count_bits beyond what the kernel allows
    #expect(throws: LogError.self) { try f.read() }
    f.memory.write32(RingFixture.ring, 3)
    f.memory.write64(RingFixture.ring + 56, 0xffff_ffff_ffff_ffc0)  // data runs past the top
    #expect(throws: LogError.self) { try f.read() }
  }

  @Test func textEscapesAsMakedumpfile() {
    var out: [UInt8] = []
    LogRenderer.appendText([0x41, 0x09, 0x1b, 0xc3, 0xa9, 0x0a, 0x42], indent: 2, to: &out)
    #expect(String(decoding: out, as: UTF8.self) == "A\t\\x1b\\xc3\\xa9\n  B")
    #expect(LogRenderer.uptimeText(6_226_361_999) == "    6.226361")
    #expect(LogRenderer.uptimeText(123_456_000_000_000) == "123456.000000")
  }

  @Test func wallClockIsBootSecondPlusWholeSeconds() {
    let boot = BootTime(epochSeconds: 1_795_908_731, source: "test", xtimeSec: 0, uptimeSec: 0, offsRealNsec: nil)
    setenv("TZ", "UTC", 1)
    tzset()
    #expect(LogRenderer.wallClockText(boot, 4_999_999_999) == "Sat Nov 28 23:32:15 UTC 2026")
  }

  /// crash's get_uptime: jiffies_64 counts from INITIAL_JIFFIES = (u32)(-300 * HZ), i.e. it
  /// wraps 32 bits five minutes after boot; only the kernel's HZ agrees with the monotonic
  /// seconds. (include/linux/jiffies.h; crash kernel.c get_uptime.)
  @Test func jiffiesUptimeFindsTheKernelsHZ() throws {
    let initial250: UInt64 = 0xFFFE_DB08  // (u32)(-75000)
    let early = try #require(BootTimeReader.uptime(jiffies64: initial250 + 12 * 250 + 249, monotonicSeconds: 12))
    #expect(early.seconds == 12 && early.hz == 250)
    // Past the 32-bit wrap (uptime 400 s), and a monotonic clock one second ahead.
    let late = try #require(BootTimeReader.uptime(jiffies64: initial250 + 400 * 250, monotonicSeconds: 401))
    #expect(late.seconds == 400 && late.hz == 250)
    let initial1000: UInt64 = 0xFFFB_6C20  // (u32)(-300000)
    let thousand = try #require(BootTimeReader.uptime(jiffies64: initial1000 + 7_500, monotonicSeconds: 7))
    #expect(thousand.seconds == 7 && thousand.hz == 1000)
    // No HZ makes the count agree: nil (the caller falls back to the monotonic seconds).
    #expect(BootTimeReader.uptime(jiffies64: 5, monotonicSeconds: 100) == nil)
  }
}
