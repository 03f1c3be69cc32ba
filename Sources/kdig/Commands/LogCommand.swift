// `kdig log`: the kernel log from the printk ring buffer. Needs no vmlinux (the ring's layout
// is in VMCOREINFO), except for -T (the boot time is in the timekeeper, found through DWARF).

import ArgumentParser
import Foundation
import Kdig

struct LogCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "log",
    abstract: "Print the kernel log (printk ring buffer) as dmesg / crash `log` do.",
    discussion: """
      Each record as "[seconds.micros] text". Records the dump cannot give (a page excluded \
      by makedumpfile), that the ring overwrote, or that are garbled appear as "[kdig] …" \
      lines with their sequence numbers and the reason. Works without a vmlinux; -T needs \
      one. Exit 0 ok, 2 when records are missing from the dump or garbled (the rest is \
      still printed) or the log cannot be read at all, 3 no vmlinux for -T.
      """)

  @Flag(name: .customShort("T"), help: "Wall-clock time of each record (crash log -T; needs the vmlinux).")
  var wallClock = false

  @Flag(name: .customShort("t"), help: "No timestamps (crash log -t).")
  var noTimestamps = false

  @Flag(name: .customShort("m"), help: "Prefix each record with its level, e.g. <6> (crash log -m).")
  var levels = false

  @OptionGroup var options: DumpOptions

  func run() throws {
    try runCommand("log", json: options.json) {
      if wallClock && noTimestamps { throw UsageError("-T and -t exclude each other") }
      let session = try options.openSession()
      // -T without its vmlinux fails before the log is read.
      let boot = wallClock ? try BootTimeReader.read(kernel: session.kernel) : nil
      var log = try KernelLogReader(kernel: session.kernel).read()
      log.bootTime = boot
      let bad = log.unreadable(.missing) + log.unreadable(.garbled)
      if bad > 0 {
        FileHandle.standardError.write(
          Data("kdig log: \(log.unreadable(.missing)) records missing from the dump, \(log.unreadable(.garbled)) garbled (see the [kdig] lines)\n".utf8))
      }
      let timestamps: LogTextOptions.Timestamps =
        noTimestamps ? .none : log.bootTime.map { .wallClock($0) } ?? .uptime
      let text = LogTextOptions(timestamps: timestamps, showLevel: levels)
      return CommandOutput(
        text: { LogRenderer.render(log, text) }, json: { JSONOutput.render(log, command: "log") },
        status: bad > 0 ? 2 : 0)
    }
  }
}
