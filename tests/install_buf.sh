#!/usr/bin/env bash
# Installs `buf` (npm @bufbuild/buf, ARCHITECTURE.md §11) into <dir>/node_modules once
# (tests/npm_install.sh), for tests that drive the services with `buf curl` through server
# reflection and for the contract checks. Prints the path of the buf binary.
# Usage: install_buf.sh <dir>
set -euo pipefail
DIR=${1:?usage: $0 <dir>}
"$(dirname "$0")/npm_install.sh" "$DIR" @bufbuild/buf@1
echo "$DIR/node_modules/.bin/buf"
