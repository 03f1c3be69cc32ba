#!/usr/bin/env python3
"""drgn oracle: facts drgn 0.3.0 reads from one dump, as JSON for kdig's tests.

usage: drgn_oracle.py DUMP VMLINUX SYSTEM_MAP OUT.json STAMP
Runs under $CACHE/venv-drgn/bin/python. Every value that drgn fails to produce
is recorded as {"error": "..."}, never skipped, so tests can expect the error.
"""
import json
import os
import sys

import drgn
from drgn import Program

START_KERNEL_MAP = 0xFFFFFFFF80000000
DEFAULT_TEXT = 0xFFFFFFFF81000000  # _text without KASLR
N_SYMBOLS = 300
U64 = (1 << 64) - 1  # phys_base is negative (as u64) when KASLR moves the kernel down


def err(e):
    return {"error": f"{type(e).__name__}: {e}"}


def hx(v):
    return None if v is None else hex(v)


def attempt(fn):
    try:
        return fn()
    except Exception as e:  # drgn raises FaultError, LookupError, ValueError, ...
        return err(e)


def pick_symbols(system_map):
    """Every Nth text/data symbol with a name unique in System.map (deterministic)."""
    rows, count = [], {}
    with open(system_map) as f:
        for line in f:
            addr, kind, name = line.split()[:3]
            count[name] = count.get(name, 0) + 1
            if kind in "tTdDbBrR":
                rows.append((name, int(addr, 16), kind))
    rows = [r for r in rows if count[r[0]] == 1]
    step = max(1, len(rows) // N_SYMBOLS)
    return rows[::step][:N_SYMBOLS]


def main():
    dump, vmlinux, system_map, out, stamp = sys.argv[1:6]
    res = {"oracle_stamp": stamp, "tool": f"drgn {drgn.__version__}", "dump": os.path.abspath(dump),
           "vmlinux": os.path.abspath(vmlinux)}
    prog = Program()
    try:
        prog.set_core_dump(dump)
    except Exception as e:
        res["open_error"] = err(e)["error"]
        return write(out, res)
    try:
        prog.load_debug_info([vmlinux])
    except drgn.MissingDebugInfoError as e:
        res["missing_debug_info"] = str(e)  # e.g. modules; vmlinux itself loaded
    res["open_error"] = None

    def addr(name):
        return prog.symbol(name).address

    uts = attempt(lambda: {k: prog["init_uts_ns"].name.member_(k).string_().decode()
                           for k in ("sysname", "release", "version", "machine", "nodename")})
    res["uts"] = uts
    res["kaslr_offset"] = attempt(lambda: hx(addr("_text") - DEFAULT_TEXT))

    def value(name):
        try:
            return prog[name].value_()
        except LookupError:  # no DWARF object (phys_base is defined in assembly): read the symbol
            return prog.read_u64(addr(name))

    values = {}  # addresses as hex strings, counts and shifts as integers
    for v in ("page_offset_base", "vmalloc_base", "vmemmap_base", "phys_base"):
        values[v] = attempt(lambda: hx(value(v)))
    for v in ("pgdir_shift", "__pgtable_l5_enabled", "ptrs_per_p4d", "nr_cpu_ids"):
        values[v] = attempt(lambda: value(v))
    values["num_online_cpus"] = attempt(
        lambda: __import__("drgn.helpers.linux.cpumask", fromlist=["x"]).num_online_cpus(prog))
    values["init_mm.pgd"] = attempt(lambda: hx(prog["init_mm"].pgd.value_()))
    res["values"] = values

    res["addresses"] = {n: attempt(lambda: hx(addr(n))) for n in
                        ("_text", "_stext", "idt_table", "init_top_pgt", "init_uts_ns",
                         "linux_banner", "init_mm", "init_task", "jiffies", "swapper_pg_dir")}

    syms = []
    for i, (name, map_addr, kind) in enumerate(pick_symbols(system_map)):
        e = {"name": name, "type": kind, "system_map": hx(map_addr)}
        try:
            s = prog.symbol(name)
            e.update(address=hx(s.address), size=s.size, binding=s.binding.name, kind=s.kind.name)
            probe = s.address + i % 13  # small offset into (or just past) the symbol
            e["lookup"] = {"address": hx(probe)}
            try:
                t = prog.symbol(probe)
                e["lookup"].update(name=t.name, symbol_address=hx(t.address), offset=probe - t.address)
            except Exception as ex:
                e["lookup"].update(err(ex))
        except Exception as ex:
            e.update(err(ex))
        syms.append(e)
    res["symbols"] = syms

    # Kernel virtual reads: symbols, then direct-map aliases of low RAM.
    data_syms = [s for s in syms if s["type"] in "dD" and "address" in s
                 and int(s["address"], 16) >= START_KERNEL_MAP][:8]  # not per-cpu offsets
    vaddrs = [("linux_banner", None), ("init_uts_ns", None), ("idt_table", None),
              ("init_top_pgt", None), ("init_mm", None), ("_stext", None)]
    vaddrs += [(s["name"], None) for s in data_syms]
    pob = attempt(lambda: prog["page_offset_base"].value_())
    reads = []
    for label, _ in vaddrs:
        a = attempt(lambda: addr(label))
        reads.append(read_entry(prog, label, a, False))
    for pa in (0x1000, 0x10000, 0x100000, 0x1000000, 0x4000000, 0x8000000):
        a = pob + pa if isinstance(pob, int) else pob
        reads.append(read_entry(prog, f"page_offset_base+{pa:#x}", a, False))
    res["virtual_reads"] = reads[:20]

    # Physical reads: fixed low addresses, holes, ROM, and a few kernel objects.
    pbase = attempt(lambda: value("phys_base"))
    phys = [(hx(p), p) for p in (0x0, 0x1000, 0x7000, 0x9f000, 0xA0000, 0x100000, 0x1000000,
                                  0x10000000, 0x1FFFF000, 0x20000000, 0x3FFFF000, 0x40000000, 0xFFFC0000)]
    for n in ("linux_banner", "init_top_pgt", "idt_table", "init_uts_ns", "_text", "init_mm"):
        a = attempt(lambda: (addr(n) - START_KERNEL_MAP + pbase) & U64)
        phys.append((f"phys({n})", a))
    pgd = values["init_mm.pgd"]
    phys.append(("phys(init_mm.pgd)", (int(pgd, 16) - START_KERNEL_MAP + pbase) & U64
                 if isinstance(pgd, str) and isinstance(pbase, int) else {"error": "no pgd/phys_base"}))
    res["physical_reads"] = [read_entry(prog, label, a, True) for label, a in phys][:20]

    from drgn.helpers.linux.mm import follow_phys
    mm = prog["init_mm"].address_of_()
    res["follow_phys"] = {
        "0xfffffe0000000000": attempt(lambda: hx(follow_phys(mm, 0xFFFFFE0000000000))),
        "idt_table": attempt(lambda: {"va": hx(addr("idt_table")),
                                      "pa": hx(follow_phys(mm, addr("idt_table")))}),
        "linux_banner": attempt(lambda: {"va": hx(addr("linux_banner")),
                                         "pa": hx(follow_phys(mm, addr("linux_banner")))}),
    }

    def crashed():
        t = prog.crashed_thread()
        return {"tid": t.tid, "comm": t.object.comm.string_().decode(),
                "frames": [f.name for f in t.stack_trace()]}
    res["crashed_thread"] = attempt(crashed)
    write(out, res)


def read_entry(prog, label, a, physical):
    e = {"label": label}
    if not isinstance(a, int):
        e.update(a if isinstance(a, dict) else {"error": str(a)})
        return e
    e["address"] = hx(a)
    try:
        e["hex"] = prog.read(a, 64, physical).hex()
    except Exception as ex:
        e.update(err(ex))
    return e


def write(out, res):
    tmp = out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(res, f, indent=1)
        f.write("\n")
    os.replace(tmp, out)


if __name__ == "__main__":
    main()
