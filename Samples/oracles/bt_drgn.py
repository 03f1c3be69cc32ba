#!/usr/bin/env python3
"""drgn backtrace oracle: drgn 0.3.0's stack trace of every task of one dump, as JSON.

usage: bt_drgn.py DUMP VMLINUX OUT.json STAMP
Runs under $CACHE/venv-drgn/bin/python (drgn 0.3.0, stdlib otherwise).

Tasks: the idle task of every possible CPU (drgn.helpers.linux.sched.idle_task: swapper/N,
which for_each_task does not list; crash's task table has them), then every task of
drgn.helpers.linux.pid.for_each_task, in pid order. Per task: pid, tgid, comm, address,
state, on_cpu, cpu, whether it is the active task of its CPU (cpu_curr) and the crashed
thread (prog.crashed_thread()), and prog.stack_trace(task): per frame pc, sp, name,
function_name, symbol+offset (frame.symbol()), is_inline, interrupted, source, the stack the sp
lies in, and the registers at frame 0 and at every interrupted frame. drgn takes the
registers of an active task from the dump's CPU note (NT_PRSTATUS) of its CPU, else from the
task's saved switch frame (thread.sp).
drgn keeps unwinding past the user-mode frame without CFI (about a thousand pc=0 frames), so
a trace is recorded up to and including its first user-mode frame (and at most MAX_FRAMES
frames); frame_count is drgn's full count, omitted the rest.
Per possible CPU: its active and idle task, and the ranges of its IRQ stack, exception (IST)
stacks and entry stack, used to place each frame's sp.
Every failure is recorded (a task's "error", a frame's "errors"); the script never stops on
one. open_error is non-null when drgn cannot open the dump; then no other key follows.
See Samples/oracles/BT.md for the exact format.
"""
import json
import os
import sys
import time

import drgn
from drgn import Program
from drgn_common import attempt, err_text, hx, part_error

MAX_FRAMES = 64
USER_TOP = 1 << 47          # frames with pc below: user mode (LA57 user space ends at 1 << 56)
TASK_STACK_FALLBACK = 16384  # THREAD_SIZE on x86-64 without KASAN


# ---- stacks ---------------------------------------------------------------------------------
def stack_ranges(prog, cpus):
    """Per CPU: [(label, start, end)] of the IRQ stack, the IST stacks and the entry stack."""
    from drgn.helpers.linux.percpu import per_cpu
    out, errors = {}, {}
    try:
        irq_size = drgn.sizeof(prog.type("struct irq_stack"))
    except Exception:
        irq_size = TASK_STACK_FALLBACK
    try:
        prog["pcpu_hot"]
        has_pcpu_hot = True
    except KeyError:
        has_pcpu_hot = False
    ces_t = attempt(lambda: prog.type("struct cea_exception_stacks"), errors, "struct cea_exception_stacks")
    cea_t = attempt(lambda: prog.type("struct cpu_entry_area"), errors, "struct cpu_entry_area")
    for cpu in cpus:
        ranges = []
        e = {}

        def irq():
            # hardirq_stack_ptr = bottom + IRQ_STACK_SIZE - 8 (map_irq_stack / irq_init_percpu_irqstack)
            p = (per_cpu(prog["pcpu_hot"], cpu).hardirq_stack_ptr if has_pcpu_hot
                 else per_cpu(prog["hardirq_stack_ptr"], cpu)).value_()
            if p:
                ranges.append(("irq", p + 8 - irq_size, p + 8))
        attempt(irq, e, "irq")

        def ist():
            base = per_cpu(prog["cea_exception_stacks"], cpu).value_()
            for m in ces_t.members:
                if m.name.endswith("_stack"):
                    o = m.bit_offset // 8
                    ranges.append((m.name[:-len("_stack")], base + o, base + o + drgn.sizeof(m.type)))
            # entry stack: cea->entry_stack_page.stack (cea = estacks - offsetof(estacks))
            cea = base - drgn.offsetof(cea_t, "estacks")
            o = drgn.offsetof(cea_t, "entry_stack_page")
            ranges.append(("entry", cea + o, cea + o + drgn.sizeof(prog.type("struct entry_stack"))))
        if ces_t is not None and cea_t is not None:
            attempt(ist, e, "ist")
        out[cpu] = ranges
        if e:
            errors[f"cpu{cpu}"] = e
    return out, errors


