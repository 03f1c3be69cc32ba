#!/bin/bash
# Build kdig's real sample dumps and their oracle outputs into a cache outside git.
# See Samples/README.md. Idempotent: whatever exists is reused.
#
# usage: make-samples.sh [--list] [--rebuild] [--bench] [NAME...]
#   NAME...    build only these samples (and the others of their unit, see samples.tsv)
#   --list     print the sample names and exit (with --bench: the benchmark-only ones)
#   --rebuild  delete the named samples' units first, then build them again
#   --bench    the benchmark-only samples (set bench: 16 GiB guest), into bench-manifest.json
# env: KDIG_CACHE (default $HOME/.cache/kdig)
set -euo pipefail

SAMPLES_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${KDIG_CACHE:-$HOME/.cache/kdig}
OUT=$CACHE/samples
BOOT_TIMEOUT=${KDIG_BOOT_TIMEOUT:-180}     # one TCG boot to panic takes ~5-15 s
KEXEC_TIMEOUT=${KDIG_KEXEC_TIMEOUT:-600}   # boot + kexec + capture kernel writing four dumps (~80 s)
# shellcheck source=lib/common.sh
source "$SAMPLES_DIR/lib/common.sh"
source "$SAMPLES_DIR/lib/setup.sh"
source "$SAMPLES_DIR/lib/initramfs.sh"

