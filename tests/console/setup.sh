#!/usr/bin/env bash
# ctest's Console.Setup (the fixture of the console's browser tests): installs puppeteer-core
# into <deps> (install_browser_tools.sh), then starts the suite and writes <state>
# (suite.mjs setup; its flags follow).
# Usage: setup.sh <deps> <state> --accounts=BIN --pipeline=BIN ... (see suite.mjs)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
DEPS=${1:?usage: $0 <deps> <state> <suite flags>...}
STATE=${2:?usage: $0 <deps> <state> <suite flags>...}
shift 2
command -v node >/dev/null || { echo "setup: node is not installed; run scripts/setup.sh" >&2; exit 1; }
"$HERE/install_browser_tools.sh" "$DEPS" >/dev/null
exec node "$HERE/suite.mjs" setup --state="$STATE" "$@"