def place(sp, task_stack, ranges):
    """Which stack sp lies in: "task", "<kind>/<cpu>" (irq/1, NMI/0, DF/0, entry/0...),
    "user", or None."""
    if sp < USER_TOP:
        return "user"
    if task_stack and task_stack[0] <= sp < task_stack[1]:
        return "task"
    for cpu, rs in ranges.items():
        for label, lo, hi in rs:
            if lo <= sp < hi:
                return f"{label}/{cpu}"
    # the word just above a stack (an empty stack's sp is its top)
    if task_stack and sp == task_stack[1]:
        return "task"
    for cpu, rs in ranges.items():
        for label, lo, hi in rs:
            if sp == hi:
                return f"{label}/{cpu}"
    return None


# ---- one trace ------------------------------------------------------------------------------
def regs_hex(frame):
    return {k: hex(v) for k, v in frame.registers().items()}


def frame_entry(prog, i, f, task_stack, ranges):
    d = {"i": i}
    errs = {}
    d["pc"] = attempt(lambda: hex(f.pc), errs, "pc")
    d["sp"] = attempt(lambda: hex(f.sp), errs, "sp")
    d["name"] = attempt(lambda: f.name, errs, "name")
    d["function_name"] = attempt(lambda: f.function_name, errs, "function_name")
    d["is_inline"] = attempt(lambda: f.is_inline, errs, "is_inline")
    d["interrupted"] = attempt(lambda: f.interrupted, errs, "interrupted")

    def sym():
        if f.pc < USER_TOP:
            return None  # a user-mode pc: no kernel symbol
        s = f.symbol()
        pc = f.pc - (0 if f.interrupted else 1)  # what frame.symbol() looks up
        return {"name": s.name, "address": hex(s.address), "offset": hex(f.pc - s.address), "lookup": hex(pc)}
    d["symbol"] = attempt(sym, errs, "symbol")

    def source():
        s = f.source()
        return f"{s[0]}:{s[1]}:{s[2]}"
    d["source"] = attempt(source, {}, "source")  # absent for assembly and user frames: no error
    d["stack"] = place(f.sp, task_stack, ranges) if isinstance(d["sp"], str) else None
    if i == 0 or d["interrupted"]:
        d["registers"] = attempt(lambda: regs_hex(f), errs, "registers")
    d["errors"] = errs
    return d


def trace_entry(prog, task, task_stack, ranges):
    t0 = time.monotonic()
    out = {}
    try:
        trace = prog.stack_trace(task)
    except Exception as e:
        out["error"] = part_error(e)
        out["frame_count"] = 0
        out["frames"] = []
        return out
    out["error"] = None
    frames = []
    n = 0
    try:
        n = len(trace)
        for i in range(n):
            f = trace[i]
            entry = frame_entry(prog, i, f, task_stack, ranges)
            frames.append(entry)
            pc = entry["pc"]
            if len(frames) >= MAX_FRAMES or (isinstance(pc, str) and int(pc, 16) < USER_TOP):
                break
    except Exception as e:
        out["error"] = part_error(e)
    out["frame_count"] = n
    out["omitted"] = n - len(frames)
    out["seconds"] = round(time.monotonic() - t0, 4)
    out["frames"] = frames
    return out


def task_lists(prog):
    """Every thread: the processes of init_task.tasks, and each one's threads (signal->thread_head
    on >= 6.7, else the task's thread_group list)."""
    from drgn.helpers.linux.list import list_for_each_entry
    init = prog["init_task"]
    for p in list_for_each_entry("struct task_struct", init.tasks.address_of_(), "tasks"):
        try:
            head = p.signal.thread_head.address_of_()
            yield from list_for_each_entry("struct task_struct", head, "thread_node")
        except AttributeError:
            yield p
            yield from list_for_each_entry("struct task_struct", p.thread_group.address_of_(), "thread_group")