# ---- the sample table (samples.tsv) ------------------------------------------
NAMES=()
declare -A KERNEL UNIT RECIPE FORMAT CODEC LEVEL CPU MEM VMCI LEVELS KASLR PTI CMDLINE SMP TRIGGER SET
while IFS=$'\t' read -r name kernel unit recipe format codec level _producer cpu mem vmci levels kaslr pti cmdline smp trigger set; do
    [[ -z $name || $name == \#* || $name == name ]] && continue
    NAMES+=("$name")
    KERNEL[$name]=$kernel UNIT[$name]=$unit RECIPE[$name]=$recipe FORMAT[$name]=$format
    CODEC[$name]=$codec LEVEL[$name]=$level CPU[$name]=$cpu MEM[$name]=$mem VMCI[$name]=$vmci
    LEVELS[$name]=$levels KASLR[$name]=$kaslr PTI[$name]=$pti CMDLINE[$name]=$cmdline
    SMP[$name]=${smp:-2}  # optional trailing column (older rows have none): QEMU -smp
    TRIGGER[$name]=${trigger:-init}  # optional trailing column: who makes the guest panic
    SET[$name]=${set:-default}  # optional trailing column: bench = only with --bench
done <"$SAMPLES_DIR/samples.tsv"

set_members() { local n; for n in "${NAMES[@]}"; do [[ ${SET[$n]} == "$1" ]] && echo "$n"; done; return 0; }
unit_members() { local n; for n in "${NAMES[@]}"; do [[ ${UNIT[$n]} == "$1" ]] && echo "$n"; done; return 0; }
# A unit's recipe: its rows of samples.tsv and the scripts that shape the guest. A cached unit
# whose recipe changed is rebuilt, so a CI cache never holds samples of an old recipe. Units
# panicked by the host (trigger sysrq-key/nmi) add their own guest /init and QMP driver; the
# recipe of the other units is what it was before those existed.
unit_recipe() {
    local extra=()
    [[ ${TRIGGER[$(unit_members "$1" | head -n1)]} == init ]] ||
        extra=("$SAMPLES_DIR"/lib/{guest-idle.sh,qemu_trigger.py})
    { grep -P "^[^\t]*\t[^\t]*\t$1\t" "$SAMPLES_DIR/samples.tsv"
      cat "$SAMPLES_DIR"/lib/{guest-init.sh,initramfs.sh,qemu_boot.py,qmp.py} "${extra[@]}"; } | sha256sum | cut -d' ' -f1
}
unit_complete() {
    local n
    [[ -f $OUT/$1.recipe && $(cat "$OUT/$1.recipe") == "$(unit_recipe "$1")" ]] || return 1
    for n in $(unit_members "$1"); do [[ -f $OUT/$n.vmcore ]] || return 1; done
}
kernel_dir_for() { echo "$CACHE/kernels/${KERNEL_RELEASE[${KERNEL[$1]}]}"; }

# ---- checks on a fresh dump (before it is published) ---------------------------
# A failed unit keeps its console in $CACHE/failed/ and shows its tail.
unit_fail() { # UNIT CONSOLE MESSAGE
    mkdir -p "$CACHE/failed"
    [[ -f $2 ]] && cp "$2" "$CACHE/failed/$1.console.log" && show_tail "$2" 20
    die "$1: $3 (console kept in $CACHE/failed/$1.console.log)"
}

check_console() { # NAME LOG
    local n=$1 log=$2
    grep -aq 'Linux version' "$log" || unit_fail "${UNIT[$n]}" "$log" "no 'Linux version' on the console"
    if [[ ${PTI[$n]} == off ]] && grep -aq 'page tables isolation: enabled' "$log"; then
        unit_fail "${UNIT[$n]}" "$log" "PTI enabled despite pti=off"
    fi
    if [[ ${PTI[$n]} == default && ${CPU[$n]} == *GenuineIntel* ]] && ! grep -aq 'page tables isolation: enabled' "$log"; then
        unit_fail "${UNIT[$n]}" "$log" "PTI not enabled on an Intel guest"
    fi
    # A panic in interrupt context: the right panic, and the kernel's own call trace crossed
    # into the interrupt's stack (<IRQ> / <NMI> in the "Call Trace:").
    case ${TRIGGER[$n]} in
        sysrq-key)
            grep -aq 'Kernel panic - not syncing: sysrq triggered crash' "$log" ||
                unit_fail "${UNIT[$n]}" "$log" "no sysrq panic after the key press"
            grep -aq '<IRQ>' "$log" || unit_fail "${UNIT[$n]}" "$log" "the panic's call trace has no <IRQ>"
            ;;
        nmi)
            grep -aq 'Kernel panic - not syncing: NMI: Not continuing' "$log" ||
                unit_fail "${UNIT[$n]}" "$log" "no NMI panic after inject-nmi"
            grep -aq '<NMI>' "$log" || unit_fail "${UNIT[$n]}" "$log" "the panic's call trace has no <NMI>"
            ;;
    esac
    # With a capture kernel loaded, panic() kexecs before it prints "Kernel Offset".
    [[ ${RECIPE[$n]} == qmp ]] || return 0
    if [[ ${KASLR[$n]} == yes ]]; then
        grep -aq 'Kernel Offset: 0x' "$log" || unit_fail "${UNIT[$n]}" "$log" "no 'Kernel Offset: 0x...'"
    else
        grep -aq 'Kernel Offset: disabled' "$log" || unit_fail "${UNIT[$n]}" "$log" "no 'Kernel Offset: disabled'"
    fi
}

# The sample's console.log lies beside it in the unit's temp dir.
sample_fail() { unit_fail "${UNIT[$1]}" "$(dirname "$2")/console.log" "$1: $3"; }

