#!/bin/busybox sh
# /init of the interrupt-context sample guests (samples.tsv trigger sysrq-key or nmi): the
# setup of lib/guest-init.sh, then the guest goes idle and the HOST makes it panic
# (lib/qemu_trigger.py: "sendkey alt-sysrq-c" on the PS/2 keyboard, or QMP inject-nmi with
# unknown_nmi_panic), so the panic runs in interrupt context over an idle CPU.
# Lines starting "KDIG:" are read by the host.
/bin/busybox --install -s /bin
export PATH=/bin:/sbin
mkdir -p /proc /sys /dev /tmp   # path-ok: the guest's own root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
echo 1 >/proc/sys/kernel/sysrq   # every sysrq function, crash (c) included, from the keyboard

say()  { echo "KDIG: $*"; }
fail() { say "FAIL $*"; sleep 2; poweroff -f; }

insmod /mod/qemu_fw_cfg.ko || say "insmod qemu_fw_cfg failed"
grep -q 'i8042' /proc/interrupts || say "no i8042 interrupt (no PS/2 keyboard)"
# Two background processes so the dump has a few user tasks besides init.
sleep 1000 &
sleep 2000 &
sleep 1
say "kallsyms $(grep ' _text$' /proc/kallsyms)"
say "sysrq $(cat /proc/sys/kernel/sysrq) unknown_nmi_panic $(cat /proc/sys/kernel/unknown_nmi_panic 2>/dev/null)"
grep -E 'CPU|i8042|NMI' /proc/interrupts | sed 's/^/KDIG: interrupts /'
say "idle"
# PID 1 sleeps; both CPUs halt in the idle loop until the host's interrupt arrives.
while :; do sleep 1000; done
