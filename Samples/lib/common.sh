# shellcheck shell=bash
# Shared helpers for make-samples.sh (sourced, not executed).

log()  { printf '[samples %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die()  { printf '[samples] ERROR: %s\n' "$*" >&2; exit 1; }

# Print the last lines of a log so a CI failure shows what the guest said.
show_tail() {
    local f=$1 n=${2:-40}
    [[ -f $f ]] || return 0
    printf -- '----- last %s lines of %s -----\n' "$n" "$f" >&2
    tail -n "$n" "$f" | tr -d '\r' >&2
    printf -- '----- end of %s -----\n' "$f" >&2
}

# A fresh temp dir on the cache's filesystem, so finished files can be
# renamed into place atomically. $CACHE/tmp belongs to the run holding
# $CACHE/.lock, so the EXIT trap simply empties it.
new_tmp() { mktemp -d "$CACHE/tmp/$1.XXXXXX"; }
cleanup_tmp() {
    [[ -z ${GUEST_PID:-} ]] || kill "$GUEST_PID" 2>/dev/null || true
    rm -rf -- "${CACHE:?}/tmp"/*
}

# Run lib/qemu_boot.py in the background and wait, so that a SIGTERM to this
# script runs the EXIT trap at once (it stops the driver, the driver kills QEMU).
GUEST_PID=
run_guest() {
    local rc=0
    python3 "$SAMPLES_DIR/lib/qemu_boot.py" "$@" &
    GUEST_PID=$!
    wait "$GUEST_PID" || rc=$?
    GUEST_PID=
    return "$rc"
}

# Atomically move finished files into a directory (same filesystem).
publish() { # publish DEST_DIR FILE...
    local dest=$1; shift
    local f
    for f in "$@"; do mv -f -- "$f" "$dest/$(basename -- "$f")"; done
}
