#!/usr/bin/env python3
"""drgn on a `kdig extract` file: does drgn 0.3.0 open it and answer as on the original?

usage: extract_drgn.py EXTRACT VMLINUX VTOP_ORACLE.json OUT.json ORIGINAL
Runs under $CACHE/venv-drgn/bin/python (drgn 0.3.0, stdlib otherwise).

Opens EXTRACT with drgn (libkdumpfile reads it as a makedumpfile dump), then translates
every kernel address of the original dump's vtop oracle (VTOP_ORACLE.json, written by
vtop_drgn.py on the original) and its PTI user-table addresses, exactly as vtop_drgn.py
did, and reads the kernel release and the end of the kernel log, also from ORIGINAL (the
dump the extract was made from: makedumpfile cannot read QEMU's ELF files, so drgn on the
original is the log's oracle here). OUT.json:
  {"open_error": str|null, "release": str, "dmesg_tail": [last 40 lines of the kernel log],
   "original_dmesg_tail": [the same from ORIGINAL],
   "addresses": [[addr_hex, pa_hex|null, error|null]...],
   "pti_user": [[addr_hex, pa_hex|null, error|null]...]}
The test compares these with the oracle's own answers on the original.
"""
import json
import sys

import drgn
from drgn import Program
from drgn_common import err_text

try:
    from _drgn import _linux_helper_follow_phys
except ImportError:  # pragma: no cover - other drgn versions
    _linux_helper_follow_phys = None


def main():
    extract, vmlinux, oracle_path, out, original = sys.argv[1:6]
    oracle = json.load(open(oracle_path))
    res = {"tool": f"drgn {drgn.__version__}", "extract": extract}
    prog = Program()
    try:
        prog.set_core_dump(extract)
    except Exception as e:
        res["open_error"] = err_text(e)
        return write(out, res)
    try:
        prog.load_debug_info([vmlinux])
    except drgn.MissingDebugInfoError as e:
        res["missing_debug_info"] = str(e)
    res["open_error"] = None
    from drgn.helpers.linux.mm import follow_phys
    from drgn.helpers.linux.printk import get_dmesg

    mm = prog["init_mm"].address_of_()
    res["release"] = prog["init_uts_ns"].name.release.string_().decode()
    res["dmesg_tail"] = get_dmesg(prog).decode(errors="replace").splitlines()[-40:]

    def translate(addr):
        try:
            return hex(follow_phys(mm, addr).value_()), None
        except Exception as e:
            return None, err_text(e)

    res["addresses"] = [[a, *translate(int(a, 16))] for a, *_ in oracle.get("addresses", [])]
    pti = oracle.get("pti_user") or {}
    user = []
    if pti.get("pgd") and _linux_helper_follow_phys is not None:
        pgd = int(pti["pgd"], 16)
        for a, *_ in pti.get("addresses", []):
            try:
                user.append([a, hex(_linux_helper_follow_phys(prog, pgd, int(a, 16))), None])
            except Exception as e:
                user.append([a, None, err_text(e)])
    res["pti_user"] = user
    orig = Program()
    orig.set_core_dump(original)
    try:
        orig.load_debug_info([vmlinux])
    except drgn.MissingDebugInfoError:
        pass
    res["original_dmesg_tail"] = get_dmesg(orig).decode(errors="replace").splitlines()[-40:]
    write(out, res)


def write(out, res):
    with open(out + ".tmp", "w") as f:
        json.dump(res, f)
    import os
    os.replace(out + ".tmp", out)


if __name__ == "__main__":
    main()