# ---- main -----------------------------------------------------------------------------------
def main():
    dump, vmlinux, out, stamp = sys.argv[1:5]
    t_start = time.monotonic()
    res = {"oracle_stamp": stamp, "tool": f"drgn {drgn.__version__}", "dump": os.path.abspath(dump),
           "vmlinux": os.path.abspath(vmlinux)}
    prog = Program()
    try:
        prog.set_core_dump(dump)
    except Exception as e:
        res["open_error"] = err_text(e)
        return write(out, res, [])
    res["open_error"] = None
    try:
        prog.load_debug_info([vmlinux])
    except drgn.MissingDebugInfoError as e:
        res["missing_debug_info"] = str(e)
    t_open = time.monotonic() - t_start
    res["format"] = "Samples/oracles/BT.md"

    from drgn.helpers.linux.cpumask import for_each_online_cpu, for_each_possible_cpu
    from drgn.helpers.linux.pid import for_each_task
    from drgn.helpers.linux.sched import cpu_curr, idle_task, task_cpu, task_state_to_char

    errors = {}
    res["release"] = attempt(lambda: prog["init_uts_ns"].name.release.string_().decode(), errors, "release")
    res["panic_cpu"] = attempt(lambda: prog["panic_cpu"].counter.value_(), errors, "panic_cpu")
    res["crashing_cpu"] = attempt(lambda: prog["crashing_cpu"].value_(), errors, "crashing_cpu")
    possible = attempt(lambda: list(for_each_possible_cpu(prog)), errors, "possible_cpus") or []
    online = attempt(lambda: list(for_each_online_cpu(prog)), errors, "online_cpus") or []
    res["possible_cpus"], res["online_cpus"] = possible, online
    try:
        task_size = drgn.sizeof(prog.type("union thread_union"))
    except Exception:
        task_size = TASK_STACK_FALLBACK
    res["thread_size"] = task_size
    res["max_frames"] = MAX_FRAMES

    def crashed():
        t = prog.crashed_thread()
        o = t.object
        return {"tid": t.tid, "task": hex(o.value_()), "comm": o.comm.string_().decode(),
                "cpu": task_cpu(o)}
    res["crashed_thread"] = attempt(crashed, errors, "crashed_thread")
    crashed_task = (res["crashed_thread"] or {}).get("task")

    ranges, range_errors = stack_ranges(prog, possible)
    if range_errors:
        errors["stack_ranges"] = range_errors

    cpus = []
    active = {}
    for cpu in possible:
        c = {"cpu": cpu, "online": cpu in online}
        e = {}
        cur = attempt(lambda: cpu_curr(prog, cpu), e, "current")
        idle = attempt(lambda: idle_task(prog, cpu), e, "idle")
        if cur is not None:
            c["current"] = hex(cur.value_())
            c["current_pid"] = attempt(lambda: cur.pid.value_(), e, "current_pid")
            c["current_comm"] = attempt(lambda: cur.comm.string_().decode(), e, "current_comm")
            active[cur.value_()] = cpu
        c["idle"] = hx(idle.value_()) if idle is not None else None
        c["stacks"] = {f"{label}": [hex(lo), hex(hi)] for label, lo, hi in ranges.get(cpu, [])}
        c["errors"] = e
        cpus.append(c)
    res["cpus"] = cpus

    # idle tasks first (swapper/N, pid 0), then for_each_task in pid order
    tasks = []
    seen = set()
    for cpu in possible:
        try:
            t = idle_task(prog, cpu)
            if t.value_() not in seen:
                seen.add(t.value_())
                tasks.append((t, True))
        except Exception as e:
            errors[f"idle_task({cpu})"] = part_error(e)
    rest = []
    res["task_source"] = "for_each_task"
    try:
        for t in for_each_task(prog):
            rest.append(t)
    except Exception as e:
        # e.g. a pid xarray node in a page makedumpfile -d 31 left out: walk the task lists
        errors["for_each_task"] = part_error(e)
        res["task_source"] = "for_each_task failed; init_task.tasks + signal->thread_head"
        try:
            for t in task_lists(prog):  # keeps what it found before a failure
                rest.append(t)
        except Exception as e2:
            errors["task_lists"] = part_error(e2)
    def order(t):
        # A task_struct in a page makedumpfile -d 31 left out has no readable pid: sort it
        # last by address; its entry records the fault (the 6.12 -d31 dumps drop different
        # slab pages on every boot).
        try:
            return (0, t.pid.value_(), t.value_())
        except Exception:
            return (1, 0, t.value_())

    for t in sorted(rest, key=order):
        if t.value_() not in seen:
            seen.add(t.value_())
            tasks.append((t, False))

    t_tasks = time.monotonic()
    entries = []
    for t, is_idle in tasks:
        e = {}
        addr = t.value_()
        d = {"task": hex(addr)}
        d["pid"] = attempt(lambda: t.pid.value_(), e, "pid")
        d["tgid"] = attempt(lambda: t.tgid.value_(), e, "tgid")
        d["comm"] = attempt(lambda: t.comm.string_().decode(), e, "comm")
        d["idle"] = is_idle
        d["state"] = attempt(lambda: task_state_to_char(t), e, "state")
        d["on_cpu"] = attempt(lambda: t.on_cpu.value_(), e, "on_cpu")
        d["cpu"] = attempt(lambda: task_cpu(t), e, "cpu")
        d["active_cpu"] = active.get(addr)
        d["panic"] = hex(addr) == crashed_task
        stack = attempt(lambda: t.stack.value_(), e, "stack")
        d["stack_base"] = hx(stack)
        d["thread_sp"] = attempt(lambda: hex(t.thread.sp.value_()), e, "thread_sp")
        d["errors"] = e
        task_stack = (stack, stack + task_size) if stack else None
        d.update(trace_entry(prog, t, task_stack, ranges))
        entries.append(d)
    res["task_count"] = len(entries)
    res["errors"] = errors
    res["timing_seconds"] = {"open": round(t_open, 3), "traces": round(time.monotonic() - t_tasks, 3),
                             "total": round(time.monotonic() - t_start, 3)}
    write(out, res, entries)


