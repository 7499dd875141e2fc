// gRPC-level tests of our sales organization, quotas and the key-account
// analysis (SPEC.md §2.3, §2.4). The rules themselves are tested without a
// server in org_node_rules_test.cc, quota_rules_test.cc and
// analysis_rules_test.cc.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "services/accounts/accounts_test_fixture.h"

namespace salesops::accounts {
namespace {

TEST_F(AccountsOrgNodeTest, TheFirstNodeIsTheGlobalRoot) {
  v1::OrgNode root;
  ASSERT_TRUE(
      IsOk(CreateNode(Node(v1::ORG_NODE_KIND_GLOBAL, "Global", ""), &root)));
  EXPECT_TRUE(absl::StartsWith(root.id(), "org_")) << root.id();
  EXPECT_EQ(root.version(), 1);
  EXPECT_EQ(root.parent_id(), "");
  EXPECT_EQ(root.kind(), v1::ORG_NODE_KIND_GLOBAL);

  v1::OrgNode out;
  EXPECT_TRUE(
      IsError(CreateNode(Node(v1::ORG_NODE_KIND_REGION, "Orphan", ""), &out),
              grpc::StatusCode::FAILED_PRECONDITION));
  EXPECT_TRUE(IsError(CreateNode(Node(v1::ORG_NODE_KIND_REGION, "Lost",
                                      "org_01NOSUCHNODE0000000000000"),
                                 &out),
                      grpc::StatusCode::INVALID_ARGUMENT, "node.parent_id"));
  EXPECT_TRUE(IsError(
      CreateNode(Node(v1::ORG_NODE_KIND_UNSPECIFIED, "Kindless", root.id()),
                 &out),
      grpc::StatusCode::INVALID_ARGUMENT, "node.kind"));
  EXPECT_TRUE(
      IsError(CreateNode(Node(v1::ORG_NODE_KIND_REGION, "", root.id()), &out),
              grpc::StatusCode::INVALID_ARGUMENT, "node.name"));
  EXPECT_TRUE(IsError(
      CreateNode(Node(v1::ORG_NODE_KIND_GLOBAL, "Second global", root.id()),
                 &out),
      grpc::StatusCode::INVALID_ARGUMENT, "node.kind"));
  EXPECT_EQ(store_->last_sequence(), 1u) << "only the root was written";

  v1::OrgNode region;
  ASSERT_TRUE(IsOk(
      CreateNode(Node(v1::ORG_NODE_KIND_REGION, "EMEA", root.id()), &region)));
  EXPECT_EQ(region.parent_id(), root.id());
  v1::OrgNode got;
  ASSERT_TRUE(IsOk(GetNode(region.id(), &got)));
  EXPECT_EQ(got.SerializeAsString(), region.SerializeAsString());
  EXPECT_TRUE(IsError(GetNode("org_01NOSUCHNODE0000000000000", &got),
                      grpc::StatusCode::NOT_FOUND));
}

TEST_F(AccountsOrgNodeTest, UpdateRenamesAndClaimsTheExternalId) {
  Org org = BuildOrg();
  v1::UpdateOrgNodeRequest req;
  *req.mutable_node() = org.t;
  req.mutable_node()->set_name("  Team Tango ");
  req.mutable_node()->set_external_id("hr-7");
  req.set_expected_version(org.t.version());
  v1::OrgNode out;
  ASSERT_TRUE(IsOk(Call(&Stub::UpdateOrgNode, req, &out)));
  EXPECT_EQ(out.name(), "Team Tango");
  EXPECT_EQ(out.external_id(), "hr-7");
  EXPECT_EQ(out.version(), org.t.version() + 1);
  EXPECT_EQ(out.parent_id(), org.a.id());
  // Stale version; another node may not take the same external id.
  EXPECT_TRUE(IsError(Call(&Stub::UpdateOrgNode, req, &out),
                      grpc::StatusCode::ABORTED));
  *req.mutable_node() = org.u;
  req.mutable_node()->set_external_id("hr-7");
  req.set_expected_version(0);
  EXPECT_TRUE(IsError(Call(&Stub::UpdateOrgNode, req, &out),
                      grpc::StatusCode::ALREADY_EXISTS, org.t.id()));
  // A MANAGER outside the node's subtree may not rename it.
  AddPrincipals({{kManagerAToken, {"manager-a", Role::kManager, org.a.id()}}});
  req.mutable_node()->set_external_id("");
  EXPECT_TRUE(IsError(Call(&Stub::UpdateOrgNode, req, &out, kManagerAToken),
                      grpc::StatusCode::PERMISSION_DENIED));
}

TEST_F(AccountsOrgNodeTest, MoveReparentsAndRejectsCyclesAndTheRoot) {
  Org org = BuildOrg();
  v1::OrgNode moved;
  ASSERT_TRUE(IsOk(MoveNode(org.t.id(), org.b.id(), org.t.version(), &moved)));
  EXPECT_EQ(moved.parent_id(), org.b.id());
  EXPECT_EQ(moved.version(), org.t.version() + 1);
  EXPECT_EQ(moved.name(), "Team T");
  v1::OrgNode got;
  ASSERT_TRUE(IsOk(GetNode(org.t.id(), &got)));
  EXPECT_EQ(got.SerializeAsString(), moved.SerializeAsString());

  const uint64_t before = store_->last_sequence();
  v1::OrgNode out;
  // Under itself.
  EXPECT_TRUE(IsError(MoveNode(org.b.id(), org.b.id(), 0, &out),
                      grpc::StatusCode::INVALID_ARGUMENT));
  // Under its own descendant (b → t → r1 and b → u).
  EXPECT_TRUE(IsError(MoveNode(org.b.id(), org.t.id(), 0, &out),
                      grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_TRUE(IsError(MoveNode(org.b.id(), org.u.id(), 0, &out),
                      grpc::StatusCode::INVALID_ARGUMENT));
  // The root stays the root.
  EXPECT_TRUE(IsError(MoveNode(org.root.id(), org.a.id(), 0, &out),
                      grpc::StatusCode::FAILED_PRECONDITION));
  // Stale version.
  EXPECT_TRUE(IsError(MoveNode(org.t.id(), org.a.id(), org.t.version(), &out),
                      grpc::StatusCode::ABORTED));
  // Unknown node.
  EXPECT_TRUE(
      IsError(MoveNode("org_01NOSUCHNODE0000000000000", org.a.id(), 0, &out),
              grpc::StatusCode::NOT_FOUND));
  EXPECT_EQ(store_->last_sequence(), before) << "failed moves wrote nothing";
  ASSERT_TRUE(IsOk(GetNode(org.b.id(), &got)));
  EXPECT_EQ(got.SerializeAsString(), org.b.SerializeAsString());
  ASSERT_TRUE(IsOk(GetNode(org.root.id(), &got)));
  EXPECT_EQ(got.SerializeAsString(), org.root.SerializeAsString());
  ASSERT_TRUE(IsOk(GetNode(org.t.id(), &got)));
  EXPECT_EQ(got.SerializeAsString(), moved.SerializeAsString());
}

TEST_F(AccountsOrgNodeTest, ListChildrenOrEverythingWithPages) {
  Org org = BuildOrg();
  auto list = [&](const std::string& parent, int page_size, int* pages) {
    v1::ListOrgNodesRequest req;
    req.set_parent_id(parent);
    req.set_page_size(page_size);
    std::vector<std::string> ids;
    *pages = 0;
    for (int guard = 0; guard < 50; ++guard) {
      v1::ListOrgNodesResponse resp;
      grpc::Status s = Call(&Stub::ListOrgNodes, req, &resp);
      EXPECT_TRUE(IsOk(s));
      if (!s.ok()) {
        break;
      }
      ++*pages;
      EXPECT_LE(resp.nodes_size(), page_size);
      for (const auto& n : resp.nodes()) {
        ids.push_back(n.id());
      }
      if (resp.next_page_token().empty()) {
        break;
      }
      req.set_page_token(resp.next_page_token());
    }
    return ids;
  };
  int pages = 0;
  EXPECT_THAT(list(org.root.id(), 100, &pages),
              UnorderedElementsAre(org.a.id(), org.b.id()));
  EXPECT_THAT(list(org.t.id(), 1, &pages),
              UnorderedElementsAre(org.r1.id(), org.r2.id()));
  EXPECT_EQ(pages, 2);
  EXPECT_TRUE(list(org.r3.id(), 10, &pages).empty());
  EXPECT_THAT(
      list("", 3, &pages),
      UnorderedElementsAre(org.root.id(), org.a.id(), org.b.id(), org.t.id(),
                           org.u.id(), org.r1.id(), org.r2.id(), org.r3.id()));
  EXPECT_EQ(pages, 3);
  // After a move, the children lists follow.
  v1::OrgNode out;
  ASSERT_TRUE(IsOk(MoveNode(org.r2.id(), org.u.id(), 0, &out)));
  EXPECT_THAT(list(org.t.id(), 10, &pages), ElementsAre(org.r1.id()));
  EXPECT_THAT(list(org.u.id(), 10, &pages),
              UnorderedElementsAre(org.r2.id(), org.r3.id()));
}

// ===========================================================================
// Quotas

TEST_F(AccountsQuotaTest, SetQuotaValidatesItsInput) {
  Org org = BuildOrg();
  v1::Quota out;
  EXPECT_TRUE(IsError(SetQuota(org.r1.id(), 0, Eur(100), &out),
                      grpc::StatusCode::INVALID_ARGUMENT, "fiscal_quarter"));
  EXPECT_TRUE(IsError(SetQuota(org.r1.id(), 5, Eur(100), &out),
                      grpc::StatusCode::INVALID_ARGUMENT, "fiscal_quarter"));
  EXPECT_TRUE(IsError(SetQuota(org.r1.id(), 1, Eur(-1), &out),
                      grpc::StatusCode::INVALID_ARGUMENT, "amount"));
  // Any active ISO 4217 currency (issue 19; QuotasInSeveralCurrencies).
  v1::Money dem = Eur(100);
  dem.set_currency("DEM");
  EXPECT_TRUE(IsError(SetQuota(org.r1.id(), 1, dem, &out),
                      grpc::StatusCode::INVALID_ARGUMENT, "currency"));
  EXPECT_TRUE(
      IsError(SetQuota("org_01NOSUCHNODE0000000000000", 1, Eur(100), &out),
              grpc::StatusCode::NOT_FOUND));
  const uint64_t before = store_->last_sequence();

  ASSERT_TRUE(IsOk(SetQuota(org.r1.id(), 2, Eur(12345), &out)));
  EXPECT_EQ(out.node_id(), org.r1.id());
  EXPECT_EQ(out.fiscal_year(), kYear);
  EXPECT_EQ(out.fiscal_quarter(), 2);
  EXPECT_EQ(out.amount().units_minor(), 12345);
  EXPECT_EQ(out.amount().currency(), "EUR");
  EXPECT_EQ(out.version(), 1);
  EXPECT_EQ(store_->last_sequence(), before + 1);
  ASSERT_TRUE(IsOk(SetQuota(org.r1.id(), 2, Eur(0), &out)));
  EXPECT_EQ(out.version(), 2);
  EXPECT_EQ(out.amount().units_minor(), 0);
  EXPECT_TRUE(IsError(SetQuota(org.r1.id(), 2, Eur(5), &out, kAdminToken, 1),
                      grpc::StatusCode::ABORTED));

  v1::GetQuotaRequest req;
  req.set_node_id(org.r1.id());
  req.set_fiscal_year(kYear);
  req.set_fiscal_quarter(2);
  v1::GetQuotaResponse resp;
  ASSERT_TRUE(IsOk(Call(&Stub::GetQuota, req, &resp)));
  EXPECT_TRUE(resp.has_explicit());
  EXPECT_EQ(resp.explicit_().units_minor(), 0);
  EXPECT_EQ(resp.effective().units_minor(), 0);
  // Another quarter of the same node has no explicit quota.
  req.set_fiscal_quarter(3);
  ASSERT_TRUE(IsOk(Call(&Stub::GetQuota, req, &resp)));
  EXPECT_FALSE(resp.has_explicit());
  EXPECT_EQ(resp.effective().units_minor(), 0);
}

// The must-show scenario: effective quotas roll up the hierarchy, follow a
// re-org, and survive a rejected cyclic move unchanged.
TEST_F(AccountsQuotaTest, EffectiveQuotasFollowReorgsAndSurviveACycleAttempt) {
  Org org = BuildOrg();
  v1::Quota q;
  ASSERT_TRUE(IsOk(SetQuota(org.r1.id(), 1, Eur(10000), &q)));  // 100.00
  ASSERT_TRUE(IsOk(SetQuota(org.r2.id(), 1, Eur(5000), &q)));   //  50.00
  ASSERT_TRUE(IsOk(SetQuota(org.r3.id(), 1, Eur(7000), &q)));   //  70.00

  EXPECT_EQ(Effective(org.r1.id()), 10000);
  EXPECT_EQ(Effective(org.t.id()), 15000);
  EXPECT_EQ(Effective(org.a.id()), 15000);
  EXPECT_EQ(Effective(org.u.id()), 7000);
  EXPECT_EQ(Effective(org.b.id()), 7000);
  EXPECT_EQ(Effective(org.root.id()), 22000);

  v1::GetQuotaRequest req;
  req.set_node_id(org.a.id());
  req.set_fiscal_year(kYear);
  req.set_fiscal_quarter(1);
  v1::GetQuotaResponse resp;
  ASSERT_TRUE(IsOk(Call(&Stub::GetQuota, req, &resp)));
  EXPECT_FALSE(resp.has_explicit());
  EXPECT_EQ(resp.effective().units_minor(), 15000);
  EXPECT_GE(resp.feed_sequence(), store_->last_sequence());

  // Re-org: team T moves from region A to region B.
  v1::OrgNode t_moved;
  ASSERT_TRUE(
      IsOk(MoveNode(org.t.id(), org.b.id(), org.t.version(), &t_moved)));
  EXPECT_EQ(Effective(org.a.id()), 0);
  EXPECT_EQ(Effective(org.b.id()), 22000);
  EXPECT_EQ(Effective(org.root.id()), 22000);

  // A cycle attempt: B under T (T is now B's child).
  v1::OrgNode out;
  EXPECT_TRUE(IsError(MoveNode(org.b.id(), org.t.id(), 0, &out),
                      grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_TRUE(IsError(MoveNode(org.b.id(), org.u.id(), 0, &out),
                      grpc::StatusCode::INVALID_ARGUMENT));
  // r1 (under T, now under B) is a REP, but the cycle is what is wrong.
  EXPECT_TRUE(IsError(MoveNode(org.b.id(), org.r1.id(), 0, &out),
                      grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_EQ(Effective(org.a.id()), 0);
  EXPECT_EQ(Effective(org.b.id()), 22000);
  EXPECT_EQ(Effective(org.root.id()), 22000);
  v1::OrgNode b_now;
  ASSERT_TRUE(IsOk(GetNode(org.b.id(), &b_now)));
  EXPECT_EQ(b_now.parent_id(), org.root.id());
  EXPECT_EQ(b_now.version(), org.b.version());

  // An explicit quota on a parent wins over its children's sum.
  ASSERT_TRUE(IsOk(SetQuota(org.t.id(), 1, Eur(30000), &q)));
  EXPECT_EQ(Effective(org.t.id()), 30000);
  EXPECT_EQ(Effective(org.b.id()), 37000);
  req.set_node_id(org.t.id());
  ASSERT_TRUE(IsOk(Call(&Stub::GetQuota, req, &resp)));
  EXPECT_TRUE(resp.has_explicit());
  EXPECT_EQ(resp.explicit_().units_minor(), 30000);
  EXPECT_EQ(resp.explicit_().currency(), "EUR");
}

TEST_F(AccountsQuotaTest, ListQuotasPagesEveryQuotaForServiceAndAdminOnly) {
  Org org = BuildOrg();
  v1::Quota q;
  std::vector<std::string> set;
  for (const v1::OrgNode* n : {&org.r1, &org.r2, &org.r3}) {
    for (int32_t quarter : {1, 2}) {
      ASSERT_TRUE(IsOk(SetQuota(n->id(), quarter, Eur(100 * quarter), &q)));
      set.push_back(absl::StrCat(n->id(), "/", quarter));
    }
  }
  ASSERT_TRUE(IsOk(SetQuota(org.r1.id(), 2, Eur(999), &q)));  // version 2
  v1::ListQuotasRequest req;
  req.set_page_size(4);
  std::vector<std::string> listed;
  int pages = 0;
  for (int guard = 0; guard < 10; ++guard) {
    v1::ListQuotasResponse resp;
    ASSERT_TRUE(IsOk(Call(&Stub::ListQuotas, req, &resp, kServiceToken)));
    ++pages;
    EXPECT_EQ(resp.feed_sequence(), store_->last_sequence());
    for (const v1::Quota& x : resp.quotas()) {
      listed.push_back(absl::StrCat(x.node_id(), "/", x.fiscal_quarter()));
      if (x.node_id() == org.r1.id() && x.fiscal_quarter() == 2) {
        EXPECT_EQ(x.amount().units_minor(), 999);
        EXPECT_EQ(x.version(), 2);
      }
    }
    if (resp.next_page_token().empty()) break;
    req.set_page_token(resp.next_page_token());
  }
  EXPECT_EQ(pages, 2);
  std::sort(set.begin(), set.end());
  EXPECT_EQ(listed, set);  // ids sort by node, then year and quarter
  v1::ListQuotasResponse resp;
  EXPECT_TRUE(IsOk(Call(&Stub::ListQuotas, {}, &resp, kAdminToken)));
  EXPECT_EQ(resp.quotas_size(), 6);
  AddPrincipals({{kManagerAToken, {"manager-a", Role::kManager, org.a.id()}},
                 {kRep1Token, {"rep-1", Role::kRep, org.r1.id()}}});
  for (const char* token : {kManagerAToken, kRep1Token, kFinanceToken}) {
    EXPECT_TRUE(IsError(Call(&Stub::ListQuotas, {}, &resp, token),
                        grpc::StatusCode::PERMISSION_DENIED))
        << token;
  }
}

// ===========================================================================
// Key-account analysis

TEST_F(AccountsAnalysisTest, ScoreIndustriesRanksAndPicksFocusIndustries) {
  v1::ScoreIndustriesRequest req;
  auto criterion = [&](const std::string& name, bool negative) {
    v1::IndustryCriterion* c = req.add_criteria();
    c->set_name(name);
    c->set_negative(negative);
  };
  criterion("market size", false);
  criterion("growth", false);
  criterion("competition", true);
  auto industry = [&](const std::string& name, std::vector<int> scores) {
    v1::IndustryScore* s = req.add_industries();
    s->set_name(name);
    for (int v : scores) {
      s->add_scores(v);
    }
  };
  industry("Retail", {5, 4, 2});   // 7
  industry("Mining", {3, 3, 2});   // 4
  industry("Solar", {9, 8, 7});    // 10
  industry("Banking", {6, 3, 2});  // 7
  v1::ScoreIndustriesResponse resp;
  ASSERT_TRUE(IsOk(Call(&Stub::ScoreIndustries, req, &resp)));
  ASSERT_EQ(resp.ranked_size(), 4);
  std::vector<std::string> names;
  std::vector<int64_t> totals;
  std::vector<int> focus;
  for (const auto& r : resp.ranked()) {
    names.push_back(r.name());
    totals.push_back(r.total());
    focus.push_back(r.focus());
  }
  EXPECT_THAT(names, ElementsAre("Solar", "Banking", "Retail", "Mining"));
  EXPECT_THAT(totals, ElementsAre(10, 7, 7, 4));
  EXPECT_THAT(focus, ElementsAre(1, 1, 1, 0));  // mean is 7
  EXPECT_EQ(resp.mean_milli(), 7000);
  EXPECT_THAT(resp.focus(), UnorderedElementsAre("Solar", "Banking", "Retail"));

  // A fractional mean: totals 1 and 2 → 1.5.
  v1::ScoreIndustriesRequest small;
  *small.add_criteria() = req.criteria(0);
  v1::IndustryScore* one = small.add_industries();
  one->set_name("One");
  one->add_scores(1);
  v1::IndustryScore* two = small.add_industries();
  two->set_name("Two");
  two->add_scores(2);
  ASSERT_TRUE(IsOk(Call(&Stub::ScoreIndustries, small, &resp)));
  EXPECT_EQ(resp.mean_milli(), 1500);
  EXPECT_THAT(resp.focus(), ElementsAre("Two"));

  // One score missing.
  req.mutable_industries(1)->mutable_scores()->RemoveLast();
  EXPECT_TRUE(IsError(Call(&Stub::ScoreIndustries, req, &resp),
                      grpc::StatusCode::INVALID_ARGUMENT));
}

TEST_F(AccountsAnalysisTest, ParetoViewIsTheSmallestTopSetReachingTheShare) {
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    ids.push_back(MustCreateAccount(Acct(absl::StrCat("P", i))).id());
  }
  // Revenues 500, 300, 100, 50, 50 (of 1000), given out of order.
  const std::vector<std::pair<int, int64_t>> revenue = {
      {2, 100}, {0, 500}, {4, 50}, {1, 300}, {3, 50}};
  v1::GetParetoViewRequest req;
  for (const auto& [i, amount] : revenue) {
    v1::AccountRevenue* r = req.add_revenues();
    r->set_account_id(ids[i]);
    *r->mutable_revenue() = Eur(amount);
  }
  v1::GetParetoViewResponse resp;
  ASSERT_TRUE(IsOk(Call(&Stub::GetParetoView, req, &resp)));  // 0 = 80%
  EXPECT_THAT(resp.top_account_ids(), ElementsAre(ids[0], ids[1]));
  EXPECT_EQ(resp.top_revenue().units_minor(), 800);
  EXPECT_EQ(resp.top_revenue().currency(), "EUR");
  EXPECT_EQ(resp.total_revenue().units_minor(), 1000);
  EXPECT_EQ(resp.top_count_share_bp(), 4000);
  EXPECT_EQ(resp.top_revenue_share_bp(), 8000);

  req.set_top_share_bp(8001);
  ASSERT_TRUE(IsOk(Call(&Stub::GetParetoView, req, &resp)));
  EXPECT_THAT(resp.top_account_ids(), ElementsAre(ids[0], ids[1], ids[2]));
  EXPECT_EQ(resp.top_revenue().units_minor(), 900);
  EXPECT_EQ(resp.top_count_share_bp(), 6000);
  EXPECT_EQ(resp.top_revenue_share_bp(), 9000);

  req.set_top_share_bp(5000);
  ASSERT_TRUE(IsOk(Call(&Stub::GetParetoView, req, &resp)));
  EXPECT_THAT(resp.top_account_ids(), ElementsAre(ids[0]));
  EXPECT_EQ(resp.top_revenue_share_bp(), 5000);
}

// The default tier shares: 1 PLATINUM, 3 GOLD, 6 SILVER, the rest STANDARD.
v1::AccountTier WantTier(int rank) {
  if (rank == 1) {
    return v1::ACCOUNT_TIER_PLATINUM;
  }
  if (rank <= 4) {
    return v1::ACCOUNT_TIER_GOLD;
  }
  if (rank <= 10) {
    return v1::ACCOUNT_TIER_SILVER;
  }
  return v1::ACCOUNT_TIER_STANDARD;
}

class AccountsClassifyTest : public AccountsServiceTest {
 protected:
  // Creates 20 accounts with a scorecard each in req_: score = revenue × 25%
  // + untapped × 25% with collection days 0: 25000 (i + 1) + 10000
  // ((7 i) % 20), all distinct, not in revenue order. by_score_ is the ids by
  // score, highest first.
  void CreateScoredAccounts() {
    std::vector<std::string> ids;
    for (int i = 0; i < 20; ++i) {
      const std::string id =
          MustCreateAccount(Acct(absl::StrCat("Scored ", i))).id();
      ids.push_back(id);
      const int64_t revenue = 100000LL * (i + 1);
      const int64_t untapped = 40000LL * ((7 * i) % 20);
      v1::AccountScorecard* card = req_.add_scorecards();
      card->set_account_id(id);
      *card->mutable_revenue_12m() = Eur(revenue);
      card->set_gross_margin_bp(2500);
      card->set_avg_collection_days(0);
      *card->mutable_purchase_potential() = Eur(revenue + untapped);
      want_score_[id] = 25000LL * (i + 1) + 10000LL * ((7 * i) % 20);
    }
    by_score_ = ids;
    std::sort(by_score_.begin(), by_score_.end(),
              [&](const std::string& x, const std::string& y) {
                return want_score_[x] > want_score_[y];
              });
  }

  v1::ClassifyAccountsRequest req_;
  std::map<std::string, int64_t> want_score_;
  std::vector<std::string> by_score_;
};

TEST_F(AccountsClassifyTest, ClassifyAccountsAppliesTheDefaultTierShares) {
  CreateScoredAccounts();
  v1::ClassifyAccountsResponse resp;
  ASSERT_TRUE(IsOk(Call(&Stub::ClassifyAccounts, req_, &resp)));
  ASSERT_EQ(resp.accounts_size(), 20);
  std::map<v1::AccountTier, int> per_tier;
  for (int i = 0; i < 20; ++i) {
    const v1::ClassifiedAccount& c = resp.accounts(i);
    EXPECT_EQ(c.account_id(), by_score_[i]) << "rank " << i + 1;
    EXPECT_EQ(c.rank(), i + 1);
    EXPECT_EQ(c.score().units_minor(), want_score_[c.account_id()]);
    EXPECT_EQ(c.score().currency(), "EUR");
    EXPECT_EQ(c.tier(), WantTier(i + 1)) << "rank " << i + 1;
    ++per_tier[c.tier()];
  }
  EXPECT_EQ(per_tier[v1::ACCOUNT_TIER_PLATINUM], 1);
  EXPECT_EQ(per_tier[v1::ACCOUNT_TIER_GOLD], 3);
  EXPECT_EQ(per_tier[v1::ACCOUNT_TIER_SILVER], 6);
  EXPECT_EQ(per_tier[v1::ACCOUNT_TIER_STANDARD], 10);
  // Without apply nothing is stored.
  v1::Account got;
  ASSERT_TRUE(IsOk(GetAccount(by_score_[0], &got)));
  EXPECT_EQ(got.tier(), v1::ACCOUNT_TIER_UNSPECIFIED);
  EXPECT_EQ(got.version(), 1);

  req_.set_apply(true);
  ASSERT_TRUE(IsOk(Call(&Stub::ClassifyAccounts, req_, &resp)));
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(IsOk(GetAccount(by_score_[i], &got)));
    EXPECT_EQ(got.tier(), WantTier(i + 1)) << "rank " << i + 1;
  }
  int pages = 0;
  v1::ListAccountsRequest list;
  list.set_tier(v1::ACCOUNT_TIER_GOLD);
  EXPECT_THAT(Ids(ListAllAccounts(list, 100, &pages)),
              UnorderedElementsAre(by_score_[1], by_score_[2], by_score_[3]));
}

}  // namespace
}  // namespace salesops::accounts
