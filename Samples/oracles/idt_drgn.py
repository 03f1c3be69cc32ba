#!/usr/bin/env python3
"""drgn IDT oracle: the interrupt descriptor table of one dump, as drgn 0.3.0 reads it.

usage: idt_drgn.py DUMP VMLINUX SYSTEM_MAP OUT.json STAMP
Runs under $CACHE/venv-drgn/bin/python (drgn 0.3.0, stdlib otherwise).

Parts (each records its own "error" and the others still run):
  gates           the 256 entries of idt_table: raw bytes, drgn's decoding of struct
                  gate_struct, handler address, prog.symbol(handler), drgn's gate_desc_func
  cea_alias       the same 4096 bytes through the read-only alias 0xfffffe0000000000
  idt_descr       struct desc_ptr as drgn reads it
  setup_tables    def_idts, early_idts, apic_idts, early_pf_idts, ia32_idt: __initconst
                  arrays of struct idt_data, freed in the dump, so read from the vmlinux
                  FILE (ELF program headers and .symtab parsed here with struct)
  system_vectors  the 256-bit bitmap
  symbols         runtime (drgn) and link-time (ELF) addresses and ELF sizes of the
                  entry / text boundary symbols; kaslr_offset
  modules         loaded modules and their text ranges
See Samples/oracles/IDT.md for the exact format.
"""
import bisect
import hashlib
import json
import os
import struct
import sys
import time

import drgn
from drgn import Program
from drgn_common import err_text, hx, part_error

try:  # drgn's own decoder of a gate's handler address (drgn >= 0.0.26)
    from drgn.helpers.linux.irq import gate_desc_func
    HELPER_NAME = "drgn.helpers.linux.irq.gate_desc_func"
except ImportError:  # pragma: no cover - other drgn versions
    gate_desc_func = HELPER_NAME = None

DEFAULT_TEXT = 0xFFFFFFFF81000000     # _text without KASLR (__START_KERNEL)
CEA_RO_IDT = 0xFFFFFE0000000000       # CPU_ENTRY_AREA_RO_IDT
NR_VECTORS = 256
GATE_SIZE = 16
SETUP_TABLES = ("def_idts", "early_idts", "apic_idts", "early_pf_idts", "ia32_idt")
# Symbols whose runtime address (drgn), link-time address and size (ELF .symtab) are recorded.
LAYOUT_SYMBOLS = ("_text", "_etext", "__entry_text_start", "__entry_text_end", "_sinittext",
                  "_einittext", "idt_table", "idt_descr", "system_vectors", "irq_entries_start",
                  "spurious_entries_start", "asm_common_interrupt", "asm_spurious_interrupt",
                  "early_idt_handler_array")

# Top-level keys in file order (small facts first, the per-entry lists last).
KEY_ORDER = ("oracle_stamp", "tool", "dump", "vmlinux", "system_map", "open_error", "missing_debug_info",
             "error", "format", "timing_seconds", "elf_error", "system_map_error", "layout", "modules",
             "idt_descr", "cea_alias", "system_vectors", "gate_desc_func", "gates_error",
             "handler_regions", "early_idt_handler_vectors", "setup_vs_gates", "setup_tables", "gates")


