# shellcheck shell=bash
# Host preparation: apt packages, kernels, drgn venv (sourced by make-samples.sh).

APT_PACKAGES=(qemu-system-x86 busybox-static kexec-tools makedumpfile cpio xz-utils
              crash elfutils binutils python3 python3-venv gzip)

# Preferred kernel per series and the package-name pattern for a fallback.
declare -A KERNEL_PREFERRED=([6.12]=6.12.107+deb12-cloud-amd64 [6.1]=6.1.0-56-cloud-amd64)
declare -A KERNEL_PATTERN=([6.12]='^linux-image-6\.12\.[0-9]+\+deb12-cloud-amd64-unsigned$'
                           [6.1]='^linux-image-6\.1\.0-[0-9]+-cloud-amd64-unsigned$')
declare -A KERNEL_RELEASE=()   # series -> chosen release, filled by resolve_release

APT_UPDATED=0
apt_update_once() {
    (( APT_UPDATED )) && return 0
    log "apt-get update"
    apt-get update -q >/dev/null || die "apt-get update failed"
    APT_UPDATED=1
}

ensure_host_packages() {
    local p missing=()
    for p in "${APT_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    (( ${#missing[@]} )) || return 0
    log "installing: ${missing[*]}"
    apt_update_once
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null \
        || die "apt-get install ${missing[*]} failed"
}

# True when apt knows both the image and its -dbg package for RELEASE.
apt_has_kernel() {
    apt-cache show "linux-image-$1-unsigned" >/dev/null 2>&1 &&
        apt-cache show "linux-image-$1-dbg" >/dev/null 2>&1
}

debs_present() {
    compgen -G "$CACHE/debs/linux-image-$1-unsigned_*.deb" >/dev/null &&
        compgen -G "$CACHE/debs/linux-image-$1-dbg_*.deb" >/dev/null
}

# Choose the release for a series; reuse what the cache already has so a
# re-run needs neither apt nor the network.
resolve_release() {
    local series=$1 pref=${KERNEL_PREFERRED[$1]} rel="" name
    if [[ -d $CACHE/kernels/$pref ]] || debs_present "$pref"; then
        rel=$pref
    elif [[ -s $CACHE/kernels/series-$series.release && -d $CACHE/kernels/$(<"$CACHE/kernels/series-$series.release") ]]; then
        rel=$(<"$CACHE/kernels/series-$series.release")
    else
        apt_update_once
        if apt_has_kernel "$pref"; then
            rel=$pref
        else
            # Newest release of the series that has both packages.
            for name in $(apt-cache pkgnames linux-image- | grep -E "${KERNEL_PATTERN[$series]}" | sort -rV); do
                name=${name#linux-image-}; name=${name%-unsigned}
                if apt_has_kernel "$name"; then rel=$name; break; fi
            done
        fi
        [[ -n $rel ]] || die "no linux-image $series cloud-amd64 kernel with a -dbg package in apt"
        [[ $rel == "$pref" ]] || log "kernel $pref not in apt any more; using $rel"
    fi
    KERNEL_RELEASE[$series]=$rel
    printf '%s\n' "$rel" >"$CACHE/kernels/series-$series.release"
}

download_debs() {
    local rel=$1 t
    debs_present "$rel" && return 0
    apt_update_once
    log "downloading linux-image-$rel (-unsigned, -dbg)"
    t=$(new_tmp debs)
    # apt-get download writes into the cwd; a temp dir keeps half files out of debs/.
    # The _apt sandbox cannot write to root's cache, hence the option.
    (cd "$t" && apt-get download -q -o APT::Sandbox::User=root \
        "linux-image-$rel-unsigned" "linux-image-$rel-dbg") || die "apt-get download $rel failed"
    publish "$CACHE/debs" "$t"/*.deb
    rm -rf -- "$t"
}

# Unpack vmlinuz/config (image), vmlinux/System.map (dbg) and the few modules.
extract_kernel() {
    local rel=$1 dest=$CACHE/kernels/$1 t img dbg m f
    # A kernel directory is reused only if its vmlinux is still an ELF file of plausible size
    # (a stray redirect once truncated one); otherwise it is extracted again.
    if [[ -d $dest ]]; then
        if [[ $(head -c 4 "$dest/vmlinux" 2>/dev/null | od -An -tx1 | tr -d ' ') == 7f454c46 ]] &&
           (( $(stat -c %s "$dest/vmlinux") > 100000000 )); then
            [[ -s $dest/debug/qemu_fw_cfg.ko ]] || extract_module_debug "$rel" "$dest"
            return 0
        fi
        log "kernel $rel in the cache is damaged (vmlinux not a full ELF file): extracting again"
        rm -rf -- "$dest"
    fi
    download_debs "$rel"
    img=$(compgen -G "$CACHE/debs/linux-image-$rel-unsigned_*.deb" | head -n1)
    dbg=$(compgen -G "$CACHE/debs/linux-image-$rel-dbg_*.deb" | head -n1)
    log "extracting kernel $rel"
    t=$(new_tmp kernel)
    mkdir -p "$t/img" "$t/dbg" "$t/out"
    dpkg-deb --fsys-tarfile "$img" | tar -x -C "$t/img" --wildcards './boot/*' \
        '*/drivers/firmware/qemu_fw_cfg.ko*' '*/drivers/virtio/*' '*/drivers/block/virtio_blk.ko*'
    dpkg-deb --fsys-tarfile "$dbg" | tar -x -C "$t/dbg" --wildcards './usr/lib/debug/boot/*'
    mv "$t/img/boot/vmlinuz-$rel" "$t/out/vmlinuz"
    mv "$t/img/boot/config-$rel" "$t/out/config"
    # /boot/System.map in the image package is a stub; the real one is in -dbg.
    mv "$t/dbg/usr/lib/debug/boot/System.map-$rel" "$t/out/System.map"
    mv "$t/dbg/usr/lib/debug/boot/vmlinux-$rel" "$t/out/vmlinux"
    # Load order of the virtio disk stack; modules built in (=y) are skipped.
    : >"$t/out/modules.order"
    for m in qemu_fw_cfg virtio_ring virtio_pci_modern_dev virtio_pci_legacy_dev virtio virtio_pci virtio_blk; do
        f=$(find "$t/img/lib/modules" -name "$m.ko" -o -name "$m.ko.xz" | head -n1)
        [[ -n $f ]] || continue
        case $f in
            *.xz) xz -dc "$f" >"$t/out/$m.ko" ;;
            *)    cp "$f" "$t/out/$m.ko" ;;
        esac
        [[ $m == qemu_fw_cfg ]] || echo "$m" >>"$t/out/modules.order"
    done
    [[ -s $t/out/qemu_fw_cfg.ko && -s $t/out/virtio_blk.ko ]] || die "kernel $rel: modules missing"
    mv "$t/out" "$dest"
    rm -rf -- "$t"
    extract_module_debug "$rel" "$dest"
}