check_sample() { # NAME FILE
    local n=$1 f=$2 vmci l5 want off
    vmci=$(python3 "$SAMPLES_DIR/lib/dumpfiles.py" vmcoreinfo "$f")
    if [[ ${VMCI[$n]} == no ]]; then
        [[ -z $vmci ]] || sample_fail "$n" "$f" "unexpected VMCOREINFO note"
    else
        [[ -n $vmci ]] || sample_fail "$n" "$f" "no VMCOREINFO in the dump"
        l5=$(sed -n 's/^NUMBER(pgtable_l5_enabled)=//p' <<<"$vmci")
        want=$([[ ${LEVELS[$n]} == 5 ]] && echo 1 || echo 0)
        [[ $l5 == "$want" ]] || sample_fail "$n" "$f" "VMCOREINFO pgtable_l5_enabled=$l5, expected $want"
        off=$(sed -n 's/^KERNELOFFSET=//p' <<<"$vmci")
        if [[ ${KASLR[$n]} == yes && $off == 0 ]] || [[ ${KASLR[$n]} == no && $off != 0 ]]; then
            sample_fail "$n" "$f" "VMCOREINFO KERNELOFFSET=$off does not fit kaslr=${KASLR[$n]}"
        fi
    fi
    if [[ ${FORMAT[$n]} == *flattened ]]; then
        [[ $(head -c 12 "$f") == makedumpfile ]] || sample_fail "$n" "$f" "not a flattened makedumpfile stream"
    fi
    # makedumpfile --dump-dmesg cannot read QEMU's kdump files ("Can't get the address of
    # system_utsname"): a rearranged one must at least be a compressed kdump file.
    if [[ ${FORMAT[$n]} == kdump-qemu ]]; then
        [[ $(head -c 8 "$f") == 'KDUMP   ' ]] || sample_fail "$n" "$f" "makedumpfile -R did not write a kdump file"
    fi
    case ${FORMAT[$n]} in
        elf-kdump|kdump)  # makedumpfile must be able to read what the capture kernel wrote
            makedumpfile --dump-dmesg "$f" "$f.dmesg" >"$f.check.log" 2>&1 ||
                { cat "$f.check.log" >&2; sample_fail "$n" "$f" "makedumpfile --dump-dmesg cannot read it"; }
            grep -q 'sysrq triggered crash' "$f.dmesg" || sample_fail "$n" "$f" "kernel log lacks the panic message"
            rm -f "$f.dmesg" "$f.check.log"
            ;;
    esac
}

# Move a finished unit into $OUT: console logs first, dumps last, so a unit is
# only complete (unit_complete) once everything is there.
finish_unit() { # TMPDIR NAME...
    local t=$1 n; shift
    for n in "$@"; do cp "$t/console.log" "$t/$n.console.log"; chmod 0644 "$t/$n.vmcore"; done
    for n in "$@"; do publish "$OUT" "$t/$n.console.log"; done
    for n in "$@"; do publish "$OUT" "$t/$n.vmcore"; done
    unit_recipe "${UNIT[$1]}" >"$OUT/${UNIT[$1]}.recipe"
    rm -rf -- "$t" "$CACHE/failed/${UNIT[$1]}.console.log"
}

# ---- recipe qmp: boot, panic, stop, dump once per sample ------------------------
build_qmp_unit() {
    local unit=$1 names n p kdir t args dumps=()
    mapfile -t names < <(unit_members "$unit")
    p=${names[0]} kdir=$(kernel_dir_for "${names[0]}")
    t=$(new_tmp "$unit")
    log "building $unit (${names[*]}) with $(basename "$kdir"), panic by ${TRIGGER[$p]}"
    if [[ ${TRIGGER[$p]} == init ]]; then
        build_qemu_initrd "$kdir" "$t/initrd.gz"
    else
        build_idle_initrd "$kdir" "$t/initrd.gz"
    fi
    args=(qemu-system-x86_64 -accel tcg -cpu "${CPU[$p]}" -smp "${SMP[$p]}" -m "${MEM[$p]}" -nodefaults
          -kernel "$kdir/vmlinuz" -initrd "$t/initrd.gz" -append "${CMDLINE[$p]}")
    [[ ${VMCI[$p]} == yes ]] && args+=(-device vmcoreinfo)
    for n in "${names[@]}"; do
        case ${FORMAT[$n]} in
            elf-qemu)             dumps+=(--dump "elf=$t/$n.vmcore") ;;
            kdump-qemu-flattened) dumps+=(--dump "kdump-${CODEC[$n]}=$t/$n.vmcore") ;;
            kdump-qemu)           ;;  # rearranged from the flattened dump below
            *) die "$n: format ${FORMAT[$n]} is not a QEMU dump" ;;
        esac
    done
    if [[ ${TRIGGER[$p]} == init ]]; then
        run_guest --console "$t/console.log" --timeout "$BOOT_TIMEOUT" \
            --wait 'end Kernel panic' --fail 'KDIG: FAIL' "${dumps[@]}" -- "${args[@]}" ||
            unit_fail "$unit" "$t/console.log" "guest run failed"
    else
        run_trigger_guest --console "$t/console.log" --timeout "$BOOT_TIMEOUT" --ready 'KDIG: idle' \
            --trigger "${TRIGGER[$p]}" --wait 'end Kernel panic' --fail 'KDIG: FAIL' "${dumps[@]}" \
            -- "${args[@]}" || unit_fail "$unit" "$t/console.log" "guest run failed"
    fi
    check_console "$p" "$t/console.log"
    for n in "${names[@]}"; do
        [[ ${FORMAT[$n]} == kdump-qemu ]] && rearrange_qemu_kdump "$t" "$n"
        # A benchmark guest's ELF is mostly zero pages: keep them as holes (16 GiB -> about 340 MiB on disk).
        [[ ${SET[$n]} == bench && ${FORMAT[$n]} == elf-qemu ]] && fallocate --dig-holes "$t/$n.vmcore"
        check_sample "$n" "$t/$n.vmcore"
    done
    finish_unit "$t" "${names[@]}"
}