# ---- the vmlinux file (stdlib ELF64 little-endian reader) --------------------------------
class Elf:
    SHT_SYMTAB = 2
    STT = {0: "NOTYPE", 1: "OBJECT", 2: "FUNC", 3: "SECTION", 4: "FILE"}
    STB = {0: "LOCAL", 1: "GLOBAL", 2: "WEAK"}

    def __init__(self, path):
        self.f = open(path, "rb")
        h = self.f.read(64)
        if h[:4] != b"\x7fELF" or h[4] != 2 or h[5] != 1:
            raise ValueError(f"{path}: not an ELF64 little-endian file")
        (_, _, _, _, phoff, shoff, _, _, phentsize, phnum, shentsize, shnum,
         shstrndx) = struct.unpack_from("<HHIQQQIHHHHHH", h, 16)
        self.f.seek(phoff)
        ph = self.f.read(phentsize * phnum)
        # (p_type, p_flags, p_offset, p_vaddr, p_paddr, p_filesz, p_memsz, p_align)
        self.phdrs = [struct.unpack_from("<IIQQQQQQ", ph, i * phentsize) for i in range(phnum)]
        self.f.seek(shoff)
        sh = self.f.read(shentsize * shnum)
        # (sh_name, sh_type, sh_flags, sh_addr, sh_offset, sh_size, sh_link, sh_info, ...)
        self.shdrs = [struct.unpack_from("<IIQQQQIIQQ", sh, i * shentsize) for i in range(shnum)]
        shstr = self.read_at(self.shdrs[shstrndx][4], self.shdrs[shstrndx][5])
        self.section_names = [shstr[s[0]:shstr.index(b"\0", s[0])].decode() for s in self.shdrs]

    def read_at(self, off, size):
        self.f.seek(off)
        data = self.f.read(size)
        if len(data) != size:
            raise EOFError(f"short read at file offset {off:#x}")
        return data

    def symbols(self, names):
        """{name: [(value, size, type, bind, section)]} for every .symtab entry named so."""
        symtab = next(s for s in self.shdrs if s[1] == self.SHT_SYMTAB)
        strtab = self.read_at(self.shdrs[symtab[6]][4], self.shdrs[symtab[6]][5])
        want = {}  # string-table offset -> name (also tail-merged strings)
        for n in names:
            key, pos = n.encode() + b"\0", 0
            while (pos := strtab.find(key, pos)) >= 0:
                want[pos] = n
                pos += 1
        out = {n: [] for n in names}
        data = self.read_at(symtab[4], symtab[5])
        for st_name, info, _, shndx, value, size in struct.iter_unpack("<IBBHQQ", data):
            n = want.get(st_name)
            if n is not None:
                sec = self.section_names[shndx] if 0 < shndx < len(self.shdrs) else shndx
                out[n].append((value, size, self.STT.get(info & 15, info & 15),
                               self.STB.get(info >> 4, info >> 4), sec))
        return out

    def read_vaddr(self, vaddr, size):
        """Bytes at a link-time virtual address, from the PT_LOAD segment holding them."""
        for i, (ptype, _, off, va, _, filesz, _, _) in enumerate(self.phdrs):
            if ptype == 1 and va <= vaddr and vaddr + size <= va + filesz:
                return self.read_at(off + vaddr - va, size), i, off + vaddr - va
        raise LookupError(f"{vaddr:#x}+{size:#x} is in no PT_LOAD segment's file data")


class SystemMap:
    def __init__(self, path):
        self.rows = []
        with open(path) as f:
            for line in f:
                a, _, n = line.split()[:3]
                self.rows.append((int(a, 16), n))
        self.rows.sort(key=lambda r: r[0])  # stable: System.map order within one address
        self.addrs = [r[0] for r in self.rows]

    def lookup(self, addr):
        """(name, offset, [all names at that address]); prefers a name without __pfx_."""
        i = bisect.bisect_right(self.addrs, addr)
        if i == 0:
            return None, None, []
        base = self.addrs[i - 1]
        names = [n for a, n in self.rows[bisect.bisect_left(self.addrs, base):i]]
        best = next((n for n in names if not n.startswith("__pfx_")), names[0])
        return best, addr - base, names


# ---- the parts ---------------------------------------------------------------------------
def part(res, key, fn, *args):
    """Run one part; its failure is recorded as {"error": ...} and the others still run."""
    try:
        val = fn(*args)
    except Exception as e:
        res[key] = {"error": part_error(e)}
        return None
    res[key] = val
    return val


def sym_layout(prog, elf_syms):
    out = {}
    for n in LAYOUT_SYMBOLS:
        e = {"runtime": None, "runtime_error": None, "link": None, "size": None, "elf_matches": 0}
        try:
            e["runtime"] = hex(prog.symbol(n).address)
        except Exception as ex:
            e["runtime_error"] = err_text(ex)
        m = elf_syms.get(n, []) if elf_syms else []
        e["elf_matches"] = len(m)
        if m:
            e["link"], e["size"] = hex(m[0][0]), m[0][1]
        out[n] = e
    return out


