#!/usr/bin/env python3
"""drgn 0.3.0's reading of every loaded module's own kallsyms (drgn.helpers.linux.kallsyms.
load_module_kallsyms, an implementation independent of kdig's), for ModuleSymbolsTests.

usage: module_syms_drgn.py DUMP VMLINUX OUT.json
OUT.json: {"open_error": str|null, "symbols": [[address_hex, name, size]...]}
"""
import json
import os
import sys

import drgn
from drgn.helpers.linux.kallsyms import load_module_kallsyms


def main():
    dump, vmlinux, out = sys.argv[1:4]
    res = {}
    prog = drgn.Program()
    try:
        prog.set_core_dump(dump)
        try:
            prog.load_debug_info([vmlinux])
        except drgn.MissingDebugInfoError:
            pass
        index = load_module_kallsyms(prog)
        res["symbols"] = [[hex(s.address), s.name, s.size] for s in index(prog, None, None, False)]
        res["open_error"] = None
    except Exception as e:
        res["open_error"] = f"{type(e).__name__}: {e}"
    with open(out + ".tmp", "w") as f:
        json.dump(res, f)
    os.replace(out + ".tmp", out)


if __name__ == "__main__":
    main()
