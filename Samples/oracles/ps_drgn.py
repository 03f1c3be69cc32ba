#!/usr/bin/env python3
"""drgn ps oracle: what drgn 0.3.0's crash-compatible `ps` shows of every task of one dump.

usage: ps_drgn.py DUMP VMLINUX OUT.json STAMP
Runs under $CACHE/venv-drgn/bin/python (drgn 0.3.0, stdlib otherwise).

drgn's `crash ps` (drgn/commands/_crash/_ps.py) prints, per task of for_each_task(idle=True):
task.parent.pid, task_cpu(), task_state_to_char(), task_rss().total / totalram_pages(),
task_vsize(), task_is_kthread() (brackets) and task_on_cpu() (the ">"). The command stops at
the first task it cannot read (filtered dumps), so this script calls the same helpers per task
(and reads task.tgid, for ps -G) and records each field's failure; "ps_text" is the command's own output (or its error).
Tasks: the idle task of every possible CPU (idle_task(cpu): for_each_task gives only the online
CPUs'), then for_each_task in PID order. "curr": rq->curr of every possible CPU (cpu_curr).
open_error is non-null when drgn cannot open the dump; then no other key follows.
"""
import contextlib
import io
import json
import os
import sys
import time

import drgn
from drgn_common import attempt, err_text, open_program, part_error


def run(prog, res):
    from drgn.commands import run_command
    from drgn.helpers.linux.cpumask import for_each_possible_cpu
    from drgn.helpers.linux.kthread import task_is_kthread
    from drgn.helpers.linux.mm import task_rss, task_vsize, totalram_pages
    from drgn.helpers.linux.pid import for_each_task
    from drgn.helpers.linux.sched import cpu_curr, idle_task, task_cpu, task_on_cpu, task_state_to_char

    errors = {}
    res["totalram_pages"] = attempt(lambda: totalram_pages(prog), errors, "totalram_pages")
    possible = attempt(lambda: list(for_each_possible_cpu(prog)), errors, "possible_cpus") or []
    res["possible_cpus"] = possible
    res["curr"] = {str(c): attempt(lambda: hex(cpu_curr(prog, c).value_()), errors, f"curr{c}") for c in possible}
    buf = io.StringIO()
    try:
        with contextlib.redirect_stdout(buf):
            run_command(prog, "crash ps", globals={})
        res["ps_text"], res["ps_error"] = buf.getvalue(), None
    except Exception as e:
        res["ps_text"], res["ps_error"] = buf.getvalue(), err_text(e)

    tasks, seen = [], set()
    idle = []
    for c in possible:
        t = attempt(lambda: idle_task(prog, c), errors, f"idle{c}")
        if t is not None:
            idle.append(t)
    try:
        listed = list(for_each_task(prog))
    except Exception as e:
        errors["for_each_task"] = part_error(e)
        listed = []
    for t in idle + listed:
        a = t.value_()
        if a in seen:
            continue
        seen.add(a)
        e = {}
        d = {"task": hex(a)}
        d["pid"] = attempt(lambda: t.pid.value_(), e, "pid")
        d["tgid"] = attempt(lambda: t.tgid.value_(), e, "tgid")
        d["ppid"] = attempt(lambda: t.parent.pid.value_(), e, "ppid")
        d["cpu"] = attempt(lambda: task_cpu(t), e, "cpu")
        d["state"] = attempt(lambda: task_state_to_char(t), e, "state")
        d["kthread"] = attempt(lambda: task_is_kthread(t), e, "kthread")
        d["on_cpu"] = attempt(lambda: bool(task_on_cpu(t)), e, "on_cpu")
        d["rss_pages"] = attempt(lambda: task_rss(prog, t).total, e, "rss")
        d["vsize"] = attempt(lambda: task_vsize(t), e, "vsize")
        d["comm"] = attempt(lambda: t.comm.string_().decode(errors="replace"), e, "comm")
        d["idle"] = t in idle
        d["errors"] = e
        tasks.append(d)
    res["errors"] = errors
    res["tasks"] = tasks


def main():
    dump, vmlinux, out, stamp = sys.argv[1:5]
    t0 = time.monotonic()
    res = {"oracle_stamp": stamp, "tool": f"drgn {drgn.__version__}", "dump": os.path.abspath(dump),
           "vmlinux": os.path.abspath(vmlinux)}
    prog = open_program(dump, vmlinux, res)
    if prog is not None:
        run(prog, res)
        res["seconds"] = round(time.monotonic() - t0, 3)
    tmp = out + ".tmp"
    with open(tmp, "w") as f:
        # One key per line and one task per line: readable in a diff.
        lines = [f"{json.dumps(k)}:{json.dumps(v)}" for k, v in res.items() if k != "tasks"]
        if "tasks" in res:
            lines.append('"tasks":[\n' + ",\n".join(" " + json.dumps(t) for t in res["tasks"]) + "\n]")
        f.write("{\n" + ",\n".join(lines) + "\n}\n")
    os.replace(tmp, out)


if __name__ == "__main__":
    main()
