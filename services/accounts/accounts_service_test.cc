// gRPC-level tests of the accounts service (SPEC.md §2) in process: the
// service and its feed on a loopback port over a real store, called through
// the generated stub with bearer tokens of every role.

#include "services/accounts/accounts_service.h"

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/feed/feed_service.h"
#include "common/server/auth.h"
#include "common/store/store.h"
#include "common/testing/grpc_status.h"
#include "common/testing/loopback_server.h"
#include "common/testing/temp_dir.h"
#include "common/time/clock.h"
#include "salesops/v1/accounts.grpc.pb.h"
#include "salesops/v1/feed.grpc.pb.h"
#include "services/accounts/accounts_store.h"

namespace salesops::accounts {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;
using ::testing::UnorderedElementsAreArray;

constexpr char kAdminToken[] = "admin-token";
constexpr char kFinanceToken[] = "finance-token";
constexpr char kServiceToken[] = "service-token";
constexpr char kManagerAToken[] = "manager-a-token";
constexpr char kRep1Token[] = "rep-1-token";
constexpr char kRep3Token[] = "rep-3-token";

constexpr int32_t kYear = 2026;

using Stub = v1::AccountsService::Stub;
template <typename Req, typename Resp>
using Method = grpc::Status (Stub::*)(grpc::ClientContext*, const Req&, Resp*);

using ::salesops::testing::IsError;
using ::salesops::testing::IsOk;

v1::Money Eur(int64_t minor) {
  v1::Money m;
  m.set_units_minor(minor);
  m.set_currency("EUR");
  return m;
}

v1::Account Acct(const std::string& name, const std::string& owner = "") {
  v1::Account a;
  a.set_name(name);
  a.set_owner_node_id(owner);
  return a;
}

v1::Contact Person(const std::string& account_id, const std::string& name,
                   const std::string& reports_to = "") {
  v1::Contact c;
  c.set_account_id(account_id);
  c.set_name(name);
  c.set_reports_to_id(reports_to);
  return c;
}

v1::OrgNode Node(v1::OrgNodeKind kind, const std::string& name,
                 const std::string& parent) {
  v1::OrgNode n;
  n.set_kind(kind);
  n.set_name(name);
  n.set_parent_id(parent);
  return n;
}

// Our sales organization used by most tests:
//   root (GLOBAL)
//   ├── a (REGION "EMEA") ── t (TEAM) ── r1, r2 (REP)
//   └── b (REGION "APAC") ── u (TEAM) ── r3 (REP)
struct Org {
  v1::OrgNode root, a, b, t, u, r1, r2, r3;
};

class AccountsServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = testing::OpenTestStore(dir_.path(), ColumnFamilies(), &clock_);
    ASSERT_NE(store_, nullptr);
    principals_[kAdminToken] = {"admin", Role::kAdmin, ""};
    principals_[kFinanceToken] = {"finance", Role::kFinance, ""};
    principals_[kServiceToken] = {"forecast", Role::kService, ""};
    StartServer();
  }

  void TearDown() override {
    StopServer();
    store_.reset();
  }

  void StartServer() {
    auth_ = testing::AuthFor(principals_);
    service_ =
        std::make_unique<AccountsServiceImpl>(store_.get(), auth_.get(), "EUR");
    server_ = std::make_unique<testing::LoopbackServer>(
        store_.get(), auth_.get(), std::vector<grpc::Service*>{service_.get()});
    ASSERT_NE(server_->channel(), nullptr);
    stub_ = v1::AccountsService::NewStub(server_->channel());
    feed_stub_ = v1::FeedService::NewStub(server_->channel());
  }

  void StopServer() {
    stub_.reset();
    feed_stub_.reset();
    server_.reset();
    service_.reset();
    auth_.reset();
  }

  // Restarts the server with these principals added (the store stays open).
  void AddPrincipals(const std::map<std::string, Principal>& more) {
    StopServer();
    for (const auto& [token, principal] : more) {
      principals_[token] = principal;
    }
    StartServer();
  }

  std::unique_ptr<grpc::ClientContext> Ctx(const std::string& token) {
    auto ctx = std::make_unique<grpc::ClientContext>();
    if (!token.empty()) {
      ctx->AddMetadata("authorization", absl::StrCat("Bearer ", token));
    }
    ctx->set_deadline(std::chrono::system_clock::now() +
                      std::chrono::seconds(20));
    return ctx;
  }

  template <typename Req, typename Resp>
  grpc::Status Call(Method<Req, Resp> method, const Req& req, Resp* resp,
                    const std::string& token = kAdminToken) {
    auto ctx = Ctx(token);
    return ((*stub_).*method)(ctx.get(), req, resp);
  }

  // ---- Accounts ----
  grpc::Status CreateAccount(const v1::Account& a, v1::Account* out,
                             const std::string& token = kAdminToken,
                             const std::string& request_id = "") {
    v1::CreateAccountRequest req;
    *req.mutable_account() = a;
    req.set_request_id(request_id);
    return Call(&Stub::CreateAccount, req, out, token);
  }
  v1::Account MustCreateAccount(const v1::Account& a) {
    v1::Account out;
    grpc::Status s = CreateAccount(a, &out);
    EXPECT_TRUE(IsOk(s)) << "CreateAccount " << a.name();
    return out;
  }
  grpc::Status GetAccount(const std::string& id, v1::Account* out,
                          const std::string& token = kAdminToken) {
    v1::GetAccountRequest req;
    req.set_id(id);
    return Call(&Stub::GetAccount, req, out, token);
  }
  grpc::Status UpdateAccount(const v1::Account& a, int64_t expected_version,
                             v1::Account* out,
                             const std::string& token = kAdminToken) {
    v1::UpdateAccountRequest req;
    *req.mutable_account() = a;
    req.set_expected_version(expected_version);
    return Call(&Stub::UpdateAccount, req, out, token);
  }
  // Every account the filter selects, page by page (page_size per page).
  std::vector<v1::Account> ListAllAccounts(v1::ListAccountsRequest req,
                                           int page_size, int* pages) {
    std::vector<v1::Account> all;
    req.mutable_page()->set_page_size(page_size);
    *pages = 0;
    for (int guard = 0; guard < 1000; ++guard) {
      v1::ListAccountsResponse resp;
      grpc::Status s = Call(&Stub::ListAccounts, req, &resp);
      EXPECT_TRUE(IsOk(s));
      if (!s.ok()) {
        break;
      }
      ++*pages;
      EXPECT_LE(resp.accounts_size(), page_size);
      all.insert(all.end(), resp.accounts().begin(), resp.accounts().end());
      if (resp.page().next_page_token().empty()) {
        break;
      }
      req.mutable_page()->set_page_token(resp.page().next_page_token());
    }
    return all;
  }

  // ---- Contacts ----
  grpc::Status CreateContact(const v1::Contact& c, v1::Contact* out,
                             const std::string& token = kAdminToken) {
    v1::CreateContactRequest req;
    *req.mutable_contact() = c;
    return Call(&Stub::CreateContact, req, out, token);
  }
  v1::Contact MustCreateContact(const v1::Contact& c) {
    v1::Contact out;
    EXPECT_TRUE(IsOk(CreateContact(c, &out))) << "CreateContact " << c.name();
    return out;
  }
  grpc::Status GetContact(const std::string& id, v1::Contact* out,
                          const std::string& token = kAdminToken) {
    v1::GetContactRequest req;
    req.set_id(id);
    return Call(&Stub::GetContact, req, out, token);
  }
  grpc::Status UpdateContact(const v1::Contact& c, int64_t expected_version,
                             v1::Contact* out,
                             const std::string& token = kAdminToken) {
    v1::UpdateContactRequest req;
    *req.mutable_contact() = c;
    req.set_expected_version(expected_version);
    return Call(&Stub::UpdateContact, req, out, token);
  }
  grpc::Status GetOrgChart(const std::string& account_id, bool include_left,
                           v1::GetOrgChartResponse* out) {
    v1::GetOrgChartRequest req;
    req.set_account_id(account_id);
    req.set_include_left(include_left);
    return Call(&Stub::GetOrgChart, req, out);
  }

  // ---- Org nodes ----
  grpc::Status CreateNode(const v1::OrgNode& n, v1::OrgNode* out,
                          const std::string& token = kAdminToken) {
    v1::CreateOrgNodeRequest req;
    *req.mutable_node() = n;
    return Call(&Stub::CreateOrgNode, req, out, token);
  }
  v1::OrgNode MustCreateNode(v1::OrgNodeKind kind, const std::string& name,
                             const std::string& parent) {
    v1::OrgNode out;
    EXPECT_TRUE(IsOk(CreateNode(Node(kind, name, parent), &out)))
        << "CreateOrgNode " << name;
    return out;
  }
  grpc::Status GetNode(const std::string& id, v1::OrgNode* out) {
    v1::GetOrgNodeRequest req;
    req.set_id(id);
    return Call(&Stub::GetOrgNode, req, out);
  }
  grpc::Status MoveNode(const std::string& id, const std::string& new_parent,
                        int64_t expected_version, v1::OrgNode* out,
                        const std::string& token = kAdminToken) {
    v1::MoveOrgNodeRequest req;
    req.set_id(id);
    req.set_new_parent_id(new_parent);
    req.set_expected_version(expected_version);
    return Call(&Stub::MoveOrgNode, req, out, token);
  }
  Org BuildOrg() {
    Org org;
    org.root = MustCreateNode(v1::ORG_NODE_KIND_GLOBAL, "Global", "");
    org.a = MustCreateNode(v1::ORG_NODE_KIND_REGION, "EMEA", org.root.id());
    org.b = MustCreateNode(v1::ORG_NODE_KIND_REGION, "APAC", org.root.id());
    org.t = MustCreateNode(v1::ORG_NODE_KIND_TEAM, "Team T", org.a.id());
    org.u = MustCreateNode(v1::ORG_NODE_KIND_TEAM, "Team U", org.b.id());
    org.r1 = MustCreateNode(v1::ORG_NODE_KIND_REP, "Rep 1", org.t.id());
    org.r2 = MustCreateNode(v1::ORG_NODE_KIND_REP, "Rep 2", org.t.id());
    org.r3 = MustCreateNode(v1::ORG_NODE_KIND_REP, "Rep 3", org.u.id());
    return org;
  }

  // ---- Quotas ----
  grpc::Status SetQuota(const std::string& node, int32_t quarter,
                        const v1::Money& amount, v1::Quota* out,
                        const std::string& token = kAdminToken,
                        int64_t expected_version = 0) {
    v1::SetQuotaRequest req;
    req.set_node_id(node);
    req.set_fiscal_year(kYear);
    req.set_fiscal_quarter(quarter);
    *req.mutable_amount() = amount;
    req.set_expected_version(expected_version);
    return Call(&Stub::SetQuota, req, out, token);
  }
  // The effective quota of `node` in kYear Q1 in minor units; -1 on error.
  int64_t Effective(const std::string& node) {
    v1::GetQuotaRequest req;
    req.set_node_id(node);
    req.set_fiscal_year(kYear);
    req.set_fiscal_quarter(1);
    v1::GetQuotaResponse resp;
    grpc::Status s = Call(&Stub::GetQuota, req, &resp);
    EXPECT_TRUE(IsOk(s)) << "GetQuota " << node;
    if (!s.ok()) {
      return -1;
    }
    EXPECT_EQ(resp.effective().currency(), "EUR") << node;
    return resp.effective().units_minor();
  }

  salesops::testing::TempDir dir_;
  FakeClock clock_;
  std::unique_ptr<Store> store_;
  std::map<std::string, Principal> principals_;  // token → principal
  std::unique_ptr<Authenticator> auth_;
  std::unique_ptr<AccountsServiceImpl> service_;
  std::unique_ptr<testing::LoopbackServer> server_;
  std::unique_ptr<Stub> stub_;
  std::unique_ptr<v1::FeedService::Stub> feed_stub_;
};