KEY_ORDER = ("oracle_stamp", "tool", "dump", "vmlinux", "open_error", "missing_debug_info", "format",
             "timing_seconds", "release", "panic_cpu", "crashing_cpu", "possible_cpus", "online_cpus",
             "thread_size", "max_frames", "crashed_thread", "errors", "task_source", "task_count", "cpus")


def write(out, res, tasks):
    """One key per line; a task's fields on one line, then its frames one per line."""
    lines = []
    keys = [k for k in KEY_ORDER if k in res] + [k for k in res if k not in KEY_ORDER]
    for k in keys:
        if k == "cpus":
            body = ",\n".join(" " + json.dumps(c) for c in res[k])
            lines.append(f'"cpus":[\n{body}\n]')
        else:
            lines.append(f"{json.dumps(k)}:{json.dumps(res[k])}")
    if "open_error" in res and res["open_error"] is None:
        blocks = []
        for t in tasks:
            head = {k: v for k, v in t.items() if k != "frames"}
            frames = ",\n".join("  " + json.dumps(f) for f in t["frames"])
            blocks.append(" " + json.dumps(head)[:-1] + ',"frames":[\n' + frames + "\n ]}")
        lines.append('"tasks":[\n' + ",\n".join(blocks) + "\n]")
    tmp = out + ".tmp"
    with open(tmp, "w") as f:
        f.write("{\n" + ",\n".join(lines) + "\n}\n")
    os.replace(tmp, out)


if __name__ == "__main__":
    main()
