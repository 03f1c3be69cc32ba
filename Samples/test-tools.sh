#!/bin/bash
# What the tests need besides the samples (run by run-tests.sh after make-samples.sh; safe to
# re-run, cached in ${KDIG_CACHE:-$HOME/.cache/kdig}):
#   - apt: debuginfod, libarchive-tools (debuginfod reads .deb files with bsdtar) and curl (its
#     /metrics while indexing), for the debuginfod tests; parallel, for the fleet recipe's test
#     (Samples/fleet/check-fleet.sh)
#   - jsonschema in the drgn venv: validates `kdig check --json` against docs/check.schema.json
#   - a debuginfod index of the samples' -dbg packages, $CACHE/debuginfod/index.sqlite, so a
#     test starts a server that serves the vmlinux files at once (debuginfod --passive)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
CACHE=${KDIG_CACHE:-$HOME/.cache/kdig}
JSONSCHEMA_VERSION=4.23.0

log() { printf '[test-tools %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf '[test-tools] ERROR: %s\n' "$*" >&2; exit 1; }

install_packages() {
    local p missing=()
    for p in debuginfod libarchive-tools curl parallel; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    ((${#missing[@]})) || return 0
    log "installing ${missing[*]}"
    local sudo=""
    [[ $(id -u) == 0 ]] || sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
        || die "apt-get install ${missing[*]} failed"
}

install_jsonschema() {
    local py=$CACHE/venv-drgn/bin/python
    [[ -x $py ]] || die "no drgn venv at $CACHE/venv-drgn: run bash Samples/make-samples.sh first"
    "$py" -c "import importlib.metadata as m, sys; sys.exit(m.version('jsonschema') != '$JSONSCHEMA_VERSION')" 2>/dev/null &&
        return 0
    log "installing jsonschema $JSONSCHEMA_VERSION into $CACHE/venv-drgn"
    "$CACHE/venv-drgn/bin/pip" install -q "jsonschema==$JSONSCHEMA_VERSION" || die "pip install jsonschema failed"
}

# A loopback port nothing listens on now.
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# The value of one metric line of debuginfod's /metrics (0 when absent).
metric() { # metric TEXT NAME_WITH_LABELS
    awk -v m="$2 " 'index($0, m) == 1 { print $NF; found = 1 } END { if (!found) print 0 }' <<<"$1"
}

# Indexes the -dbg .debs of $CACHE/debs once. `indexed.txt` lists what the index holds
# (path and size of each package), so a changed package set is indexed again.
build_debuginfod_index() {
    local dir=$CACHE/debuginfod want t port pid metrics start scanned busy pending debs
    mkdir -p "$dir"
    exec 8>"$dir/.lock"
    flock 8
    debs=("$CACHE"/debs/linux-image-*-dbg_*.deb)
    [[ -e ${debs[0]} ]] || die "no -dbg packages in $CACHE/debs: run bash Samples/make-samples.sh first"
    want=$(stat -c '%n %s' "${debs[@]}")
    if [[ -s $dir/index.sqlite && -f $dir/indexed.txt && $(<"$dir/indexed.txt") == "$want" ]]; then
        return 0
    fi
    log "indexing ${#debs[@]} -dbg packages for debuginfod (once; 15-30 s on 2 cores)"
    t=$(mktemp -d "$dir/tmp.XXXXXX")
    port=$(free_port)
    start=$SECONDS
    # Only the -dbg packages (-I); no source-file scan: kdig asks for debuginfo by build-id only.
    debuginfod -U --disable-source-scan -g 0 -t 0 -I '.*-dbg_[^/]*\.deb$' -d "$t/index.sqlite" \
        -p "$port" "$CACHE/debs" >"$t/log" 2>&1 &
    pid=$!
    while :; do
        kill -0 "$pid" 2>/dev/null || { tail -n 20 "$t/log" >&2; die "debuginfod stopped while indexing"; }
        ((SECONDS - start < 900)) || { kill "$pid"; die "indexing took more than 900 s"; }
        sleep 1
        metrics=$(curl -sf "http://127.0.0.1:$port/metrics" 2>/dev/null) || continue
        scanned=$(metric "$metrics" 'scanned_files_total{source=".deb archive"}')
        busy=$(metric "$metrics" 'thread_busy{role="scan"}')
        pending=$(metric "$metrics" 'thread_work_pending{role="scan"}')
        ((scanned >= ${#debs[@]} && busy == 0 && pending == 0)) && break
    done
    local found
    found=$(metric "$metrics" 'found_debuginfo_total{source=".deb archive"}')
    kill -INT "$pid"
    wait "$pid" || true
    ((found > 0)) || { tail -n 20 "$t/log" >&2; die "debuginfod found no debuginfo in ${debs[*]}"; }
    # Fold any write-ahead log into the database file before it moves alone.
    python3 -c 'import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute("PRAGMA wal_checkpoint(TRUNCATE)"); c.close()' \
        "$t/index.sqlite"
    mv -f "$t/index.sqlite" "$dir/index.sqlite"
    rm -f "$dir/index.sqlite-wal" "$dir/index.sqlite-shm"
    printf '%s\n' "$want" >"$dir/indexed.txt"
    rm -rf -- "$t"
    log "indexed $found debuginfo files in $((SECONDS - start)) s: $dir/index.sqlite"
}

install_packages
install_jsonschema
build_debuginfod_index
