#!/bin/bash
# crash per-CPU oracle: raw output of crash 8.0.2 printing the per-CPU entry state (the objects
# of percpu_drgn.py) of one dump, in one crash session.
# usage: percpu_crash.sh DUMP VMLINUX LIST.percpu.drgn.json OUT STAMP
# Fixed commands: mach, kmem -o, "p -x SYM:a" for every per-CPU symbol of the entry state
# (cpu_tss_rw, gdt_page, cpu_tlbstate, pcpu_hot, and the separate variables of kernels before
# pcpu_hot), panic_cpu, crashing_cpu. Then, per CPU of LIST (the sample's own drgn percpu
# oracle, or the unit primary's when drgn cannot open the sample: same memory, same
# addresses), raw reads: "rd -64" of the GDT through gdt_page and through the CEA alias (16
# descriptors), of struct x86_hw_tss through cpu_tss_rw and the alias (13 quadwords), and
# "struct task_struct.pid,comm" of the current task. A symbol the kernel lacks gives crash's
# own error ("p: gdb request failed: ..."), kept in the output. crash runs without -s, so every
# command's output follows its own "crash> CMD" prompt line. A failing crash is a result too:
# it is recorded and we exit 0.
set -uo pipefail
dump=$(readlink -f "$1") vmlinux=$(readlink -f "$2") list=$(readlink -m "$3") out=$4 stamp=$5
TIMEOUT=${KDIG_PERCPU_CRASH_TIMEOUT:-300}  # takes ~6 s (crash's startup)
wd=$(mktemp -d)  # crash runs in an empty directory (it reads ./.crashrc)
trap 'rm -rf "$wd"' EXIT

{
    echo mach
    echo "kmem -o"
    for s in cpu_tss_rw gdt_page cpu_tlbstate pcpu_hot current_task __preempt_count cpu_number \
             cpu_current_top_of_stack hardirq_stack_ptr hardirq_stack_inuse irq_stat \
             cea_exception_stacks _cea_offset; do
        echo "p -x $s:a"
    done
    echo "p panic_cpu"
    echo "p crashing_cpu"
} >"$wd/cmds"

python3 - "$list" >>"$wd/cmds" 2>"$wd/list.err" <<'PY'
import json, sys
try:
    d = json.load(open(sys.argv[1]))
except (OSError, ValueError) as e:
    sys.exit(str(e))
if d.get("open_error") or not d.get("cpus"):
    sys.exit(f"no CPUs in {sys.argv[1]}: {d.get('open_error')}")
for c in d["cpus"]:
    def addr(*keys):
        v = c
        for k in keys:
            v = v.get(k) if isinstance(v, dict) else None
        return int(v, 16) if isinstance(v, str) else None
    for a, n in ((addr("gdt", "address"), 16), (addr("gdt_alias", "address"), 16),
                 (addr("tss", "address"), 13), (addr("tss_alias", "address"), 13)):
        if a is not None:
            print(f"rd -64 {a:x} {n}")
    t = addr("current", "task")
    if t:
        print(f"struct task_struct.pid,comm {t:x}")
PY
echo exit >>"$wd/cmds"

n=$(grep -c '^rd' "$wd/cmds")
{
    echo "# oracle_stamp: $stamp"
    echo "# command: timeout $TIMEOUT crash $vmlinux $dump -i CMDS"
    if [[ -s $wd/list.err ]]; then
        echo "# addresses: none ($(tail -n1 "$wd/list.err")); fixed commands only"
    else
        echo "# addresses: $list ($n rd commands)"
    fi
    start=$(date +%s.%N)
    (cd "$wd" && timeout "$TIMEOUT" crash "$vmlinux" "$dump" -i "$wd/cmds" </dev/null 2>&1)
    rc=$?
    echo "# exit status: $rc"
    echo "# elapsed seconds: $(python3 -c 'import sys; print(round(float(sys.argv[2]) - float(sys.argv[1]), 1))' "$start" "$(date +%s.%N)")"
} >"$out.tmp"
mv -f "$out.tmp" "$out"
