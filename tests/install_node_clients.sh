#!/usr/bin/env bash
# Installs what tests/clients/error_details.mjs needs (npm @grpc/grpc-js, the gRPC client Node
# integrators use, and protobufjs, which reads our .proto files at run time) into
# <dir>/node_modules once, for tests that decode our error details as a Node client would
# (issue 17). As tests/install_buf.sh: concurrent runs wait on a lock; a registry hiccup is
# retried (3 attempts); a lasting failure exits non-zero (the test then fails: no registry is a
# failure, not a skip). Prints <dir>, which the client takes as --deps.
# Usage: install_node_clients.sh <dir>
set -euo pipefail
DIR=${1:?usage: $0 <dir>}
mkdir -p "$DIR"
PACKAGES=(@grpc/grpc-js@1 protobufjs@7)
installed() {
  [ -f "$DIR/node_modules/@grpc/grpc-js/package.json" ] &&
    [ -f "$DIR/node_modules/protobufjs/package.json" ]
}
(
  flock 9
  if ! installed; then
    command -v npm >/dev/null || { echo "install_node_clients: npm is not installed" >&2; exit 1; }
    [ -f "$DIR/package.json" ] ||
      echo '{"name":"salesops-node-clients","private":true}' >"$DIR/package.json"
    for attempt in 1 2 3; do
      if npm install --prefix "$DIR" --no-audit --no-fund --loglevel=error "${PACKAGES[@]}" \
           >"$DIR/install.log" 2>&1 && installed; then
        break
      fi
      echo "install_node_clients: npm install attempt $attempt failed" >&2
      sleep $((attempt * 5))
    done
    installed || {
      cat "$DIR/install.log" >&2
      echo "install_node_clients: could not install ${PACKAGES[*]}" >&2
      exit 1
    }
  fi
) 9>"$DIR.lock"
echo "$DIR"
