// Thin helpers over libdw's DIE and attribute calls (elfutils/libdw.h), each naming the
// libdw function it wraps. Attribute reads use dwarf_attr_integrate, so a definition that
// points at its declaration (DW_AT_specification) sees the declaration's name and type.

import CElfUtils

/// DW_TAG_* values used by the type reader (DWARF 5 §7.5.4, dwarf.h).
enum DWTag {
  static let arrayType = Int32(DW_TAG_array_type)
  static let enumerationType = Int32(DW_TAG_enumeration_type)
  static let formalParameter = Int32(DW_TAG_formal_parameter)
  static let member = Int32(DW_TAG_member)
  static let pointerType = Int32(DW_TAG_pointer_type)
  static let structureType = Int32(DW_TAG_structure_type)
  static let subroutineType = Int32(DW_TAG_subroutine_type)
  static let typedef = Int32(DW_TAG_typedef)
  static let unionType = Int32(DW_TAG_union_type)
  static let unspecifiedParameters = Int32(DW_TAG_unspecified_parameters)
  static let subrangeType = Int32(DW_TAG_subrange_type)
  static let baseType = Int32(DW_TAG_base_type)
  static let constType = Int32(DW_TAG_const_type)
  static let enumerator = Int32(DW_TAG_enumerator)
  static let variable = Int32(DW_TAG_variable)
  static let volatileType = Int32(DW_TAG_volatile_type)
  static let restrictType = Int32(DW_TAG_restrict_type)
  static let atomicType = Int32(DW_TAG_atomic_type)
  static let unspecifiedType = Int32(DW_TAG_unspecified_type)
}

/// Reads of one DIE's attributes.
enum DIE {
  /// `dwarf_dieoffset`: the DIE's offset in .debug_info.
  static func offset(_ die: inout Dwarf_Die) -> UInt64 { UInt64(dwarf_dieoffset(&die)) }

  /// `dwarf_diename`, or nil for an unnamed (or empty-named) DIE.
  static func name(_ die: inout Dwarf_Die) -> String? {
    guard let c = dwarf_diename(&die), c.pointee != 0 else { return nil }
    return String(cString: c)
  }

  /// `dwarf_hasattr` (not integrated): is `attribute` on this very DIE?
  static func has(_ die: inout Dwarf_Die, _ attribute: Int) -> Bool {
    dwarf_hasattr(&die, UInt32(attribute)) != 0
  }

  /// True for a declaration (`struct foo;`, `extern int x;`).
  static func isDeclaration(_ die: inout Dwarf_Die) -> Bool { has(&die, DW_AT_declaration) }

  /// `dwarf_attr_integrate` + `dwarf_formudata`.
  static func unsigned(_ die: inout Dwarf_Die, _ attribute: Int) -> UInt64? {
    var attr = Dwarf_Attribute()
    guard dwarf_attr_integrate(&die, UInt32(attribute), &attr) != nil else { return nil }
    var value: Dwarf_Word = 0
    return dwarf_formudata(&attr, &value) == 0 ? UInt64(value) : nil
  }

  /// An array bound: `dwarf_formsdata` for DW_FORM_sdata, else `dwarf_formudata`.
  /// NOTE: libdw's dwarf_formsdata sign-extends DW_FORM_data1, so `[256]`'s upper bound
  /// 255 would read as -1 through it.
  static func bound(_ die: inout Dwarf_Die, _ attribute: Int) -> Int64? {
    var attr = Dwarf_Attribute()
    guard dwarf_attr_integrate(&die, UInt32(attribute), &attr) != nil else { return nil }
    let form = Int(dwarf_whatform(&attr))
    if form == DW_FORM_sdata || form == DW_FORM_implicit_const {
      var value: Dwarf_Sword = 0
      return dwarf_formsdata(&attr, &value) == 0 ? Int64(value) : nil
    }
    var value: Dwarf_Word = 0
    guard dwarf_formudata(&attr, &value) == 0 else { return nil }
    return Int64(exactly: value)
  }

