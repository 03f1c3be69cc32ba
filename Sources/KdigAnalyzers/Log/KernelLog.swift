// What `kdig log` computes: the records of the printk ring buffer in sequence order, and in
// their place every record that could not be read, with why. Plain Encodable data.

import KdigBinary

/// Who called printk: a thread id, or a CPU when not in task context (bit 31 of caller_id).
public struct LogCaller: Sendable, Encodable, Equatable {
  public var thread: UInt32?
  public var cpu: UInt32?

  public init(callerID: UInt32) {
    if callerID & 0x8000_0000 != 0 { cpu = callerID & 0x7fff_ffff } else { thread = callerID }
  }
}

/// One record read from the ring.
public struct LogRecord: Sendable, Encodable {
  public var seq: UInt64
  /// Nanoseconds since boot (local_clock() when the record was stored).
  public var tsNsec: UInt64
  /// The kernel's syslog level (0 emerg … 7 debug); nil when the layout does not give it.
  public var level: Int?
  public var facility: Int?
  /// The raw `flags:5` bits, and their names (LOG_NEWLINE, LOG_CONT).
  public var flagBits: Int?
  public var flags: [String]
  public var callerID: UInt32
  public var caller: LogCaller
  /// The text bytes as stored (no trailing newline: the kernel strips it).
  public var textBytes: [UInt8]
  /// `finalized`, or `committed` for a last record its writer could still have extended.
  public var state: DescriptorState
  public var subsystem: String?
  public var device: String?
  /// Descriptor id, for tracing a record back to the ring.
  public var descriptorID: UInt64
  /// Where the text is in the data ring (nil for a record without a data block).
  public var textAddress: UInt64?

  /// True for a LOG_CONT record: a continuation of the previous line that the kernel could
  /// not append to it (it was finalized or another caller printed in between).
  public var isContinuation: Bool { flags.contains("cont") }

  enum CodingKeys: String, CodingKey {
    case seq, tsNsec, timestamp, level, facility, flagBits, flags, callerID, caller, text, textHex, state
    case subsystem, device, descriptorID, textAddress, status
  }

  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode("ok", forKey: .status)
    try c.encode(seq, forKey: .seq)
    try c.encode(tsNsec, forKey: .tsNsec)
    try c.encode(LogRecord.secondsText(tsNsec), forKey: .timestamp)
    try c.encodeIfPresent(level, forKey: .level)
    try c.encodeIfPresent(facility, forKey: .facility)
    try c.encodeIfPresent(flagBits, forKey: .flagBits)
    try c.encode(flags, forKey: .flags)
    try c.encode(callerID, forKey: .callerID)
    try c.encode(caller, forKey: .caller)
    // JSON strings are Unicode: text that is not valid UTF-8 also goes out as hex, losslessly.
    let text = String(validating: textBytes, as: UTF8.self)
    try c.encode(text ?? String(decoding: textBytes, as: UTF8.self), forKey: .text)
    if text == nil { try c.encode(textBytes.map { hexPadded(UInt64($0), width: 2) }.joined(), forKey: .textHex) }
    try c.encode(state, forKey: .state)
    try c.encodeIfPresent(subsystem, forKey: .subsystem)
    try c.encodeIfPresent(device, forKey: .device)
    try c.encode(Hex64(descriptorID), forKey: .descriptorID)
    try c.encodeIfPresent(textAddress.map(Hex64.init), forKey: .textAddress)
  }

  /// `seconds.micros` as dmesg prints it, without padding ("6.226361").
  public static func secondsText(_ ns: UInt64) -> String {
    let micros = String(ns % 1_000_000_000 / 1000)
    return "\(ns / 1_000_000_000)." + String(repeating: "0", count: max(0, 6 - micros.count)) + micros
  }
}

/// Why records could not be read.
public enum LogGapKind: String, Sendable, Encodable {
  /// A page holding the descriptor, info or text is not in the dump (makedumpfile excluded
  /// it, a hole, an incomplete dump) or not mapped.
  case missing
  /// The ring reused the descriptor or its text block for a newer record.
  case overwritten
  /// The kernel itself lost the text (FAILED_LPOS: no room in the data ring when written).
  case lost
  /// A writer held the descriptor when the dump was taken; its contents are not consistent.
  case incomplete
  /// The descriptor, info or block contradicts the ring's rules.
  case garbled
}

