#!/usr/bin/env bash
# Installs the official Connect client for Node (npm @connectrpc/connect, @connectrpc/connect-node,
# @bufbuild/protobuf) and its code generator (@bufbuild/protoc-gen-es, run by @bufbuild/buf) into
# <dir>/node_modules once, and generates the client code of <proto_dir> into <dir>/gen (again
# whenever the protos change), for tests/clients/connect_client.mjs (issue 18). The packages come
# through tests/npm_install.sh (lock, retries, a failure is a failure); the generation has a lock
# of its own.
# Prints <dir>, which the client takes as --deps.
# Usage: install_connect_clients.sh <dir> <proto_dir>
set -euo pipefail
DIR=${1:?usage: $0 <dir> <proto_dir>}
PROTO=${2:?usage: $0 <dir> <proto_dir>}
mkdir -p "$DIR"
# The generated code is ES modules in .js files: the directory's package.json says so.
[ -f "$DIR/package.json" ] ||
  echo '{"name":"salesops-connect-clients","private":true,"type":"module"}' >"$DIR/package.json"
"$(dirname "$0")/npm_install.sh" "$DIR" @connectrpc/connect@2 @connectrpc/connect-node@2 \
  @bufbuild/protobuf@2 @bufbuild/protoc-gen-es@2 @bufbuild/buf@1
(
  flock 9
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
) 9>"$DIR.gen.lock"
echo "$DIR"
