#!/bin/bash
# kdig's main job. By default on the sample that ships in git (Samples/shipped/, a
# `kdig extract` of a real 6.12 QEMU dump): nothing is downloaded or booted and no vmlinux is
# used (symbols from the dump's kallsyms, types from its BTF). With --full, on the whole
# 512 MiB dump that make-samples.sh builds, with its vmlinux.
# Shows the machine, a few lookups, the translation of the read-only IDT alias, the IDT
# verification, every CPU's entry state, the end of the kernel log and the panicking task's
# backtrace.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash Samples/build-deps.sh
if [[ ${1:-} == --full ]]; then
    bash Samples/make-samples.sh 6.12-qemu-elf
    CACHE=${KDIG_CACHE:-$HOME/.cache/kdig}
    export KDIG_DUMP=$CACHE/samples/6.12-qemu-elf.vmcore
    KDIG_VMLINUX=$(python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); print(next(s["vmlinux"] for s in m["samples"] if s["name"]=="6.12-qemu-elf"))' "$CACHE/samples/manifest.json")
    export KDIG_VMLINUX
    mode=()
else
    export KDIG_DUMP=Samples/shipped/6.12-qemu-elf.kdump
    mode=(--no-vmlinux)
fi
swift build -c release --static-swift-stdlib --product kdig
kdig=.build/release/kdig
set -x
$kdig info "${mode[@]}"
$kdig sym idt_table "${mode[@]}"
$kdig rd -64 linux_banner 4 "${mode[@]}"
$kdig p init_mm.pgd "${mode[@]}"
$kdig vtop 0xfffffe0000000000 "${mode[@]}"
$kdig idt --verify-ro "${mode[@]}"
{ set +x; } 2>/dev/null
summary=$($kdig cea --verify "${mode[@]}")   # every CPU's cpu_entry_area, GDT and TSS: the summary line
echo "+ $kdig cea --verify ${mode[*]}   # first line: ${summary%%$'\n'*}"
set -x
$kdig tss --cpu 0 "${mode[@]}"
$kdig log "${mode[@]}" | tail -n 4
$kdig bt "${mode[@]}"
