#!/usr/bin/env bash
# Installs what the console's browser tests (tests/console/*.mjs) need: npm puppeteer-core
# (major 24, the last major that runs on Node 20), which drives Debian's /usr/bin/chromium — no
# browser is downloaded. Installed into <dir>/node_modules once (tests/npm_install.sh: a lock for
# concurrent runs, retries). Fails when /usr/bin/chromium is missing (scripts/setup.sh installs
# it). Prints <dir>, which the cases take as --deps.
# Usage: install_browser_tools.sh <dir>
set -euo pipefail
DIR=${1:?usage: $0 <dir>}
if [ ! -x /usr/bin/chromium ]; then
  echo "install_browser_tools: /usr/bin/chromium is missing; run scripts/setup.sh" >&2
  exit 1
fi
# No browser download on install (puppeteer-core does not download one; belt and braces).
export PUPPETEER_SKIP_DOWNLOAD=1
"$(dirname "$0")/../npm_install.sh" "$DIR" puppeteer-core@24
echo "$DIR"
