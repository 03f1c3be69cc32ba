#!/bin/bash
# crash backtrace oracle: raw output of crash 8.0.2 running its backtrace and log commands on
# one dump (bt_crash.cmds), in one crash session. Run where the crash oracle works (6.1 samples).
# usage: bt_crash.sh DUMP VMLINUX OUT STAMP
# crash runs without -s, so every command's output follows its own "crash> CMD" prompt line.
# A failing crash is a result too: it is recorded and we exit 0. Format: oracles/BT.md.
set -uo pipefail
dump=$(readlink -f "$1") vmlinux=$(readlink -f "$2") out=$3 stamp=$4
cmds=$(cd "$(dirname "$0")" && pwd)/bt_crash.cmds
TIMEOUT=${KDIG_BT_CRASH_TIMEOUT:-300}  # takes ~7 s (6 s of it crash's startup)
wd=$(mktemp -d)  # crash runs in an empty directory (it reads ./.crashrc)
trap 'rm -rf "$wd"' EXIT
grep -v '^#' "$cmds" >"$wd/cmds"
{
    echo "# oracle_stamp: $stamp"
    echo "# command: timeout $TIMEOUT crash $vmlinux $dump -i $cmds"
    start=$(date +%s.%N)
    (cd "$wd" && timeout "$TIMEOUT" crash "$vmlinux" "$dump" -i "$wd/cmds" </dev/null 2>&1)
    rc=$?
    echo "# exit status: $rc"
    echo "# elapsed seconds: $(python3 -c 'import sys; print(round(float(sys.argv[2]) - float(sys.argv[1]), 1))' "$start" "$(date +%s.%N)")"
} >"$out.tmp"
mv -f "$out.tmp" "$out"
