#!/usr/bin/env python3
"""drgn page-table oracle: follow_phys for >= 10,000 kernel virtual addresses of one dump.

usage: vtop_drgn.py DUMP VMLINUX OUT.json STAMP
Runs under $CACHE/venv-drgn/bin/python (drgn 0.3.0, stdlib otherwise).

The address list is generated here, deterministically: random.Random(<sample name>)
(the dump's file name without .vmcore) drives every choice, and the regions come from
the dump itself (symbols, iomem_resource, vmap areas, modules, per-CPU data). The same
dump and script always give the same list. Every address is translated with
drgn.helpers.linux.mm.follow_phys(init_mm, addr); a failure is recorded as
"<ExceptionType>: <message>". See Samples/README.md ("vtop oracles") for the format.
"""
import json
import os
import random
import sys
import time
import traceback

import drgn
from drgn import Program
from drgn_common import err_text, hx

try:  # the C helper behind follow_phys; takes the PGD pointer itself (used for PTI user PGDs)
    from _drgn import _linux_helper_follow_phys
except ImportError:  # pragma: no cover - other drgn versions
    _linux_helper_follow_phys = None

PAGE = 4096
U64 = (1 << 64) - 1
START_KERNEL_MAP = 0xFFFFFFFF80000000
# KERNEL_IMAGE_SIZE is 1 GiB with CONFIG_RANDOMIZE_BASE (both Debian configs): MODULES_VADDR
# = __START_KERNEL_map + KERNEL_IMAGE_SIZE; MODULES_END is a constant since v4.x.
MODULES_VADDR = 0xFFFFFFFFC0000000
MODULES_END = 0xFFFFFFFFFF000000
VSYSCALL_ADDR = 0xFFFFFFFFFF600000          # -10UL << 20
CEA_BASE = 0xFFFFFE0000000000                 # CPU_ENTRY_AREA_PGD (-4) << P4D_SHIFT (39)
CEA_MAP_SIZE = 1 << 39                        # CPU_ENTRY_AREA_MAP_SIZE = P4D_SIZE
ESPFIX_BASE = 0xFFFFFF0000000000              # ESPFIX_PGD_ENTRY (-2) << P4D_SHIFT
X86_FEATURE_PTI = 7 * 32 + 11
PTI_USER_PGD_OFFSET = PAGE                    # kernel_to_user_pgdp(): pgd | (1 << PAGE_SHIFT)

# Addresses per region (the total is >= 10,000).
# crash translates (prints a VIRTUAL/PHYSICAL line for) the seven main regions and most of
# other_kernel: 7 * 1400 + ~650 >= 10,000 comparable addresses per sample.
BUDGET = {"kernel": 1400, "direct_map": 1400, "vmalloc": 1400, "vmemmap": 1400,
          "cpu_entry_area": 1400, "modules": 1400, "fixmap": 1400,
          "other_kernel": 800, "noncanonical": 800, "user": 800}
TASK_VTOP_PER_TASK = 48