# kdump-qemu: the unit's flattened QEMU dump of the same codec, rearranged to a normal kdump file.
rearrange_qemu_kdump() { # TMPDIR NAME
    local t=$1 n=$2 m
    for m in $(unit_members "${UNIT[$n]}"); do
        [[ ${FORMAT[$m]} == kdump-qemu-flattened && ${CODEC[$m]} == "${CODEC[$n]}" ]] || continue
        makedumpfile -R "$t/$n.vmcore" <"$t/$m.vmcore" >/dev/null || die "$n: makedumpfile -R failed"
        return 0
    done
    die "$n: its unit has no kdump-qemu-flattened ${CODEC[$n]} dump to rearrange"
}

# ---- trigger sysrq-key / nmi: the guest idles, the host makes it panic -----------------------
# (lib/guest-idle.sh as /init, lib/qemu_trigger.py as driver; initramfs.sh and qemu_boot.py
# stay as they are, so the recipe of every other unit is unchanged)
build_idle_initrd() { # build_idle_initrd KERNEL_DIR OUT
    local tree
    tree=$(mktemp -d "$CACHE/tmp/tree.XXXXXX")
    base_tree "$tree" "$1"
    install -m 0755 "$SAMPLES_DIR/lib/guest-idle.sh" "$tree/init"
    pack_tree "$tree" "$2"
    rm -rf -- "$tree"
}

# As run_guest (lib/common.sh), with lib/qemu_trigger.py.
run_trigger_guest() {
    local rc=0
    python3 "$SAMPLES_DIR/lib/qemu_trigger.py" "$@" &
    GUEST_PID=$!
    wait "$GUEST_PID" || rc=$?
    GUEST_PID=
    return "$rc"
}

# ---- recipe kexec: kdump capture kernel writes raw virtio disks -----------------
# Disk serial = job (see lib/guest-init.sh): elf (dd of /proc/vmcore) or
# <codec><level> (makedumpfile -F, flattened). The non-flattened samples are
# rebuilt on the host with makedumpfile -R from the same flattened stream.
job_of() { [[ ${FORMAT[$1]} == elf-kdump ]] && echo elf || echo "${CODEC[$1]}${LEVEL[$1]}"; }

