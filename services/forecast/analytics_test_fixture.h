#pragma once

// Shared by the analytics tests (analytics_*_test.cc): buying-cycle-6, the
// clock (kT0, At) and the Opp builder that records a timeline as pipeline does.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "services/forecast/analytics.h"

namespace salesops::forecast::analytics_testing {

inline const std::vector<std::pair<std::string, int32_t>> kBuyingCycle6 = {
    {"INTEREST", 500},    {"CONSIDERATION", 1000}, {"DESIGN", 2000},
    {"COMPARISON", 3000}, {"COMMITMENT", 5000},    {"USAGE", 8000}};

inline ModelStages Bc6() {
  return ModelStages{"buying-cycle-6", kBuyingCycle6};
}

inline int StageIndex(const std::string& key) {
  for (size_t i = 0; i < kBuyingCycle6.size(); ++i) {
    if (kBuyingCycle6[i].first == key) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

inline const absl::Time kT0 =
    absl::FromCivil(absl::CivilDay(2025, 1, 1), absl::UTCTimeZone());

// kT0 + days + hours.
inline absl::Time At(int64_t days, int64_t hours = 0) {
  return kT0 + absl::Hours(24 * days + hours);
}

inline int64_t Us(absl::Time t) { return absl::ToUnixMicros(t); }

inline std::string StatusName(v1::OpportunityStatus s) {
  std::string name = v1::OpportunityStatus_Name(s);
  return name.substr(std::string("OPPORTUNITY_STATUS_").size());
}

// Builds a timeline the way pipeline records it: every change updates the
// current state and appends the history entry pipeline would write.
class Opp {
 public:
  Opp(std::string id, absl::Time created, std::string stage, int64_t amount,
      absl::CivilDay close) {
    t_.id = std::move(id);
    t_.owner_node_id = "rep-a";
    t_.stage_model_id = "buying-cycle-6";
    t_.created_micros = Us(created);
    t_.stage_key = stage;
    t_.amount_minor = amount;
    t_.expected_close = close;
    Append(v1::CHANGE_KIND_CREATED, created, "", stage);
  }

  // Initial attributes (no history entry).
  Opp& Owner(std::string owner) {
    t_.owner_node_id = std::move(owner);
    return *this;
  }
  Opp& Source(v1::SourceChannel s) {
    t_.source_channel = s;
    return *this;
  }

  Opp& Amount(absl::Time at, int64_t v) {
    Append(v1::CHANGE_KIND_AMOUNT, at, absl::StrCat(t_.amount_minor),
           absl::StrCat(v));
    t_.amount_minor = v;
    return *this;
  }
  Opp& CloseDate(absl::Time at, absl::CivilDay d) {
    Append(v1::CHANGE_KIND_CLOSE_DATE, at,
           absl::FormatCivilTime(t_.expected_close), absl::FormatCivilTime(d));
    t_.expected_close = d;
    return *this;
  }
  Opp& Move(absl::Time at, const std::string& stage) {
    const bool forward = StageIndex(stage) > StageIndex(t_.stage_key);
    Append(forward ? v1::CHANGE_KIND_STAGE_FORWARD
                   : v1::CHANGE_KIND_STAGE_BACKWARD,
           at, t_.stage_key, stage);
    t_.stage_key = stage;
    return *this;
  }
  Opp& Close(absl::Time at, v1::OpportunityStatus outcome) {
    Append(v1::CHANGE_KIND_CLOSED, at, "OPEN", StatusName(outcome));
    t_.status = outcome;
    t_.closed_micros = Us(at);
    return *this;
  }
  Opp& Reopen(absl::Time at) {
    Append(v1::CHANGE_KIND_REOPENED, at, StatusName(t_.status), "OPEN");
    t_.status = v1::OPPORTUNITY_STATUS_OPEN;
    t_.closed_micros = 0;
    return *this;
  }
  Opp& Reassign(absl::Time at, const std::string& owner) {
    Append(v1::CHANGE_KIND_OWNER, at, t_.owner_node_id, owner);
    t_.owner_node_id = owner;
    return *this;
  }

  const Timeline& timeline() const { return t_; }
  operator Timeline() const { return t_; }  // NOLINT: builder

 private:
  void Append(v1::ChangeKind kind, absl::Time at, std::string from,
              std::string to) {
    t_.changes.push_back(
        Timeline::Change{static_cast<int64_t>(t_.changes.size()) + 1, kind,
                         Us(at), std::move(from), std::move(to)});
  }

  Timeline t_;
};

inline StateAt Must(const Timeline& t, absl::Time at) {
  absl::StatusOr<std::optional<StateAt>> s = StateOf(t, at);
  EXPECT_TRUE(s.ok()) << s.status();
  EXPECT_TRUE(s.ok() && s->has_value()) << "no state at " << at;
  return s.ok() && s->has_value() ? **s : StateAt{};
}

inline bool Exists(const Timeline& t, absl::Time at) {
  absl::StatusOr<std::optional<StateAt>> s = StateOf(t, at);
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() && s->has_value();
}

}  // namespace salesops::forecast::analytics_testing
