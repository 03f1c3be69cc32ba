// Label/value lines in crash's style (right-aligned labels, "LABEL: value"), with an optional
// source column that says how each value was found.

/// Builds aligned `LABEL: value  [how]` lines.
public struct LabeledLines {
  private var rows: [(label: String, value: String, how: String?)] = []

  public init() {}

  public mutating func add(_ label: String, _ value: String, how: String? = nil) {
    rows.append((label, value, how))
  }

  /// The lines, labels right-aligned to the widest, sources aligned after the values.
  public func render() -> String {
    let labelWidth = rows.map(\.label.count).max() ?? 0
    let valueWidth = min(34, rows.filter { $0.how != nil }.map(\.value.count).max() ?? 0)
    var out = ""
    for row in rows {
      let pad = String(repeating: " ", count: labelWidth - row.label.count)
      var line = "\(pad)\(row.label): \(row.value)"
      if let how = row.how {
        let gap = max(2, valueWidth - row.value.count + 2)
        line += String(repeating: " ", count: gap) + "[\(how)]"
      }
      out += line + "\n"
    }
    return out
  }
}

/// Left-pads `text` to `width`.
func leftPad(_ text: String, _ width: Int) -> String {
  text.count >= width ? text : String(repeating: " ", count: width - text.count) + text
}

/// Right-pads `text` to `width`.
func rightPad(_ text: String, _ width: Int) -> String {
  text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
}

/// Bytes as crash prints sizes ("511.5 MB", "1 GB"): one rounded decimal, none when whole.
public func humanSize(_ bytes: UInt64) -> String {
  let units: [(UInt64, String)] = [(1 << 40, "TB"), (1 << 30, "GB"), (1 << 20, "MB"), (1 << 10, "KB")]
  for (size, name) in units where bytes >= size {
    // Rounded, as printf("%.1f") does, without overflow: a size read from a hostile dump can
    // be anything up to 2^64 - 1 (whole units, then tenths of the remainder, which is < 2^40).
    let tenths = (bytes / size) * 10 + ((bytes % size) * 10 + size / 2) / size
    return tenths % 10 == 0 ? "\(tenths / 10) \(name)" : "\(tenths / 10).\(tenths % 10) \(name)"
  }
  return "\(bytes) bytes"
}
