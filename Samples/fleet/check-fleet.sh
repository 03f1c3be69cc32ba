#!/bin/bash
# kdig check over a fleet of hosts (docs/ci.md, "Beyond one machine"): GNU parallel hands the
# dumps out to the hosts over ssh in batches; each host runs `kdig check --json` on its batch;
# the JSON Lines come back here and merge into one stream with ONE summary at the end,
# recomputed from the per-dump lines. Exit 0 all ok, 1 findings, 2 a dump could not be checked
# (or its host did not answer), as `kdig check`.
#
#   check-fleet.sh -S LOGINS [--ssh CMD] [--kdig PATH] [--batch N] DUMP... [-- CHECK-OPTION...]
#   check-fleet.sh -S LOGINS --dumps-from FILE [-- CHECK-OPTION...]
#
#   -S, --sshlogin LOGINS   hosts, in parallel's syntax: "4/build1,4/user@build2" (N/: batches
#                           at once on that host; give it, else parallel asks each host)
#   --slf FILE              hosts from a file, one login a line (parallel --sshloginfile)
#   --ssh CMD               the ssh command (default: ssh); parallel runs `CMD HOST -- COMMAND`
#   --kdig PATH             kdig on the hosts (default: kdig in their PATH)
#   --batch N               dumps per kdig check run (default 8)
#   --dumps-from FILE       dump paths, one a line, instead of (or besides) DUMP arguments
#   -- CHECK-OPTION...      passed to every kdig check (e.g. --jobs 4 --baseline FILE); --json
#                           is always given
#
# Every DUMP path (and the files CHECK-OPTIONs name) must be readable at the same path on every
# host: shared storage such as NFS. Each host finds its vmlinux files itself (its
# /usr/lib/debug, KDIG_SYSROOT, --debuginfo-dir, or debuginfod when DEBUGINFOD_URLS is set in
# its environment). A dump whose batch produced no report (host unreachable, kdig missing) is
# reported as an error line (category crashed) and makes the exit 2.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

die() { printf 'check-fleet: %s\n' "$*" >&2; exit 64; }

logins=() ssh=ssh kdig=kdig batch=8 dumps_from="" dumps=() check=()
while (($#)); do
    case $1 in
        -S | --sshlogin) (($# > 1)) || die "$1 needs a value"; logins+=(--sshlogin "$2"); shift 2 ;;
        --slf) (($# > 1)) || die "$1 needs a value"; logins+=(--sshloginfile "$2"); shift 2 ;;
        --ssh) (($# > 1)) || die "$1 needs a value"; ssh=$2; shift 2 ;;
        --kdig) (($# > 1)) || die "$1 needs a value"; kdig=$2; shift 2 ;;
        --batch) [[ ${2:-} =~ ^[1-9][0-9]*$ ]] || die "$1 needs a positive number"; batch=$2; shift 2 ;;
        --dumps-from) (($# > 1)) || die "$1 needs a value"; dumps_from=$2; shift 2 ;;
        -h | --help) sed -n '2,25p' "${BASH_SOURCE[0]}"; exit 0 ;;
        --) shift; check=("$@"); break ;;
        -*) die "unknown option $1 (kdig check options go after --)" ;;
        *) dumps+=("$1"); shift ;;
    esac
done
((${#logins[@]})) || die "no hosts: give -S LOGINS or --slf FILE"
command -v parallel >/dev/null || die "GNU parallel is not installed (Debian: apt-get install parallel)"

work=$(mktemp -d -t kdig-fleet.XXXXXX)
trap 'rm -rf -- "$work"' EXIT
list=$work/dumps
{
    ((${#dumps[@]} == 0)) || printf '%s\n' "${dumps[@]}"
    [[ -z $dumps_from ]] || grep -v '^[[:space:]]*$' "$dumps_from"
} >"$list"
[[ -s $list ]] || die "no dump given"

# The command each host runs; parallel appends the batch's dumps, quoted for the remote shell.
remote=$(printf '%q ' "$kdig" check --json "${check[@]}" --)
start=$(date +%s.%N)
# parallel's own status counts failed batches (kdig check exits 1 on findings): the merger's
# status, from the merged summary, is the answer.
set +e
parallel --will-cite --ssh "$ssh" "${logins[@]}" -n "$batch" -a "$list" "$remote" |
    python3 "$here/merge_check_lines.py" --dumps "$list" --start "$start"
status=${PIPESTATUS[1]}
exit "$status"
