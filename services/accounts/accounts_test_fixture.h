#pragma once

// The fixture of the gRPC-level tests of the accounts service (SPEC.md §2)
// in process: the service and its feed on a loopback port over a real store,
// called through the generated stub with bearer tokens of every role. Shared
// by accounts_service_test.cc, org_service_test.cc and accounts_roles_test.cc.

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
#include "common/testing/builders.h"
#include "common/testing/client_context.h"
#include "common/testing/grpc_status.h"
#include "common/testing/loopback_server.h"
#include "common/testing/temp_dir.h"
#include "common/time/clock.h"
#include "salesops/v1/accounts.grpc.pb.h"
#include "salesops/v1/feed.grpc.pb.h"
#include "services/accounts/accounts_service.h"
#include "services/accounts/accounts_store.h"

namespace salesops::accounts {

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

using ::salesops::testing::Eur;

inline v1::Account Acct(const std::string& name,
                        const std::string& owner = "") {
  v1::Account a;
  a.set_name(name);
  a.set_owner_node_id(owner);
  return a;
}

inline v1::Contact Person(const std::string& account_id,
                          const std::string& name,
                          const std::string& reports_to = "") {
  v1::Contact c;
  c.set_account_id(account_id);
  c.set_name(name);
  c.set_reports_to_id(reports_to);
  return c;
}

inline v1::OrgNode Node(v1::OrgNodeKind kind, const std::string& name,
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
    return ::salesops::testing::BearerContext(token);
  }

  template <typename Req, typename Resp>
  grpc::Status Call(Method<Req, Resp> method, const Req& req, Resp* resp,
                    const std::string& token = kAdminToken) {
    return ::salesops::testing::CallAs(*stub_, method, req, resp, token);
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
    req.set_page_size(page_size);
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
      if (resp.next_page_token().empty()) {
        break;
      }
      req.set_page_token(resp.next_page_token());
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

inline std::vector<std::string> Ids(const std::vector<v1::Account>& accounts) {
  std::vector<std::string> ids;
  for (const auto& a : accounts) {
    ids.push_back(a.id());
  }
  return ids;
}

}  // namespace salesops::accounts
