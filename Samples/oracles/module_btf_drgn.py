#!/usr/bin/env python3
"""drgn 0.3.0's view, from the modules' DWARF (the -dbg package), of what kdig reads from the
modules' BTF in the dump, for ModuleBTFTests.

usage: module_btf_drgn.py DUMP VMLINUX DEBUG_DIR OUT.json
  DEBUG_DIR holds NAME.ko debug files; MODULE files beside it (DEBUG_DIR/..) are the modules
  the guest loaded, whose .BTF section the kernel copied (read with objcopy).
OUT.json: {"open_error": str|null,
  "btf": [{"module", "start_id", "start_str_off", "size", "sha256", "file_sha256"}],
     (and the bytes drgn read, in OUT.json.MODULE.btf)
  "types": {"NAME": {"size", "members": [[name|"", bit_offset]...]}},  # structs the module's
                                                                     # split BTF defines
  "fw_cfg_entries": [{"address", "size", "select", "name"}]}
"""
import hashlib
import json
import os
import struct
import subprocess
import sys
import tempfile

import drgn
from drgn.helpers.linux.list import list_for_each_entry


def split_struct_names(blob, base_str_len):
    """Names of the structs a split BTF blob defines itself (include/uapi/linux/btf.h)."""
    _magic, _ver, _flags, hdr_len, type_off, type_len, str_off, str_len = struct.unpack_from("<HBBIIIII", blob)
    types = blob[hdr_len + type_off:hdr_len + type_off + type_len]
    strings = blob[hdr_len + str_off:hdr_len + str_off + str_len]
    trailing = {1: lambda v: 4, 3: lambda v: 12, 4: lambda v: 12 * v, 5: lambda v: 12 * v, 6: lambda v: 8 * v,
                13: lambda v: 8 * v, 14: lambda v: 4, 15: lambda v: 12 * v, 17: lambda v: 4, 19: lambda v: 12 * v}
    names, o = [], 0
    while o < len(types):
        name_off, info, _ = struct.unpack_from("<III", types, o)
        kind, vlen = (info >> 24) & 0x1f, info & 0xffff
        if kind == 4 and name_off >= base_str_len:
            s = name_off - base_str_len
            names.append(strings[s:strings.index(b"\0", s)].decode())
        o += 12 + trailing.get(kind, lambda v: 0)(vlen)
    return names


def section(path, name):
    with tempfile.NamedTemporaryFile() as t:
        subprocess.run(["objcopy", f"--dump-section={name}={t.name}", path, "/dev/null"], check=True)
        return open(t.name, "rb").read()


def main():
    dump, vmlinux, debug_dir, out = sys.argv[1:5]
    res = {"open_error": None, "btf": [], "types": {}, "fw_cfg_entries": []}
    try:
        prog = drgn.Program()
        prog.set_core_dump(dump)
        debug = sorted(os.path.join(debug_dir, f) for f in os.listdir(debug_dir) if f.endswith(".ko"))
        try:
            prog.load_debug_info([vmlinux] + debug)
        except drgn.MissingDebugInfoError:
            pass
        base_str_len = int(prog["btf_vmlinux"].hdr.str_len)
        for bm in list_for_each_entry("struct btf_module", prog["btf_modules"].address_of_(), "list"):
            b = bm.btf
            name = b.name.string_().decode()
            data = prog.read(b.data.value_(), int(b.data_size))
            with open(f"{out}.{name}.btf", "wb") as f:
                f.write(data)
            ko = os.path.join(debug_dir, "..", name + ".ko")
            res["btf"].append({
                "module": name, "start_id": int(b.start_id), "start_str_off": int(b.start_str_off),
                "size": int(b.data_size), "sha256": hashlib.sha256(data).hexdigest(),
                "file_sha256": hashlib.sha256(section(ko, ".BTF")).hexdigest() if os.path.exists(ko) else None})
            if not os.path.exists(os.path.join(debug_dir, name + ".ko")):
                continue
            for t in split_struct_names(data, base_str_len):
                ty = prog.type("struct " + t)
                res["types"][t] = {"size": ty.size,
                                   "members": [[m.name or "", m.bit_offset] for m in ty.members]}
        if "qemu_fw_cfg" in [b["module"] for b in res["btf"]]:
            for e in list_for_each_entry("struct fw_cfg_sysfs_entry", prog["fw_cfg_entry_cache"].address_of_(), "list"):
                res["fw_cfg_entries"].append({"address": hex(e.value_()), "size": int(e.size),
                                              "select": int(e.select), "name": e.name.string_().decode()})
    except Exception as e:
        res["open_error"] = f"{type(e).__name__}: {e}"
    with open(out, "w") as f:
        json.dump(res, f, indent=1)


main()