build_kexec_unit() {
    local unit=$1 names n p kdir t args capture job jobs=() size got
    mapfile -t names < <(unit_members "$unit")
    p=${names[0]} kdir=$(kernel_dir_for "${names[0]}")
    t=$(new_tmp "$unit")
    log "building $unit (${names[*]}) with $(basename "$kdir"); takes a few minutes"
    # Capture kernel cmdline: the first one minus crashkernel=/panic=, plus the usual kdump options.
    capture="$(sed -E 's/(^| )(crashkernel|panic)=[^ ]*//g; s/^ +//' <<<"${CMDLINE[$p]}") irqpoll nr_cpus=1 reset_devices nousb panic=0"
    build_kexec_initrd "$kdir" "$capture" "$t/initrd.gz"
    args=(qemu-system-x86_64 -accel tcg -cpu "${CPU[$p]}" -smp "${SMP[$p]}" -m "${MEM[$p]}" -nodefaults
          -kernel "$kdir/vmlinuz" -initrd "$t/initrd.gz" -append "${CMDLINE[$p]}")
    for n in "${names[@]}"; do
        job=$(job_of "$n")
        [[ " ${jobs[*]} " == *" $job "* ]] && continue
        jobs+=("$job")
        truncate -s 1536M "$t/$job.img"  # sparse; larger than any dump of 1 GiB RAM
        args+=(-drive "file=$t/$job.img,format=raw,if=none,id=$job" -device "virtio-blk-pci,drive=$job,serial=$job")
    done
    run_guest --console "$t/console.log" --timeout "$KEXEC_TIMEOUT" \
        --until-exit --wait 'KDIG: capture done' --fail 'KDIG: FAIL' --fail 'end Kernel panic' \
        -- "${args[@]}" || unit_fail "$unit" "$t/console.log" "guest run failed"
    check_console "$p" "$t/console.log"
    for job in "${jobs[@]}"; do
        [[ $job == elf ]] || python3 "$SAMPLES_DIR/lib/dumpfiles.py" flat-from-disk "$t/$job.img" "$t/$job.flat"
    done
    for n in "${names[@]}"; do
        job=$(job_of "$n")
        case ${FORMAT[$n]} in
            elf-kdump)
                python3 "$SAMPLES_DIR/lib/dumpfiles.py" elf-from-disk "$t/elf.img" "$t/$n.vmcore"
                size=$(grep -ao 'vmcore size [0-9]*' "$t/console.log" | head -n1 | cut -d' ' -f3)
                got=$(stat -c %s "$t/$n.vmcore")
                [[ $got == "$size" ]] || die "$n: recovered $got bytes, /proc/vmcore had ${size:-?}"
                ;;
            kdump-flattened) cp --sparse=always "$t/$job.flat" "$t/$n.vmcore" ;;
            kdump) makedumpfile -R "$t/$n.vmcore" <"$t/$job.flat" >/dev/null ||
                       die "$n: makedumpfile -R failed" ;;
        esac
        check_sample "$n" "$t/$n.vmcore"
    done
    rm -f "$t"/*.img "$t"/*.flat
    finish_unit "$t" "${names[@]}"
}

# ---- oracles ---------------------------------------------------------------------
console_release() { grep -aom1 'Linux version [^ ]*' "$OUT/$1.console.log" | cut -d' ' -f3; }

# run_oracle OUTFILE SCRIPT... -- COMMAND...: COMMAND gets the stamp as its last
# argument; it is skipped when OUTFILE already carries the same stamp.
run_oracle() {
    local out=$1 sample=$2; shift 2
    local scripts=() stamp
    while [[ $1 != -- ]]; do scripts+=("$1"); shift; done; shift
    stamp="sha256:$(cat "${scripts[@]}" | sha256sum | cut -c1-64) sample:$(stat -c %s:%Y "$sample")"
    if [[ -f $out ]] && head -c 400 "$out" | grep -qF "$stamp"; then return 0; fi
    log "oracle $(basename "$out")"
    "$@" "$stamp" || die "oracle $(basename "$out") failed"
}

run_oracles() {
    local n=$1 f=$OUT/$1.vmcore o=$OUT/oracle/$1 od=$SAMPLES_DIR/oracles rel kdir
    [[ -f $f ]] || return 0
    [[ ${SET[$n]} == default ]] || return 0  # benchmark samples: timing only, no oracles
    rel=$(console_release "$n")
    kdir=$CACHE/kernels/$rel
    [[ -d $kdir ]] || extract_kernel "$rel"
    run_oracle "$o.drgn.json" "$f" "$od/drgn_oracle.py" -- \
        "$CACHE/venv-drgn/bin/python" "$od/drgn_oracle.py" "$f" "$kdir/vmlinux" "$kdir/System.map" "$o.drgn.json"
    run_oracle "$o.crash.txt" "$f" "$od/crash_oracle.sh" "$od/crash.cmds" -- \
        "$od/crash_oracle.sh" "$f" "$kdir/vmlinux" "$o.crash.txt"
    run_oracle "$o.dmesg.txt" "$f" "$od/dmesg_oracle.sh" -- "$od/dmesg_oracle.sh" "$f" "$o.dmesg.txt"
    if [[ ${FORMAT[$n]} == elf-* ]]; then
        run_oracle "$o.notes.txt" "$f" "$od/notes.py" -- python3 "$od/notes.py" "$f" "$o.notes.txt"
    fi
    # Page-table oracles (vtop): drgn follow_phys for >= 10,000 addresses; crash "vtop" on the
    # same list where crash reads the dump (its crash oracle exited 0). When drgn cannot open
    # the sample, crash uses the list of the unit's primary (same memory); the list depends on
    # vtop_drgn.py, so that script is part of the crash oracle's stamp.
    run_oracle "$o.vtop.drgn.json" "$f" "$od/vtop_drgn.py" "$od/drgn_common.py" -- \
        "$CACHE/venv-drgn/bin/python" "$od/vtop_drgn.py" "$f" "$kdir/vmlinux" "$o.vtop.drgn.json"
    if grep -qx '# exit status: 0' "$o.crash.txt"; then
        local list=$o.vtop.drgn.json
        grep -q '^"open_error":"' "$list" &&
            list=$OUT/oracle/$(unit_members "${UNIT[$n]}" | head -n1).vtop.drgn.json
        run_oracle "$o.vtop.crash.txt" "$f" "$od/vtop_crash.sh" "$od/vtop_drgn.py" -- \
            "$od/vtop_crash.sh" "$f" "$kdir/vmlinux" "$list" "$o.vtop.crash.txt"
    fi
    # IDT oracle: idt_table's 256 gates as drgn decodes them, the RO alias in the cpu_entry_area,
    # system_vectors, and the __initconst setup tables read from the vmlinux file (oracles/IDT.md).
    run_oracle "$o.idt.drgn.json" "$f" "$od/idt_drgn.py" "$od/drgn_common.py" -- \
        "$CACHE/venv-drgn/bin/python" "$od/idt_drgn.py" "$f" "$kdir/vmlinux" "$kdir/System.map" "$o.idt.drgn.json"
    # Per-CPU entry-state oracle: cpu_entry_area pages, GDT, TSS, IST tops, pcpu_hot/current,
    # cpu_tlbstate per possible CPU (oracles/PERCPU.md); crash prints the same objects where it
    # reads the dump, with the CPU addresses of drgn's output (the primary's when drgn cannot
    # open the sample), so percpu_drgn.py is part of the crash oracle's stamp.
    run_oracle "$o.percpu.drgn.json" "$f" "$od/percpu_drgn.py" "$od/drgn_common.py" -- \
        "$CACHE/venv-drgn/bin/python" "$od/percpu_drgn.py" "$f" "$kdir/vmlinux" "$o.percpu.drgn.json"
    if grep -qx '# exit status: 0' "$o.crash.txt"; then
        local plist=$o.percpu.drgn.json
        grep -q '^"open_error":"' "$plist" &&
            plist=$OUT/oracle/$(unit_members "${UNIT[$n]}" | head -n1).percpu.drgn.json
        run_oracle "$o.percpu.crash.txt" "$f" "$od/percpu_crash.sh" "$od/percpu_drgn.py" -- \
            "$od/percpu_crash.sh" "$f" "$kdir/vmlinux" "$plist" "$o.percpu.crash.txt"
    fi
    # Backtrace oracles (oracles/BT.md): drgn's stack trace of every task (idle tasks included),
    # and crash's bt / bt -a / foreach bt / bt -e / bt -E / bt -f / bt -c N where crash reads the dump.
    run_oracle "$o.bt.drgn.json" "$f" "$od/bt_drgn.py" "$od/drgn_common.py" -- \
        "$CACHE/venv-drgn/bin/python" "$od/bt_drgn.py" "$f" "$kdir/vmlinux" "$o.bt.drgn.json"
    if grep -qx '# exit status: 0' "$o.crash.txt"; then
        run_oracle "$o.bt.crash.txt" "$f" "$od/bt_crash.sh" "$od/bt_crash.cmds" -- \
            "$od/bt_crash.sh" "$f" "$kdir/vmlinux" "$o.bt.crash.txt"
    fi
    # ps oracle: drgn's crash-compatible `ps`, and its helpers per task (oracles/ps_drgn.py).
    run_oracle "$o.ps.drgn.json" "$f" "$od/ps_drgn.py" "$od/drgn_common.py" -- \
        "$CACHE/venv-drgn/bin/python" "$od/ps_drgn.py" "$f" "$kdir/vmlinux" "$o.ps.drgn.json"
}

# ---- main --------------------------------------------------------------------------
main() {
    local rebuild=0 list=0 set=default want=() a n u units=() series=() s start=$SECONDS
    for a in "$@"; do
        case $a in
            --list) list=1 ;;
            --rebuild) rebuild=1 ;;
            --bench) set=bench ;;
            -h|--help) sed -n '2,10p' "$0"; return 0 ;;
            -*) die "unknown option $a" ;;
            *) [[ -n ${UNIT[$a]+x} ]] || die "unknown sample $a (see --list)"; want+=("$a") ;;
        esac
    done
    if (( list )); then set_members "$set"; return 0; fi
    (( ${#want[@]} )) || mapfile -t want < <(set_members "$set")
    for n in "${want[@]}"; do
        [[ " ${units[*]} " == *" ${UNIT[$n]} "* ]] || units+=("${UNIT[$n]}")
        [[ " ${series[*]} " == *" ${KERNEL[$n]} "* ]] || series+=("${KERNEL[$n]}")
    done

    mkdir -p "$CACHE"/{debs,kernels,tmp} "$OUT/oracle"
    exec 9>"$CACHE/.lock"
    flock -n 9 || die "another make-samples.sh is using $CACHE"
    cleanup_tmp  # leftovers of an interrupted run
    trap cleanup_tmp EXIT
    trap 'exit 130' INT TERM

    ensure_host_packages
    for s in "${series[@]}"; do resolve_release "$s"; extract_kernel "${KERNEL_RELEASE[$s]}"; done
    ensure_drgn

    for u in "${units[@]}"; do
        if (( rebuild )); then
            for n in $(unit_members "$u"); do rm -f "$OUT/$n".{vmcore,console.log} "$OUT/oracle/$n".*; done
        fi
        unit_complete "$u" && continue
        # A stale or partial unit: drop its old samples and oracle outputs before rebuilding.
        for n in $(unit_members "$u"); do rm -f "$OUT/$n".{vmcore,console.log} "$OUT/oracle/$n".*; done
        case ${RECIPE[$(unit_members "$u" | head -n1)]} in
            qmp) build_qmp_unit "$u" ;;
            kexec) build_kexec_unit "$u" ;;
        esac
    done
    # Oracles for every unit member: a unit's samples are built together.
    for u in "${units[@]}"; do
        for n in $(unit_members "$u"); do run_oracles "$n"; done
    done
    python3 "$SAMPLES_DIR/lib/manifest.py" "$SAMPLES_DIR/samples.tsv" "$CACHE"
    for n in "${want[@]}"; do
        [[ ${SET[$n]} == bench ]] || continue
        python3 "$SAMPLES_DIR/lib/manifest.py" "$SAMPLES_DIR/samples.tsv" "$CACHE" bench
        log "benchmark samples: $OUT/bench-manifest.json"
        break
    done
    log "done in $((SECONDS - start)) s; manifest: $OUT/manifest.json"
}

main "$@"