// Test suites by topic; all share the fixture.
using AccountsAccountTest = AccountsServiceTest;
using AccountsContactTest = AccountsServiceTest;
using AccountsOrgNodeTest = AccountsServiceTest;
using AccountsQuotaTest = AccountsServiceTest;
using AccountsAnalysisTest = AccountsServiceTest;
using AccountsRolesTest = AccountsServiceTest;
using AccountsFeedTest = AccountsServiceTest;

std::vector<std::string> Ids(const std::vector<v1::Account>& accounts) {
  std::vector<std::string> ids;
  for (const auto& a : accounts) {
    ids.push_back(a.id());
  }
  return ids;
}

// ===========================================================================
// Accounts

TEST_F(AccountsAccountTest, CreateRejectsEmptyOrBlankName) {
  v1::Account out;
  EXPECT_TRUE(IsError(CreateAccount(Acct(""), &out),
                      grpc::StatusCode::INVALID_ARGUMENT, "account.name"));
  EXPECT_TRUE(IsError(CreateAccount(Acct("   \t "), &out),
                      grpc::StatusCode::INVALID_ARGUMENT, "account.name"));
  EXPECT_EQ(store_->last_sequence(), 0u) << "nothing may be written";
}

TEST_F(AccountsAccountTest, CreateAssignsIdVersionAndDerivesTheSegment) {
  struct Case {
    v1::Level potential, share;
    v1::AccountSegment want;
  };
  const std::vector<Case> cases = {
      {v1::LEVEL_HIGH, v1::LEVEL_LOW, v1::ACCOUNT_SEGMENT_ACQUIRE},
      {v1::LEVEL_HIGH, v1::LEVEL_HIGH, v1::ACCOUNT_SEGMENT_RETAIN},
      {v1::LEVEL_LOW, v1::LEVEL_HIGH, v1::ACCOUNT_SEGMENT_MAINTAIN},
      {v1::LEVEL_LOW, v1::LEVEL_LOW, v1::ACCOUNT_SEGMENT_DEPRIORITIZE},
      {v1::LEVEL_UNSPECIFIED, v1::LEVEL_HIGH, v1::ACCOUNT_SEGMENT_UNSPECIFIED},
      {v1::LEVEL_HIGH, v1::LEVEL_UNSPECIFIED, v1::ACCOUNT_SEGMENT_UNSPECIFIED},
  };
  std::set<std::string> ids;
  for (size_t i = 0; i < cases.size(); ++i) {
    v1::Account in = Acct(absl::StrCat("Customer ", i));
    in.set_industry("steel");
    in.set_purchase_potential(cases[i].potential);
    in.set_share_of_wallet(cases[i].share);
    in.set_segment(v1::ACCOUNT_SEGMENT_MAINTAIN);  // ignored: derived
    in.set_id("acc_client_chosen");                // ignored
    in.set_version(42);                            // ignored
    v1::Account out;
    ASSERT_TRUE(IsOk(CreateAccount(in, &out))) << i;
    EXPECT_TRUE(absl::StartsWith(out.id(), "acc_")) << out.id();
    EXPECT_NE(out.id(), "acc_client_chosen");
    EXPECT_EQ(out.version(), 1);
    EXPECT_EQ(out.name(), absl::StrCat("Customer ", i));
    EXPECT_EQ(out.industry(), "steel");
    EXPECT_EQ(out.segment(), cases[i].want) << "case " << i;
    ids.insert(out.id());

    v1::Account got;
    ASSERT_TRUE(IsOk(GetAccount(out.id(), &got)));
    EXPECT_EQ(got.SerializeAsString(), out.SerializeAsString());
  }
  EXPECT_EQ(ids.size(), cases.size());
}

TEST_F(AccountsAccountTest, DuplicateNameIsCaseInsensitiveAfterTrimming) {
  v1::Account first = MustCreateAccount(Acct("  Acme  "));
  ASSERT_FALSE(first.id().empty());
  for (const char* name : {"ACME", "acme", " Acme", "Acme\t"}) {
    v1::Account out;
    grpc::Status s = CreateAccount(Acct(name), &out);
    EXPECT_TRUE(IsError(s, grpc::StatusCode::ALREADY_EXISTS, first.id()))
        << "name \"" << name << "\"";
  }
  v1::Account other;
  EXPECT_TRUE(IsOk(CreateAccount(Acct("Acme Holdings"), &other)));
}

