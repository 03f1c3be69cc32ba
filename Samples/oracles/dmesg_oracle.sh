#!/bin/bash
# makedumpfile oracle: the kernel log that makedumpfile 1.7.2 extracts from a
# dump (--dump-dmesg). It cannot read every format (QEMU ELF: "Can't get the
# number of PT_LOAD"); failures are recorded with their messages, exit 0.
# usage: dmesg_oracle.sh DUMP OUT STAMP
set -uo pipefail
dump=$1 out=$2 stamp=$3
log=$(mktemp)
{
    echo "# oracle_stamp: $stamp"
    echo "# command: makedumpfile --dump-dmesg $dump"
    timeout 120 makedumpfile --dump-dmesg "$dump" "$log.txt" >"$log" 2>&1
    echo "# exit status: $?"
    echo "# makedumpfile messages:"
    cat "$log"
    echo "# log text:"
    [[ -f $log.txt ]] && cat "$log.txt"
} >"$out.tmp"
rm -f "$log" "$log.txt"
mv -f "$out.tmp" "$out"
