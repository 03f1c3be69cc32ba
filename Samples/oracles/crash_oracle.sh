#!/bin/bash
# crash oracle: raw output of crash 8.0.2 running crash.cmds on one dump.
# usage: crash_oracle.sh DUMP VMLINUX OUT STAMP
# A failing crash (e.g. on 6.12: "invalid structure member offset") is a
# result too: its output and exit status are recorded, and we exit 0.
set -uo pipefail
dump=$(readlink -f "$1") vmlinux=$(readlink -f "$2") out=$3 stamp=$4
cmds=$(cd "$(dirname "$0")" && pwd)/crash.cmds
wd=$(mktemp -d)  # crash runs in an empty directory (it reads ./.crashrc)
export TZ=UTC    # `sys` DATE and `log -T` print local time: make it the same on every host
trap 'rm -rf "$wd"' EXIT
# -s hides the prompt, so each command is preceded by a marker line "crash> CMD".
while read -r c; do printf '!echo "crash> %s"\n%s\n' "$c" "$c"; done <"$cmds" >"$wd/cmds"
{
    echo "# oracle_stamp: $stamp"
    echo "# command: timeout 120 crash -s $vmlinux $dump -i $cmds"
    (cd "$wd" && timeout 120 crash -s "$vmlinux" "$dump" -i "$wd/cmds" </dev/null 2>&1)
    rc=$?
    echo "# exit status: $rc"
    if (( rc != 0 )); then
        # Some early errors (e.g. "read error: kernel virtual address") are only printed with -d.
        echo "# crash failed; its last lines with -d 1:"
        (cd "$wd" && timeout 120 crash -d 1 -s "$vmlinux" "$dump" -i "$wd/cmds" </dev/null 2>&1) |
            grep -v '^$' | tail -n 5
    fi
} >"$out.tmp"
mv -f "$out.tmp" "$out"