TEST_F(AccountsAccountTest, OwnerNodeMustExist) {
  Org org = BuildOrg();
  v1::Account out;
  EXPECT_TRUE(IsError(CreateAccount(Acct("Orphan", "org_does_not_exist"), &out),
                      grpc::StatusCode::INVALID_ARGUMENT,
                      "account.owner_node_id"));
  ASSERT_TRUE(IsOk(CreateAccount(Acct("Owned", org.r1.id()), &out)));
  EXPECT_EQ(out.owner_node_id(), org.r1.id());
  v1::Account moved = out;
  moved.set_owner_node_id("org_gone");
  v1::Account updated;
  EXPECT_TRUE(IsError(UpdateAccount(moved, 0, &updated),
                      grpc::StatusCode::INVALID_ARGUMENT,
                      "account.owner_node_id"));
}

TEST_F(AccountsAccountTest, DuplicateExternalIdIsRejected) {
  v1::Account a = Acct("First");
  a.set_external_id("crm-17");
  v1::Account first;
  ASSERT_TRUE(IsOk(CreateAccount(a, &first)));
  EXPECT_EQ(first.external_id(), "crm-17");
  v1::Account b = Acct("Second");
  b.set_external_id("crm-17");
  v1::Account out;
  EXPECT_TRUE(
      IsError(CreateAccount(b, &out), grpc::StatusCode::ALREADY_EXISTS));
  b.set_external_id("crm-18");
  EXPECT_TRUE(IsOk(CreateAccount(b, &out)));
}

TEST_F(AccountsAccountTest, RequestIdMakesCreateIdempotent) {
  v1::Account first, again;
  ASSERT_TRUE(IsOk(CreateAccount(Acct("Idem"), &first, kAdminToken, "req-1")));
  const uint64_t after_first = store_->last_sequence();
  EXPECT_EQ(after_first, 1u);
  ASSERT_TRUE(IsOk(CreateAccount(Acct("Idem"), &again, kAdminToken, "req-1")));
  EXPECT_EQ(again.id(), first.id());
  EXPECT_EQ(again.version(), 1);
  EXPECT_EQ(store_->last_sequence(), after_first) << "one event only";
  int events = 0;
  ASSERT_TRUE(store_
                  ->ReadEvents(0, 100,
                               [&](v1::Event& ev) {
                                 ++events;
                                 EXPECT_EQ(ev.kind(), "accounts.Account");
                                 EXPECT_EQ(ev.entity_id(), first.id());
                                 return true;
                               })
                  .ok());
  EXPECT_EQ(events, 1);
}

TEST_F(AccountsAccountTest, GetOrUpdateOfUnknownAccountIsNotFound) {
  v1::Account out;
  EXPECT_TRUE(IsError(GetAccount("acc_01NOSUCHACCOUNT0000000000", &out),
                      grpc::StatusCode::NOT_FOUND));
  v1::Account ghost = Acct("Ghost");
  ghost.set_id("acc_01NOSUCHACCOUNT0000000000");
  EXPECT_TRUE(
      IsError(UpdateAccount(ghost, 0, &out), grpc::StatusCode::NOT_FOUND));
}

TEST_F(AccountsAccountTest, UpdateChecksVersionAndRederivesTheSegment) {
  v1::Account in = Acct("Versioned");
  in.set_purchase_potential(v1::LEVEL_HIGH);
  in.set_share_of_wallet(v1::LEVEL_LOW);
  v1::Account first = MustCreateAccount(in);
  ASSERT_EQ(first.segment(), v1::ACCOUNT_SEGMENT_ACQUIRE);

  v1::Account change = first;
  change.set_industry("chemicals");
  change.set_share_of_wallet(v1::LEVEL_HIGH);
  v1::Account out;
  EXPECT_TRUE(
      IsError(UpdateAccount(change, 7, &out), grpc::StatusCode::ABORTED));
  v1::Account got;
  ASSERT_TRUE(IsOk(GetAccount(first.id(), &got)));
  EXPECT_EQ(got.version(), 1);
  EXPECT_EQ(got.industry(), "");

  v1::Account v2;
  ASSERT_TRUE(IsOk(UpdateAccount(change, 1, &v2)));
  EXPECT_EQ(v2.id(), first.id());
  EXPECT_EQ(v2.version(), 2);
  EXPECT_EQ(v2.industry(), "chemicals");
  EXPECT_EQ(v2.segment(), v1::ACCOUNT_SEGMENT_RETAIN);
  EXPECT_EQ(v2.created_micros(), first.created_micros());

  // A second writer still holding version 1 loses.
  EXPECT_TRUE(
      IsError(UpdateAccount(change, 1, &out), grpc::StatusCode::ABORTED));
  // 0 = any version.
  change.set_industry("glass");
  v1::Account v3;
  ASSERT_TRUE(IsOk(UpdateAccount(change, 0, &v3)));
  EXPECT_EQ(v3.version(), 3);
  ASSERT_TRUE(IsOk(GetAccount(first.id(), &got)));
  EXPECT_EQ(got.SerializeAsString(), v3.SerializeAsString());
}

TEST_F(AccountsAccountTest, RenameKeepsNamesUniqueAndFreesTheOldName) {
  v1::Account alpha = MustCreateAccount(Acct("Alpha"));
  v1::Account beta = MustCreateAccount(Acct("Beta"));
  v1::Account change = alpha;
  change.set_name(" BETA ");
  v1::Account out;
  EXPECT_TRUE(IsError(UpdateAccount(change, 0, &out),
                      grpc::StatusCode::ALREADY_EXISTS, beta.id()));
  // Renaming to its own name in another case is not a conflict with itself.
  change.set_name("ALPHA");
  ASSERT_TRUE(IsOk(UpdateAccount(change, 0, &out)));
  change.set_name("Gamma");
  ASSERT_TRUE(IsOk(UpdateAccount(change, 0, &out)));
  EXPECT_EQ(out.name(), "Gamma");
  // "Alpha" is free again; "gamma" is not.
  v1::Account reuse;
  EXPECT_TRUE(IsOk(CreateAccount(Acct("alpha"), &reuse)));
  EXPECT_NE(reuse.id(), alpha.id());
  EXPECT_TRUE(IsError(CreateAccount(Acct("gamma"), &out),
                      grpc::StatusCode::ALREADY_EXISTS, alpha.id()));
}

TEST_F(AccountsAccountTest, ListPaginatesAndReportsTheFeedSequence) {
  std::vector<std::string> created;
  for (int i = 0; i < 7; ++i) {
    created.push_back(MustCreateAccount(Acct(absl::StrCat("List ", i))).id());
  }
  const uint64_t last_write = store_->last_sequence();
  ASSERT_EQ(last_write, 7u);

  v1::ListAccountsRequest req;
  req.mutable_page()->set_page_size(3);
  v1::ListAccountsResponse page1;
  ASSERT_TRUE(IsOk(Call(&Stub::ListAccounts, req, &page1)));
  EXPECT_EQ(page1.accounts_size(), 3);
  EXPECT_FALSE(page1.page().next_page_token().empty());
  EXPECT_GE(page1.page().feed_sequence(), last_write);

  int pages = 0;
  std::vector<v1::Account> all = ListAllAccounts({}, 3, &pages);
  EXPECT_EQ(pages, 3);
  EXPECT_THAT(Ids(all), UnorderedElementsAreArray(created));

  all = ListAllAccounts({}, 1000, &pages);
  EXPECT_EQ(pages, 1);
  EXPECT_EQ(all.size(), 7u);

  v1::ListAccountsResponse resp;
  req.mutable_page()->set_page_size(1001);
  EXPECT_TRUE(IsError(Call(&Stub::ListAccounts, req, &resp),
                      grpc::StatusCode::INVALID_ARGUMENT, "page_size"));
  req.mutable_page()->set_page_size(-1);
  EXPECT_TRUE(IsError(Call(&Stub::ListAccounts, req, &resp),
                      grpc::StatusCode::INVALID_ARGUMENT, "page_size"));
  req.mutable_page()->set_page_size(3);
  req.mutable_page()->set_page_token("!!not a token!!");
  EXPECT_TRUE(IsError(Call(&Stub::ListAccounts, req, &resp),
                      grpc::StatusCode::INVALID_ARGUMENT));
}

