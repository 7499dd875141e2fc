#!/usr/bin/env bash
# Issue 20, Must show 4: every binary's --version and --help.
#   binaries_test.sh <project version> <name>=<path> ...
# For each binary: `--version` exits 0 with exactly one line
# "<name> <version> (commit <12 hex or unknown>, <build type>)"; `--help`
# exits 0, says what the binary is and lists its own flags with their
# defaults (services: the common --data_dir and the service's own flag; the
# bench: its --opportunities; salesopsctl: its commands and --version), and
# not Abseil's --flagfile. An unknown flag still fails.
set -uo pipefail
version=$1
shift
failures=0
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}
# Runs "$@" (10 s at most); sets out and rc.
run() {
  out=$(timeout 10 "$@" 2>&1)
  rc=$?
}
expect_help() {  # <name> <text>...
  local name=$1
  shift
  for text in "$@"; do
    grep -qF -- "$text" <<<"$out" || fail "$name --help lacks: $text"
  done
}

for arg in "$@"; do
  name=${arg%%=*}
  bin=${arg#*=}
  run "$bin" --version
  [[ $rc == 0 ]] || fail "$name --version exited $rc: $out"
  pattern="^$name $version \(commit ([0-9a-f]{12}|unknown), [A-Za-z]+(\+assertions|\+NDEBUG)?\)$"
  if [[ $(wc -l <<<"$out") != 1 ]] || ! grep -qE "$pattern" <<<"$out"; then
    fail "$name --version printed: $out (wanted $pattern)"
  fi
  echo "$out"

  run "$bin" --help
  [[ $rc == 0 ]] || fail "$name --help exited $rc"
  grep -qF "No flags matched" <<<"$out" && fail "$name --help matched no flags"
  grep -qF -- "--flagfile" <<<"$out" && fail "$name --help lists Abseil's --flagfile"
  case $name in
    salesops-accounts|salesops-pipeline|salesops-forecast|salesops-credit|salesops_echo_server)
      expect_help "$name" "$name: " "Flags from common/server/flags.cc:" \
        '--data_dir (directory of the service'"'"'s RocksDB); default: "";' \
        '--listen (' 'default: "127.0.0.1:50051";' '--log_level (' \
        'default: "info";' "--max_threads (" "default: 256;" ;;&
    salesops-accounts)
      expect_help "$name" "the SalesOps accounts service" "--currency (" \
        'default: "EUR";' ;;
    salesops-pipeline)
      expect_help "$name" "the SalesOps pipeline service" \
        "Flags from services/pipeline/" "--accounts_addr (" ;;
    salesops-forecast)
      expect_help "$name" "the SalesOps forecast service" \
        "Flags from services/forecast/regions.cc:" "--regions_file (" \
        "--weeks_per_quarter (" "default: 13;" ;;
    salesops-credit)
      expect_help "$name" "the SalesOps credit service" \
        "Flags from services/credit/credit_flags.cc:" "--overdue_block_days (" \
        "default: 30;" ;;
    salesops-bench)
      expect_help "$name" "the SalesOps forecast benchmark" \
        "Flags from bench/bench.cc:" "--opportunities (" "default: 1000000;"
      grep -qF -- "--data_dir" <<<"$out" && fail "$name --help lists service flags" ;;
    salesopsctl)
      expect_help "$name" "usage: salesopsctl" "--version" "accounts create" ;;
    salesops-console)
      expect_help "$name" "the SalesOps web console" \
        "Flags from console/server/main.cc:" "--assets_dir (" "--locale (" \
        "default: \"en-US\";"
      grep -qF -- "--data_dir" <<<"$out" && fail "$name --help lists service flags" ;;
  esac

  run "$bin" --no_such_flag_anywhere
  [[ $rc != 0 ]] || fail "$name accepted an unknown flag"
done
if ((failures > 0)); then
  echo "$failures failure(s)" >&2
  exit 1
fi
echo "all binaries: --version and --help OK"
