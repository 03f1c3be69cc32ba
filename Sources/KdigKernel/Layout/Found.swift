// A value together with how kdig found it: `kdig info` reports both, so a user can tell a
// value read from VMCOREINFO from one derived by a page-table scan.

/// A value and the way it was obtained.
public struct Found<Value: Sendable>: Sendable {
  public var value: Value
  /// Short human description of the source ("VMCOREINFO KERNELOFFSET", …).
  public var how: String

  public init(_ value: Value, _ how: String) {
    self.value = value
    self.how = how
  }
}

extension Found: Encodable where Value: Encodable {}