TEST_F(AccountsAccountTest, ListFiltersByOwnerIndustryTierAndSegment) {
  Org org = BuildOrg();
  auto make = [&](const std::string& name, const std::string& owner,
                  const std::string& industry, v1::AccountTier tier,
                  v1::Level potential, v1::Level share) {
    v1::Account a = Acct(name, owner);
    a.set_industry(industry);
    a.set_tier(tier);
    a.set_purchase_potential(potential);
    a.set_share_of_wallet(share);
    return MustCreateAccount(a).id();
  };
  const std::string a1 =
      make("A1", org.r1.id(), "steel", v1::ACCOUNT_TIER_GOLD, v1::LEVEL_HIGH,
           v1::LEVEL_LOW);  // ACQUIRE
  const std::string a2 =
      make("A2", org.r1.id(), "glass", v1::ACCOUNT_TIER_SILVER, v1::LEVEL_HIGH,
           v1::LEVEL_HIGH);  // RETAIN
  const std::string a3 =
      make("A3", org.r2.id(), "steel", v1::ACCOUNT_TIER_GOLD, v1::LEVEL_LOW,
           v1::LEVEL_HIGH);  // MAINTAIN
  const std::string a4 =
      make("A4", org.r3.id(), "mining", v1::ACCOUNT_TIER_STANDARD,
           v1::LEVEL_HIGH, v1::LEVEL_LOW);  // ACQUIRE
  const std::string a5 =
      make("A5", "", "steel", v1::ACCOUNT_TIER_UNSPECIFIED, v1::LEVEL_LOW,
           v1::LEVEL_LOW);  // DEPRIORITIZE
  int pages = 0;
  v1::ListAccountsRequest req;
  req.set_owner_node_id(org.r1.id());
  EXPECT_THAT(Ids(ListAllAccounts(req, 1, &pages)),
              UnorderedElementsAre(a1, a2));
  req.Clear();
  req.set_industry("steel");
  EXPECT_THAT(Ids(ListAllAccounts(req, 2, &pages)),
              UnorderedElementsAre(a1, a3, a5));
  req.Clear();
  req.set_tier(v1::ACCOUNT_TIER_GOLD);
  EXPECT_THAT(Ids(ListAllAccounts(req, 100, &pages)),
              UnorderedElementsAre(a1, a3));
  req.Clear();
  req.set_segment(v1::ACCOUNT_SEGMENT_ACQUIRE);
  EXPECT_THAT(Ids(ListAllAccounts(req, 1, &pages)),
              UnorderedElementsAre(a1, a4));
  req.Clear();
  req.set_industry("steel");
  req.set_tier(v1::ACCOUNT_TIER_GOLD);
  req.set_owner_node_id(org.r2.id());
  EXPECT_THAT(Ids(ListAllAccounts(req, 100, &pages)), ElementsAre(a3));
  req.Clear();
  req.set_industry("textiles");
  EXPECT_TRUE(ListAllAccounts(req, 100, &pages).empty());
}

// ===========================================================================
// Contacts and the customer's org chart

TEST_F(AccountsContactTest, CreateValidatesAccountAndNameAndDefaultsToActive) {
  v1::Account acme = MustCreateAccount(Acct("Acme"));
  v1::Contact out;
  EXPECT_TRUE(IsError(
      CreateContact(Person("acc_01NOSUCHACCOUNT0000000000", "Ann"), &out),
      grpc::StatusCode::INVALID_ARGUMENT, "contact.account_id"));
  EXPECT_TRUE(IsError(CreateContact(Person("", "Ann"), &out),
                      grpc::StatusCode::INVALID_ARGUMENT,
                      "contact.account_id"));
  EXPECT_TRUE(IsError(CreateContact(Person(acme.id(), ""), &out),
                      grpc::StatusCode::INVALID_ARGUMENT, "contact.name"));
  const uint64_t before = store_->last_sequence();

  v1::Contact in = Person(acme.id(), "Ann Lee");
  in.set_title("Head of purchasing");
  in.set_function(v1::CONTACT_FUNCTION_PURCHASING);
  in.set_level(v1::CONTACT_LEVEL_DECISION);
  ASSERT_TRUE(IsOk(CreateContact(in, &out)));
  EXPECT_TRUE(absl::StartsWith(out.id(), "con_")) << out.id();
  EXPECT_EQ(out.version(), 1);
  EXPECT_EQ(out.status(), v1::CONTACT_STATUS_ACTIVE);
  EXPECT_EQ(out.account_id(), acme.id());
  EXPECT_EQ(out.title(), "Head of purchasing");
  EXPECT_EQ(store_->last_sequence(), before + 1);
  v1::Contact got;
  ASSERT_TRUE(IsOk(GetContact(out.id(), &got)));
  EXPECT_EQ(got.SerializeAsString(), out.SerializeAsString());
  EXPECT_TRUE(IsError(GetContact("con_01NOSUCHCONTACT0000000000", &got),
                      grpc::StatusCode::NOT_FOUND));
}

TEST_F(AccountsContactTest, ReportsToMustBeAnExistingContactOfTheSameAccount) {
  v1::Account acme = MustCreateAccount(Acct("Acme"));
  v1::Account globex = MustCreateAccount(Acct("Globex"));
  v1::Contact boss = MustCreateContact(Person(acme.id(), "Boss"));
  v1::Contact other_boss = MustCreateContact(Person(globex.id(), "Other"));
  v1::Contact out;
  EXPECT_TRUE(
      IsError(CreateContact(Person(acme.id(), "Worker", other_boss.id()), &out),
              grpc::StatusCode::INVALID_ARGUMENT, "contact.reports_to_id"));
  EXPECT_TRUE(IsError(
      CreateContact(
          Person(acme.id(), "Worker", "con_01NOSUCHCONTACT0000000000"), &out),
      grpc::StatusCode::INVALID_ARGUMENT, "contact.reports_to_id"));
  v1::Contact worker;
  ASSERT_TRUE(
      IsOk(CreateContact(Person(acme.id(), "Worker", boss.id()), &worker)));
  EXPECT_EQ(worker.reports_to_id(), boss.id());
  // The same rule on update.
  v1::Contact change = worker;
  change.set_reports_to_id(other_boss.id());
  EXPECT_TRUE(IsError(UpdateContact(change, 0, &out),
                      grpc::StatusCode::INVALID_ARGUMENT,
                      "contact.reports_to_id"));
  v1::Contact got;
  ASSERT_TRUE(IsOk(GetContact(worker.id(), &got)));
  EXPECT_EQ(got.reports_to_id(), boss.id());
  EXPECT_EQ(got.version(), 1);
}

TEST_F(AccountsContactTest, UpdateThatWouldCreateACycleChangesNothing) {
  v1::Account acme = MustCreateAccount(Acct("Acme"));
  v1::Contact ceo = MustCreateContact(Person(acme.id(), "CEO"));
  v1::Contact vp = MustCreateContact(Person(acme.id(), "VP", ceo.id()));
  v1::Contact lead = MustCreateContact(Person(acme.id(), "Lead", vp.id()));
  const uint64_t before = store_->last_sequence();

  v1::Contact out;
  v1::Contact change = ceo;
  change.set_reports_to_id(lead.id());  // ceo → lead → vp → ceo
  EXPECT_TRUE(IsError(UpdateContact(change, 1, &out),
                      grpc::StatusCode::INVALID_ARGUMENT,
                      "contact.reports_to_id"));
  change.set_reports_to_id(ceo.id());  // reports to itself
  EXPECT_TRUE(IsError(UpdateContact(change, 1, &out),
                      grpc::StatusCode::INVALID_ARGUMENT,
                      "contact.reports_to_id"));
  EXPECT_EQ(store_->last_sequence(), before);
  v1::Contact got;
  ASSERT_TRUE(IsOk(GetContact(ceo.id(), &got)));
  EXPECT_EQ(got.SerializeAsString(), ceo.SerializeAsString());

  // A legal re-parenting works and bumps the version.
  change = lead;
  change.set_reports_to_id(ceo.id());
  ASSERT_TRUE(IsOk(UpdateContact(change, 1, &out)));
  EXPECT_EQ(out.version(), 2);
  EXPECT_EQ(out.reports_to_id(), ceo.id());
  // Stale version.
  change.set_title("Team lead");
  EXPECT_TRUE(
      IsError(UpdateContact(change, 1, &out), grpc::StatusCode::ABORTED));
}

