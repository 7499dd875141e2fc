#!/usr/bin/env bash
# The contract's guard in ctest (issue 18, Must show 4; proto/buf.yaml, DECISIONS D33). buf comes
# from npm (@bufbuild/buf, installed once into <build>/buf-npm by tests/install_buf.sh; no
# registry is a failure, not a skip).
#   lint      `buf lint` over proto/ passes (STANDARD with the exceptions listed in buf.yaml).
#   breaking  `buf breaking` of proto/ against the newest released image in proto/released/
#             (v0.1.0.binpb until the next release; WIRE_JSON) passes.
#   catches   the check is not vacuous: a copy of proto/ with Account.owner_node_id deleted fails
#             `buf breaking` against the same image, and the output names the field.
# Usage: contract_test.sh lint|breaking|catches <source dir> <build dir>
set -euo pipefail
MODE=${1:?usage: $0 lint|breaking|catches <source dir> <build dir>}
SRC=$(cd "${2:?source dir}" && pwd)
BUILD=$(cd "${3:?build dir}" && pwd)
BUF=$(bash "$SRC/tests/install_buf.sh" "$BUILD/buf-npm" | tail -1)
# The newest release (version order), so cutting a release is adding its image.
RELEASED=$(ls "$SRC"/proto/released/v*.binpb 2>/dev/null | sort -V | tail -1)
[ -n "$RELEASED" ] || { echo "FAIL: no image in proto/released/" >&2; exit 1; }
echo "buf $("$BUF" --version)"

case "$MODE" in
  lint)
    cd "$SRC/proto" && "$BUF" lint
    echo "PASS: buf lint"
    ;;
  breaking)
    cd "$SRC/proto" && "$BUF" breaking --against "$RELEASED"
    echo "PASS: buf breaking against $RELEASED"
    ;;
  catches)
    TMP=$(mktemp -d)
    trap 'rm -rf "$TMP"' EXIT
    cp -r "$SRC/proto" "$TMP/proto"
    FILE="$TMP/proto/salesops/v1/accounts.proto"
    # Delete the field line inside `message Account { ... }` only.
    awk '/^message Account \{/{in_msg=1} in_msg && /^  string owner_node_id = 10/{deleted=1; next}
         in_msg && /^\}/{in_msg=0} {print} END{exit deleted ? 0 : 1}' \
      "$SRC/proto/salesops/v1/accounts.proto" >"$FILE" ||
      { echo "FAIL: Account.owner_node_id not found in accounts.proto" >&2; exit 1; }
    set +e
    OUT=$(cd "$TMP/proto" && "$BUF" breaking --against "$RELEASED" 2>&1)
    RC=$?
    set -e
    echo "$OUT"
    [ "$RC" -ne 0 ] || { echo "FAIL: buf breaking exited 0 after a deleted field" >&2; exit 1; }
    grep -q 'owner_node_id' <<<"$OUT" ||
      { echo "FAIL: buf breaking's output does not name owner_node_id" >&2; exit 1; }
    echo "PASS: buf breaking exited $RC and named the deleted field"
    ;;
  *) echo "usage: $0 lint|breaking|catches <source dir> <build dir>" >&2; exit 2 ;;
esac
