#!/usr/bin/env python3
"""drgn per-CPU entry-state oracle: cpu_entry_area, GDT, TSS, exception stacks and CPU state
of every possible CPU of one dump, as drgn 0.3.0 reads them.

usage: percpu_drgn.py DUMP VMLINUX OUT.json STAMP
Runs under $CACHE/venv-drgn/bin/python (drgn 0.3.0, stdlib otherwise).

Per possible CPU (drgn.helpers.linux.cpumask.for_each_possible_cpu):
  cea          the cpu_entry_area address the way get_cpu_entry_area() computes it
               (0xfffffe0000001000 + slot * sizeof(struct cpu_entry_area), slot =
               per_cpu(_cea_offset, cpu) on >= 6.2, else cpu), per_cpu(cea_exception_stacks)
  cea_pages    every 4 KiB page of the area: the member it lies in, follow_phys(init_mm) of
               the page and of the per-CPU object page the kernel maps there
  backing      the per-CPU objects behind the area (gdt_page, entry_stack_storage,
               cpu_tss_rw, exception_stacks, cpu_debug_store): address, follow_phys, virt_to_phys
  gdt          the 16 raw descriptors of gdt_page, drgn's struct desc_struct decoding, and the
               same 128 bytes through the read-only CEA alias
  tss          struct x86_hw_tss of cpu_tss_rw and through the CEA alias
  stack_tops   the IST stack tops (__this_cpu_ist_top_va) and the entry-stack top
  state        pcpu_hot (>= 6.2) or the separate per-CPU variables (older kernels)
  current      the current task: pid, comm, thread.tls_array
  tlbstate     cpu_tlbstate
Globals: panic_cpu, the type layouts (drgn offsetof / sizeof), and gdt_page's initial value
read from the vmlinux FILE (.data..percpu section bytes, ELF parsed here with struct).
Every field that cannot be read is recorded (an "errors" map per object, or *_error keys);
the script never stops on one. See Samples/oracles/PERCPU.md for the exact format.
"""
import json
import os
import struct
import sys
import time

import drgn
from drgn import Object, Program
from drgn_common import err_text, hx, part_error

PAGE = 4096
CEA_BASE = 0xFFFFFE0000000000          # CPU_ENTRY_AREA_BASE = CPU_ENTRY_AREA_RO_IDT
CEA_PER_CPU = CEA_BASE + PAGE           # CPU_ENTRY_AREA_PER_CPU
GDT_ENTRIES = 16
TLS_FIRST = 12                          # GDT_ENTRY_TLS_MIN (64-bit)
IST_NAMES = ("DF", "NMI", "DB", "MCE", "VC")   # IST_INDEX_DF .. IST_INDEX_VC (ist[0..4])
ESTACKS = ("DF", "NMI", "DB", "MCE", "VC", "VC2")
LAYOUT_TYPES = ("struct cpu_entry_area", "struct cea_exception_stacks", "struct exception_stacks",
                "struct tss_struct", "struct x86_hw_tss", "struct entry_stack_page",
                "struct entry_stack", "struct gdt_page", "struct desc_struct", "struct pcpu_hot",
                "struct tlb_state", "struct tlb_context", "struct debug_store")
# per-CPU symbols whose link-time value (per-CPU offset) drgn reports
PERCPU_SYMBOLS = ("gdt_page", "entry_stack_storage", "cpu_tss_rw", "exception_stacks",
                  "cea_exception_stacks", "_cea_offset", "cpu_debug_store", "pcpu_hot",
                  "current_task", "__preempt_count", "cpu_number", "cpu_current_top_of_stack",
                  "hardirq_stack_ptr", "hardirq_stack_inuse", "irq_stat", "cpu_tlbstate")
# cpu_entry_area member -> the per-CPU object mapped there (cea_map_percpu_pages)
CEA_BACKING = {"gdt": "gdt_page", "entry_stack_page": "entry_stack_storage", "tss": "cpu_tss_rw",
               "cpu_debug_store": "cpu_debug_store"}

