#!/usr/bin/env bash
# Installs npm packages into <dir>/node_modules once, for the tests that drive the services with
# third-party clients and tools (buf, @grpc/grpc-js, the Connect client): concurrent runs wait on
# a lock (<dir>.lock); a registry hiccup is retried (3 attempts); a lasting failure exits non-zero
# (the test then fails: no registry is a failure, not a skip). A <dir>/package.json already there
# is kept (a caller that needs "type": "module" writes it first).
# Usage: npm_install.sh <dir> <package>[@<version>]...
set -euo pipefail
DIR=${1:?usage: $0 <dir> <package>...}
shift
PACKAGES=("$@")
[ ${#PACKAGES[@]} -gt 0 ] || { echo "usage: $0 <dir> <package>..." >&2; exit 2; }
mkdir -p "$DIR"
installed() {
  local spec name
  for spec in "${PACKAGES[@]}"; do
    name=${spec%@*}                 # @scope/name@1 -> @scope/name, name@7 -> name
    [ -n "$name" ] || name=$spec    # @scope/name without a version
    [ -f "$DIR/node_modules/$name/package.json" ] || return 1
  done
}
(
  flock 9
  if ! installed; then
    command -v npm >/dev/null || { echo "npm_install: npm is not installed" >&2; exit 1; }
    [ -f "$DIR/package.json" ] || echo '{"name":"salesops-test-tools","private":true}' >"$DIR/package.json"
    for attempt in 1 2 3; do
      if npm install --prefix "$DIR" --no-audit --no-fund --loglevel=error "${PACKAGES[@]}" \
           >"$DIR/install.log" 2>&1 && installed; then
        break
      fi
      echo "npm_install: npm install attempt $attempt failed" >&2
      sleep $((attempt * 5))
    done
    installed || {
      cat "$DIR/install.log" >&2
      echo "npm_install: could not install ${PACKAGES[*]}" >&2
      exit 1
    }
  fi
) 9>"$DIR.lock"
