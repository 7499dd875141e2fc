#pragma once

// Request validation shared by every service's rules (ARCHITECTURE.md §6):
// collect every violated rule of one request, so the caller fixes them all at
// once, and answer INVALID_ARGUMENT naming each field and rule, with one
// google.rpc.BadRequest field violation per rule (errors.h). Pure.
//
//   Violations v;
//   if (Blank(req.name())) v.Add("account.name", "required");
//   RETURN_IF_ERROR(v.status());

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "common/status/errors.h"

namespace salesops {

class Violations {
 public:
  // One violated rule of the field at `field` (its path in the request:
  // "opportunity.amount.units_minor"), e.g. "must be > 0".
  void Add(std::string field, std::string rule) {
    list_.push_back({std::move(field), std::move(rule)});
  }
  // "<field path>: <rule>", e.g. "opportunity.amount.units_minor: must be > 0"
  // (split at the first ": ").
  void Add(std::string_view field_and_rule) {
    list_.push_back(ParseViolation(field_and_rule));
  }
  // Adds the violations of a failed check (e.g. money::Validate): its
  // BadRequest, else its message read as "<field>: <rule>; ..."; ignores OK.
  void Add(const absl::Status& status) {
    if (status.ok()) {
      return;
    }
    if (status.code() != absl::StatusCode::kInvalidArgument) {
      list_.push_back(ParseViolation(
          std::string_view(status.message().data(), status.message().size())));
      return;
    }
    for (FieldViolation& v : FieldViolationsOf(status)) {
      list_.push_back(std::move(v));
    }
  }
  // Disambiguates string literals and std::string.
  void Add(const char* field_and_rule) {
    Add(std::string_view(field_and_rule));
  }
  void Add(const std::string& field_and_rule) {
    Add(std::string_view(field_and_rule));
  }
  bool empty() const { return list_.empty(); }
  const std::vector<FieldViolation>& list() const { return list_; }
  // OK when nothing was added; else INVALID_ARGUMENT with every violation
  // ("<field>: <rule>", "; " separated) and their BadRequest.
  absl::Status status() const { return InvalidFields(list_); }

 private:
  std::vector<FieldViolation> list_;
};

// True when `s` is empty or only ASCII whitespace.
inline bool Blank(const std::string& s) {
  return absl::StripAsciiWhitespace(s).empty();
}

// `s` without leading and trailing ASCII whitespace.
inline std::string Trimmed(const std::string& s) {
  return std::string(absl::StripAsciiWhitespace(s));
}

}  // namespace salesops