KEY_ORDER = ("oracle_stamp", "tool", "dump", "vmlinux", "open_error", "missing_debug_info", "error",
             "format", "timing_seconds", "kernel", "constants", "panic_cpu", "crashing_cpu",
             "nr_cpu_ids", "possible_cpus", "present_cpus", "online_cpus", "init_mm", "symbols",
             "layouts", "cea_page_map", "vmlinux_gdt_page", "summary", "cpus")
CPU_KEY_ORDER = ("cpu", "per_cpu_offset", "online", "errors", "cea", "stack_tops", "tss", "tss_alias",
                 "gdt", "gdt_alias", "state", "current", "tlbstate", "checks", "backing", "cea_pages")


def q16(v):
    return f"0x{v:016x}"


class Fields:
    """Collects fields of one object; a field whose getter raises is None + errors[name]."""

    def __init__(self, **init):
        self.d = dict(init)
        self.errors = {}

    def get(self, name, fn, *args):
        try:
            v = fn(*args)
        except Exception as e:
            self.d[name] = None
            self.errors[name] = part_error(e)
            return None
        self.d[name] = v
        return v

    def out(self):
        self.d["errors"] = self.errors
        return self.d


# ---- the vmlinux file (stdlib ELF64 little-endian reader) --------------------------------
class Elf:
    SHT_SYMTAB = 2

    def __init__(self, path):
        self.f = open(path, "rb")
        h = self.f.read(64)
        if h[:4] != b"\x7fELF" or h[4] != 2 or h[5] != 1:
            raise ValueError(f"{path}: not an ELF64 little-endian file")
        (_, _, _, _, _, shoff, _, _, _, _, shentsize, shnum,
         shstrndx) = struct.unpack_from("<HHIQQQIHHHHHH", h, 16)
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

    def symbol(self, name):
        """[(value, size, st_type, section_index)] of every .symtab entry with this name."""
        symtab = next(s for s in self.shdrs if s[1] == self.SHT_SYMTAB)
        strtab = self.read_at(self.shdrs[symtab[6]][4], self.shdrs[symtab[6]][5])
        key, pos, offs = name.encode() + b"\0", 0, set()
        while (pos := strtab.find(key, pos)) >= 0:  # every match: tail-merged names count too
            offs.add(pos)
            pos += 1
        data = self.read_at(symtab[4], symtab[5])
        return [(value, size, info & 15, shndx)
                for st_name, info, _, shndx, value, size in struct.iter_unpack("<IBBHQQ", data)
                if st_name in offs]


def vmlinux_gdt_page(prog, vmlinux):
    """gdt_page's initial 16 descriptors as the vmlinux file holds them (.data..percpu)."""
    elf = Elf(vmlinux)
    m = [s for s in elf.symbol("gdt_page") if s[2] == 1]  # STT_OBJECT
    if not m:
        raise LookupError("no OBJECT symbol gdt_page in the vmlinux .symtab")
    value, size, _, shndx = m[0]
    name = elf.section_names[shndx]
    _, _, _, sh_addr, sh_offset, sh_size, _, _, _, _ = elf.shdrs[shndx]
    if not (sh_addr <= value and value + GDT_ENTRIES * 8 <= sh_addr + sh_size):
        raise ValueError(f"gdt_page {value:#x} outside section {name}")
    off = sh_offset + value - sh_addr
    raw = elf.read_at(off, GDT_ENTRIES * 8)
    return {"error": None, "source": "vmlinux file", "section": name, "section_addr": hex(sh_addr),
            "section_offset": hex(sh_offset), "symbol_value": hex(value), "symbol_size": size,
            "elf_matches": len(m), "file_offset": hex(off),
            "raw": [q16(v) for v in struct.unpack("<16Q", raw)]}


# ---- helpers -----------------------------------------------------------------------------
def has(prog, name):
    try:
        prog[name]
        return True
    except KeyError:
        return False


