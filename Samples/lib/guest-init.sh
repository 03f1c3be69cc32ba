#!/bin/busybox sh
# /init of every sample guest (busybox-static). One script, three roles:
#   capture kernel (/proc/vmcore exists): write the dump to the virtio disks;
#   first kernel with /capture.cpio.gz:    load the capture kernel (kexec -p), then panic;
#   first kernel otherwise (QEMU dumps):   panic; the host dumps the guest via QMP.
# Lines starting "KDIG:" are read by the host (lib/qemu_boot.py).
/bin/busybox --install -s /bin
export PATH=/bin:/sbin LD_LIBRARY_PATH=/lib/x86_64-linux-gnu
mkdir -p /proc /sys /dev /tmp   # path-ok: the guest's own root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
echo 1 >/proc/sys/kernel/sysrq

say()  { echo "KDIG: $*"; }
fail() { say "FAIL $*"; sleep 2; poweroff -f; }

if [ -e /proc/vmcore ]; then
    say "capture kernel up, vmcore size $(stat -c %s /proc/vmcore)"
    for m in $(cat /mod/modules.order); do insmod "/mod/$m.ko" || fail "insmod $m"; done
    i=0
    while [ ! -e /sys/block/vda ] && [ $i -lt 50 ]; do sleep 0.2; i=$((i + 1)); done
    # Each disk's serial names its job; the host reads the results back.
    for b in /sys/block/vd*; do
        dev=/dev/${b##*/}
        job=$(cat "$b/serial")
        say "job $job -> $dev"
        case $job in
            elf)    dd if=/proc/vmcore of="$dev" bs=1M 2>/dev/null ;;
            zlib31) makedumpfile -F -c -d 31 /proc/vmcore >"$dev" ;;
            lzo31)  makedumpfile -F -l -d 31 /proc/vmcore >"$dev" ;;
            zlib0)  makedumpfile -F -c -d 0 /proc/vmcore >"$dev" ;;
            *)      fail "unknown disk serial $job" ;;
        esac || fail "job $job"
        say "job $job done"
    done
    sync
    say "capture done"
    poweroff -f
fi

insmod /mod/qemu_fw_cfg.ko || say "insmod qemu_fw_cfg failed"
if [ -e /capture.cpio.gz ]; then
    kexec -p /vmlinuz --initrd=/capture.cpio.gz --append="$(cat /capture.cmdline)" || fail "kexec -p"
    [ "$(cat /sys/kernel/kexec_crash_loaded)" = 1 ] || fail "capture kernel not loaded"
    say "capture kernel loaded"
fi
# Two background processes so the dump has a few user tasks besides init.
sleep 1000 &
sleep 2000 &
sleep 1
# _text as the kernel reports it: the KASLR oracle for kexec runs, whose panic kexecs before
# printing "Kernel Offset".
say "kallsyms $(grep ' _text$' /proc/kallsyms)"
say "panicking"
# Panic from a child shell, not from PID 1.
sh -c 'echo c >/proc/sysrq-trigger'
fail "still alive after sysrq-c"
