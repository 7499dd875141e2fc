#!/usr/bin/env bash
# The README's test command, and what CI runs: set up the machine, build from scratch or
# incrementally, and run every test (unit, service and end-to-end) with ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
BUILD_DIR=${BUILD_DIR:-build}
ctest --test-dir "$BUILD_DIR" --output-on-failure -j"${JOBS:-2}" --timeout 600