# The modules' DWARF from the -dbg package (debug/NAME.ko): drgn's oracle for module types
# (ModuleBTFTests), which kdig reads from the modules' BTF in the dump.
extract_module_debug() {
    local rel=$1 dest=$2 dbg t f
    dbg=$(compgen -G "$CACHE/debs/linux-image-$rel-dbg_*.deb" | head -n1)
    [[ -n $dbg ]] || download_debs "$rel"
    dbg=$(compgen -G "$CACHE/debs/linux-image-$rel-dbg_*.deb" | head -n1)
    log "extracting module debug info of $rel"
    t=$(new_tmp moddebug)
    dpkg-deb --fsys-tarfile "$dbg" | tar -x -C "$t" --wildcards '*/drivers/firmware/qemu_fw_cfg.ko' \
        '*/drivers/block/virtio_blk.ko'
    mkdir -p "$dest/debug.tmp"
    for f in $(find "$t" -name '*.ko'); do cp "$f" "$dest/debug.tmp/"; done
    [[ -s $dest/debug.tmp/qemu_fw_cfg.ko ]] || die "kernel $rel: no qemu_fw_cfg.ko in $dbg"
    rm -rf -- "$dest/debug" && mv "$dest/debug.tmp" "$dest/debug"
    rm -rf -- "$t"
}

# drgn in its own venv (Debian's python3 for a stable base).
ensure_drgn() {
    local v=$CACHE/venv-drgn
    [[ -f $v/.kdig-ok ]] && return 0
    log "creating drgn venv"
    rm -rf -- "$v"
    /usr/bin/python3 -m venv "$v" || die "python3 -m venv failed"
    "$v/bin/pip" install -q drgn==0.3.0 || die "pip install drgn==0.3.0 failed"
    "$v/bin/python" -c 'import drgn' || die "drgn does not import"
    touch "$v/.kdig-ok"
}
