#!/usr/bin/env bash
# Proves the entity rules are pure (issue 17): the transition modules
# (services/*/*_rules.{h,cc}), the other pure domain modules named below and
# their tests include, directly or through any header, neither a gRPC nor a
# RocksDB header. Asks the compiler for each file's full include list (g++ -M, system headers too).
# Usage: check_pure.sh <source dir> <build dir>   (the build dir holds gen/)
set -euo pipefail
SRC=${1:?usage: $0 <source dir> <build dir>}
GEN=${2:?usage: $0 <source dir> <build dir>}/gen
cd "$SRC"
shopt -s nullglob
files=(services/*/*_rules.h services/*/*_rules.cc services/*/*_rules_test.cc
       services/pipeline/stage_models.cc services/pipeline/stage_rules.cc
       services/pipeline/evaluation.cc services/pipeline/deal_health.cc
       services/forecast/rollup.cc services/forecast/analytics.cc
       services/credit/receivables.cc services/credit/collections.cc
       services/accounts/org_tree.cc services/accounts/key_accounts.cc
       common/org/scope.cc common/status/errors.cc
       common/fieldmask/field_mask.cc common/fieldmask/field_mask_test.cc
       common/webhook/webhook_rules.cc common/webhook/webhook_rules_test.cc
       common/trace/trace.cc common/trace/trace_test.cc common/log/log.cc
       common/bulk/import_results.cc common/bulk/import_results_test.cc)
bad=0
for f in "${files[@]}"; do
  deps=$(g++ -std=c++17 -M -I. -I"$GEN" -x c++ "$f" 2>&1) || {
    echo "check_pure: cannot preprocess $f: $deps" >&2; bad=1; continue; }
  hits=$(tr ' \\' '\n\n' <<<"$deps" | grep -E '(^|/)(grpc|grpcpp|rocksdb)/' || true)
  if [ -n "$hits" ]; then
    echo "check_pure: $f includes gRPC or RocksDB headers:" >&2
    sed 's/^/  /' <<<"$hits" | head -5 >&2
    bad=1
  fi
done
echo "check_pure: ${#files[@]} files checked, $([ $bad = 0 ] && echo none || echo some) include gRPC or RocksDB"
exit $bad