def gates_part(prog, state):
    tbl_obj = prog["idt_table"]
    base = tbl_obj.address_
    tbl = tbl_obj.read_()
    gates = []
    for v in range(NR_VECTORS):
        g = tbl[v]
        addr = base + v * GATE_SIZE
        raw = prog.read(addr, GATE_SIZE)
        b = g.bits
        e = {"vector": v, "address": hex(addr), "raw": raw.hex(),
             "offset_low": g.offset_low.value_(), "segment": g.segment.value_(),
             "ist": b.ist.value_(), "zero": b.zero.value_(), "type": b.type.value_(),
             "dpl": b.dpl.value_(), "p": b.p.value_(),
             "offset_middle": g.offset_middle.value_(), "offset_high": g.offset_high.value_(),
             "reserved": g.reserved.value_()}
        h = (e["offset_high"] << 32) | (e["offset_middle"] << 16) | e["offset_low"]
        e["handler"] = hex(h)
        e["symbol"] = e["symbol_offset"] = e["symbol_address"] = e["symbol_size"] = e["symbol_error"] = None
        try:
            s = prog.symbol(h)
            e.update(symbol=s.name, symbol_offset=h - s.address, symbol_address=hex(s.address),
                     symbol_size=s.size)
        except LookupError as ex:
            e["symbol_error"] = err_text(ex)
        e["helper"] = e["helper_format"] = e["helper_error"] = None
        if gate_desc_func:
            try:
                f = gate_desc_func(g)
                e["helper"] = hex(f.value_())
                e["helper_format"] = f.format_()
            except Exception as ex:
                e["helper_error"] = err_text(ex)
        e["region"] = region_of(h, state)
        gates.append(e)
    return gates


def region_of(addr, state):
    """Where a handler lies (runtime ranges from drgn's symbols; modules' text)."""
    R = state.get("ranges", {})

    def inside(a, b):
        return a in R and b in R and R[a] <= addr < R[b]
    if "early_idt_handler_array" in R and R["early_idt_handler_array"] <= addr < \
            R["early_idt_handler_array"] + state.get("early_size", 0):
        return "early_idt_handler_array"
    if inside("irq_entries_start", "irq_entries_end"):
        return "irq_entries"
    if inside("spurious_entries_start", "spurious_entries_end"):
        return "spurious_entries"
    if inside("__entry_text_start", "__entry_text_end"):
        return "entry_text"
    if inside("_sinittext", "_einittext"):
        return "init_text"
    if inside("_text", "_etext"):
        return "text"
    for name, lo, hi in state.get("module_text", []):
        if lo <= addr < hi:
            return f"module:{name}"
    return "other"


def idt_descr_part(prog):
    d = prog["idt_descr"]
    return {"error": None, "symbol_address": hex(d.address_), "size": d.size.value_(),
            "address": hex(d.address.value_())}


def cea_part(prog):
    out = {"error": None, "address": hex(CEA_RO_IDT), "idt_table": None, "read_error": None, "equal": None,
           "sha256_idt_table": None, "sha256_alias": None, "differing_vectors": None, "alias_raw": None}
    out["idt_table"] = hex(prog["idt_table"].address_)
    t = prog.read(prog["idt_table"].address_, NR_VECTORS * GATE_SIZE)
    out["sha256_idt_table"] = hashlib.sha256(t).hexdigest()
    try:
        a = prog.read(CEA_RO_IDT, NR_VECTORS * GATE_SIZE)
    except Exception as e:
        out["read_error"] = err_text(e)
        return out
    out["sha256_alias"] = hashlib.sha256(a).hexdigest()
    out["equal"] = a == t
    out["differing_vectors"] = [v for v in range(NR_VECTORS)
                                if a[v * GATE_SIZE:(v + 1) * GATE_SIZE] != t[v * GATE_SIZE:(v + 1) * GATE_SIZE]]
    if a != t:
        out["alias_raw"] = a.hex()
    return out