class Oracle:
    def __init__(self, prog, seed):
        self.prog = prog
        self.r = random.Random(seed)
        self.mm = prog["init_mm"].address_of_()
        from drgn.helpers.linux.boot import pgtable_l5_enabled
        self.l5 = bool(pgtable_l5_enabled(prog))
        self.levels = 5 if self.l5 else 4
        self.va_bits = 57 if self.l5 else 48
        self.user_end = 1 << (self.va_bits - 1)           # first non-canonical address
        self.kernel_start = U64 ^ (self.user_end - 1)      # first canonical kernel address
        self.table_cache = {}
        self.problems = []  # data the generator could not read (recorded, not fatal)

    # ---- translation -------------------------------------------------------------
    def translate(self, addr):
        from drgn.helpers.linux.mm import follow_phys
        try:
            return follow_phys(self.mm, addr).value_(), None
        except Exception as e:  # FaultError (not mapped / not in dump), ValueError, ...
            return None, err_text(e)

    def translate_pgd(self, pgd, addr):
        try:
            return _linux_helper_follow_phys(self.prog, pgd, addr), None
        except Exception as e:
            return None, err_text(e)

    def canonical(self, a):
        return a < self.user_end or a >= self.kernel_start

    def page_size(self, addr, want_pa):
        """Size of the page mapping addr: a small walk over entries read through drgn
        (physical reads), reported only when it lands on drgn's own answer."""
        try:
            table = self.pgd_pa
            for level in range(self.levels - 1, -1, -1):
                shift = 12 + 9 * level
                idx = (addr >> shift) & 511
                t = self.table_cache.get(table)
                if t is None:
                    t = self.table_cache[table] = self.prog.read(table, PAGE, True)
                e = int.from_bytes(t[idx * 8:idx * 8 + 8], "little")
                if not e & 1:
                    return None
                base = e & 0x000FFFFFFFFFF000
                if level == 0 or (e & 0x80 and level in (1, 2)):
                    size = 1 << shift
                    pa = (base & ~(size - 1)) | (addr & (size - 1))
                    return size if pa == want_pa else None
                table = base
        except Exception:
            return None

    # ---- the kernel's layout ---------------------------------------------------
    def sym(self, name):
        return self.prog.symbol(name).address

    def var(self, name):
        try:
            return self.prog[name].value_()
        except LookupError:
            return self.prog.read_u64(self.sym(name))

    def layout(self):
        p = self.prog
        L = {}
        L["paging_levels"] = self.levels
        L["page_offset_base"] = self.var("page_offset_base")
        L["vmalloc_base"] = self.var("vmalloc_base")
        L["vmemmap_base"] = self.var("vmemmap_base")
        # MAXMEM (1 << MAX_PHYSMEM_BITS), VMALLOC_SIZE_TB_L4/L5, vmemmap: sizes from
        # arch/x86/include/asm/pgtable_64_types.h; each region ends at the next base at the latest.
        maxmem = 1 << (52 if self.l5 else 46)
        vmalloc_size = (12800 if self.l5 else 32) << 40
        vmemmap_size = 1 << (49 if self.l5 else 40)
        L["direct_map_end"] = min(L["page_offset_base"] + maxmem, L["vmalloc_base"])
        L["vmalloc_end"] = min(L["vmalloc_base"] + vmalloc_size, L["vmemmap_base"])
        L["vmemmap_end"] = min(L["vmemmap_base"] + vmemmap_size, CEA_BASE)
        L["cpu_entry_area_base"] = CEA_BASE
        L["cpu_entry_area_end"] = CEA_BASE + CEA_MAP_SIZE
        L["kernel_map_start"] = START_KERNEL_MAP
        L["modules_vaddr"] = MODULES_VADDR
        L["modules_end"] = MODULES_END
        for s in ("_text", "_stext", "_etext", "_sdata", "_edata", "__bss_start", "__bss_stop",
                  "__init_begin", "__init_end", "__start_rodata", "__end_rodata", "__brk_base",
                  "_end", "__entry_text_start", "__entry_text_end"):
            try:
                L[s] = self.sym(s)
            except LookupError:
                pass
        # Fixmap, from the kernel's enum fixed_addresses: VSYSCALL_PAGE =
        # (FIXADDR_TOP - VSYSCALL_ADDR) >> PAGE_SHIFT, __fix_to_virt(x) = FIXADDR_TOP - (x << PAGE_SHIFT).
        vs = p.constant("VSYSCALL_PAGE").value_()
        L["fixaddr_top"] = VSYSCALL_ADDR + vs * PAGE
        L["fix_vsyscall_page"] = vs
        L["fix_end_of_permanent"] = p.constant("__end_of_permanent_fixed_addresses").value_()
        L["fix_end_of_fixed"] = p.constant("__end_of_fixed_addresses").value_()
        L["fixaddr_start"] = L["fixaddr_top"] - L["fix_end_of_permanent"] * PAGE
        L["fixaddr_tot_start"] = L["fixaddr_top"] - L["fix_end_of_fixed"] * PAGE
        L["vsyscall_addr"] = VSYSCALL_ADDR
        L["espfix_base"] = ESPFIX_BASE
        # LDT_BASE_ADDR = LDT_PGD_ENTRY (-240UL since v4.17) << PGDIR_SHIFT (39, or 48 with L5)
        L["ldt_base"] = (-240 << (48 if self.l5 else 39)) & U64
        L["max_pfn"] = self.var("max_pfn")
        L["struct_page_size"] = drgn.sizeof(p.type("struct page"))
        return L

    def res_name(self, res):
        try:
            return res.name.string_().decode(errors="replace")
        except Exception as e:  # e.g. the name's page is excluded from a -d 31 dump
            self.note(f"iomem name at {res.value_():#x}", e)
            return None

    def note(self, what, e):
        self.problems.append(f"{what}: {err_text(e)}")

    def iomem(self):
        """Top-level iomem_resource entries: (start, end_exclusive, name, children)."""
        out = []
        # A makedumpfile -d 31 dump may exclude the slab page of a resource: the list then ends
        # there (noted), the addresses are generated from what was read.
        try:
            c = self.prog["iomem_resource"].child
            while c:
                kids = []
                try:
                    k = c.child
                    while k:
                        kids.append((k.start.value_(), k.end.value_() + 1, self.res_name(k)))
                        k = k.sibling
                except Exception as e:
                    self.note(f"iomem children of {c.value_():#x}", e)
                out.append((c.start.value_(), c.end.value_() + 1, self.res_name(c), kids))
                c = c.sibling
        except Exception as e:
            self.note("iomem_resource list", e)
        return out


