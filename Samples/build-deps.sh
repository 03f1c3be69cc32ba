#!/bin/bash
# Installs the Debian packages kdig builds against (the C libraries behind its systemLibrary
# targets), when they are missing. Safe to re-run.
set -euo pipefail
pkgs=(pkg-config libdw-dev libelf-dev zlib1g-dev liblzo2-dev libsnappy-dev libzstd-dev)
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "build-deps: installing ${missing[*]}" >&2
    SUDO=$([[ $(id -u) == 0 ]] && echo "" || echo sudo)
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
