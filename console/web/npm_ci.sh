#!/usr/bin/env bash
# Installs the web console's pinned npm packages (package-lock.json) into <deps>/node_modules with
# `npm ci`, for console/web/build.mjs. Skipped when <deps> already holds this lock file's install;
# concurrent builds wait on a lock; a registry hiccup is retried (3 attempts); a lasting failure
# exits non-zero and fails the build.
# Usage: npm_ci.sh <web_dir> <deps_dir>
set -euo pipefail
WEB=${1:?usage: $0 <web_dir> <deps_dir>}
DEPS=${2:?usage: $0 <web_dir> <deps_dir>}
mkdir -p "$DEPS"
command -v npm >/dev/null || { echo "npm_ci: npm is not installed: run scripts/setup.sh" >&2; exit 1; }
HASH=$(cat "$WEB/package.json" "$WEB/package-lock.json" | sha256sum)
(
  flock 9
  if [ "$(cat "$DEPS/ci.hash" 2>/dev/null)" != "$HASH" ] || [ ! -d "$DEPS/node_modules" ]; then
    cp "$WEB/package.json" "$WEB/package-lock.json" "$DEPS/"
    for attempt in 1 2 3; do
      if npm ci --prefix "$DEPS" --no-audit --no-fund --loglevel=error >"$DEPS/ci.log" 2>&1; then
        echo "$HASH" >"$DEPS/ci.hash"
        break
      fi
      echo "npm_ci: npm ci attempt $attempt failed" >&2
      sleep $((attempt * 5))
    done
    [ "$(cat "$DEPS/ci.hash" 2>/dev/null)" = "$HASH" ] || {
      cat "$DEPS/ci.log" >&2
      echo "npm_ci: could not install the console's packages" >&2
      exit 1
    }
  fi
  touch "$DEPS/ci.stamp"
) 9>"$DEPS.lock"
