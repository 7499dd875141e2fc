#pragma once

// Shared by the Rollup tests (rollup_*_test.cc): the buying-cycle-6 rates,
// opportunity builders and the re-org fixture tree.

#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "services/forecast/rollup.h"

namespace salesops::forecast::rollup_testing {

inline constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();
inline const QuarterKey kQ1 = MakeQuarterKey(2025, 1);
inline const QuarterKey kQ2 = MakeQuarterKey(2025, 2);
inline const QuarterKey kQ3 = MakeQuarterKey(2025, 3);

// 10,000 EUR in cents.
inline constexpr int64_t kTenThousandEur = 1'000'000;

inline const std::vector<std::pair<std::string, int32_t>> kBuyingCycle6 = {
    {"INTEREST", 500},    {"CONSIDERATION", 1000}, {"DESIGN", 2000},
    {"COMPARISON", 3000}, {"COMMITMENT", 5000},    {"USAGE", 8000}};

inline StageRef Bc6(const std::string& key) {
  return StageRef{"buying-cycle-6", key};
}

inline OppFacts Open(const std::string& owner, const StageRef& stage,
                     int64_t amount, QuarterKey q) {
  OppFacts f;
  f.owner_node_id = owner;
  f.stage = stage;
  f.status = OppFacts::Status::kOpen;
  f.amount_minor = amount;
  f.quarter = q;
  return f;
}

inline OppFacts WithStatus(OppFacts f, OppFacts::Status status) {
  f.status = status;
  return f;
}

inline NodeFigures Fig(const Rollup& r, const std::string& node, QuarterKey q) {
  absl::StatusOr<NodeFigures> f = r.Figures(node, q);
  EXPECT_TRUE(f.ok()) << node << ": " << f.status();
  return f.ok() ? *f : NodeFigures{};
}

// global → emea → dach → team-muc → rep-anna.
inline void SeedTree(Rollup& r) {
  ASSERT_TRUE(r.SetNode("global", "").ok());
  ASSERT_TRUE(r.SetNode("emea", "global").ok());
  ASSERT_TRUE(r.SetNode("dach", "emea").ok());
  ASSERT_TRUE(r.SetNode("team-muc", "dach").ok());
  ASSERT_TRUE(r.SetNode("rep-anna", "team-muc").ok());
}

inline const std::vector<std::string> kSeedChain = {"rep-anna", "team-muc",
                                                    "dach", "emea", "global"};

class ReorgTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (auto [id, parent] :
         std::vector<std::pair<std::string, std::string>>{{"g", ""},
                                                          {"ra", "g"},
                                                          {"rb", "g"},
                                                          {"ta", "ra"},
                                                          {"tb", "rb"},
                                                          {"rep1", "ta"},
                                                          {"rep2", "ta"},
                                                          {"rep3", "tb"}}) {
      ASSERT_TRUE(r.SetNode(id, parent).ok()) << id;
    }
    r.SetStageModel("buying-cycle-6", kBuyingCycle6);
    ASSERT_TRUE(
        r.ApplyOpportunity(std::nullopt, Open("rep1", Bc6("DESIGN"), 1000, kQ1))
            .ok());
    ASSERT_TRUE(
        r.ApplyOpportunity(std::nullopt, Open("rep2", Bc6("USAGE"), 2000, kQ2))
            .ok());
    ASSERT_TRUE(
        r.ApplyOpportunity(std::nullopt,
                           WithStatus(Open("rep2", Bc6("USAGE"), 700, kQ1),
                                      OppFacts::Status::kWon))
            .ok());
    ASSERT_TRUE(r.ApplyOpportunity(std::nullopt,
                                   Open("rep3", Bc6("INTEREST"), 4000, kQ1))
                    .ok());
    ASSERT_TRUE(r.AddOutOfFunnelSale("rep3", kQ1, 30).ok());
  }
  Rollup r;
};

}  // namespace salesops::forecast::rollup_testing
