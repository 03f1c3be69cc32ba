#!/usr/bin/env bash
# Runs one libFuzzer target (docs/hardening.md "Fuzzing"). Builds the sanitized harness in
# .build-fuzz unless KDIG_FUZZ_NO_BUILD=1; seeds from the samples (kdig-fuzz --make-seeds),
# the committed tiny seeds and the kept crashers; new inputs go to a corpus in the cache.
#   Fuzz/fuzz.sh TARGET [libFuzzer options...]     e.g. Fuzz/fuzz.sh kdump -max_total_time=300
set -euo pipefail
target=${1:?usage: Fuzz/fuzz.sh TARGET [libFuzzer options...]}
shift
cd "$(dirname "$0")/.."
cache=${KDIG_CACHE:-$HOME/.cache/kdig}
# KDIG_FUZZ_SCRATCH: another build directory, so a new harness can be built while one runs.
scratch=${KDIG_FUZZ_SCRATCH:-.build-fuzz}
if [ "${KDIG_FUZZ_NO_BUILD:-0}" != 1 ]; then
  swift build --scratch-path "$scratch" -c release --product kdig-fuzz \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -DKDIG_LIBFUZZER
fi
corpus=$cache/fuzz-corpus/$target
artifacts=$cache/fuzz-artifacts/$target
mkdir -p "$corpus" "$artifacts"
dirs=("$corpus")
# locator reads ELF cores too: the samples' ELF seeds start it from real notes and headers.
seeds=$target
[ "$target" = locator ] && seeds=elf-core
for d in "$cache/samples/fuzz-seeds/$seeds" "Fuzz/Seeds/$target" "Fuzz/Regressions/$target"; do
  [ -d "$d" ] && dirs+=("$d")
done
# unwind keeps a whole kernel image (the shipped extract) for the process: LeakSanitizer
# reports 79 KB of its one-time type conversions at exit, the same after 2 k or 1.5 M inputs
# (Swift enums keep class references in tagged pointers, which LSan does not follow), so
# leak detection is off for it (libFuzzer's per input, ASan's at exit); ASan's other checks
# and the RSS limit still apply.
extra=()
if [ "$target" = unwind ]; then
  extra+=(-detect_leaks=0)
  export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
fi
# -rss_limit_mb: a parser that allocates far beyond the input is a finding, not a slow run.
KDIG_FUZZ_TARGET=$target exec "$scratch/release/kdig-fuzz" -artifact_prefix="$artifacts/" \
  -timeout=10 -rss_limit_mb=2048 -max_len=131072 ${extra[@]+"${extra[@]}"} "$@" "${dirs[@]}"
