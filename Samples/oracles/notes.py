#!/usr/bin/env python3
"""ELF oracle: binutils readelf's view (header, program headers, notes) of an
ELF dump, plus eu-readelf -n, plus the VMCOREINFO text decoded from readelf's
hex dump of that note (no ELF parsing of our own).

usage: notes.py DUMP OUT STAMP
"""
import os
import re
import subprocess
import sys


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True, errors="replace")
    return f"$ {' '.join(cmd)}   (exit {p.returncode})\n{p.stdout}{p.stderr}\n"


def main():
    dump, out, stamp = sys.argv[1:4]
    readelf = run(["readelf", "-W", "-h", "-l", "-n", dump])
    text = [f"# oracle_stamp: {stamp}\n", readelf, run(["eu-readelf", "-n", dump])]
    m = re.search(r"^\s*VMCOREINFO\s+0x[0-9a-f]+\s[^\n]*?(?:\n\s*)?description data: ([0-9a-f ]+)", readelf, re.M)
    text.append("# VMCOREINFO decoded from readelf's description data:\n")
    text.append(bytes.fromhex(m.group(1)).decode("ascii", "replace") if m else "(no VMCOREINFO note)\n")
    with open(out + ".tmp", "w") as f:
        f.writelines(text)
    os.replace(out + ".tmp", out)


if __name__ == "__main__":
    main()
