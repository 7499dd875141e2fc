#!/usr/bin/env bash
# One Fuzz.<service> test: run <fuzzer> for <seconds> (SALESOPS_FUZZ_SECONDS in
# the environment overrides it) from a fresh corpus: the seeds the target
# writes itself (--write_seeds) plus the committed inputs of
# <committed corpus dir> (regression inputs; read, never written). Fails when
# libFuzzer finds a crash, a timeout (> 10 s per input) or an RSS above 2 GB;
# the input that did it is left as <work dir>/crash-* (or timeout-*, oom-*).
#
#   run_fuzz.sh <fuzzer> <committed corpus dir> <work dir> <seconds>
set -euo pipefail
fuzzer=$1
committed=$2
work=$3
seconds=${SALESOPS_FUZZ_SECONDS:-$4}

rm -rf "$work"
mkdir -p "$work/corpus" "$work/seeds" "$work/tmp"
# The harness's store directories go here, so a crash leaves nothing in /tmp.
export TMPDIR="$work/tmp"
"$fuzzer" --write_seeds="$work/seeds"
dirs=("$work/corpus" "$work/seeds")
if [ -d "$committed" ]; then
  dirs+=("$committed")
fi
cd "$work"
exec "$fuzzer" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
  -print_final_stats=1 -artifact_prefix="$work/" "${dirs[@]}"