/// A run of consecutive records that could not be read for the same reason.
public struct LogGap: Sendable, Encodable {
  public var kind: LogGapKind
  public var reason: String
  /// First and last sequence number of the run (derived from descriptor ids when the info
  /// itself is unreadable); nil when no record of the ring could be read at all.
  public var firstSeq: UInt64?
  public var lastSeq: UInt64?
  public var count: Int
  public var firstDescriptorID: UInt64
  public var lastDescriptorID: UInt64

  enum CodingKeys: String, CodingKey {
    case status, reason, seq, lastSeq, count, descriptorID, lastDescriptorID
  }

  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(kind, forKey: .status)
    try c.encode(reason, forKey: .reason)
    try c.encodeIfPresent(firstSeq, forKey: .seq)
    try c.encodeIfPresent(lastSeq, forKey: .lastSeq)
    try c.encode(count, forKey: .count)
    try c.encode(Hex64(firstDescriptorID), forKey: .descriptorID)
    try c.encode(Hex64(lastDescriptorID), forKey: .lastDescriptorID)
  }
}

/// A record, or a run of records that could not be read.
public enum LogEntry: Sendable, Encodable {
  case record(LogRecord)
  case gap(LogGap)

  public func encode(to encoder: any Encoder) throws {
    switch self {
    case .record(let r): try r.encode(to: encoder)
    case .gap(let g): try g.encode(to: encoder)
    }
  }
}

/// The ring as the dump holds it.
public struct PrintkRingSummary: Sendable, Encodable {
  public var layoutSource: String
  /// `prb` and the ring it points to.
  public var prbSymbol: Hex64
  public var ringbuffer: Hex64
  public var descriptorCount: UInt64
  public var descriptors: Hex64
  public var infos: Hex64
  public var textDataSize: UInt64
  public var textData: Hex64
  public var headID: Hex64
  public var tailID: Hex64
  public var textHeadLpos: Hex64?
  public var textTailLpos: Hex64?
  /// prb->fail: reservations that failed without even a data-less record.
  public var failedReservations: UInt64?
}

/// The wall-clock time of boot, for `-T`.
public struct BootTime: Sendable, Encodable {
  /// The boot second since the epoch, as crash computes it (the wall clock's seconds minus
  /// the uptime's).
  public var epochSeconds: Int64
  /// Where it was read, e.g. "tk_core.timekeeper.xtime_sec - (jiffies_64 - INITIAL_JIFFIES) / HZ (HZ 250)".
  public var source: String
  /// The wall clock's and the uptime's seconds when the dump was taken.
  public var xtimeSec: Int64
  public var uptimeSec: Int64
  /// The HZ the uptime was counted in (jiffies), nil when it is the timekeeper's ktime_sec.
  public var hz: Int64?
  /// The timekeeper's offs_real: CLOCK_REALTIME - CLOCK_MONOTONIC in nanoseconds, the exact
  /// boot time (crash's second can be one later: both terms are truncated).
  public var offsRealNsec: Int64?

  public init(
    epochSeconds: Int64, source: String, xtimeSec: Int64, uptimeSec: Int64, hz: Int64? = nil, offsRealNsec: Int64?
  ) {
    self.epochSeconds = epochSeconds
    self.hz = hz
    self.source = source
    self.xtimeSec = xtimeSec
    self.uptimeSec = uptimeSec
    self.offsRealNsec = offsRealNsec
  }
}

/// The kernel log of a dump.
public struct KernelLog: Sendable, Encodable {
  public var ring: PrintkRingSummary
  public var entries: [LogEntry]
  public var bootTime: BootTime?

  public var records: Int { entries.reduce(0) { if case .record = $1 { $0 + 1 } else { $0 } } }

  /// How many records each kind of gap covers.
  public func unreadable(_ kind: LogGapKind) -> Int {
    entries.reduce(0) { if case .gap(let g) = $1, g.kind == kind { $0 + g.count } else { $0 } }
  }

  enum CodingKeys: String, CodingKey {
    case ring, records, bootTime, counts
  }

  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(ring, forKey: .ring)
    try c.encode(entries, forKey: .records)
    try c.encodeIfPresent(bootTime, forKey: .bootTime)
    var counts = ["ok": records]
    for k in [LogGapKind.missing, .overwritten, .lost, .incomplete, .garbled] { counts[k.rawValue] = unreadable(k) }
    try c.encode(counts, forKey: .counts)
  }
}
