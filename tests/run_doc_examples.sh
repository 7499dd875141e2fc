#!/usr/bin/env bash
# Runs the shell examples of one chapter of a Markdown document, in order, in one shell, and checks
# what they print (issue 18, Must show 5: docs/API.md's curl examples are run by a test).
#
# The chapter is the "## " heading containing <chapter title> up to the next "## " heading. Each
# ```sh block in it runs, in a temporary directory of its own (variables set by one block are
# seen by the next); each line "# expect: <extended regex>" in a block must match a line of that
# block's output. curl is a function adding --max-time 30 (every call is bounded) and, with
# CURL_CA set, --cacert CURL_CA (servers are verified with that CA). Prints "<n> examples passed"
# and exits 0, or the first failing block with its output and exits 1.
# Usage: run_doc_examples.sh <file.md> <chapter title>
set -uo pipefail
DOC=${1:?usage: $0 <file.md> <chapter title>}
TITLE=${2:?usage: $0 <file.md> <chapter title>}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
awk -v title="$TITLE" -v dir="$WORK" '
  /^## / { inside = index($0, title) > 0; next }
  inside && /^```sh$/ { n++; file = sprintf("%s/%03d.sh", dir, n); block = 1; next }
  block && /^```$/ { block = 0; close(file); next }
  block { print > file }
' "$DOC"
BLOCKS=("$WORK"/*.sh)
[ -e "${BLOCKS[0]}" ] || { echo "no sh examples in chapter \"$TITLE\" of $DOC" >&2; exit 1; }
curl() { command curl --max-time 30 ${CURL_CA:+--cacert "$CURL_CA"} "$@"; }
cd "$WORK"  # files the examples write stay in this run's own directory
n=0
for block in "${BLOCKS[@]}"; do
  n=$((n + 1))
  out="$block.out"
  # shellcheck disable=SC1090
  source "$block" >"$out" 2>&1
  while IFS= read -r expect; do
    pattern=${expect#\# expect: }
    if ! grep -Eq -- "$pattern" "$out"; then
      echo "example $n: no output line matches: $pattern" >&2
      echo "--- example $n ---" >&2; cat "$block" >&2
      echo "--- its output ---" >&2; cat "$out" >&2
      exit 1
    fi
  done < <(grep '^# expect: ' "$block")
done
echo "$n examples passed"
