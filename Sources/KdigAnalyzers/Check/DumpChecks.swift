// The checks `kdig check` runs on every dump. Analyzers plug in here as they land.

/// The registry of dump checks.
public enum DumpChecks {
  /// The verifying analyzers, in report order.
  public static var analyzers: [any DumpCheck] {
    [
      IDTCheck(),
      CEACheck(),
      WXCheck(),
      PTIUserCheck(),
    ]
  }

  /// Everything a dump gets: its integrity (covering the pages the analyzers read), then the analyzers.
  public static var all: [any DumpCheck] {
    let checks = analyzers
    return [DumpIntegrityCheck(covering: checks)] + checks
  }
}
