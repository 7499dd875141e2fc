#pragma once

// Request validation shared by every service's handlers (ARCHITECTURE.md §6):
// collect every violated rule of one request, so the caller fixes them all at
// once, and answer INVALID_ARGUMENT naming each field and rule.
//
//   Violations v;
//   if (Blank(req.name())) v.Add("account.name: required");
//   RETURN_IF_ERROR(v.status());

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_join.h"

namespace salesops {

class Violations {
 public:
  // "<field path>: <rule>", e.g. "opportunity.amount.units_minor: must be > 0".
  void Add(std::string field_and_rule) {
    list_.push_back(std::move(field_and_rule));
  }
  // Adds the message of a failed check (e.g. money::Validate); ignores OK.
  void Add(const absl::Status& status) {
    if (!status.ok()) {
      list_.emplace_back(status.message());
    }
  }
  bool empty() const { return list_.empty(); }
  // OK when nothing was added; else INVALID_ARGUMENT with every entry, "; "
  // separated.
  absl::Status status() const {
    if (list_.empty()) {
      return absl::OkStatus();
    }
    return absl::InvalidArgumentError(absl::StrJoin(list_, "; "));
  }

 private:
  std::vector<std::string> list_;
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
