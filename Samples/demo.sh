#!/bin/bash
# The main job on the default sample: installs what is needed, builds the 6.12 QEMU sample
# (cached), builds kdig in release mode, then shows the machine, a few lookups, the
# translation of the read-only IDT alias, the IDT verification, every CPU's entry state, the
# end of the kernel log and the panicking task's backtrace.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash Samples/build-deps.sh
bash Samples/make-samples.sh 6.12-qemu-elf
swift build -c release --static-swift-stdlib --product kdig
CACHE=${KDIG_CACHE:-$HOME/.cache/kdig}
export KDIG_DUMP=$CACHE/samples/6.12-qemu-elf.vmcore
KDIG_VMLINUX=$(python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); print(next(s["vmlinux"] for s in m["samples"] if s["name"]=="6.12-qemu-elf"))' "$CACHE/samples/manifest.json")
export KDIG_VMLINUX
kdig=.build/release/kdig
set -x
$kdig info
$kdig sym idt_table
$kdig rd -64 linux_banner 4
$kdig p init_mm.pgd
$kdig vtop 0xfffffe0000000000
$kdig idt --verify-ro
{ set +x; } 2>/dev/null
summary=$($kdig cea --verify)   # every CPU's cpu_entry_area, GDT and TSS: the summary line
echo "+ $kdig cea --verify   # first line: ${summary%%$'\n'*}"
set -x
$kdig tss --cpu 0
$kdig log | tail -n 4
$kdig bt