def members(prog, tname):
    """{"size", "members"}: [name, byte offset, size] per member, in declaration order;
    a bit field is [name, byte offset, size of its type, bit offset, bit width]; the members
    of an anonymous struct/union are listed in its place (offsets from the outer type)."""
    t = prog.type(tname)
    out = []

    def walk(typ, base_bits):
        for m in typ.members:
            bits = base_bits + m.bit_offset
            if m.name is None:
                walk(m.type.unqualified(), bits)
            elif m.bit_field_size:
                out.append([m.name, bits // 8, drgn.sizeof(m.type), bits, m.bit_field_size])
            else:
                out.append([m.name, bits // 8, drgn.sizeof(m.type)])
    walk(t, 0)
    return {"size": drgn.sizeof(t), "members": out}


def offsetof(prog, tname, member):
    return drgn.offsetof(prog.type(tname), member)


def msize(prog, tname, member):
    return drgn.sizeof(prog.type(tname).member(member).type)


class Phys:
    def __init__(self, prog):
        from drgn.helpers.linux.mm import follow_phys, virt_to_phys
        self.prog = prog
        self.mm = prog["init_mm"].address_of_()
        self._fp, self._v2p = follow_phys, virt_to_phys

    def follow(self, addr):
        """(phys, None) or (None, error text) for follow_phys(&init_mm, addr)."""
        try:
            return self._fp(self.mm, addr).value_(), None
        except Exception as e:
            return None, err_text(e)

    def v2p(self, addr):
        return self._v2p(Object(self.prog, "void *", addr)).value_()


def cea_page_map(prog):
    """[(page_index, member, offset_in_member, backing)] for the pages of struct cpu_entry_area.
    member is "estacks.<name>" inside the exception stacks; backing = (per-CPU symbol,
    member of it or None, offset) of the object the kernel maps there, or None."""
    t = prog.type("struct cpu_entry_area")
    leaves = []
    for m in t.members:
        if m.name == "estacks":
            for e in m.type.members:
                leaves.append((f"estacks.{e.name}", m.bit_offset // 8 + e.bit_offset // 8, drgn.sizeof(e.type)))
        else:
            leaves.append((m.name, m.bit_offset // 8, drgn.sizeof(m.type)))
    pages = []
    for i in range(drgn.sizeof(t) // PAGE):
        off = i * PAGE
        name, mo, _ = next(((n, o, s) for n, o, s in leaves if o <= off < o + s), (None, None, None))
        backing = None
        if name in CEA_BACKING:
            backing = (CEA_BACKING[name], None, off - mo)
        elif name and name.startswith("estacks.") and name.endswith("_stack"):
            backing = ("exception_stacks", name.split(".", 1)[1], off - mo)
        pages.append((i, name, None if mo is None else off - mo, backing))
    return pages


# ---- one CPU -------------------------------------------------------------------------------
def cpu_part(prog, cpu, ph, G):
    from drgn.helpers.linux.percpu import per_cpu, per_cpu_ptr
    res = {"cpu": cpu}
    errs = {}
    res["errors"] = errs

    def field(d, key, fn, *args):
        try:
            d[key] = fn(*args)
        except Exception as e:
            d[key] = None
            errs[key] = part_error(e)
        return d[key]

    field(res, "per_cpu_offset", lambda: hex(prog["__per_cpu_offset"][cpu].value_()))
    res["online"] = cpu in G["online"]

    def pcpu_addr(sym):
        return per_cpu_ptr(prog[sym].address_of_(), cpu).value_()

    # -- cea --------------------------------------------------------------------------------
    cea = Fields()
    size = G["cea_size"]
    if G["has_cea_offset"]:
        slot = cea.get("slot", lambda: per_cpu(prog["_cea_offset"], cpu).value_())
        cea.d["slot_source"] = "per_cpu(_cea_offset, cpu)"
    else:
        slot = cea.d["slot"] = cpu
        cea.d["slot_source"] = "cpu (no _cea_offset)"
    base = None if slot is None else CEA_PER_CPU + slot * size
    cea.d["address"] = hx(base)
    cea.d["end"] = hx(None if base is None else base + size)
    if base is not None:
        cea.d["members"] = {n: hex(base + o) for n, o, _ in G["layouts"]["struct cpu_entry_area"]["members"]}
        est_off = offsetof(prog, "struct cpu_entry_area", "estacks")
        cea.d["estacks_members"] = {n: hex(base + est_off + o)
                                    for n, o, _ in G["layouts"]["struct cea_exception_stacks"]["members"]}
    ces = cea.get("cea_exception_stacks", lambda: per_cpu(prog["cea_exception_stacks"], cpu).value_())
    cea.d["cea_exception_stacks"] = hx(ces)
    cea.d["cea_exception_stacks_is_estacks"] = (None if ces is None or base is None else
                                               ces == base + offsetof(prog, "struct cpu_entry_area", "estacks"))
    res["cea"] = cea.out()

    # -- stack tops ---------------------------------------------------------------------------
    tops = Fields()
    tops.d["source"] = "per_cpu(cea_exception_stacks) + offsetof(X_stack) + sizeof(X_stack)"
    tops.d["estacks"] = {}
    if ces is not None:
        for x in ESTACKS:
            try:
                o = offsetof(prog, "struct cea_exception_stacks", f"{x}_stack")
                s = msize(prog, "struct cea_exception_stacks", f"{x}_stack")
                tops.d["estacks"][x] = {"bottom": hex(ces + o), "top": hex(ces + o + s), "size": s}
            except Exception as e:
                tops.errors[x] = part_error(e)
    if base is not None:
        tops.get("entry_stack", lambda: hex(base + offsetof(prog, "struct cpu_entry_area", "entry_stack_page")
                                            + drgn.sizeof(prog.type("struct entry_stack"))))
    else:
        tops.d["entry_stack"] = None
    res["stack_tops"] = tops.out()

    # -- TSS ------------------------------------------------------------------------------------
    def tss_fields(obj):
        t = Fields(address=hex(obj.address_))
        for f in ("sp0", "sp1", "sp2"):
            t.get(f, lambda f=f: hex(obj.member_(f).value_()))
        t.get("ist", lambda: [hex(v.value_()) for v in obj.ist.read_()])
        t.get("io_bitmap_base", lambda: obj.io_bitmap_base.value_())
        t.get("raw", lambda: prog.read(obj.address_, drgn.sizeof(obj.type_)).hex())
        return t.out()
    res["tss"] = part_value(lambda: tss_fields(per_cpu(prog["cpu_tss_rw"], cpu).x86_tss))
    if base is not None:
        res["tss_alias"] = part_value(lambda: tss_fields(Object(
            prog, "struct x86_hw_tss", address=base + offsetof(prog, "struct cpu_entry_area", "tss"))))
    else:
        res["tss_alias"] = {"error": "no cpu_entry_area address"}

    # -- GDT ------------------------------------------------------------------------------------
    def gdt_via_gdt_page():
        g = Fields()
        obj = per_cpu(prog["gdt_page"], cpu).gdt
        g.d["address"] = hex(obj.address_)
        raw = g.get("raw", lambda: [q16(v) for v in struct.unpack("<16Q", prog.read(obj.address_, 128))])
        dt = prog.type("struct desc_struct")
        names = [m.name for m in dt.members]

        def decode():
            out = []
            for i in range(GDT_ENTRIES):
                d = obj[i].read_()
                out.append({n: d.member_(n).value_() for n in names})
            return out
        g.get("decoded", decode)
        if raw:
            v = [int(r, 16) for r in raw]
            # 16-byte system descriptors: base 63..32 in the low dword of the next slot
            def sysbase(i):
                return hex(((v[i] >> 16) & 0xFFFFFF) | (((v[i] >> 56) & 0xFF) << 24) | ((v[i + 1] & 0xFFFFFFFF) << 32))
            g.d["tss_descriptor_base"] = sysbase(8)
            g.d["ldt_descriptor_base"] = sysbase(10)
            lim15 = (v[15] & 0xFFFF) | (((v[15] >> 48) & 0xF) << 16)
            g.d["cpunode_limit"] = lim15
            g.d["cpunode"] = {"cpu": lim15 & 0xFFF, "node": lim15 >> 12}
        return g.out()
    res["gdt"] = part_value(gdt_via_gdt_page)

    def gdt_alias():
        a = Fields(address=hex(base))
        a.get("raw", lambda: [q16(v) for v in struct.unpack("<16Q", prog.read(base, 128))])
        return a.out()
    res["gdt_alias"] = part_value(gdt_alias) if base is not None else {"error": "no cpu_entry_area address"}

    # -- CPU state --------------------------------------------------------------------------------
    st = Fields()
    if G["has_pcpu_hot"]:
        st.d["source"] = "pcpu_hot"
        hot = per_cpu(prog["pcpu_hot"], cpu)
        st.d["address"] = hex(hot.address_)
        for k, m in (("current_task", "current_task"), ("preempt_count", "preempt_count"),
                     ("cpu_number", "cpu_number"), ("top_of_stack", "top_of_stack"),
                     ("hardirq_stack_ptr", "hardirq_stack_ptr"),
                     ("hardirq_stack_inuse", "hardirq_stack_inuse"),
                     ("softirq_pending", "softirq_pending"), ("call_depth", "call_depth")):
            st.get(k, lambda m=m: conv(hot.member_(m)))
    else:
        st.d["source"] = "per-CPU variables"
        for k, sym in (("current_task", "current_task"), ("preempt_count", "__preempt_count"),
                       ("cpu_number", "cpu_number"), ("top_of_stack", "cpu_current_top_of_stack"),
                       ("hardirq_stack_ptr", "hardirq_stack_ptr"),
                       ("hardirq_stack_inuse", "hardirq_stack_inuse")):
            st.get(k, lambda sym=sym: conv(per_cpu(prog[sym], cpu)))
        st.get("softirq_pending", lambda: conv(per_cpu(prog["irq_stat"], cpu).__softirq_pending))
        st.d["softirq_pending_source"] = "irq_stat.__softirq_pending"
    if "preempt_count" in st.d and st.d["preempt_count"] is not None:
        pc = st.d["preempt_count"]
        st.d["preempt_count_hex"] = hex(pc & 0xFFFFFFFF)
        # PREEMPT_NEED_RESCHED is bit 31, stored inverted (set = no resched needed)
        st.d["need_resched"] = not (pc & 0x80000000)
    res["state"] = st.out()

    # -- current task ----------------------------------------------------------------------------
    cur = Fields()
    ct = st.d.get("current_task")
    cur.d["task"] = ct
    if ct is not None:
        task = Object(prog, "struct task_struct *", int(ct, 16))
        cur.get("pid", lambda: task.pid.value_())
        cur.get("tgid", lambda: task.tgid.value_())
        cur.get("comm", lambda: task.comm.string_().decode(errors="replace"))
        cur.get("stack", lambda: hex(task.stack.value_()))
        cur.get("stack_end", lambda: hex(task.stack.value_() + prog.constant("THREAD_SIZE").value_())
                if has_const(prog, "THREAD_SIZE") else None)
        cur.get("mm", lambda: hex(task.mm.value_()))
        cur.get("active_mm", lambda: hex(task.active_mm.value_()))
        cur.get("on_cpu", lambda: task.on_cpu.value_())
        cur.get("task_cpu", lambda: task.thread_info.cpu.value_() if has_member(task.thread_info, "cpu")
                else task.cpu.value_())
        cur.get("tls_array", lambda: [q16(v) for v in struct.unpack(
            "<3Q", prog.read(task.thread.tls_array.address_, 24))])
        cur.get("fsbase", lambda: hex(task.thread.fsbase.value_()))
        cur.get("gsbase", lambda: hex(task.thread.gsbase.value_()))
        cur.get("thread_sp", lambda: hex(task.thread.sp.value_()))
    res["current"] = cur.out()

    # -- cpu_tlbstate ----------------------------------------------------------------------------
    def tlb():
        t = Fields()
        s = per_cpu(prog["cpu_tlbstate"], cpu)
        t.d["address"] = hex(s.address_)
        t.get("loaded_mm", lambda: hex(s.loaded_mm.value_()))
        t.d["loaded_mm_is_init_mm"] = (None if t.d["loaded_mm"] is None else
                                       int(t.d["loaded_mm"], 16) == G["init_mm"])
        t.get("last_user_mm", lambda: hex(s.last_user_mm.value_()))
        t.get("loaded_mm_asid", lambda: s.loaded_mm_asid.value_())
        t.get("next_asid", lambda: s.next_asid.value_())
        t.get("invalidate_other", lambda: bool(s.invalidate_other.value_()))
        t.get("user_pcid_flush_mask", lambda: s.user_pcid_flush_mask.value_())
        t.get("cr4", lambda: hex(s.cr4.value_()))
        t.get("ctxs", lambda: [{"ctx_id": c.ctx_id.value_(), "tlb_gen": c.tlb_gen.value_()}
                               for c in s.ctxs.read_()])
        return t.out()
    res["tlbstate"] = part_value(tlb)

    # -- backing per-CPU objects -----------------------------------------------------------------
    backing = {}
    for sym in ("gdt_page", "entry_stack_storage", "cpu_tss_rw", "exception_stacks", "cpu_debug_store"):
        b = Fields()
        backing[sym] = b.d
        if not has(prog, sym):
            b.d["address"] = None
            b.errors["address"] = f"no symbol {sym}"
            b.out()
            continue
        a = b.get("address", lambda sym=sym: pcpu_addr(sym))
        if a is None:
            b.out()
            continue
        b.d["address"] = hex(a)
        b.d["size"] = drgn.sizeof(prog[sym].type_)
        pa, e = ph.follow(a)
        b.d["phys"], b.d["phys_error"] = hx(pa), e
        b.get("virt_to_phys", lambda a=a: hex(ph.v2p(a)))
        if sym == "exception_stacks":
            mem = {}
            obj = per_cpu(prog[sym], cpu)
            for m in obj.type_.members:
                ma = obj.member_(m.name).address_
                e2 = {"address": hex(ma), "offset": m.bit_offset // 8, "size": drgn.sizeof(m.type)}
                if e2["size"]:
                    pa, err = ph.follow(ma)
                    e2.update(phys=hx(pa), phys_error=err)
                mem[m.name] = e2
            b.d["members"] = mem
        b.out()
    res["backing"] = backing

    # -- every page of the cpu_entry_area ----------------------------------------------------------
    pages = []
    if base is not None:
        for i, name, moff, bk in G["cea_page_map"]:
            va = base + i * PAGE
            pa, e = ph.follow(va)
            p = {"page": i, "address": hex(va), "member": name, "member_offset": moff,
                 "phys": hx(pa), "phys_error": e, "backing": None, "backing_address": None,
                 "backing_phys": None, "backing_error": None, "same_phys": None}
            if bk:
                sym, sub, off = bk
                p["backing"] = f"{sym}.{sub}+{off:#x}" if sub else f"{sym}+{off:#x}"
                try:
                    if not has(prog, sym):
                        raise LookupError(f"no symbol {sym}")
                    obj = per_cpu(prog[sym], cpu)
                    ba = (obj.member_(sub) if sub else obj).address_ + off
                    p["backing_address"] = hex(ba)
                    bpa, be = ph.follow(ba)
                    p["backing_phys"], p["backing_error"] = hx(bpa), be
                    if pa is not None and bpa is not None:
                        p["same_phys"] = pa == bpa
                except Exception as ex:
                    p["backing_error"] = part_error(ex)
            pages.append(p)
    res["cea_pages"] = pages

    # -- checks (conveniences; the raw fields above are the oracle) ------------------------------
    res["checks"] = checks(res)
    return {k: res[k] for k in CPU_KEY_ORDER if k in res}


def checks(c):
    out = {}

    def ck(name, fn):
        try:
            out[name] = fn()
        except Exception:
            out[name] = None
    tops = c["stack_tops"]
    tss = c["tss"]
    ck("sp0_is_entry_stack_top", lambda: tss["sp0"] == tops["entry_stack"] if tss.get("sp0") else None)
    ck("ist_is_estack_tops", lambda: [tss["ist"][i] == tops["estacks"][x]["top"]
                                      for i, x in enumerate(IST_NAMES)])
    ck("tss_equals_alias", lambda: c["tss"]["raw"] == c["tss_alias"]["raw"] if c["tss_alias"].get("raw") else None)
    ck("gdt_equals_alias", lambda: c["gdt"]["raw"] == c["gdt_alias"]["raw"] if c["gdt_alias"].get("raw") else None)
    ck("tss_descriptor_base_is_cea_tss", lambda: c["gdt"]["tss_descriptor_base"] == c["cea"]["members"]["tss"])
    ck("gdt_tls_equals_tls_array", lambda: c["gdt"]["raw"][TLS_FIRST:TLS_FIRST + 3] == c["current"]["tls_array"]
       if c["current"].get("tls_array") else None)
    ck("cpunode_cpu_is_cpu", lambda: c["gdt"]["cpunode"]["cpu"] == c["cpu"])
    ck("cpu_number_is_cpu", lambda: c["state"]["cpu_number"] == c["cpu"])
    ck("top_of_stack_is_task_stack_end", lambda: c["state"]["top_of_stack"] == c["current"]["stack_end"]
       if c["current"].get("stack_end") else None)
    pages = c["cea_pages"]
    ck("unmapped_pages", lambda: sorted({p["member"] for p in pages if p["phys"] is None}))
    ck("mapped_pages_not_backing", lambda: [p["page"] for p in pages if p["phys"] is not None and not p["same_phys"]])
    return out


def conv(obj):
    """A scalar/pointer Object as JSON: pointers hex, bools bool, integers int."""
    t = obj.type_
    while t.kind == drgn.TypeKind.TYPEDEF:
        t = t.type
    v = obj.value_()
    if t.kind == drgn.TypeKind.POINTER:
        return hex(v)
    if t.kind == drgn.TypeKind.BOOL:
        return bool(v)
    if t.kind == drgn.TypeKind.INT and drgn.sizeof(t) == 8 and not t.is_signed:
        return hex(v)
    return v


def has_const(prog, name):
    try:
        prog.constant(name)
        return True
    except LookupError:
        return False


def has_member(obj, name):
    try:
        obj.member_(name)
        return True
    except LookupError:
        return False


def part_value(fn, *args):
    try:
        return fn(*args)
    except Exception as e:
        return {"error": part_error(e)}


# ---- globals -----------------------------------------------------------------------------
def run(prog, vmlinux, res):
    from drgn.helpers.linux.cpumask import (for_each_online_cpu, for_each_possible_cpu,
                                            for_each_present_cpu)
    res["format"] = "Samples/oracles/PERCPU.md"
    G = {}
    kern = Fields()
    kern.get("release", lambda: prog["init_uts_ns"].name.release.string_().decode())
    G["has_cea_offset"] = kern.d["has__cea_offset"] = has(prog, "_cea_offset")
    G["has_pcpu_hot"] = kern.d["has_pcpu_hot"] = has(prog, "pcpu_hot")
    res["kernel"] = kern.out()

    layouts = {}
    for t in LAYOUT_TYPES:
        layouts[t] = part_value(members, prog, t)
    res["layouts"] = layouts
    G["layouts"] = layouts
    G["cea_size"] = layouts["struct cpu_entry_area"]["size"]  # needed: let it raise if absent
    res["constants"] = {"page_size": PAGE, "cpu_entry_area_base": hex(CEA_BASE),
                        "cpu_entry_area_per_cpu": hex(CEA_PER_CPU),
                        "sizeof_cpu_entry_area": G["cea_size"],
                        "cea_pages": G["cea_size"] // PAGE, "gdt_entries": GDT_ENTRIES,
                        "ist_index": {x: i for i, x in enumerate(IST_NAMES)}}
    res["panic_cpu"] = part_value(lambda: prog["panic_cpu"].counter.value_())
    res["crashing_cpu"] = part_value(lambda: prog["crashing_cpu"].value_()) if has(prog, "crashing_cpu") else None
    res["nr_cpu_ids"] = part_value(lambda: prog["nr_cpu_ids"].value_())
    res["possible_cpus"] = list(for_each_possible_cpu(prog))
    res["present_cpus"] = part_value(lambda: list(for_each_present_cpu(prog)))
    G["online"] = set(for_each_online_cpu(prog))
    res["online_cpus"] = sorted(G["online"])
    G["init_mm"] = prog["init_mm"].address_
    res["init_mm"] = {"address": hex(G["init_mm"]), "pgd": hex(prog["init_mm"].pgd.value_())}

    syms = {}
    for n in PERCPU_SYMBOLS:
        try:
            s = prog.symbol(n)
            syms[n] = {"address": hex(s.address), "size": s.size, "binding": s.binding.name,
                       "kind": s.kind.name}
        except LookupError as e:
            syms[n] = {"error": err_text(e)}
    res["symbols"] = syms

    G["cea_page_map"] = cea_page_map(prog)
    res["cea_page_map"] = [[i, name, moff, None if bk is None else
                            (f"{bk[0]}.{bk[1]}+{bk[2]:#x}" if bk[1] else f"{bk[0]}+{bk[2]:#x}")]
                           for i, name, moff, bk in G["cea_page_map"]]
    res["vmlinux_gdt_page"] = part_value(vmlinux_gdt_page, prog, vmlinux)

    ph = Phys(prog)
    cpus = []
    for cpu in res["possible_cpus"]:
        c = part_value(cpu_part, prog, cpu, ph, G)
        if "cpu" not in c:
            c = {"cpu": cpu, **c}
        cpus.append(c)
    res["cpus"] = cpus
    res["summary"] = summary(cpus)


def summary(cpus):
    out = {}
    for c in cpus:
        try:
            ch = c.get("checks", {})
            out[str(c["cpu"])] = {"cea": c["cea"]["address"], "slot": c["cea"]["slot"],
                                  "current": [c["current"].get("pid"), c["current"].get("comm")],
                                  "unmapped_pages": ch.get("unmapped_pages"),
                                  "all_checks_true": all(v is True or (isinstance(v, list) and v and all(v))
                                                         for k, v in ch.items()
                                                         if k not in ("unmapped_pages", "mapped_pages_not_backing"))
                                  and ch.get("mapped_pages_not_backing") == [],
                                  "errors": sum(len(v.get("errors", {})) for v in c.values() if isinstance(v, dict))
                                  + len(c.get("errors", {}))}
        except Exception as e:
            out[str(c.get("cpu"))] = {"error": part_error(e)}
    return out


def main():
    dump, vmlinux, out, stamp = sys.argv[1:5]
    t0 = time.monotonic()
    res = {"oracle_stamp": stamp, "tool": f"drgn {drgn.__version__}", "dump": os.path.abspath(dump),
           "vmlinux": os.path.abspath(vmlinux)}
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
    try:
        run(prog, vmlinux, res)
    except Exception as e:  # a global part failed; whatever was collected is kept
        res["error"] = part_error(e)
    res["timing_seconds"] = {"open": round(t_open - t0, 3), "total": round(time.monotonic() - t0, 3)}
    order = [k for k in KEY_ORDER if k in res] + [k for k in res if k not in KEY_ORDER]
    write(out, {k: res[k] for k in order})


# ---- output ------------------------------------------------------------------------------
def write(out, res):
    """JSON: one top-level key per line; per CPU one key per line, one CEA page per line
    (valid JSON; the stamp is in the first 400 bytes)."""
    def c(v):
        return json.dumps(v, separators=(",", ":"))
    lines = []
    for k, v in res.items():
        if k == "cpus" and isinstance(v, list):
            cl = []
            for cpu in v:
                parts = []
                for ck, cv in cpu.items():
                    if ck == "cea_pages" and isinstance(cv, list):
                        parts.append(f"{c(ck)}:[\n" + ",\n".join(c(p) for p in cv) + "]")
                    else:
                        parts.append(f"{c(ck)}:{c(cv)}")
                cl.append("{\n" + ",\n".join(parts) + "}")
            lines.append(f"{c(k)}:[\n" + ",\n".join(cl) + "]")
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