TEST_F(AccountsContactTest, AccountIdCannotChange) {
  v1::Account acme = MustCreateAccount(Acct("Acme"));
  v1::Account globex = MustCreateAccount(Acct("Globex"));
  v1::Contact ann = MustCreateContact(Person(acme.id(), "Ann"));
  v1::Contact change = ann;
  change.set_account_id(globex.id());
  v1::Contact out;
  EXPECT_TRUE(IsError(UpdateContact(change, 0, &out),
                      grpc::StatusCode::INVALID_ARGUMENT,
                      "contact.account_id"));
  v1::Contact got;
  ASSERT_TRUE(IsOk(GetContact(ann.id(), &got)));
  EXPECT_EQ(got.account_id(), acme.id());
  EXPECT_EQ(got.version(), 1);
}

TEST_F(AccountsContactTest, LeftContactIsKeptAndFilterable) {
  v1::Account acme = MustCreateAccount(Acct("Acme"));
  v1::Contact stays = MustCreateContact(Person(acme.id(), "Stays"));
  v1::Contact leaves = MustCreateContact(Person(acme.id(), "Leaves"));
  v1::Contact change = leaves;
  change.set_status(v1::CONTACT_STATUS_LEFT);
  v1::Contact out;
  ASSERT_TRUE(IsOk(UpdateContact(change, 1, &out)));
  EXPECT_EQ(out.status(), v1::CONTACT_STATUS_LEFT);
  EXPECT_EQ(out.version(), 2);
  v1::Contact got;
  ASSERT_TRUE(IsOk(GetContact(leaves.id(), &got)));
  EXPECT_EQ(got.status(), v1::CONTACT_STATUS_LEFT);

  auto list = [&](v1::ContactStatus status) {
    v1::ListContactsRequest req;
    req.set_account_id(acme.id());
    req.set_status(status);
    v1::ListContactsResponse resp;
    EXPECT_TRUE(IsOk(Call(&Stub::ListContacts, req, &resp)));
    std::vector<std::string> ids;
    for (const auto& c : resp.contacts()) {
      ids.push_back(c.id());
    }
    return ids;
  };
  EXPECT_THAT(list(v1::CONTACT_STATUS_LEFT), ElementsAre(leaves.id()));
  EXPECT_THAT(list(v1::CONTACT_STATUS_ACTIVE), ElementsAre(stays.id()));
  EXPECT_THAT(list(v1::CONTACT_STATUS_UNSPECIFIED),
              UnorderedElementsAre(stays.id(), leaves.id()));
}

TEST_F(AccountsContactTest, ListRequiresAccountAndPaginates) {
  v1::Account acme = MustCreateAccount(Acct("Acme"));
  v1::Account globex = MustCreateAccount(Acct("Globex"));
  std::vector<std::string> created;
  for (int i = 0; i < 5; ++i) {
    created.push_back(
        MustCreateContact(Person(acme.id(), absl::StrCat("P", i))).id());
  }
  MustCreateContact(Person(globex.id(), "Elsewhere"));

  v1::ListContactsRequest req;
  v1::ListContactsResponse resp;
  EXPECT_TRUE(IsError(Call(&Stub::ListContacts, req, &resp),
                      grpc::StatusCode::INVALID_ARGUMENT, "account_id"));

  req.set_account_id(acme.id());
  req.mutable_page()->set_page_size(2);
  std::vector<std::string> seen;
  int pages = 0;
  for (int guard = 0; guard < 20; ++guard) {
    resp.Clear();
    ASSERT_TRUE(IsOk(Call(&Stub::ListContacts, req, &resp)));
    ++pages;
    EXPECT_LE(resp.contacts_size(), 2);
    for (const auto& c : resp.contacts()) {
      EXPECT_EQ(c.account_id(), acme.id());
      seen.push_back(c.id());
    }
    if (resp.page().next_page_token().empty()) {
      break;
    }
    req.mutable_page()->set_page_token(resp.page().next_page_token());
  }
  EXPECT_EQ(pages, 3);
  EXPECT_THAT(seen, UnorderedElementsAreArray(created));
  req.mutable_page()->set_page_size(1001);
  req.mutable_page()->clear_page_token();
  EXPECT_TRUE(IsError(Call(&Stub::ListContacts, req, &resp),
                      grpc::StatusCode::INVALID_ARGUMENT, "page_size"));
}

TEST_F(AccountsContactTest, OrgChartIsAForestOrderedByContactId) {
  v1::Account acme = MustCreateAccount(Acct("Acme"));
  // Names sort against creation order, so ordering by name would show.
  v1::Contact c1 = MustCreateContact(Person(acme.id(), "Zed (root 1)"));
  v1::Contact c2 = MustCreateContact(Person(acme.id(), "Yan (root 2)"));
  v1::Contact c3 = MustCreateContact(Person(acme.id(), "Xia", c1.id()));
  v1::Contact c4 = MustCreateContact(Person(acme.id(), "Wu (leaves)", c1.id()));
  v1::Contact c5 = MustCreateContact(Person(acme.id(), "Vic", c3.id()));
  v1::Contact c6 = MustCreateContact(Person(acme.id(), "Uma", c2.id()));
  v1::Contact c7 = MustCreateContact(Person(acme.id(), "Tom", c1.id()));
  ASSERT_LT(c1.id(), c2.id());
  ASSERT_LT(c4.id(), c7.id());
  v1::Contact left = c4;
  left.set_status(v1::CONTACT_STATUS_LEFT);
  v1::Contact c4_left;
  ASSERT_TRUE(IsOk(UpdateContact(left, 1, &c4_left)));
  // Another account's contacts never show.
  v1::Account globex = MustCreateAccount(Acct("Globex"));
  MustCreateContact(Person(globex.id(), "Stranger"));

  auto ids_of =
      [](const google::protobuf::RepeatedPtrField<v1::OrgChartNode>& nodes) {
        std::vector<std::string> ids;
        for (const auto& n : nodes) {
          ids.push_back(n.contact().id());
        }
        return ids;
      };

  v1::GetOrgChartResponse chart;
  ASSERT_TRUE(IsOk(GetOrgChart(acme.id(), false, &chart)));
  ASSERT_THAT(ids_of(chart.roots()), ElementsAre(c1.id(), c2.id()));
  const v1::OrgChartNode& r1 = chart.roots(0);
  EXPECT_EQ(r1.contact().SerializeAsString(), c1.SerializeAsString());
  ASSERT_THAT(ids_of(r1.reports()), ElementsAre(c3.id(), c7.id()));
  ASSERT_THAT(ids_of(r1.reports(0).reports()), ElementsAre(c5.id()));
  EXPECT_EQ(r1.reports(0).reports(0).reports_size(), 0);
  EXPECT_EQ(r1.reports(1).reports_size(), 0);
  const v1::OrgChartNode& r2 = chart.roots(1);
  ASSERT_THAT(ids_of(r2.reports()), ElementsAre(c6.id()));
  EXPECT_GE(chart.feed_sequence(), store_->last_sequence());

  ASSERT_TRUE(IsOk(GetOrgChart(acme.id(), true, &chart)));
  ASSERT_THAT(ids_of(chart.roots()), ElementsAre(c1.id(), c2.id()));
  ASSERT_THAT(ids_of(chart.roots(0).reports()),
              ElementsAre(c3.id(), c4.id(), c7.id()));
  EXPECT_EQ(chart.roots(0).reports(1).contact().status(),
            v1::CONTACT_STATUS_LEFT);
  EXPECT_EQ(chart.roots(0).reports(1).contact().version(), 2);

  EXPECT_TRUE(
      IsError(GetOrgChart("acc_01NOSUCHACCOUNT0000000000", false, &chart),
              grpc::StatusCode::NOT_FOUND));
  // An account without contacts has an empty chart.
  ASSERT_TRUE(
      IsOk(GetOrgChart(MustCreateAccount(Acct("Empty")).id(), false, &chart)));
  EXPECT_EQ(chart.roots_size(), 0);
}

// ===========================================================================
// Our sales organization

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

