#!/bin/bash
# crash vtop oracle: raw output of crash 8.0.2 running "vtop ADDR" for the addresses of a
# drgn vtop list (<sample>.vtop.drgn.json, see vtop_drgn.py), in one crash session.
# usage: vtop_crash.sh DUMP VMLINUX LIST.vtop.drgn.json OUT STAMP
# LIST is the sample's own drgn vtop oracle, or that of the unit's primary when drgn cannot
# open the sample (same memory, same addresses). Every address of the list is run in list
# order, except the "user" region: only every USER_EVERY-th one (crash 8.0.2 fails on user
# addresses of 6.1 kernels: "invalid structure member offset: mm_struct_mmap", 0.13 s each).
# Then "vtop -c PID ADDR" for a few task_vtop entries per PID. crash runs without -s, so
# every command's output follows its own "crash> CMD" prompt line. A failing crash, or a
# list without addresses, is a result too: it is recorded and we exit 0.
set -uo pipefail
dump=$(readlink -f "$1") vmlinux=$(readlink -f "$2") list=$(readlink -m "$3") out=$4 stamp=$5
TIMEOUT=${KDIG_VTOP_CRASH_TIMEOUT:-1800}  # ~10,000 vtops take ~13 s (6 s of it crash's startup)
USER_EVERY=16  # run every 16th "user" address only (crash fails on all of them, slowly)
TASK_CMDS=3    # per PID in task_vtop: the first 3 user and the first 3 kernel addresses
wd=$(mktemp -d)  # crash runs in an empty directory (it reads ./.crashrc)
trap 'rm -rf "$wd"' EXIT

python3 - "$list" "$USER_EVERY" "$TASK_CMDS" >"$wd/cmds" 2>"$wd/list.err" <<'PY'
import json, sys
try:
    d = json.load(open(sys.argv[1]))
except (OSError, ValueError) as e:
    sys.exit(str(e))
if d.get("open_error") or not d.get("addresses"):
    sys.exit(f"no addresses in {sys.argv[1]}: {d.get('open_error')}")
user = 0
for a, region, *_ in d["addresses"]:
    if region == "user":
        user += 1
        if user % int(sys.argv[2]):
            continue
    print(f"vtop {int(a, 16):x}")
per_pid = {}
for pid, a, kind, *_ in d.get("task_vtop", []):
    k = per_pid.setdefault(pid, {"user": 0, "kernel": 0})
    key = "kernel" if kind == "kernel" else "user"
    if k[key] < int(sys.argv[3]):
        k[key] += 1
        print(f"vtop -c {pid} {int(a, 16):x}")
print("exit")
PY
if [[ ! -s $wd/cmds ]]; then
    { echo "# oracle_stamp: $stamp"; echo "# no address list: $(tail -n1 "$wd/list.err")"; } >"$out.tmp"
    mv -f "$out.tmp" "$out"
    exit 0
fi

n=$(grep -c '^vtop' "$wd/cmds")
{
    echo "# oracle_stamp: $stamp"
    echo "# command: timeout $TIMEOUT crash $vmlinux $dump -i CMDS"
    echo "# addresses: $list ($n vtop commands, sha256 of CMDS $(sha256sum "$wd/cmds" | cut -c1-64))"
    start=$(date +%s.%N)
    (cd "$wd" && timeout "$TIMEOUT" crash "$vmlinux" "$dump" -i "$wd/cmds" </dev/null 2>&1)
    rc=$?
    echo "# exit status: $rc"
    echo "# elapsed seconds: $(python3 -c 'import sys; print(round(float(sys.argv[2]) - float(sys.argv[1]), 1))' "$start" "$(date +%s.%N)")"
} >"$out.tmp"
mv -f "$out.tmp" "$out"
