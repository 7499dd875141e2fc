#!/usr/bin/env bash
# Configures and builds everything into ${BUILD_DIR:-build} (RelWithDebInfo, ccache when
# present). Incremental: only what changed is rebuilt.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
JOBS=${JOBS:-2}
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" \
  ${SALESOPS_SANITIZE:+-DSALESOPS_SANITIZE=$SALESOPS_SANITIZE} >/dev/null
cmake --build "$BUILD_DIR" -j"$JOBS"
