#!/usr/bin/env python3
"""Write $CACHE/samples/manifest.json for every sample present in the cache.

usage: manifest.py SAMPLES_TSV CACHE [SET]
SET (default: default) picks the rows by samples.tsv's optional set column; set bench is
written to bench-manifest.json instead, so the tests (which read manifest.json) never see it.
Static facts come from samples.tsv; the kernel release, KASLR offset and PTI
state come from the sample's own console log (what the guest really said).
"""
import csv
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dumpfiles import vmcoreinfo  # noqa: E402


def first_kernel(console):
    """The first kernel's part of a console log (a kexec run has a second boot)."""
    starts = [m.start() for m in re.finditer(r"Linux version ", console)]
    return console[:starts[1]] if len(starts) > 1 else console


def main():
    tsv, cache = sys.argv[1:3]
    wanted_set = sys.argv[3] if len(sys.argv) > 3 else "default"
    out_dir = os.path.join(cache, "samples")
    with open(tsv) as f:
        rows = list(csv.DictReader((l for l in f if not l.startswith("#")), delimiter="\t"))
    rows = [r for r in rows if (r.get("set") or "default") == wanted_set]
    primary = {}
    for r in rows:
        primary.setdefault(r["unit"], r["name"])

    samples = []
    for r in rows:
        name = r["name"]
        path = os.path.join(out_dir, name + ".vmcore")
        log = os.path.join(out_dir, name + ".console.log")
        if not (os.path.isfile(path) and os.path.isfile(log)):
            continue
        with open(log, "rb") as f:
            console = f.read().decode("utf-8", "replace").replace("\r", "")
        first = first_kernel(console)
        release = re.search(r"Linux version (\S+)", first).group(1)
        offset = re.search(r"Kernel Offset: (0x[0-9a-f]+) from 0xffffffff81000000", first)
        cmdlines = re.findall(r"\] Command line: (.*)", console)
        kdir = os.path.join(cache, "kernels", release)
        koff = re.search(r"^KERNELOFFSET=([0-9a-f]+)$", vmcoreinfo(path), re.M)
        samples.append({
            "name": name,
            "file": path,
            "file_size": os.path.getsize(path),
            "format": r["format"],
            "codec": r["codec"],
            "dump_level": None if r["dump_level"] == "-" else int(r["dump_level"]),
            "producer": r["producer"],
            "kernel_release": release,
            "vmlinux": os.path.join(kdir, "vmlinux"),
            "vmlinuz": os.path.join(kdir, "vmlinuz"),
            "system_map": os.path.join(kdir, "System.map"),
            "qemu_cpu": r["cpu"],
            "smp": int(r.get("smp") or 2),  # optional trailing column, absent = 2
            "trigger": r.get("trigger") or "init",  # optional trailing column: who made it panic
            "memory_mib": int(r["mem"]),
            "cmdline": r["cmdline"],
            "capture_cmdline": cmdlines[1] if r["recipe"] == "kexec" and len(cmdlines) > 1 else None,
            "qemu_vmcoreinfo_device": r["recipe"] == "qmp" and r["vmcoreinfo"] == "yes",
            "vmcoreinfo": r["vmcoreinfo"] == "yes",
            "paging_levels": int(r["levels"]),
            "kaslr": r["kaslr"] == "yes",
            "pti_requested": r["pti"],
            "pti_console": "Kernel/User page tables isolation: enabled" in first,
            "kernel_offset_console": offset.group(1) if offset else None,
            "kernel_offset_vmcoreinfo": hex(int(koff.group(1), 16)) if koff else None,
            "same_memory_as": None if primary[r["unit"]] == name else primary[r["unit"]],
            "console_log": log,
            "oracles": {kind: os.path.join(out_dir, "oracle", f"{name}.{kind}.{ext}")
                        for kind, ext in (("drgn", "json"), ("crash", "txt"), ("dmesg", "txt"),
                                          ("vtop.drgn", "json"), ("vtop.crash", "txt"),
                                          ("idt.drgn", "json"), ("percpu.drgn", "json"),
                                          ("percpu.crash", "txt"), ("bt.drgn", "json"),
                                          ("bt.crash", "txt"), ("ps.drgn", "json"), ("notes", "txt"))
                        if os.path.isfile(os.path.join(out_dir, "oracle", f"{name}.{kind}.{ext}"))},
        })
    out = os.path.join(out_dir, "manifest.json" if wanted_set == "default" else f"{wanted_set}-manifest.json")
    with open(out + ".tmp", "w") as f:
        json.dump({"version": 1, "samples": samples}, f, indent=2)
        f.write("\n")
    os.replace(out + ".tmp", out)


if __name__ == "__main__":
    main()
