#!/bin/bash
# Regenerates the sample that ships in git (Samples/shipped/): a `kdig extract` of the real
# 6.12 QEMU sample, with the console log of that same boot (the oracle the shipped-sample
# tests compare with). Not run by CI: run it when the extract format or what `extract`
# keeps changes, and commit the two files. Needs what make-samples.sh needs.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash Samples/build-deps.sh
bash Samples/make-samples.sh 6.12-qemu-elf
swift build --product kdig
CACHE=${KDIG_CACHE:-$HOME/.cache/kdig}
vmlinux=$(python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); print(next(s["vmlinux"] for s in m["samples"] if s["name"]=="6.12-qemu-elf"))' "$CACHE/samples/manifest.json")
.build/debug/kdig extract --dump "$CACHE/samples/6.12-qemu-elf.vmcore" --vmlinux "$vmlinux" \
    -o Samples/shipped/6.12-qemu-elf.kdump
# The serial console ends lines with CR LF; git keeps the file as the guest wrote it.
cp "$CACHE/samples/6.12-qemu-elf.console.log" Samples/shipped/6.12-qemu-elf.console.log
ls -l Samples/shipped/
