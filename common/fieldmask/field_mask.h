#pragma once

// Partial updates with field masks (AIP-134, issue 18, DECISIONS D32). Pure:
// protobuf reflection and absl only, no gRPC or RocksDB, so the entity rules
// merge an update before they validate it.
//
// An Update*Request carries the entity and a google.protobuf.FieldMask
// `update_mask`. Merge(stored, in, mask, rules) answers the entity to
// validate and store:
//   - explicit paths: only they change; a named field the request leaves
//     empty is cleared; a named repeated or message field is replaced as a
//     whole (FieldMaskUtil::MergeMessageTo with replace_message_fields and
//     replace_repeated_fields). Duplicate paths are fine.
//   - "*" alone: every writable field is replaced (a full replacement).
//   - no mask or no paths: the implied mask, i.e. the writable top-level
//     fields *populated* in `in` (proto3 without presence: a non-default
//     scalar or enum, a set message, a non-empty repeated field). A field
//     left at its default keeps the stored value: the implied mask never
//     clears; clearing needs an explicit path.
//   - nested paths ("amount.units_minor") are accepted when
//     FieldMaskUtil resolves them (singular message fields on the way, no
//     repeated field before the last name) and their top-level field is
//     writable; they change only that sub-field.
// Refused with INVALID_ARGUMENT, one google.rpc.BadRequest violation on
// "update_mask.paths[i]" per bad path, the message naming the path and the
// rule: unknown fields ("'foo' is not a field of salesops.v1.Account"),
// output-only fields ("'segment' is output only"), immutable fields
// ("'account_id' is immutable: ..."), "*" together with other paths.
//
// Immutable and output-only fields are never copied from `in`, whatever the
// mask. A service that accepts an immutable field sent equal to the stored
// value (and refuses another value) checks that on `in` itself, before or
// after the merge.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "google/protobuf/field_mask.pb.h"
#include "google/protobuf/message.h"

namespace salesops::fieldmask {

// The update rules of one entity's top-level fields. Every field of the
// entity listed in neither `writable` nor `immutable` is output only, so a
// field added to the entity later cannot be written until it is listed.
struct EntityRules {
  std::vector<std::string> writable;
  // {field name, why it cannot be named}, e.g.
  // {"stage_key", "change it with MoveStage"}.
  std::vector<std::pair<std::string, std::string>> immutable;
};

// How the mask was given.
enum class MaskKind {
  kImplied,   // no paths: the populated writable fields
  kAll,       // "*"
  kExplicit,  // named paths
};

// A checked mask: the canonical paths to copy from the request entity.
struct ResolvedMask {
  MaskKind kind = MaskKind::kImplied;
  google::protobuf::FieldMask paths;
  // True when the paths name `field` or a path inside it.
  bool Covers(std::string_view field) const;
};

// Checks `mask` against `in`'s type and `rules`, and resolves "*" and the
// implied mask (from the fields populated in `in`). INVALID_ARGUMENT with a
// violation on "update_mask.paths[i]" for every bad path.
[[nodiscard]] absl::StatusOr<ResolvedMask> Resolve(
    const google::protobuf::FieldMask& mask,
    const google::protobuf::Message& in, const EntityRules& rules);

// Copies the fields `mask` names from `in` into `target` (same type).
void Apply(const google::protobuf::Message& in, const ResolvedMask& mask,
           google::protobuf::Message* target);

// `stored` with the fields `mask` names taken from `in`, or Resolve's error.
template <typename T>
[[nodiscard]] absl::StatusOr<T> Merge(const T& stored, const T& in,
                                      const google::protobuf::FieldMask& mask,
                                      const EntityRules& rules) {
  absl::StatusOr<ResolvedMask> resolved = Resolve(mask, in, rules);
  if (!resolved.ok()) {
    return resolved.status();
  }
  T merged = stored;
  Apply(in, *resolved, &merged);
  return merged;
}

// The field-violation path of the i-th mask path: "update_mask.paths[i]".
std::string MaskPathField(int i);

}  // namespace salesops::fieldmask
