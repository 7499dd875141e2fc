#!/usr/bin/env bash
# Installs the official Connect client for Node (npm @connectrpc/connect, @connectrpc/connect-node,
# @bufbuild/protobuf) and its code generator (@bufbuild/protoc-gen-es, run by @bufbuild/buf) into
# <dir>/node_modules once, and generates the client code of <proto_dir> into <dir>/gen (again
# whenever the protos change), for tests/clients/connect_client.mjs (issue 18). As
# tests/install_buf.sh: concurrent runs wait on a lock; a registry hiccup is retried (3 attempts);
# a lasting failure exits non-zero (the test then fails: no registry is a failure, not a skip).
# Prints <dir>, which the client takes as --deps.
# Usage: install_connect_clients.sh <dir> <proto_dir>
set -euo pipefail
DIR=${1:?usage: $0 <dir> <proto_dir>}
PROTO=${2:?usage: $0 <dir> <proto_dir>}
mkdir -p "$DIR"
PACKAGES=(@connectrpc/connect@2 @connectrpc/connect-node@2 @bufbuild/protobuf@2
          @bufbuild/protoc-gen-es@2 @bufbuild/buf@1)
installed() {
  [ -f "$DIR/node_modules/@connectrpc/connect-node/package.json" ] &&
    [ -x "$DIR/node_modules/.bin/protoc-gen-es" ] && [ -x "$DIR/node_modules/.bin/buf" ]
}
(
  flock 9
  if ! installed; then
    command -v npm >/dev/null || { echo "install_connect_clients: npm is not installed" >&2; exit 1; }
    [ -f "$DIR/package.json" ] ||
      echo '{"name":"salesops-connect-clients","private":true,"type":"module"}' >"$DIR/package.json"
    for attempt in 1 2 3; do
      if npm install --prefix "$DIR" --no-audit --no-fund --loglevel=error "${PACKAGES[@]}" \
           >"$DIR/install.log" 2>&1 && installed; then
        break
      fi
      echo "install_connect_clients: npm install attempt $attempt failed" >&2
      sleep $((attempt * 5))
    done
    installed || {
      cat "$DIR/install.log" >&2
      echo "install_connect_clients: could not install ${PACKAGES[*]}" >&2
      exit 1
    }
  fi
  # Generate from a copy holding only the .proto files (buf's built-in well-known types
  # serve the google/protobuf imports).
  TEMPLATE='version: v2\nplugins:\n  - local: protoc-gen-es\n    out: gen\n    opt: [target=js, import_extension=js]\n'
  HASH=$( (cd "$PROTO" && find . -name '*.proto' -print0 | sort -z | xargs -0 sha256sum
           printf "$TEMPLATE") | sha256sum)
  if [ "$(cat "$DIR/gen.hash" 2>/dev/null)" != "$HASH" ]; then
    rm -rf "$DIR/protos" "$DIR/gen"
    mkdir -p "$DIR/protos"
    (cd "$PROTO" && find . -name '*.proto' -print0 | tar --null -cf - -T -) | tar -xf - -C "$DIR/protos"
    printf "$TEMPLATE" >"$DIR/buf.gen.yaml"
    (cd "$DIR" && PATH="$DIR/node_modules/.bin:$PATH" buf generate protos --template buf.gen.yaml)
    echo "$HASH" >"$DIR/gen.hash"
  fi
) 9>"$DIR.lock"
echo "$DIR"
