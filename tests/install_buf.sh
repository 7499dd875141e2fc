#!/usr/bin/env bash
# Installs `buf` (npm @bufbuild/buf, ARCHITECTURE.md §11) into <dir>/node_modules once, for tests
# that drive the services with `buf curl` through server reflection. Concurrent runs wait on a
# lock; a registry hiccup is retried (3 attempts); a lasting failure exits non-zero (the test then
# fails: no registry is a failure, not a skip). Prints the path of the buf binary.
# Usage: install_buf.sh <dir>
set -euo pipefail
DIR=${1:?usage: $0 <dir>}
mkdir -p "$DIR"
BUF="$DIR/node_modules/.bin/buf"
(
  flock 9
  if [ ! -x "$BUF" ]; then
    command -v npm >/dev/null || { echo "install_buf: npm is not installed" >&2; exit 1; }
    [ -f "$DIR/package.json" ] || echo '{"name":"salesops-buf","private":true}' >"$DIR/package.json"
    for attempt in 1 2 3; do
      if npm install --prefix "$DIR" --no-audit --no-fund --loglevel=error @bufbuild/buf@1 \
           >"$DIR/install.log" 2>&1; then
        break
      fi
      echo "install_buf: npm install attempt $attempt failed" >&2
      sleep $((attempt * 5))
    done
    [ -x "$BUF" ] || { cat "$DIR/install.log" >&2; echo "install_buf: could not install @bufbuild/buf" >&2; exit 1; }
  fi
) 9>"$DIR.lock"
echo "$BUF"
