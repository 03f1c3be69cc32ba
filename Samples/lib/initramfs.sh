# shellcheck shell=bash
# Initramfs images for the sample guests (sourced by make-samples.sh).

# Copy a dynamically linked program and the libraries ldd lists for it.
add_program() { # add_program TREE PROGRAM
    local tree=$1 prog=$2 lib
    install -D -m 0755 "$prog" "$tree/bin/$(basename "$prog")"
    for lib in $(ldd "$prog" | grep -oE '/[^ ]+'); do
        [[ -e $tree$lib ]] || install -D -m 0755 "$(readlink -f "$lib")" "$tree$lib"
    done
}

pack_tree() { # pack_tree TREE OUT.cpio.gz
    (cd "$1" && find . -print | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) | gzip -6 >"$2"
}

# busybox + /init + qemu_fw_cfg.ko: enough for the QMP-dumped guests.
base_tree() { # base_tree TREE KERNEL_DIR
    local tree=$1 kdir=$2
    mkdir -p "$tree"/{bin,sbin,proc,sys,dev,tmp,mod}
    install -m 0755 /bin/busybox "$tree/bin/busybox"
    install -m 0755 "$SAMPLES_DIR/lib/guest-init.sh" "$tree/init"
    cp "$kdir/qemu_fw_cfg.ko" "$tree/mod/"
}

build_qemu_initrd() { # build_qemu_initrd KERNEL_DIR OUT
    local tree
    tree=$(mktemp -d "$CACHE/tmp/tree.XXXXXX")
    base_tree "$tree" "$1"
    pack_tree "$tree" "$2"
    rm -rf -- "$tree"
}

# The first kernel's initrd carries the capture kernel, the capture initrd
# (an initramfs cannot contain itself, so it is packed first) and kexec.
build_kexec_initrd() { # build_kexec_initrd KERNEL_DIR CAPTURE_CMDLINE OUT
    local kdir=$1 tree m
    tree=$(mktemp -d "$CACHE/tmp/tree.XXXXXX")
    base_tree "$tree" "$kdir"
    cp "$kdir/modules.order" "$tree/mod/"
    for m in $(cat "$kdir/modules.order"); do cp "$kdir/$m.ko" "$tree/mod/"; done
    add_program "$tree" /usr/bin/makedumpfile
    pack_tree "$tree" "$tree.capture.cpio.gz"
    add_program "$tree" /usr/sbin/kexec
    mv "$tree.capture.cpio.gz" "$tree/capture.cpio.gz"
    cp "$kdir/vmlinuz" "$tree/vmlinuz"
    printf '%s\n' "$2" >"$tree/capture.cmdline"
    pack_tree "$tree" "$3"
    rm -rf -- "$tree"
}