def main():
    dump, vmlinux, out, stamp = sys.argv[1:5]
    t0 = time.monotonic()
    name = os.path.basename(dump)
    if name.endswith(".vmcore"):
        name = name[:-len(".vmcore")]
    res = {"oracle_stamp": stamp, "tool": f"drgn {drgn.__version__}", "seed": name,
           "dump": os.path.abspath(dump), "vmlinux": os.path.abspath(vmlinux)}
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
    try:
        run(prog, name, res, t0)
    except Exception as e:  # a failure is a result too: recorded, the build goes on
        res["error"] = f"{err_text(e)} ({traceback.extract_tb(e.__traceback__)[-1].lineno})"
    write(out, res)


def run(prog, name, res, t0):
    o = Oracle(prog, name)
    L = o.layout()
    o.pgd_pa = o.translate(prog["init_mm"].pgd.value_())[0]
    res["format"] = ("addresses: [addr_hex, region, pa_hex|null, error|null, page_size|null]; "
                     "pti_user.addresses: [addr_hex, region, pa_hex|null, error|null]; "
                     "task_vtop: [pid, addr_hex, kind, pa_hex|null, error|null, "
                     "user_pgd_pa_hex|null, user_pgd_error|null]")
    res["layout"] = {k: (hex(v) if k not in ("paging_levels", "fix_vsyscall_page", "fix_end_of_permanent",
                                               "fix_end_of_fixed", "max_pfn", "struct_page_size") else v)
                     for k, v in L.items()}
    io = o.iomem()
    res["iomem"] = [[hx(s), hx(e), n, [[hx(a), hx(b), m] for a, b, m in kids]] for s, e, n, kids in io]
    cea = cpu_entry_areas(o, L)
    res["cpu_entry_area"] = cea
    tasks = task_list(o)
    res["tasks"] = tasks

    addrs = generate(o, L, io, cea, tasks)
    t1 = time.monotonic()
    entries, counts = [], {}
    for a, region in addrs:
        pa, e = o.translate(a)
        size = o.page_size(a, pa) if pa is not None and o.canonical(a) else None
        entries.append([hex(a), region, hx(pa), e, size])
        c = counts.setdefault(region, {"total": 0, "mapped": 0, "unmapped": 0, "page_sizes": {}})
        c["total"] += 1
        c["mapped" if pa is not None else "unmapped"] += 1
        if size:
            c["page_sizes"][str(size)] = c["page_sizes"].get(str(size), 0) + 1
    t2 = time.monotonic()
    res["page_size_note"] = ("page_size is not from drgn (0.3.0 does not expose it): the oracle walks "
                             "the entries it reads through drgn's physical reads and reports the leaf "
                             "size only when that walk gives drgn's physical address; else null")
    res["page_size_mismatches"] = sum(1 for e in entries if e[2] is not None and e[4] is None
                                      and o.canonical(int(e[0], 16)))
    res["region_counts"] = counts
    res["total"] = len(entries)
    res["addresses"] = entries

    # PTI: the user-mode copy of init_mm's PGD (pgd + 4096). drgn has no public API for it;
    # the C helper behind follow_phys takes the PGD pointer, so we give it the user copy.
    pti = pti_enabled(prog)
    res["pti_user"] = {"pti_enabled": pti, "pgd": None, "counts": None, "addresses": None}
    if pti is True and _linux_helper_follow_phys is not None:
        upgd = prog["init_mm"].pgd.value_() + PTI_USER_PGD_OFFSET
        uentries, ucounts = [], {}
        for a, region in addrs:
            pa, e = o.translate_pgd(upgd, a)
            uentries.append([hex(a), region, hx(pa), e])
            c = ucounts.setdefault(region, {"total": 0, "mapped": 0, "unmapped": 0})
            c["total"] += 1
            c["mapped" if pa is not None else "unmapped"] += 1
        res["pti_user"].update(pgd=hex(upgd), counts=ucounts, addresses=uentries)
    res["task_vtop"] = task_vtop(o, tasks, addrs, pti)
    res["generation_problems"] = o.problems
    res["timing_seconds"] = {"open_and_generate": round(t1 - t0, 3), "translate": round(t2 - t1, 3),
                             "total": round(time.monotonic() - t0, 3)}