def setup_tables_part(prog, elf, elf_syms, smap):
    T = prog.type("struct idt_data")
    size = drgn.sizeof(T)
    bits = prog.type("struct idt_bits")
    out = {"error": None, "source": "vmlinux file", "sizeof_idt_data": size,
           "idt_data_members": [[m.name, m.bit_offset // 8, drgn.sizeof(m.type)] for m in T.members],
           "idt_bits_fields": [[m.name, m.bit_offset, m.bit_field_size] for m in bits.members],
           "tables": {}}
    for name in SETUP_TABLES:
        t = {"error": None, "link_address": None, "symbol_size": None, "count": None,
             "section": None, "segment_index": None, "file_offset": None, "entries": None}
        out["tables"][name] = t
        try:
            m = [s for s in elf_syms.get(name, []) if s[2] == "OBJECT"]
            if not m:
                t["error"] = f"no OBJECT symbol {name} in the vmlinux .symtab"
                continue
            if len(m) > 1:
                t["error"] = f"{len(m)} OBJECT symbols named {name}; the first one is used"
            addr, ssize, _, _, sec = m[0]
            t.update(link_address=hex(addr), symbol_size=ssize, section=sec)
            if ssize % size:
                t["error"] = f"symbol size {ssize} is not a multiple of {size}"
            n = ssize // size
            data, seg, off = elf.read_vaddr(addr, n * size)
            t.update(count=n, segment_index=seg, file_offset=hex(off))
            entries = []
            for i in range(n):
                raw = data[i * size:(i + 1) * size]
                o = drgn.Object.from_bytes_(prog, T, raw)
                a = o.addr.value_()
                sname, soff, names = smap.lookup(a) if smap else (None, None, [])
                entries.append({"index": i, "raw": raw.hex(), "vector": o.vector.value_(),
                                "segment": o.segment.value_(), "ist": o.bits.ist.value_(),
                                "zero": o.bits.zero.value_(), "type": o.bits.type.value_(),
                                "dpl": o.bits.dpl.value_(), "p": o.bits.p.value_(),
                                "addr": hex(a), "symbol": sname, "symbol_offset": soff,
                                "symbols_at_address": names if soff == 0 else None})
            t["entries"] = entries
        except Exception as e:
            t["error"] = part_error(e)
    return out


def system_vectors_part(prog):
    from drgn.helpers.linux.bitops import for_each_set_bit
    sv = prog["system_vectors"]
    words = [w.value_() for w in sv.read_()]
    bits = list(for_each_set_bit(sv, NR_VECTORS))
    mine = [i for i in range(NR_VECTORS) if (words[i // 64] >> (i % 64)) & 1]
    return {"error": None, "address": hex(sv.address_), "words": [hex(w) for w in words],
            "set": bits, "count": len(bits),
            "helper_agrees": bits == mine}


def modules_part(prog, state):
    from drgn.helpers.linux.module import for_each_module, module_address_regions
    out = {"error": None, "method": None, "list": []}
    mods = []
    for mod in for_each_module(prog):
        e = {"name": mod.name.string_().decode(), "module": hex(mod.value_()), "text_base": None,
             "text_size": None, "text_end": None, "regions": None, "regions_error": None}
        try:
            mt = prog.constant("MOD_TEXT").value_()
            mem = mod.mem[mt]
            base, size = mem.base.value_(), mem.size.value_()
            out["method"] = "mod->mem[MOD_TEXT].base/.size"
        except (LookupError, AttributeError):
            base = mod.core_layout.base.value_()
            size = mod.core_layout.text_size.value_()
            out["method"] = "mod->core_layout.base/.text_size"
        e.update(text_base=hex(base), text_size=size, text_end=hex(base + size))
        try:
            e["regions"] = [[hex(a), hex(a + s)] for a, s in module_address_regions(mod)]
        except Exception as ex:
            e["regions_error"] = err_text(ex)
        mods.append((e["name"], base, base + size))
        out["list"].append(e)
    state["module_text"] = mods
    return out


def cross_check(gates, tables, kaslr):
    """Per setup table: vectors whose gate equals the entry (handler = addr + kaslr_offset, and
    segment, ist, type, dpl, p); the others as [vector, [differing fields], handler, symbol]."""
    out = {}
    for name, t in tables.items():
        if not t.get("entries"):
            continue
        same, diff = [], []
        for e in t["entries"]:
            v, want = e["vector"], int(e["addr"], 16) + kaslr
            g = gates[v] if v < len(gates) else None
            if g is None:
                diff.append([v, ["vector"], None, None])
                continue
            fields = (["handler"] if int(g["handler"], 16) != want else []) + \
                [k for k in ("segment", "ist", "type", "dpl", "p") if g[k] != e[k]]
            if fields:
                diff.append([v, fields, g["handler"], g["symbol"]])
            else:
                same.append(v)
        out[name] = {"gate_matches": same, "gate_differs": diff}
    return out


def main():
    dump, vmlinux, system_map, out, stamp = sys.argv[1:6]
    t0 = time.monotonic()
    res = {"oracle_stamp": stamp, "tool": f"drgn {drgn.__version__}", "dump": os.path.abspath(dump),
           "vmlinux": os.path.abspath(vmlinux), "system_map": os.path.abspath(system_map)}
    prog = Program()
    try:
        prog.set_core_dump(dump)
    except Exception as e:
        res["open_error"] = err_text(e)
        return write(out, res)
    try:
        prog.load_debug_info([vmlinux])
    except drgn.MissingDebugInfoError as e:
        res["missing_debug_info"] = str(e)
    res["open_error"] = None
    t_open = time.monotonic()
    state = {}
    try:
        run(prog, vmlinux, system_map, res, state)
    except Exception as e:  # should not happen (every part catches its own); recorded anyway
        res["error"] = part_error(e)
    res["timing_seconds"] = {"open": round(t_open - t0, 3), "total": round(time.monotonic() - t0, 3)}
    order = [k for k in KEY_ORDER if k in res] + [k for k in res if k not in KEY_ORDER]
    write(out, {k: res[k] for k in order})


def run(prog, vmlinux, system_map, res, state):
    res["format"] = "Samples/oracles/IDT.md"
    elf = elf_syms = smap = None
    res["elf_error"] = res["system_map_error"] = None
    try:
        elf = Elf(vmlinux)
        elf_syms = elf.symbols(set(LAYOUT_SYMBOLS) | set(SETUP_TABLES))
    except Exception as e:
        res["elf_error"] = part_error(e)
    try:
        smap = SystemMap(system_map)
    except Exception as e:
        res["system_map_error"] = part_error(e)

    def layout():
        syms = sym_layout(prog, elf_syms)
        text = syms["_text"]["runtime"]
        kaslr = int(text, 16) - DEFAULT_TEXT if text else None
        R = {n: int(s["runtime"], 16) for n, s in syms.items() if s["runtime"]}
        for n in ("irq_entries_start", "spurious_entries_start"):
            if n in R and syms[n]["size"] is not None:
                R[n.replace("_start", "_end")] = R[n] + syms[n]["size"]
        state["ranges"] = R
        state["early_size"] = syms["early_idt_handler_array"]["size"] or 0
        state["kaslr"] = kaslr
        consistent = None
        if kaslr is not None:
            consistent = all(int(s["runtime"], 16) - int(s["link"], 16) == kaslr
                             for s in syms.values() if s["runtime"] and s["link"])
        return {"error": None, "kaslr_offset": hx(kaslr), "runtime_minus_link_is_kaslr": consistent,
                "symbols": syms}
    part(res, "layout", layout)
    part(res, "modules", modules_part, prog, state)
    res["gate_desc_func"] = HELPER_NAME if gate_desc_func else None
    res["gates_error"] = res["handler_regions"] = res["early_idt_handler_vectors"] = None
    gates = part(res, "gates", gates_part, prog, state)
    if isinstance(gates, list):
        regions = {}
        for g in gates:
            regions.setdefault(g["region"], []).append(g["vector"])
        res["handler_regions"] = regions
        res["early_idt_handler_vectors"] = regions.get("early_idt_handler_array", [])
    else:
        res["gates_error"] = res["gates"]["error"]
        res["gates"] = None
    part(res, "cea_alias", cea_part, prog)
    part(res, "idt_descr", idt_descr_part, prog)
    part(res, "system_vectors", system_vectors_part, prog)
    if elf is not None:
        tables = part(res, "setup_tables", setup_tables_part, prog, elf, elf_syms, smap)
    else:
        res["setup_tables"] = {"error": f"vmlinux not readable: {res['elf_error']}"}
        tables = None
    res["setup_vs_gates"] = None
    if isinstance(gates, list) and tables and tables.get("tables") and state.get("kaslr") is not None:
        res["setup_vs_gates"] = part_value(cross_check, gates, tables["tables"], state["kaslr"])


def part_value(fn, *args):
    try:
        return fn(*args)
    except Exception as e:
        return {"error": part_error(e)}


# ---- output ------------------------------------------------------------------------------
def write(out, res):
    """JSON, one gate / table entry per line (valid JSON; the stamp is in the first 400 bytes)."""
    def c(v):
        return json.dumps(v, separators=(",", ":"))

    def lst(items):
        return "[\n" + ",\n".join(c(x) for x in items) + "]"
    lines = []
    for k, v in res.items():
        if k == "gates" and isinstance(v, list):
            lines.append(f"{c(k)}:{lst(v)}")
        elif k == "setup_tables" and isinstance(v, dict) and isinstance(v.get("tables"), dict):
            head = {kk: vv for kk, vv in v.items() if kk != "tables"}
            tl = []
            for tn, t in v["tables"].items():
                th = {kk: vv for kk, vv in t.items() if kk != "entries"}
                ent = lst(t["entries"]) if isinstance(t.get("entries"), list) else c(t.get("entries"))
                tl.append(f"{c(tn)}:{c(th)[:-1]},\"entries\":{ent}}}")
            lines.append(f"{c(k)}:{c(head)[:-1]},\"tables\":{{\n" + ",\n".join(tl) + "}}")
        else:
            lines.append(f"{c(k)}:{c(v)}")
    text = "{\n" + ",\n".join(lines) + "\n}\n"
    json.loads(text)  # never publish invalid JSON
    tmp = out + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, out)


if __name__ == "__main__":
    main()
