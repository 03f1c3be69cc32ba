// `kdig log` as text: one line per record the way makedumpfile --dump-dmesg and crash's `log`
// print it (printk.c in both): "[%5lu.%06lu] " then the text; a newline inside a record
// continues on a line indented by the prefix's width. `-t` drops the prefix (crash log -t),
// `-m` adds the level as "<%x>" after it (crash log -m), `-T` prints the wall clock as crash
// log -T does ("%a %b %e %T %Z %Y" in local time). Records that could not be read are one
// "[kdig] …" line each in their place: the reader sees where the log has a hole.

import KdigAnalyzers

#if canImport(Glibc)
  import Glibc
#endif

/// How the prefix of each line is written.
public struct LogTextOptions: Sendable {
  public enum Timestamps: Sendable {
    /// Seconds since boot, "[    6.226361] " (the default).
    case uptime
    /// No prefix (crash log -t).
    case none
    /// Wall clock from the boot time (crash log -T).
    case wallClock(BootTime)
  }

  public var timestamps: Timestamps
  /// Prefix the syslog level, "<6>" (crash log -m).
  public var showLevel: Bool

  public init(timestamps: Timestamps = .uptime, showLevel: Bool = false) {
    self.timestamps = timestamps
    self.showLevel = showLevel
  }
}

public enum LogRenderer {
  public static func render(_ log: KernelLog, _ options: LogTextOptions = .init()) -> String {
    var out: [UInt8] = []
    out.reserveCapacity(log.entries.count * 80)
    for entry in log.entries {
      switch entry {
      case .record(let r): appendRecord(r, options, to: &out)
      case .gap(let g): out += Array(gapLine(g).utf8)
      }
      out.append(0x0a)
    }
    return String(decoding: out, as: UTF8.self)
  }

  /// "[kdig] 3 records missing (seq 12-14): why".
  public static func gapLine(_ g: LogGap) -> String {
    var seqs = ""
    if let a = g.firstSeq, let b = g.lastSeq { seqs = a == b ? " (seq \(a))" : " (seq \(a)-\(b))" }
    let what = g.count == 1 ? "record" : "records"
    return "[kdig] \(g.count) \(what) \(g.kind.rawValue)\(seqs): \(g.reason)"
  }

  static func appendRecord(_ r: LogRecord, _ options: LogTextOptions, to out: inout [UInt8]) {
    var prefix = ""
    switch options.timestamps {
    case .uptime: prefix = "[" + uptimeText(r.tsNsec) + "] "
    case .none: break
    case .wallClock(let boot): prefix = "[" + wallClockText(boot, r.tsNsec) + "] "
    }
    if options.showLevel { prefix += "<" + (r.level.map { String($0, radix: 16) } ?? "?") + ">" }
    let head = Array(prefix.utf8)
    out += head
    appendText(r.textBytes, indent: head.count, to: &out)
  }

  /// "%5lu.%06lu" of the seconds and microseconds, as printk prints them.
  public static func uptimeText(_ ns: UInt64) -> String {
    let seconds = String(ns / 1_000_000_000)
    let micros = String(ns % 1_000_000_000 / 1000)
    return String(repeating: " ", count: max(0, 5 - seconds.count)) + seconds + "."
      + String(repeating: "0", count: max(0, 6 - micros.count)) + micros
  }

  /// The record's wall-clock second in local time, formatted as crash's ctime_tz: the boot
  /// second plus the record's whole seconds (crash: kt->boot_date.tv_sec + nanos).
  public static func wallClockText(_ boot: BootTime, _ ns: UInt64) -> String {
    let seconds = Int64(ns / 1_000_000_000)  // safe, can't overflow: below 2^35
    guard case let (sum, false) = boot.epochSeconds.addingReportingOverflow(seconds), let t0 = time_t(exactly: sum)
    else { return "? (boot + \(uptimeText(ns)) out of range)" }
    var t = t0
    var tm = tm()
    guard localtime_r(&t, &tm) != nil else { return String(t) }
    var buffer = [CChar](repeating: 0, count: 64)
    let n = strftime(&buffer, buffer.count, "%a %b %e %T %Z %Y", &tm)
    guard n > 0 else { return String(t) }
    return String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
  }

  /// The text as makedumpfile writes it: printable ASCII and whitespace as is, a newline
  /// followed by the indent, any other byte as \xNN (so control and escape bytes from the
  /// dump never reach the terminal).
  public static func appendText(_ text: [UInt8], indent: Int, to out: inout [UInt8]) {
    let digits = Array("0123456789abcdef".utf8)
    for b in text {
      switch b {
      case 0x0a:
        out.append(0x0a)
        out += repeatElement(0x20, count: indent)
      case 0x20...0x7e, 0x09, 0x0b, 0x0c, 0x0d:
        out.append(b)
      default:
        out += [0x5c, 0x78, digits[Int(b >> 4)], digits[Int(b & 0xf)]]
      }
    }
  }
}