TEST_F(AccountsOrgNodeTest, RepNodesHaveNoChildren) {
  Org org = BuildOrg();
  v1::OrgNode out;
  EXPECT_TRUE(IsError(
      CreateNode(Node(v1::ORG_NODE_KIND_REP, "Under a rep", org.r1.id()), &out),
      grpc::StatusCode::FAILED_PRECONDITION));
  EXPECT_TRUE(IsError(
      CreateNode(Node(v1::ORG_NODE_KIND_TEAM, "Team under rep", org.r1.id()),
                 &out),
      grpc::StatusCode::FAILED_PRECONDITION));
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
    req.mutable_page()->set_page_size(page_size);
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
      if (resp.page().next_page_token().empty()) {
        break;
      }
      req.mutable_page()->set_page_token(resp.page().next_page_token());
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
  v1::Money usd = Eur(100);
  usd.set_currency("USD");
  EXPECT_TRUE(IsError(SetQuota(org.r1.id(), 1, usd, &out),
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
  req.mutable_page()->set_page_size(4);
  std::vector<std::string> listed;
  int pages = 0;
  for (int guard = 0; guard < 10; ++guard) {
    v1::ListQuotasResponse resp;
    ASSERT_TRUE(IsOk(Call(&Stub::ListQuotas, req, &resp, kServiceToken)));
    ++pages;
    EXPECT_EQ(resp.page().feed_sequence(), store_->last_sequence());
    for (const v1::Quota& x : resp.quotas()) {
      listed.push_back(absl::StrCat(x.node_id(), "/", x.fiscal_quarter()));
      if (x.node_id() == org.r1.id() && x.fiscal_quarter() == 2) {
        EXPECT_EQ(x.amount().units_minor(), 999);
        EXPECT_EQ(x.version(), 2);
      }
    }
    if (resp.page().next_page_token().empty()) break;
    req.mutable_page()->set_page_token(resp.page().next_page_token());
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

TEST_F(AccountsAnalysisTest, ClassifyAccountsAppliesTheDefaultTierShares) {
  // score = revenue × 25% + untapped × 25% with collection days 0:
  // 25000 (i + 1) + 10000 ((7 i) % 20), all distinct, not in revenue order.
  std::vector<std::string> ids;
  std::map<std::string, int64_t> want_score;
  v1::ClassifyAccountsRequest req;
  for (int i = 0; i < 20; ++i) {
    const std::string id =
        MustCreateAccount(Acct(absl::StrCat("Scored ", i))).id();
    ids.push_back(id);
    const int64_t revenue = 100000LL * (i + 1);
    const int64_t untapped = 40000LL * ((7 * i) % 20);
    v1::AccountScorecard* card = req.add_scorecards();
    card->set_account_id(id);
    *card->mutable_revenue_12m() = Eur(revenue);
    card->set_gross_margin_bp(2500);
    card->set_avg_collection_days(0);
    *card->mutable_purchase_potential() = Eur(revenue + untapped);
    want_score[id] = 25000LL * (i + 1) + 10000LL * ((7 * i) % 20);
  }
  std::vector<std::string> by_score = ids;
  std::sort(by_score.begin(), by_score.end(),
            [&](const std::string& x, const std::string& y) {
              return want_score[x] > want_score[y];
            });
  auto want_tier = [](int rank) {
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
  };

  v1::ClassifyAccountsResponse resp;
  ASSERT_TRUE(IsOk(Call(&Stub::ClassifyAccounts, req, &resp)));
  ASSERT_EQ(resp.accounts_size(), 20);
  std::map<v1::AccountTier, int> per_tier;
  for (int i = 0; i < 20; ++i) {
    const v1::ClassifiedAccount& c = resp.accounts(i);
    EXPECT_EQ(c.account_id(), by_score[i]) << "rank " << i + 1;
    EXPECT_EQ(c.rank(), i + 1);
    EXPECT_EQ(c.score().units_minor(), want_score[c.account_id()]);
    EXPECT_EQ(c.score().currency(), "EUR");
    EXPECT_EQ(c.tier(), want_tier(i + 1)) << "rank " << i + 1;
    ++per_tier[c.tier()];
  }
  EXPECT_EQ(per_tier[v1::ACCOUNT_TIER_PLATINUM], 1);
  EXPECT_EQ(per_tier[v1::ACCOUNT_TIER_GOLD], 3);
  EXPECT_EQ(per_tier[v1::ACCOUNT_TIER_SILVER], 6);
  EXPECT_EQ(per_tier[v1::ACCOUNT_TIER_STANDARD], 10);
  // Without apply nothing is stored.
  v1::Account got;
  ASSERT_TRUE(IsOk(GetAccount(by_score[0], &got)));
  EXPECT_EQ(got.tier(), v1::ACCOUNT_TIER_UNSPECIFIED);
  EXPECT_EQ(got.version(), 1);

  req.set_apply(true);
  ASSERT_TRUE(IsOk(Call(&Stub::ClassifyAccounts, req, &resp)));
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(IsOk(GetAccount(by_score[i], &got)));
    EXPECT_EQ(got.tier(), want_tier(i + 1)) << "rank " << i + 1;
  }
  int pages = 0;
  v1::ListAccountsRequest list;
  list.set_tier(v1::ACCOUNT_TIER_GOLD);
  EXPECT_THAT(Ids(ListAllAccounts(list, 100, &pages)),
              UnorderedElementsAre(by_score[1], by_score[2], by_score[3]));
}

TEST_F(AccountsAnalysisTest, ScoreDiscountsSlowCollectionAndAddsUntappedValue) {
  const std::string x = MustCreateAccount(Acct("X")).id();
  const std::string y = MustCreateAccount(Acct("Y")).id();
  const std::string z = MustCreateAccount(Acct("Z")).id();
  v1::ClassifyAccountsRequest req;
  auto card = [&](const std::string& id, int64_t revenue, int32_t margin_bp,
                  int32_t days, int64_t potential) {
    v1::AccountScorecard* c = req.add_scorecards();
    c->set_account_id(id);
    *c->mutable_revenue_12m() = Eur(revenue);
    c->set_gross_margin_bp(margin_bp);
    c->set_avg_collection_days(days);
    *c->mutable_purchase_potential() = Eur(potential);
  };
  // 36500 × 100% × (365 − 73) / 365 = 29200; nothing untapped.
  card(x, 36500, 10000, 73, 0);
  // Collected after more than a year: current value 0; untapped 20000 × 50%.
  card(y, 10000, 5000, 400, 30000);
  // 20000 × 50% + (50000 − 20000) × 50% = 25000.
  card(z, 20000, 5000, 0, 50000);
  v1::ClassifyAccountsResponse resp;
  ASSERT_TRUE(IsOk(Call(&Stub::ClassifyAccounts, req, &resp)));
  ASSERT_EQ(resp.accounts_size(), 3);
  EXPECT_EQ(resp.accounts(0).account_id(), x);
  EXPECT_EQ(resp.accounts(0).score().units_minor(), 29200);
  EXPECT_EQ(resp.accounts(1).account_id(), z);
  EXPECT_EQ(resp.accounts(1).score().units_minor(), 25000);
  EXPECT_EQ(resp.accounts(2).account_id(), y);
  EXPECT_EQ(resp.accounts(2).score().units_minor(), 10000);
}

// ===========================================================================
// Roles

TEST_F(AccountsRolesTest, FinanceAndServiceOnlyRead) {
  Org org = BuildOrg();
  v1::Account acme = MustCreateAccount(Acct("Acme", org.r1.id()));
  v1::Contact ann = MustCreateContact(Person(acme.id(), "Ann"));
  const uint64_t before = store_->last_sequence();
  for (const char* token : {kFinanceToken, kServiceToken}) {
    SCOPED_TRACE(token);
    v1::Account acc;
    EXPECT_TRUE(IsOk(GetAccount(acme.id(), &acc, token)));
    v1::ListAccountsResponse accounts;
    EXPECT_TRUE(IsOk(Call(&Stub::ListAccounts, {}, &accounts, token)));
    EXPECT_EQ(accounts.accounts_size(), 1);
    v1::Contact con;
    EXPECT_TRUE(IsOk(GetContact(ann.id(), &con, token)));
    v1::ListOrgNodesResponse nodes;
    EXPECT_TRUE(IsOk(Call(&Stub::ListOrgNodes, {}, &nodes, token)));

    EXPECT_TRUE(IsError(CreateAccount(Acct("New", org.r1.id()), &acc, token),
                        grpc::StatusCode::PERMISSION_DENIED));
    EXPECT_TRUE(IsError(UpdateAccount(acme, 0, &acc, token),
                        grpc::StatusCode::PERMISSION_DENIED));
    EXPECT_TRUE(IsError(CreateContact(Person(acme.id(), "Bob"), &con, token),
                        grpc::StatusCode::PERMISSION_DENIED));
    EXPECT_TRUE(IsError(UpdateContact(ann, 0, &con, token),
                        grpc::StatusCode::PERMISSION_DENIED));
    v1::OrgNode node;
    EXPECT_TRUE(
        IsError(CreateNode(Node(v1::ORG_NODE_KIND_TEAM, "T2", org.a.id()),
                           &node, token),
                grpc::StatusCode::PERMISSION_DENIED));
    EXPECT_TRUE(IsError(MoveNode(org.t.id(), org.b.id(), 0, &node, token),
                        grpc::StatusCode::PERMISSION_DENIED));
    v1::Quota q;
    EXPECT_TRUE(IsError(SetQuota(org.r1.id(), 1, Eur(1), &q, token),
                        grpc::StatusCode::PERMISSION_DENIED));
  }
  EXPECT_EQ(store_->last_sequence(), before);
}

TEST_F(AccountsRolesTest, RepWritesContactsOfTheirOwnAccountsOnly) {
  Org org = BuildOrg();
  AddPrincipals({{kRep1Token, {"rep-1", Role::kRep, org.r1.id()}}});
  v1::Account mine = MustCreateAccount(Acct("Mine", org.r1.id()));
  v1::Account theirs = MustCreateAccount(Acct("Theirs", org.r2.id()));
  v1::Contact theirs_contact = MustCreateContact(Person(theirs.id(), "Them"));

  // Reads.
  v1::Account acc;
  EXPECT_TRUE(IsOk(GetAccount(mine.id(), &acc, kRep1Token)));
  v1::ListAccountsRequest list;
  list.set_owner_node_id(org.r1.id());
  v1::ListAccountsResponse listed;
  EXPECT_TRUE(IsOk(Call(&Stub::ListAccounts, list, &listed, kRep1Token)));
  EXPECT_EQ(listed.accounts_size(), 1);

  // Contacts of their own account.
  v1::Contact con;
  ASSERT_TRUE(
      IsOk(CreateContact(Person(mine.id(), "Buyer"), &con, kRep1Token)));
  v1::Contact got;
  EXPECT_TRUE(IsOk(GetContact(con.id(), &got, kRep1Token)));
  v1::ListContactsRequest lc;
  lc.set_account_id(mine.id());
  v1::ListContactsResponse lcr;
  EXPECT_TRUE(IsOk(Call(&Stub::ListContacts, lc, &lcr, kRep1Token)));
  EXPECT_EQ(lcr.contacts_size(), 1);
  con.set_title("Chief buyer");
  v1::Contact updated;
  ASSERT_TRUE(IsOk(UpdateContact(con, 1, &updated, kRep1Token)));
  EXPECT_EQ(updated.version(), 2);

  // Not someone else's.
  const uint64_t before = store_->last_sequence();
  EXPECT_TRUE(
      IsError(CreateContact(Person(theirs.id(), "Sneaky"), &con, kRep1Token),
              grpc::StatusCode::PERMISSION_DENIED));
  theirs_contact.set_title("changed");
  EXPECT_TRUE(IsError(UpdateContact(theirs_contact, 0, &con, kRep1Token),
                      grpc::StatusCode::PERMISSION_DENIED));
  // No accounts, org nodes or quotas.
  EXPECT_TRUE(
      IsError(CreateAccount(Acct("Rep's own", org.r1.id()), &acc, kRep1Token),
              grpc::StatusCode::PERMISSION_DENIED));
  v1::OrgNode node;
  EXPECT_TRUE(IsError(CreateNode(Node(v1::ORG_NODE_KIND_TEAM, "T2", org.a.id()),
                                 &node, kRep1Token),
                      grpc::StatusCode::PERMISSION_DENIED));
  v1::Quota q;
  EXPECT_TRUE(IsError(SetQuota(org.r1.id(), 1, Eur(1), &q, kRep1Token),
                      grpc::StatusCode::PERMISSION_DENIED));
  EXPECT_EQ(store_->last_sequence(), before);
}

TEST_F(AccountsRolesTest, ManagerWritesInsideTheirSubtreeOnly) {
  Org org = BuildOrg();
  AddPrincipals({{kManagerAToken, {"manager-a", Role::kManager, org.a.id()}},
                 {kRep3Token, {"rep-3", Role::kRep, org.r3.id()}}});
  // Org nodes inside region A.
  v1::OrgNode t2;
  ASSERT_TRUE(
      IsOk(CreateNode(Node(v1::ORG_NODE_KIND_TEAM, "Team T2", org.a.id()), &t2,
                      kManagerAToken)));
  v1::OrgNode moved;
  ASSERT_TRUE(IsOk(MoveNode(org.r2.id(), t2.id(), 0, &moved, kManagerAToken)));
  EXPECT_EQ(moved.parent_id(), t2.id());
  v1::Quota q;
  ASSERT_TRUE(IsOk(SetQuota(org.t.id(), 1, Eur(100), &q, kManagerAToken)));
  ASSERT_TRUE(IsOk(SetQuota(org.r1.id(), 1, Eur(100), &q, kManagerAToken)));
  v1::Account acc;
  ASSERT_TRUE(
      IsOk(CreateAccount(Acct("A-owned", org.r1.id()), &acc, kManagerAToken)));
  acc.set_industry("steel");
  v1::Account acc2;
  ASSERT_TRUE(IsOk(UpdateAccount(acc, 1, &acc2, kManagerAToken)));
  EXPECT_EQ(acc2.version(), 2);
  // Reads outside the subtree are fine.
  v1::OrgNode got;
  EXPECT_TRUE(IsOk(GetNode(org.b.id(), &got)));

  // Writes outside region A are not.
  const uint64_t before = store_->last_sequence();
  v1::OrgNode node;
  EXPECT_TRUE(
      IsError(CreateNode(Node(v1::ORG_NODE_KIND_TEAM, "In B", org.b.id()),
                         &node, kManagerAToken),
              grpc::StatusCode::PERMISSION_DENIED));
  EXPECT_TRUE(IsError(
      CreateNode(Node(v1::ORG_NODE_KIND_REGION, "New region", org.root.id()),
                 &node, kManagerAToken),
      grpc::StatusCode::PERMISSION_DENIED));
  EXPECT_TRUE(
      IsError(MoveNode(org.r3.id(), org.t.id(), 0, &node, kManagerAToken),
              grpc::StatusCode::PERMISSION_DENIED));
  // Nor out of it.
  EXPECT_TRUE(
      IsError(MoveNode(org.r1.id(), org.u.id(), 0, &node, kManagerAToken),
              grpc::StatusCode::PERMISSION_DENIED));
  EXPECT_TRUE(IsError(SetQuota(org.b.id(), 1, Eur(100), &q, kManagerAToken),
                      grpc::StatusCode::PERMISSION_DENIED));
  EXPECT_TRUE(IsError(SetQuota(org.u.id(), 1, Eur(100), &q, kManagerAToken),
                      grpc::StatusCode::PERMISSION_DENIED));
  EXPECT_TRUE(IsError(SetQuota(org.root.id(), 1, Eur(100), &q, kManagerAToken),
                      grpc::StatusCode::PERMISSION_DENIED));
  v1::Account out;
  EXPECT_TRUE(
      IsError(CreateAccount(Acct("B-owned", org.r3.id()), &out, kManagerAToken),
              grpc::StatusCode::PERMISSION_DENIED));
  v1::Account b_acc = MustCreateAccount(Acct("B account", org.u.id()));
  const uint64_t after_admin_write = store_->last_sequence();
  EXPECT_EQ(after_admin_write, before + 1);
  b_acc.set_industry("glass");
  EXPECT_TRUE(IsError(UpdateAccount(b_acc, 0, &out, kManagerAToken),
                      grpc::StatusCode::PERMISSION_DENIED));
  EXPECT_EQ(store_->last_sequence(), after_admin_write);

  // The REP of region B cannot move nodes or set quotas either.
  EXPECT_TRUE(IsError(MoveNode(org.r3.id(), org.u.id(), 0, &node, kRep3Token),
                      grpc::StatusCode::PERMISSION_DENIED));
  EXPECT_EQ(store_->last_sequence(), after_admin_write);
}

TEST_F(AccountsRolesTest, MissingOrUnknownTokenIsUnauthenticated) {
  v1::Account acme = MustCreateAccount(Acct("Acme"));
  for (const std::string& token : {std::string(""), std::string("forged")}) {
    SCOPED_TRACE(token);
    v1::Account acc;
    EXPECT_TRUE(IsError(GetAccount(acme.id(), &acc, token),
                        grpc::StatusCode::UNAUTHENTICATED));
    EXPECT_TRUE(IsError(CreateAccount(Acct("X"), &acc, token),
                        grpc::StatusCode::UNAUTHENTICATED));
    v1::ListOrgNodesResponse nodes;
    EXPECT_TRUE(IsError(Call(&Stub::ListOrgNodes, {}, &nodes, token),
                        grpc::StatusCode::UNAUTHENTICATED));
    v1::GetQuotaResponse quota;
    EXPECT_TRUE(IsError(Call(&Stub::GetQuota, {}, &quota, token),
                        grpc::StatusCode::UNAUTHENTICATED));
    v1::ScoreIndustriesResponse scored;
    EXPECT_TRUE(IsError(Call(&Stub::ScoreIndustries, {}, &scored, token),
                        grpc::StatusCode::UNAUTHENTICATED));
  }
  EXPECT_EQ(store_->last_sequence(), 1u);
}

// ===========================================================================
// Feed

TEST_F(AccountsFeedTest, ThousandMixedChangesAreThousandEventsInOrder) {
  struct Written {
    std::string kind;
    std::string entity_id;  // "" for quotas (their id is the service's)
    std::string state;      // serialized response
    int64_t version;
  };
  std::vector<Written> writes;
  auto record = [&](const std::string& kind, const std::string& id,
                    const google::protobuf::Message& state, int64_t version) {
    writes.push_back({kind, id, state.SerializeAsString(), version});
  };

  v1::OrgNode root = MustCreateNode(v1::ORG_NODE_KIND_GLOBAL, "Global", "");
  ASSERT_FALSE(root.id().empty());
  record("accounts.OrgNode", root.id(), root, root.version());
  std::vector<v1::OrgNode> regions;
  v1::OrgNode team;
  v1::Account account;
  v1::Contact contact, boss;
  for (int i = 0; i < 2000 && writes.size() < 1000; ++i) {
    const int round = i / 8;
    switch (i % 8) {
      case 0: {
        v1::OrgNode r;
        ASSERT_TRUE(
            IsOk(CreateNode(Node(v1::ORG_NODE_KIND_REGION,
                                 absl::StrCat("Region ", round), root.id()),
                            &r)));
        regions.push_back(r);
        record("accounts.OrgNode", r.id(), r, r.version());
        break;
      }
      case 1: {
        ASSERT_TRUE(IsOk(
            CreateNode(Node(v1::ORG_NODE_KIND_TEAM,
                            absl::StrCat("Team ", round), regions.back().id()),
                       &team)));
        record("accounts.OrgNode", team.id(), team, team.version());
        break;
      }
      case 2: {
        // A new account every other round, otherwise another update.
        if (round % 2 == 0) {
          v1::Account a = Acct(absl::StrCat("Account ", round), team.id());
          a.set_purchase_potential(v1::LEVEL_HIGH);
          a.set_share_of_wallet(v1::LEVEL_LOW);
          ASSERT_TRUE(IsOk(CreateAccount(a, &account)));
        } else {
          v1::Account a = account;
          a.set_industry(absl::StrCat("industry ", round));
          ASSERT_TRUE(IsOk(UpdateAccount(a, account.version(), &account)));
        }
        record("accounts.Account", account.id(), account, account.version());
        break;
      }
      case 3: {
        v1::Account a = account;
        a.set_name(absl::StrCat("Account ", round, " renamed"));
        a.set_share_of_wallet(v1::LEVEL_HIGH);
        ASSERT_TRUE(IsOk(UpdateAccount(a, account.version(), &account)));
        EXPECT_EQ(account.segment(), v1::ACCOUNT_SEGMENT_RETAIN);
        record("accounts.Account", account.id(), account, account.version());
        break;
      }
      case 4: {
        // Even rounds: a root contact of the new account; odd rounds: one
        // reporting to it.
        const bool report = round % 2 == 1;
        ASSERT_EQ(report, boss.account_id() == account.id());
        ASSERT_TRUE(IsOk(
            CreateContact(Person(account.id(), absl::StrCat("Contact ", round),
                                 report ? boss.id() : ""),
                          &contact)));
        if (!report) {
          boss = contact;
        }
        record("accounts.Contact", contact.id(), contact, contact.version());
        break;
      }
      case 5: {
        v1::Contact c = contact;
        c.set_title(absl::StrCat("Title ", round));
        ASSERT_TRUE(IsOk(UpdateContact(c, contact.version(), &contact)));
        record("accounts.Contact", contact.id(), contact, contact.version());
        break;
      }
      case 6: {
        // Re-setting the root's quota of one of four quarters: versions grow.
        v1::Quota q;
        ASSERT_TRUE(
            IsOk(SetQuota(root.id(), round % 4 + 1, Eur(100 * round), &q)));
        record("accounts.Quota", "", q, q.version());
        break;
      }
      case 7: {
        v1::OrgNode n;
        if (regions.size() >= 2) {
          // Move this round's team under the previous region.
          ASSERT_TRUE(IsOk(MoveNode(team.id(), regions[regions.size() - 2].id(),
                                    team.version(), &n)));
        } else {
          v1::UpdateOrgNodeRequest req;
          *req.mutable_node() = regions.back();
          req.mutable_node()->set_name("Region 0 renamed");
          req.set_expected_version(regions.back().version());
          ASSERT_TRUE(IsOk(Call(&Stub::UpdateOrgNode, req, &n)));
        }
        EXPECT_EQ(n.version(), 2);
        record("accounts.OrgNode", n.id(), n, n.version());
        break;
      }
    }
  }
  ASSERT_EQ(writes.size(), 1000u);
  EXPECT_EQ(store_->last_sequence(), 1000u);

  auto ctx = Ctx(kServiceToken);
  auto reader = feed_stub_->Watch(ctx.get(), v1::WatchRequest());
  v1::Event ev;
  std::map<std::string, int> kinds;
  for (uint64_t s = 1; s <= 1000; ++s) {
    ASSERT_TRUE(reader->Read(&ev)) << "missing event " << s;
    ASSERT_EQ(ev.sequence(), s);
    const Written& w = writes[s - 1];
    ASSERT_EQ(ev.kind(), w.kind) << "event " << s;
    ++kinds[ev.kind()];
    if (!w.entity_id.empty()) {
      EXPECT_EQ(ev.entity_id(), w.entity_id) << "event " << s;
    }
    std::string state;
    int64_t version = 0;
    if (w.kind == "accounts.Account") {
      v1::Account a;
      ASSERT_TRUE(ev.payload().UnpackTo(&a)) << "event " << s;
      state = a.SerializeAsString();
      version = a.version();
    } else if (w.kind == "accounts.Contact") {
      v1::Contact c;
      ASSERT_TRUE(ev.payload().UnpackTo(&c)) << "event " << s;
      state = c.SerializeAsString();
      version = c.version();
    } else if (w.kind == "accounts.OrgNode") {
      v1::OrgNode n;
      ASSERT_TRUE(ev.payload().UnpackTo(&n)) << "event " << s;
      state = n.SerializeAsString();
      version = n.version();
    } else {
      v1::Quota q;
      ASSERT_TRUE(ev.payload().UnpackTo(&q)) << "event " << s;
      state = q.SerializeAsString();
      version = q.version();
    }
    EXPECT_EQ(version, w.version) << "event " << s;
    EXPECT_EQ(state, w.state) << "event " << s << " (" << w.kind << ")";
  }
  // The root, 125 regions, 125 teams and 124 moves or renames (the last
  // round stops before its move).
  EXPECT_EQ(kinds["accounts.OrgNode"], 1 + 125 + 125 + 124);
  EXPECT_EQ(kinds["accounts.Account"], 250);
  EXPECT_EQ(kinds["accounts.Contact"], 250);
  EXPECT_EQ(kinds["accounts.Quota"], 125);
  ctx->TryCancel();
  reader->Finish();

  v1::GetFeedPositionResponse pos;
  auto pos_ctx = Ctx(kServiceToken);
  ASSERT_TRUE(IsOk(feed_stub_->GetFeedPosition(pos_ctx.get(), {}, &pos)));
  EXPECT_EQ(pos.sequence(), 1000u) << "nothing beyond the 1,000 writes";
}

}  // namespace
}  // namespace salesops::accounts
