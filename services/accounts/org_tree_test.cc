#include "services/accounts/org_tree.h"

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gtest/gtest.h"

namespace salesops::accounts {
namespace {

// "a(b,c(d))": a node, then its reports in parentheses; roots separated by
// spaces.
std::string Render(const std::vector<ChartNode>& nodes) {
  std::string out;
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (i > 0) {
      out += " ";
    }
    out += nodes[i].id;
    if (!nodes[i].reports.empty()) {
      std::string inner = Render(nodes[i].reports);
      for (char& c : inner) {
        if (c == ' ') {
          c = ',';
        }
      }
      absl::StrAppend(&out, "(", inner, ")");
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// BuildForest

TEST(BuildForestTest, OrdersRootsAndReportsByIdWhateverTheInputOrder) {
  absl::StatusOr<std::vector<ChartNode>> forest = BuildForest({
      {"c3", "c1"},
      {"c5", ""},
      {"c1", ""},
      {"c4", "c2"},
      {"c2", "c1"},
      {"c0", "c1"},
  });
  ASSERT_TRUE(forest.ok()) << forest.status();
  EXPECT_EQ(Render(*forest), "c1(c0,c2(c4),c3) c5");
}

TEST(BuildForestTest, ManagerNotGivenMakesARoot) {
  absl::StatusOr<std::vector<ChartNode>> forest =
      BuildForest({{"b", "zzz"}, {"c", "b"}, {"a", ""}});
  ASSERT_TRUE(forest.ok()) << forest.status();
  EXPECT_EQ(Render(*forest), "a b(c)");
}

TEST(BuildForestTest, EmptyInputIsAnEmptyForest) {
  absl::StatusOr<std::vector<ChartNode>> forest = BuildForest({});
  ASSERT_TRUE(forest.ok()) << forest.status();
  EXPECT_TRUE(forest->empty());
}

TEST(BuildForestTest, TwoNodeCycleIsFailedPrecondition) {
  absl::StatusOr<std::vector<ChartNode>> forest =
      BuildForest({{"c5", "c2"}, {"c2", "c5"}, {"c1", ""}, {"c9", "c5"}});
  EXPECT_EQ(forest.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(forest.status().message(), "reports-to cycle: c2 -> c5 -> c2");
}

TEST(BuildForestTest, CycleReachedThroughATailNamesOnlyTheCycle) {
  // b hangs below the cycle m -> q -> p -> m.
  absl::StatusOr<std::vector<ChartNode>> forest =
      BuildForest({{"a", ""}, {"b", "m"}, {"p", "m"}, {"m", "q"}, {"q", "p"}});
  EXPECT_EQ(forest.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(forest.status().message(), "reports-to cycle: m -> q -> p -> m");
}

TEST(BuildForestTest, SelfReportIsACycle) {
  absl::StatusOr<std::vector<ChartNode>> forest =
      BuildForest({{"c1", ""}, {"c2", "c2"}});
  EXPECT_EQ(forest.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(forest.status().message(), "reports-to cycle: c2 -> c2");
}

TEST(BuildForestTest, RejectsEmptyAndDuplicateIds) {
  absl::StatusOr<std::vector<ChartNode>> empty =
      BuildForest({{"a", ""}, {"", "a"}});
  EXPECT_EQ(empty.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(empty.status().message(), "links[1].id: required");

  absl::StatusOr<std::vector<ChartNode>> dup =
      BuildForest({{"a", ""}, {"b", "a"}, {"a", "b"}});
  EXPECT_EQ(dup.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(dup.status().message(), "links[2].id: duplicates links[0] (a)");
}

TEST(BuildForestTest, DeepChainOf5000) {
  constexpr int kN = 5000;
  std::vector<ContactLink> links;
  for (int i = kN - 1; i >= 0; --i) {  // given leaf first
    links.push_back({absl::StrFormat("n%05d", i),
                     i == 0 ? "" : absl::StrFormat("n%05d", i - 1)});
  }
  absl::StatusOr<std::vector<ChartNode>> forest = BuildForest(links);
  ASSERT_TRUE(forest.ok()) << forest.status();
  ASSERT_EQ(forest->size(), 1u);
  const ChartNode* node = &(*forest)[0];
  for (int i = 0; i < kN; ++i) {
    ASSERT_EQ(node->id, absl::StrFormat("n%05d", i));
    if (i + 1 < kN) {
      ASSERT_EQ(node->reports.size(), 1u) << i;
      node = &node->reports[0];
    } else {
      EXPECT_TRUE(node->reports.empty());
    }
  }
}

// ---------------------------------------------------------------------------
// CheckNoCycle

// global ← r1 ← t1 ← rep1; global ← r2.
class CheckNoCycleTest : public ::testing::Test {
 protected:
  std::optional<std::string> ParentOf(const std::string& id) {
    ++calls_;
    auto it = parents_.find(id);
    if (it == parents_.end()) {
      return std::nullopt;
    }
    return it->second;
  }

  absl::Status Check(const std::string& node, const std::string& new_parent) {
    return CheckNoCycle([this](const std::string& id) { return ParentOf(id); },
                        node, new_parent, "new_parent_id");
  }

  std::map<std::string, std::string> parents_ = {
      {"global", ""}, {"r1", "global"}, {"r2", "global"},
      {"t1", "r1"},   {"rep1", "t1"},
  };
  int calls_ = 0;
};

TEST_F(CheckNoCycleTest, MoveToAnotherBranchIsOk) {
  EXPECT_TRUE(Check("t1", "r2").ok());
  EXPECT_EQ(calls_, 2);  // r2, global
}

TEST_F(CheckNoCycleTest, MoveUnderOwnDescendantIsACycle) {
  absl::Status s = Check("r1", "rep1");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "new_parent_id: rep1 is r1 itself or reports to it (cycle)");
}

TEST_F(CheckNoCycleTest, MoveUnderItselfIsACycle) {
  absl::Status s = Check("t1", "t1");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "new_parent_id: t1 is t1 itself or reports to it (cycle)");
}

TEST_F(CheckNoCycleTest, EmptyNewParentMakesARootWithoutLookups) {
  EXPECT_TRUE(Check("t1", "").ok());
  EXPECT_EQ(calls_, 0);
}

TEST_F(CheckNoCycleTest, UnknownNewParentIsInvalidArgument) {
  absl::Status s = Check("t1", "ghost");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "new_parent_id: ghost does not exist");
}

TEST_F(CheckNoCycleTest, UnknownAncestorEndsTheWalk) {
  parents_["orphan"] = "ghost";
  EXPECT_TRUE(Check("t1", "orphan").ok());
}

TEST_F(CheckNoCycleTest, ExistingCycleAboveIsFailedPrecondition) {
  parents_["a"] = "b";
  parents_["b"] = "a";
  absl::Status s = Check("t1", "a");
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(),
            "new_parent_id: the hierarchy above a is too deep or corrupt (a "
            "is its own ancestor)");
}

TEST(CheckNoCycleDepthTest, AllowsExactlyMaxDepthAncestors) {
  // Ids are decimal numbers; k's parent is k-1, 0 is the root.
  int calls = 0;
  auto parent_of =
      [&calls](const std::string& id) -> std::optional<std::string> {
    ++calls;
    const int k = std::stoi(id);
    return k == 0 ? "" : std::to_string(k - 1);
  };
  // new_parent has kMaxTreeDepth ancestors: ok.
  EXPECT_TRUE(CheckNoCycle(parent_of, "x", std::to_string(kMaxTreeDepth),
                           "reports_to_id")
                  .ok());
  EXPECT_EQ(calls, kMaxTreeDepth + 1);

  // One more is too deep.
  calls = 0;
  absl::Status s = CheckNoCycle(
      parent_of, "x", std::to_string(kMaxTreeDepth + 1), "reports_to_id");
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(),
            "reports_to_id: the hierarchy above 10001 is too deep or corrupt "
            "(more than 10000 levels)");
  EXPECT_EQ(calls, kMaxTreeDepth + 1);
}

TEST(CheckNoCycleDepthTest, EndlessChainStops) {
  int calls = 0;
  auto parent_of =
      [&calls](const std::string& id) -> std::optional<std::string> {
    ++calls;
    return id + "+";  // always a new, never-ending ancestor
  };
  absl::Status s = CheckNoCycle(parent_of, "x", "y", "reports_to_id");
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(calls, kMaxTreeDepth + 1);
}

// ---------------------------------------------------------------------------
// EffectiveQuotas

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

// global ← A ← {TA1 = 1,000,000; TA2 ← {RA2a = 300,000; RA2b = 200,000}}
// global ← B ← {TB1 = 2,000,000}
std::vector<QuotaNode> TwoRegions() {
  return {
      {"global", "", std::nullopt},  {"A", "global", std::nullopt},
      {"B", "global", std::nullopt}, {"TA1", "A", 1'000'000},
      {"TA2", "A", std::nullopt},    {"RA2a", "TA2", 300'000},
      {"RA2b", "TA2", 200'000},      {"TB1", "B", 2'000'000},
  };
}

TEST(EffectiveQuotasTest, ParentsWithoutExplicitQuotaSumChildren) {
  absl::StatusOr<std::map<std::string, int64_t>> q =
      EffectiveQuotas(TwoRegions());
  ASSERT_TRUE(q.ok()) << q.status();
  const std::map<std::string, int64_t> want = {
      {"global", 3'500'000}, {"A", 1'500'000},   {"B", 2'000'000},
      {"TA1", 1'000'000},    {"TA2", 500'000},   {"RA2a", 300'000},
      {"RA2b", 200'000},     {"TB1", 2'000'000},
  };
  EXPECT_EQ(*q, want);
}

TEST(EffectiveQuotasTest, MovingATeamChangesBothRegions) {
  std::vector<QuotaNode> nodes = TwoRegions();
  nodes[4].parent_id = "B";  // TA2 (500,000) moves from A to B
  absl::StatusOr<std::map<std::string, int64_t>> q = EffectiveQuotas(nodes);
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->at("A"), 1'000'000);       // was 1,500,000
  EXPECT_EQ(q->at("B"), 2'500'000);       // was 2,000,000
  EXPECT_EQ(q->at("global"), 3'500'000);  // unchanged
  EXPECT_EQ(q->at("TA2"), 500'000);
}

TEST(EffectiveQuotasTest, ExplicitWinsOverChildren) {
  // P = 100 explicit over children 70 + 50; Z = 0 explicit over child 70;
  // L is a leaf without a quota; root sums P, Z and L.
  absl::StatusOr<std::map<std::string, int64_t>> q = EffectiveQuotas({
      {"root", "", std::nullopt},
      {"P", "root", 100},
      {"P1", "P", 70},
      {"P2", "P", 50},
      {"Z", "root", 0},
      {"Z1", "Z", 70},
      {"L", "root", std::nullopt},
  });
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->at("P"), 100);
  EXPECT_EQ(q->at("Z"), 0);
  EXPECT_EQ(q->at("L"), 0);
  EXPECT_EQ(q->at("root"), 100);
}

TEST(EffectiveQuotasTest, UnknownParentMakesASubtreeRoot) {
  absl::StatusOr<std::map<std::string, int64_t>> q = EffectiveQuotas(
      {{"TA2", "A", std::nullopt}, {"r1", "TA2", 5}, {"r2", "TA2", 6}});
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->at("TA2"), 11);
}

TEST(EffectiveQuotasTest, DeepChainOf5000) {
  constexpr int kN = 5000;
  std::vector<QuotaNode> nodes;
  for (int i = 0; i < kN; ++i) {
    nodes.push_back({absl::StrFormat("n%05d", i),
                     i == 0 ? "" : absl::StrFormat("n%05d", i - 1),
                     i == kN - 1 ? std::optional<int64_t>(7) : std::nullopt});
  }
  absl::StatusOr<std::map<std::string, int64_t>> q = EffectiveQuotas(nodes);
  ASSERT_TRUE(q.ok()) << q.status();
  ASSERT_EQ(q->size(), static_cast<size_t>(kN));
  for (const auto& [id, quota] : *q) {
    ASSERT_EQ(quota, 7) << id;
  }
}

TEST(EffectiveQuotasTest, CycleIsFailedPrecondition) {
  absl::StatusOr<std::map<std::string, int64_t>> q = EffectiveQuotas(
      {{"root", "", 1}, {"n-3", "n-2", 1}, {"n-2", "n-3", std::nullopt}});
  EXPECT_EQ(q.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(q.status().message(), "parent cycle: n-2 -> n-3 -> n-2");
}

TEST(EffectiveQuotasTest, OverflowIsOutOfRange) {
  std::vector<QuotaNode> nodes = {
      {"P", "", std::nullopt}, {"a", "P", kMax}, {"b", "P", 1}};
  absl::StatusOr<std::map<std::string, int64_t>> q = EffectiveQuotas(nodes);
  EXPECT_EQ(q.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(q.status().message(),
            "nodes[0]: effective quota of P (the sum of its children's) "
            "overflows int64");

  nodes[2].explicit_quota_minor = 0;  // kMax + 0 fits
  q = EffectiveQuotas(nodes);
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->at("P"), kMax);
}

TEST(EffectiveQuotasTest, RejectsBadInput) {
  absl::StatusOr<std::map<std::string, int64_t>> neg =
      EffectiveQuotas({{"a", "", std::nullopt}, {"b", "a", -5}});
  EXPECT_EQ(neg.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(neg.status().message(),
            "nodes[1].explicit_quota_minor: must be >= 0, got -5");

  absl::StatusOr<std::map<std::string, int64_t>> dup =
      EffectiveQuotas({{"n-1", "", 1}, {"n-2", "", 1}, {"n-1", "", 2}});
  EXPECT_EQ(dup.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(dup.status().message(), "nodes[2].id: duplicates nodes[0] (n-1)");

  absl::StatusOr<std::map<std::string, int64_t>> empty =
      EffectiveQuotas({{"", "", 1}});
  EXPECT_EQ(empty.status().message(), "nodes[0].id: required");
}

TEST(EffectiveQuotaTest, OneNodeOrNotFound) {
  absl::StatusOr<int64_t> a = EffectiveQuota(TwoRegions(), "A");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(*a, 1'500'000);

  absl::StatusOr<int64_t> missing = EffectiveQuota(TwoRegions(), "zz");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(), "id: no org node zz");
}

}  // namespace
}  // namespace salesops::accounts
