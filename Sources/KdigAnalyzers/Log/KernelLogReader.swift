// `kdig log`: walks the printk ring from its tail id to its head id (as crash's and
// makedumpfile's dump_lockless_* do), reads each descriptor as the kernel's reader would, and
// returns the records in order with every unreadable run in its place.

import KdigBinary
import KdigKernel
import KdigTranslation

/// Reads the kernel log of a dump.
public struct KernelLogReader {
  public let memory: any VirtualMemory
  public let layout: PrintkLayout
  /// Descriptors this reader walks at most (`maxDescriptors`; the fuzzer uses fewer).
  public let descriptorLimit: UInt64

  /// The log of `kernel`: the ring's layout from VMCOREINFO (else the vmlinux).
  public init(kernel: KernelImage) throws {
    self.init(memory: kernel.kernelSpace, layout: try PrintkLayout.load(kernel: kernel))
  }

  /// The log in `memory` with `layout` (for tests on built rings), reading at most
  /// `descriptorLimit` descriptors (at least 1).
  public init(memory: any VirtualMemory, layout: PrintkLayout, descriptorLimit: UInt64 = maxDescriptors) {
    self.memory = memory
    self.layout = layout
    self.descriptorLimit = max(descriptorLimit, 1)
  }

  /// Descriptors one read walks at most: a ring of 2^20 (log_buf_len 32 MiB at the kernel's
  /// 32 bytes per descriptor) is read whole, but a damaged header may claim 2^26 of them
  /// over memory the dump does not have, and each costs a lookup.
  public static let maxDescriptors: UInt64 = 1 << 20

  public func read() throws -> KernelLog {
    let header = try PrintkRingHeader.read(memory, layout)
    let reader = PrintkRecordReader(layout: layout, header: header, pages: RingPages(memory: memory))
    // head - tail counts the ids after the tail; the ring holds at most `count` of them.
    let span = (header.headID &- header.tailID) & PrintkIDs.idMask
    let limit = min(header.count, descriptorLimit)
    var first = header.tailID
    var prefix: LogGap?
    if span >= limit {
      // The head and tail disagree with the ring size (or the ring is beyond the limit):
      // read the newest ids (each is still checked against its descriptor) and say that
      // older ones were not attempted.
      first = (header.headID &- (limit - 1)) & PrintkIDs.idMask
      let why = span >= header.count
        ? "desc_ring head_id 0x\(hex(header.headID)) and tail_id 0x\(hex(header.tailID)) are more than "
          + "\(header.count) descriptors apart"
        : "the ring holds \(span + 1) descriptors, more than kdig reads (\(limit))"
      prefix = LogGap(
        kind: span >= header.count ? .garbled : .missing, reason: "\(why); only the newest \(limit) ids were read",
        firstSeq: nil, lastSeq: nil, count: Int(min(span + 1 - limit, UInt64(Int.max))),
        firstDescriptorID: header.tailID, lastDescriptorID: (first &- 1) & PrintkIDs.idMask)
    }
    let n = min(span, limit - 1) + 1  // bounded by the ring's descriptor count and the limit
    var builder = LogEntryBuilder()
    if let prefix { builder.entries.append(.gap(prefix)) }
    for i in 0..<n {
      let id = (first &+ i) & PrintkIDs.idMask
      builder.add(try reader.read(id: id), id: id, position: i)
    }
    return KernelLog(ring: header.summary(layout), entries: builder.entries, bootTime: nil)
  }
}

/// Orders outcomes into entries as they come (one ring can hold 2^26 descriptors: nothing is
/// kept per descriptor but the entries themselves). Gaps get the seq their position implies
/// (seqs and ids advance together, one per record, anchored at the first readable record); a
/// record whose seq contradicts its position becomes a garbled gap; consecutive gaps with one
/// kind and reason merge into one entry.
struct LogEntryBuilder {
  var entries: [LogEntry] = []
  private var anchor: (position: UInt64, seq: UInt64)?
  /// Gaps seen before the anchor: their entry index and walk positions, to get seqs later.
  private var unanchored: [(entry: Int, first: UInt64, last: UInt64)] = []

  mutating func add(_ outcome: RecordOutcome, id: UInt64, position: UInt64) {
    switch outcome {
    case .bootstrap:
      return
    case .record(let r):
      guard let anchor else {
        anchor = (position, r.seq)
        backfill(seq: r.seq, at: position)
        entries.append(.record(r))
        return
      }
      // Wrapping: seqs are the kernel's u64 and may wrap like it.
      let expected = anchor.seq &+ (position - anchor.position)
      if expected == r.seq {
        entries.append(.record(r))
      } else {
        addGap(.garbled, "printk_info.seq \(r.seq) contradicts its place in the ring (expected \(expected))",
          seq: expected, id: id, position: position)
      }
    case .gap(let kind, let reason, let seq):
      addGap(kind, reason, seq: seq ?? anchor.map { $0.seq &+ (position - $0.position) }, id: id, position: position)
    }
  }

  private mutating func addGap(_ kind: LogGapKind, _ reason: String, seq: UInt64?, id: UInt64, position: UInt64) {
    if case .gap(var last) = entries.last, last.kind == kind, last.reason == reason,
      (seq == nil && last.lastSeq == nil) || (seq != nil && last.lastSeq.map { $0 &+ 1 } == seq)
    {
      last.count += 1
      last.lastSeq = seq
      last.lastDescriptorID = id
      entries[entries.count - 1] = .gap(last)
      if seq == nil, let u = unanchored.last, u.entry == entries.count - 1 {
        unanchored[unanchored.count - 1].last = position
      }
      return
    }
    entries.append(.gap(LogGap(kind: kind, reason: reason, firstSeq: seq, lastSeq: seq, count: 1,
      firstDescriptorID: id, lastDescriptorID: id)))
    if seq == nil { unanchored.append((entries.count - 1, position, position)) }
  }

  /// Gives the gaps before the first record the seqs their positions imply.
  private mutating func backfill(seq: UInt64, at position: UInt64) {
    for u in unanchored {
      guard case .gap(var g) = entries[u.entry] else { continue }
      // Wrapping: a derived seq before the anchor, modulo 2^64 as the kernel's u64.
      g.firstSeq = seq &- (position - u.first)
      g.lastSeq = seq &- (position - u.last)
      entries[u.entry] = .gap(g)
    }
    unanchored = []
  }
}
