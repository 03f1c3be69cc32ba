#!/bin/bash
# The test command (README, .ci/run): build dependencies, the real sample dumps and their
# oracle outputs (cached in ${KDIG_CACHE:-$HOME/.cache/kdig}), the tests' tools (debuginfod
# and its index of the samples' -dbg packages, parallel, jsonschema), then every unit and
# integration test. Integration tests FAIL when a sample is missing; they never skip.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash Samples/build-deps.sh
bash Samples/make-samples.sh
bash Samples/test-tools.sh
swift build --build-tests
swift test --skip-build "$@"