def pti_enabled(prog):
    try:
        caps = prog["boot_cpu_data"].x86_capability
        return bool((caps[X86_FEATURE_PTI // 32].value_() >> (X86_FEATURE_PTI % 32)) & 1)
    except Exception as e:
        return err_text(e)


# ---- cpu_entry_area ------------------------------------------------------------------
def cpu_entry_areas(o, L):
    """Per-CPU cpu_entry_area addresses as get_cpu_entry_area() computes them:
    CPU_ENTRY_AREA_PER_CPU (CEA_BASE + PAGE) + cea_offset(cpu) * sizeof(struct cpu_entry_area),
    where cea_offset(cpu) is per_cpu(_cea_offset, cpu) when the kernel has it (v6.2+,
    "x86/mm: Randomize per-cpu entry area", 97e3d26b5e5f) and cpu otherwise."""
    from drgn.helpers.linux.cpumask import for_each_possible_cpu
    from drgn.helpers.linux.percpu import per_cpu
    prog = o.prog
    t = prog.type("struct cpu_entry_area")
    size = drgn.sizeof(t)
    res = {"base": hex(CEA_BASE), "ro_idt": hex(CEA_BASE), "per_cpu_base": hex(CEA_BASE + PAGE),
           "struct_size": size}
    try:
        prog["_cea_offset"]
        res["method"] = ("per_cpu(_cea_offset, cpu) * sizeof(struct cpu_entry_area) + "
                         "0xfffffe0000001000 (randomized per-CPU slots, kernel >= 6.2)")
        randomized = True
    except KeyError:
        res["method"] = ("no _cea_offset symbol: cpu * sizeof(struct cpu_entry_area) + "
                         "0xfffffe0000001000 (get_cpu_entry_area() before 6.2)")
        randomized = False
    members = []
    for m in t.members:
        msize = drgn.sizeof(m.type)
        members.append((m.name, m.offset, msize))
    est = prog.type("struct cea_exception_stacks")
    est_off = next(off for n, off, _ in members if n == "estacks")
    estacks = [(m.name, est_off + m.offset, drgn.sizeof(m.type)) for m in est.members]
    res["members"] = [[n, off, sz] for n, off, sz in members]
    res["estacks_members"] = [[n, off, sz] for n, off, sz in estacks]
    # per-CPU kernel objects that the area aliases (cea_map_percpu_pages / cea_set_pte)
    # (label, offset in the area, per-CPU symbol, member of it or None)
    aliases = [(n, mo, sym, None) for n, mo, _ in members
               for m, sym in (("gdt", "gdt_page"), ("entry_stack_page", "entry_stack_storage"),
                              ("tss", "cpu_tss_rw"), ("cpu_debug_store", "cpu_debug_store")) if n == m]
    aliases += [(f"estacks.{n}", mo, "exception_stacks", n) for n, mo, _ in estacks
                if not n.endswith("_guard")]
    cpus = []
    for cpu in for_each_possible_cpu(prog):
        off = per_cpu(prog["_cea_offset"], cpu).value_() if randomized else cpu
        base = CEA_BASE + PAGE + off * size
        e = {"cpu": cpu, "cea_offset": off if randomized else None, "address": hex(base),
             "members": {n: hex(base + mo) for n, mo, _ in members}, "checks": {}}
        for member, mo, sym, sub in aliases:
            try:
                obj = per_cpu(prog[sym], cpu)
                obj_va = (obj.member_(sub) if sub else obj).address_
                obj_pa, err = o.translate(obj_va)
                cea_pa, err2 = o.translate(base + mo)
                e["checks"][member] = {"percpu_symbol": sym, "percpu_va": hex(obj_va),
                                       "percpu_pa": hx(obj_pa), "cea_pa": hx(cea_pa),
                                       "error": err or err2, "equal": obj_pa is not None and obj_pa == cea_pa}
            except Exception as ex:
                e["checks"][member] = {"percpu_symbol": sym, "error": err_text(ex)}
        cpus.append(e)
    res["cpus"] = cpus
    # the RO IDT page aliases idt_table
    idt_pa = o.translate(o.sym("idt_table"))[0]
    res["ro_idt_check"] = {"idt_table_pa": hx(idt_pa), "cea_pa": hx(o.translate(CEA_BASE)[0])}
    res["_internal"] = {"size": size, "cpus": [(c["cpu"], int(c["address"], 16)) for c in cpus],
                        "cea_offsets": [c["cea_offset"] for c in cpus], "randomized": randomized,
                        "members": members, "estacks": estacks}
    return res


# ---- tasks ---------------------------------------------------------------------------
def task_list(o):
    from drgn.helpers.linux.pid import for_each_task
    from drgn.helpers.linux.sched import task_cpu
    out = []
    try:
        for t in for_each_task(o.prog):
            try:
                mm = t.mm.value_()
                e = {"pid": t.pid.value_(), "tgid": t.tgid.value_(),
                     "comm": t.comm.string_().decode(errors="replace"), "task": hex(t.value_()),
                     "mm": hex(mm), "pgd": hex(t.mm.pgd.value_()) if mm else "0x0",
                     "active_mm": hex(t.active_mm.value_()), "stack": hex(t.stack.value_())}
                e["cpu"] = task_cpu(t)
            except Exception as ex:
                o.note(f"task {t.value_():#x}", ex)
                continue
            out.append(e)
    except Exception as ex:
        o.note("for_each_task", ex)
    return out


def task_vtop(o, tasks, addrs, pti):
    """follow_phys(task->mm, addr) for user addresses (VMA starts, insides, last bytes and
    gaps) and a few kernel addresses, per task with an mm; with PTI also via the user PGD."""
    from drgn.helpers.linux.mm import follow_phys, for_each_vma
    prog, r = o.prog, o.r
    out = []
    kernel_sample = [a for a, reg in addrs if reg in ("kernel", "direct_map", "cpu_entry_area", "vmalloc")]
    seen_mm = {}
    for te in tasks:
        if te["mm"] == "0x0":
            continue
        mm = drgn.Object(prog, "struct mm_struct *", int(te["mm"], 16))
        if te["mm"] in seen_mm:  # threads share an mm: only a few checks
            picks = [(a, k) for a, k in seen_mm[te["mm"]][:4]]
        else:
            picks = []
            vmas = []
            try:
                for v in for_each_vma(mm):
                    vmas.append((v.vm_start.value_(), v.vm_end.value_()))
            except Exception as ex:
                o.note(f"for_each_vma pid {te['pid']}", ex)
            for s, e in vmas:
                picks += [(s, "vma_start"), (s + r.randrange(e - s), "vma"), (e - 1, "vma_last")]
            for (s0, e0), (s1, e1) in zip(vmas, vmas[1:]):
                if s1 > e0:
                    picks.append((e0 + r.randrange(min(s1 - e0, 1 << 30)), "gap"))
            picks = picks[:TASK_VTOP_PER_TASK - 8]
            picks += [(a, "kernel") for a in r.sample(kernel_sample, min(8, len(kernel_sample)))]
            seen_mm[te["mm"]] = picks
        upgd = mm.pgd.value_() + PTI_USER_PGD_OFFSET if pti is True else None
        for a, kind in picks:
            try:
                pa, err = follow_phys(mm, a).value_(), None
            except Exception as ex:
                pa, err = None, err_text(ex)
            upa, uerr = o.translate_pgd(upgd, a) if upgd else (None, None)
            out.append([te["pid"], hex(a), kind, hx(pa), err, hx(upa), uerr])
    return out


# ---- the address list ----------------------------------------------------------------
def generate(o, L, io, cea, tasks):
    from drgn.helpers.linux.mm import for_each_vmap_area
    from drgn.helpers.linux.module import for_each_module, module_address_regions
    prog, r = o.prog, o.r
    pob, vb, vmb = L["page_offset_base"], L["vmalloc_base"], L["vmemmap_base"]
    intervals = sorted([
        (pob, L["direct_map_end"], "direct_map"),
        (vb, L["vmalloc_end"], "vmalloc"),
        (vmb, L["vmemmap_end"], "vmemmap"),
        (CEA_BASE, CEA_BASE + CEA_MAP_SIZE, "cpu_entry_area"),
        (START_KERNEL_MAP, MODULES_VADDR, "kernel"),
        (MODULES_VADDR, MODULES_END, "modules"),
        (MODULES_END, 1 << 64, "fixmap"),
    ])

    def classify(a):
        if not o.canonical(a):
            return "noncanonical"
        if a < o.user_end:
            return "user"
        for s, e, n in intervals:
            if s <= a < e:
                return n
        return "other_kernel"

    gaps, cur = [], o.kernel_start  # canonical kernel addresses outside every region
    for s, e, _ in intervals:
        if s > cur:
            gaps.append((cur, s))
        cur = max(cur, e)

    def offset():
        x = r.random()
        return 0 if x < 0.15 else PAGE - 1 if x < 0.25 else r.randrange(0, PAGE, 8) if x < 0.4 else r.randrange(PAGE)

    def in_range(s, e):
        return r.randrange(s, e) if e > s else s

    def page_in(s, e):  # a page of [s, e) plus a random offset into it
        return (in_range(s, e) & ~(PAGE - 1)) + offset()

    def near(a, span=4 * PAGE):
        return (a + r.randrange(-span, span)) & U64

    ram = [(s, e) for s, e, n, _ in io if n == "System RAM"]
    ram_end = max(e for _, e in ram)
    ram_total = sum(e - s for s, e in ram)
    non_ram_low = [(s, e) for s, e, n, _ in io if n != "System RAM" and e <= 1 << 32]
    special = [(s, e) for _, _, n, kids in io if n == "System RAM"
               for s, e, m in kids if m == "Crash kernel"]

    def ram_pa():
        x = r.randrange(ram_total)
        for s, e in ram:
            if x < e - s:
                return s + x
            x -= e - s
        raise AssertionError

    vmap = []
    try:
        for va in for_each_vmap_area(prog):
            vmap.append((va.va_start.value_(), va.va_end.value_()))
    except Exception as e:
        o.note("for_each_vmap_area", e)
    vmap_vmalloc = [v for v in vmap if vb <= v[0] < L["vmalloc_end"]]
    vmap_modules = [v for v in vmap if MODULES_VADDR <= v[0] < MODULES_END]
    mod_regions = []
    try:
        for m in for_each_module(prog):
            for s, n in module_address_regions(m):
                if n:
                    mod_regions.append((s, s + ((n + PAGE - 1) & ~(PAGE - 1))))
    except Exception as e:
        o.note("for_each_module", e)
    mod_regions += vmap_modules
    stacks = [int(t["stack"], 16) for t in tasks if vb <= int(t["stack"], 16) < L["vmalloc_end"]]
    kernel_syms = [L[s] for s in ("_text", "_stext", "_etext", "_sdata", "_edata", "__bss_start",
                                  "__bss_stop", "__init_begin", "__init_end", "__start_rodata",
                                  "__end_rodata", "__brk_base", "_end", "__entry_text_start",
                                  "__entry_text_end") if s in L]
    for s in ("idt_table", "init_top_pgt", "linux_banner", "init_mm", "init_task", "jiffies"):
        try:
            kernel_syms.append(o.sym(s))
        except LookupError:
            pass
    sp = L["struct_page_size"]
    maxpfn = L["max_pfn"]
    ci = cea["_internal"]
    fix_top = L["fixaddr_top"]
    fix_mapped = [i for i in range(L["fix_end_of_fixed"]) if o.translate(fix_top - i * PAGE)[0] is not None]
    vma_addrs = task_user_addresses(o, tasks)

    def cea_cpu_page():
        cpu, base = r.choice(ci["cpus"])
        return base + r.randrange(ci["size"] // PAGE) * PAGE + offset()

    def cea_other_slot():
        slots = (CEA_MAP_SIZE - PAGE) // ci["size"]
        if ci["randomized"]:
            slot = r.randrange(slots)
        else:
            slot = len(ci["cpus"]) + r.randrange(64)
        return CEA_BASE + PAGE + slot * ci["size"] + r.randrange(ci["size"])

    def noncanon_flip():
        a = in_range(pob, L["direct_map_end"]) if r.random() < 0.5 else in_range(L["_text"], L["_end"])
        bit = r.randrange(o.va_bits - 1, 64)
        return a ^ (1 << bit)

    def noncanon_boundary():
        if r.random() < 0.5:
            return o.user_end + r.randrange(1 << 20)
        return o.kernel_start - 1 - r.randrange(1 << 20)

    strategies = {
        "kernel": [
            (0.70, lambda: in_range(L["_text"], L["_end"])),
            (0.10, lambda: (r.choice(kernel_syms) + r.choice((-4097, -4096, -1, 0, 1, 8, 4095, 4096))
                            + (r.randrange(-(2 << 20), 2 << 20) if r.random() < 0.3 else 0)) & U64),
            (0.08, lambda: in_range(START_KERNEL_MAP, L["_text"])),
            (0.06, lambda: in_range(L["_end"], L["_end"] + (4 << 20))),
            (0.06, lambda: in_range(L["_end"], MODULES_VADDR)),
        ],
        "direct_map": [
            (0.55, lambda: pob + ram_pa()),
            (0.05, lambda: pob + in_range(*r.choice(special)) if special else pob + ram_pa()),
            (0.10, lambda: pob + r.randrange(1 << 20)),
            (0.10, lambda: pob + in_range(*r.choice(non_ram_low))),
            (0.10, lambda: pob + ram_end + r.randrange(64 << 20)),
            (0.10, lambda: in_range(pob + ram_end + (64 << 20), L["direct_map_end"])),
        ],
        "vmalloc": [
            (0.50, lambda: in_range(*r.choice(vmap_vmalloc))),
            (0.10, lambda: r.choice(stacks) + r.randrange(-2 * PAGE, 5 * PAGE)),
            (0.10, lambda: r.choice(vmap_vmalloc)[0] - 1 - r.randrange(4 * PAGE)),
            (0.05, lambda: r.choice(vmap_vmalloc)[1] + r.randrange(4 * PAGE)),
            (0.25, lambda: in_range(vb, L["vmalloc_end"])),
        ],
        "vmemmap": [
            (0.55, lambda: vmb + (ram_pa() >> 12) * sp + r.randrange(sp)),
            (0.10, lambda: vmb + (in_range(*r.choice(non_ram_low)) >> 12) * sp + r.randrange(sp)),
            (0.15, lambda: vmb + (maxpfn + r.randrange(1 << 18)) * sp + r.randrange(sp)),
            (0.20, lambda: in_range(vmb, L["vmemmap_end"])),
        ],
        "cpu_entry_area": [
            (0.65, cea_cpu_page),
            (0.05, lambda: CEA_BASE + offset()),
            (0.05, lambda: near(r.choice(ci["cpus"])[1] + (ci["size"] if r.random() < 0.5 else 0))),
            (0.05, cea_other_slot),
            (0.20, lambda: in_range(CEA_BASE, CEA_BASE + CEA_MAP_SIZE)),
        ],
        "modules": [
            (0.55, lambda: in_range(*r.choice(mod_regions))),
            (0.10, lambda: near(r.choice(mod_regions)[r.randrange(2)])),
            (0.35, lambda: in_range(MODULES_VADDR, MODULES_END)),
        ],
        "fixmap": [
            (0.35, lambda: fix_top - r.choice(fix_mapped) * PAGE + offset() if fix_mapped else VSYSCALL_ADDR),
            (0.35, lambda: fix_top - r.randrange(L["fix_end_of_fixed"]) * PAGE + offset()),
            (0.10, lambda: VSYSCALL_ADDR + offset()),
            (0.20, lambda: in_range(MODULES_END, 1 << 64)),
        ],
        "other_kernel": [
            (0.80, lambda: in_range(*r.choice(gaps))),
            (0.10, lambda: r.choice(gaps)[0] + r.randrange(PAGE)),
            (0.10, lambda: r.choice(gaps)[1] - 1 - r.randrange(PAGE)),
        ],
        "noncanonical": [
            (0.40, lambda: r.getrandbits(64)),
            (0.35, noncanon_flip),
            (0.25, noncanon_boundary),
        ],
        "user": [
            (0.25, lambda: r.randrange(16 << 20)),
            (0.25, lambda: r.randrange(o.user_end)),
            (0.25, lambda: r.choice(vma_addrs) + r.randrange(-PAGE, PAGE) if vma_addrs else r.randrange(o.user_end)),
            (0.25, lambda: o.user_end - 1 - r.randrange(16 << 20)),
        ],
    }
    chosen = {}
    for region, strat in strategies.items():
        weights = [w for w, _ in strat]
        fns = [f for _, f in strat]
        n, tries = 0, 0
        while n < BUDGET[region] and tries < BUDGET[region] * 50:
            tries += 1
            try:
                a = r.choices(fns, weights)[0]() & U64
            except (IndexError, ValueError):  # no data for this strategy (e.g. no module)
                continue
            if a in chosen or classify(a) != region:
                continue
            chosen[a] = region
            n += 1
    return sorted(chosen.items())


def task_user_addresses(o, tasks):
    from drgn.helpers.linux.mm import for_each_vma
    out = []
    for t in tasks:
        if t["mm"] == "0x0":
            continue
        try:
            for v in for_each_vma(drgn.Object(o.prog, "struct mm_struct *", int(t["mm"], 16))):
                out += [v.vm_start.value_(), v.vm_end.value_() - 1]
        except Exception:
            pass  # recorded by task_vtop
    return sorted(set(out))


def write(out, res):
    """JSON with one address entry per line (valid JSON; the stamp is in the first 400 bytes)."""
    res.get("cpu_entry_area", {}).pop("_internal", None)
    lines = ["{"]
    items = list(res.items())
    for i, (k, v) in enumerate(items):
        comma = "," if i < len(items) - 1 else ""
        if k in ("addresses", "task_vtop") and isinstance(v, list):
            body = ",\n".join(json.dumps(e, separators=(",", ":")) for e in v)
            lines.append(f"{json.dumps(k)}:[\n{body}]{comma}")
        elif k == "pti_user" and isinstance(v, dict) and isinstance(v.get("addresses"), list):
            head = {kk: vv for kk, vv in v.items() if kk != "addresses"}
            body = ",\n".join(json.dumps(e, separators=(",", ":")) for e in v["addresses"])
            lines.append(f"{json.dumps(k)}:{json.dumps(head, separators=(',', ':'))[:-1]},"
                         f"\"addresses\":[\n{body}]}}{comma}")
        else:
            lines.append(f"{json.dumps(k)}:{json.dumps(v, separators=(',', ':'))}{comma}")
    lines.append("}")
    tmp = out + ".tmp"
    with open(tmp, "w") as f:
        f.write("\n".join(lines) + "\n")
    os.replace(tmp, out)


if __name__ == "__main__":
    main()
