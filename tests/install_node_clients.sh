#!/usr/bin/env bash
# Installs what tests/clients/error_details.mjs needs (npm @grpc/grpc-js, the gRPC client Node
# integrators use, and protobufjs, which reads our .proto files at run time) into
# <dir>/node_modules once (tests/npm_install.sh), for tests that decode our error details as a
# Node client would (issue 17). Prints <dir>, which the client takes as --deps.
# Usage: install_node_clients.sh <dir>
set -euo pipefail
DIR=${1:?usage: $0 <dir>}
"$(dirname "$0")/npm_install.sh" "$DIR" @grpc/grpc-js@1 protobufjs@7
echo "$DIR"