  /// The DIE `DW_AT_type` refers to (`dwarf_formref_die`); nil means `void`.
  static func type(_ die: inout Dwarf_Die) -> Dwarf_Die? {
    var attr = Dwarf_Attribute()
    guard dwarf_attr_integrate(&die, UInt32(DW_AT_type), &attr) != nil else { return nil }
    var target = Dwarf_Die()
    return dwarf_formref_die(&attr, &target) != nil ? target : nil
  }

  /// `DW_AT_data_member_location` as a constant, or a single DW_OP_plus_uconst expression
  /// (older producers); 0 when absent (union members).
  static func memberLocation(_ die: inout Dwarf_Die) -> UInt64? {
    var attr = Dwarf_Attribute()
    guard dwarf_attr_integrate(&die, UInt32(DW_AT_data_member_location), &attr) != nil else {
      return 0
    }
    var value: Dwarf_Word = 0
    if dwarf_formudata(&attr, &value) == 0 { return UInt64(value) }
    var ops: UnsafeMutablePointer<Dwarf_Op>?
    var count = 0
    guard dwarf_getlocation(&attr, &ops, &count) == 0, count == 1, let op = ops?.pointee,
      op.atom == UInt8(DW_OP_plus_uconst)
    else { return nil }
    return UInt64(op.number)
  }

  /// The address of a DW_OP_addr location (a global variable's link-time address).
  static func staticAddress(_ die: inout Dwarf_Die) -> UInt64? {
    var attr = Dwarf_Attribute()
    guard dwarf_attr_integrate(&die, UInt32(DW_AT_location), &attr) != nil else { return nil }
    var ops: UnsafeMutablePointer<Dwarf_Op>?
    var count = 0
    guard dwarf_getlocation(&attr, &ops, &count) == 0, count >= 1, let op = ops?.pointee,
      op.atom == UInt8(DW_OP_addr)
    else { return nil }
    return UInt64(op.number)
  }

  /// An enumerator's `DW_AT_const_value`, sign-extended from its form when `signed`.
  static func constValue(_ die: inout Dwarf_Die, signed: Bool) -> Int64? {
    var attr = Dwarf_Attribute()
    guard dwarf_attr_integrate(&die, UInt32(DW_AT_const_value), &attr) != nil else { return nil }
    let form = Int(dwarf_whatform(&attr))
    if form == DW_FORM_sdata || form == DW_FORM_implicit_const {
      var s: Dwarf_Sword = 0
      return dwarf_formsdata(&attr, &s) == 0 ? Int64(s) : nil
    }
    var u: Dwarf_Word = 0
    guard dwarf_formudata(&attr, &u) == 0 else { return nil }
    let width: UInt64
    switch form {
    case DW_FORM_data1: width = 8
    case DW_FORM_data2: width = 16
    case DW_FORM_data4: width = 32
    default: width = 64
    }
    guard signed, width < 64 else { return Int64(bitPattern: UInt64(u)) }
    // Sign-extend the low `width` bits.
    let shift = 64 - width
    return Int64(bitPattern: UInt64(u) << shift) >> shift
  }

  /// `dwarf_child`: the first child, or nil.
  static func firstChild(_ die: inout Dwarf_Die) -> Dwarf_Die? {
    var child = Dwarf_Die()
    return dwarf_child(&die, &child) == 0 ? child : nil
  }

  /// `dwarf_siblingof`: the next sibling, or nil at the end.
  static func nextSibling(_ die: inout Dwarf_Die) -> Dwarf_Die? {
    var sibling = Dwarf_Die()
    return dwarf_siblingof(&die, &sibling) == 0 ? sibling : nil
  }

  /// The children of `die`, in order.
  static func children(_ die: inout Dwarf_Die) -> [Dwarf_Die] {
    var out: [Dwarf_Die] = []
    var next = firstChild(&die)
    while var child = next {
      out.append(child)
      next = nextSibling(&child)
    }
    return out
  }
}

/// `dwarf_errmsg(-1)`: the last libdw error.
func libdwMessage() -> String {
  dwarf_errmsg(-1).map { String(cString: $0) } ?? "unknown error"
}
