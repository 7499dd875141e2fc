// End-to-end tests of the salesops-accounts binary: acknowledged writes of
// every entity survive SIGKILL, the metrics page after a restart, and a clean
// exit on SIGTERM.

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/metrics/testing/scrape.h"
#include "common/testing/builders.h"
#include "common/testing/process.h"
#include "common/testing/temp_dir.h"
#include "salesops/v1/accounts.grpc.pb.h"

namespace salesops {
namespace {

using ::salesops::testing::Process;
using ::salesops::testing::TempDir;
using Stub = v1::AccountsService::Stub;

constexpr char kReady[] = "\"msg\":\"accounts ready\"";
constexpr int32_t kYear = 2026;

// A running salesops-accounts on loopback ports with its data in `data_dir`.
struct Running {
  std::unique_ptr<Process> process;
  int port = 0;
  int metrics_port = 0;
  std::unique_ptr<Stub> stub;
};

Running Launch(const std::string& data_dir) {
  Running r;
  r.process = Process::Start({SALESOPS_ACCOUNTS_BIN, "--listen=127.0.0.1:0",
                              "--metrics_listen=127.0.0.1:0", "--auth=none",
                              "--data_dir=" + data_dir, std::string("--init")});
  if (r.process == nullptr) {
    return r;
  }
  r.port = r.process->WaitForIntField(kReady, "port", absl::Seconds(30));
  r.metrics_port =
      r.process->WaitForIntField(kReady, "metrics_port", absl::Seconds(1));
  r.stub = v1::AccountsService::NewStub(grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", r.port), grpc::InsecureChannelCredentials()));
  return r;
}

template <typename Req, typename Resp>
using Method = grpc::Status (Stub::*)(grpc::ClientContext*, const Req&, Resp*);

template <typename Req, typename Resp>
grpc::Status Call(Stub& stub, Method<Req, Resp> method, const Req& req,
                  Resp* resp) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  return (stub.*method)(&ctx, req, resp);
}

using ::salesops::testing::Eur;

// What the first process acknowledged, to be read back after the crash.
struct Acknowledged {
  std::map<std::string, v1::OrgNode> nodes;
  std::map<std::string, v1::Account> accounts;
  std::map<std::string, v1::Contact> contacts;
  std::vector<v1::Quota> quotas;
  v1::CreateAccountRequest first_create;  // with a request_id
  v1::Account first_created;
};

// Writes an org of 7 nodes (the team moved once); answers the reps.
std::vector<v1::OrgNode> WriteOrg(Stub& stub, Acknowledged* ack) {
  auto node = [&](v1::OrgNodeKind kind, const std::string& name,
                  const std::string& parent) {
    v1::CreateOrgNodeRequest req;
    req.mutable_node()->set_kind(kind);
    req.mutable_node()->set_name(name);
    req.mutable_node()->set_parent_id(parent);
    v1::OrgNode out;
    grpc::Status s = Call(stub, &Stub::CreateOrgNode, req, &out);
    EXPECT_TRUE(s.ok()) << name << ": " << s.error_message();
    if (s.ok()) {
      ack->nodes[out.id()] = out;
    }
    return out;
  };
  v1::OrgNode root = node(v1::ORG_NODE_KIND_GLOBAL, "Global", "");
  v1::OrgNode emea = node(v1::ORG_NODE_KIND_REGION, "EMEA", root.id());
  v1::OrgNode apac = node(v1::ORG_NODE_KIND_REGION, "APAC", root.id());
  v1::OrgNode team = node(v1::ORG_NODE_KIND_TEAM, "Team", emea.id());
  std::vector<v1::OrgNode> reps;
  for (int i = 0; i < 3; ++i) {
    reps.push_back(
        node(v1::ORG_NODE_KIND_REP, absl::StrCat("Rep ", i), team.id()));
  }
  {
    v1::MoveOrgNodeRequest req;
    req.set_id(team.id());
    req.set_new_parent_id(apac.id());
    req.set_expected_version(team.version());
    v1::OrgNode out;
    grpc::Status s = Call(stub, &Stub::MoveOrgNode, req, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(out.version(), 2);
    ack->nodes[out.id()] = out;
  }
  return reps;
}

// Writes 12 accounts owned by `reps`, some updated.
void WriteAccounts(Stub& stub, const std::vector<v1::OrgNode>& reps,
                   Acknowledged* ack) {
  for (int i = 0; i < 12; ++i) {
    v1::CreateAccountRequest req;
    v1::Account* a = req.mutable_account();
    a->set_name(absl::StrCat("Customer ", i));
    a->set_industry(i % 2 == 0 ? "steel" : "glass");
    a->set_owner_node_id(reps[i % reps.size()].id());
    a->set_purchase_potential(i % 3 == 0 ? v1::LEVEL_HIGH : v1::LEVEL_LOW);
    a->set_share_of_wallet(i % 4 == 0 ? v1::LEVEL_HIGH : v1::LEVEL_LOW);
    a->set_external_id(absl::StrCat("crm-", i));
    req.set_request_id(absl::StrCat("create-", i));
    v1::Account out;
    grpc::Status s = Call(stub, &Stub::CreateAccount, req, &out);
    ASSERT_TRUE(s.ok()) << s.error_message();
    ack->accounts[out.id()] = out;
    if (i == 0) {
      ack->first_create = req;
      ack->first_created = out;
    }
    if (i % 3 == 1) {
      v1::UpdateAccountRequest up;
      *up.mutable_account() = out;
      up.mutable_account()->set_tier(v1::ACCOUNT_TIER_GOLD);
      up.mutable_account()->set_website("https://example.com");
      up.set_expected_version(out.version());
      v1::Account updated;
      s = Call(stub, &Stub::UpdateAccount, up, &updated);
      ASSERT_TRUE(s.ok()) << s.error_message();
      EXPECT_EQ(updated.version(), 2);
      ack->accounts[updated.id()] = updated;
    }
  }
}

// Writes 6 contacts of the first account (reporting to the first), one
// updated.
void WriteContacts(Stub& stub, Acknowledged* ack) {
  const std::string first_account = ack->accounts.begin()->first;
  std::string boss;
  for (int i = 0; i < 6; ++i) {
    v1::CreateContactRequest req;
    v1::Contact* c = req.mutable_contact();
    c->set_account_id(first_account);
    c->set_name(absl::StrCat("Contact ", i));
    c->set_reports_to_id(i == 0 ? "" : boss);
    c->set_level(i == 0 ? v1::CONTACT_LEVEL_DECISION
                        : v1::CONTACT_LEVEL_OPERATIONAL);
    v1::Contact out;
    grpc::Status s = Call(stub, &Stub::CreateContact, req, &out);
    ASSERT_TRUE(s.ok()) << s.error_message();
    ack->contacts[out.id()] = out;
    if (i == 0) {
      boss = out.id();
    }
  }
  {
    v1::UpdateContactRequest up;
    *up.mutable_contact() = ack->contacts.rbegin()->second;
    up.mutable_contact()->set_status(v1::CONTACT_STATUS_LEFT);
    v1::Contact out;
    grpc::Status s = Call(stub, &Stub::UpdateContact, up, &out);
    ASSERT_TRUE(s.ok()) << s.error_message();
    ack->contacts[out.id()] = out;
  }
}

// Sets quotas of `reps` (one twice).
void WriteQuotas(Stub& stub, const std::vector<v1::OrgNode>& reps,
                 Acknowledged* ack) {
  auto quota = [&](const std::string& node_id, int32_t quarter, int64_t minor) {
    v1::SetQuotaRequest req;
    req.set_node_id(node_id);
    req.set_fiscal_year(kYear);
    req.set_fiscal_quarter(quarter);
    *req.mutable_amount() = Eur(minor);
    v1::Quota out;
    grpc::Status s = Call(stub, &Stub::SetQuota, req, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out;
  };
  ack->quotas.push_back(quota(reps[0].id(), 1, 10000));
  ack->quotas.push_back(quota(reps[1].id(), 1, 5000));
  quota(reps[2].id(), 2, 1);
  ack->quotas.push_back(quota(reps[2].id(), 2, 7000));  // version 2
  EXPECT_EQ(ack->quotas.back().version(), 2);
}

// Writes an org, accounts (some updated), contacts (some reporting to
// others, one updated) and quotas (one set twice) and records each
// acknowledged response.
void WriteEverything(Stub& stub, Acknowledged* ack) {
  const std::vector<v1::OrgNode> reps = WriteOrg(stub, ack);
  ASSERT_EQ(reps.size(), 3u);
  ASSERT_NO_FATAL_FAILURE(WriteAccounts(stub, reps, ack));
  ASSERT_NO_FATAL_FAILURE(WriteContacts(stub, ack));
  WriteQuotas(stub, reps, ack);
}

// Every acknowledged write reads back the same, and the org is still a
// hierarchy: APAC's effective Q1 quota is the sum of the reps under the
// moved team.
void ExpectReadBack(Stub& stub, const Acknowledged& ack) {
  for (const auto& [id, want] : ack.nodes) {
    v1::GetOrgNodeRequest req;
    req.set_id(id);
    v1::OrgNode got;
    ASSERT_TRUE(Call(stub, &Stub::GetOrgNode, req, &got).ok()) << id;
    EXPECT_EQ(got.SerializeAsString(), want.SerializeAsString()) << id;
  }
  for (const auto& [id, want] : ack.accounts) {
    v1::GetAccountRequest req;
    req.set_id(id);
    v1::Account got;
    ASSERT_TRUE(Call(stub, &Stub::GetAccount, req, &got).ok()) << id;
    EXPECT_EQ(got.SerializeAsString(), want.SerializeAsString()) << id;
  }
  for (const auto& [id, want] : ack.contacts) {
    v1::GetContactRequest req;
    req.set_id(id);
    v1::Contact got;
    ASSERT_TRUE(Call(stub, &Stub::GetContact, req, &got).ok()) << id;
    EXPECT_EQ(got.SerializeAsString(), want.SerializeAsString()) << id;
  }
  for (const v1::Quota& want : ack.quotas) {
    v1::GetQuotaRequest req;
    req.set_node_id(want.node_id());
    req.set_fiscal_year(want.fiscal_year());
    req.set_fiscal_quarter(want.fiscal_quarter());
    v1::GetQuotaResponse got;
    ASSERT_TRUE(Call(stub, &Stub::GetQuota, req, &got).ok());
    EXPECT_TRUE(got.has_explicit());
    EXPECT_EQ(got.explicit_().SerializeAsString(),
              want.amount().SerializeAsString());
  }
  {
    v1::GetQuotaRequest req;
    for (const auto& [id, n] : ack.nodes) {
      if (n.name() == "APAC") {
        req.set_node_id(id);
      }
    }
    req.set_fiscal_year(kYear);
    req.set_fiscal_quarter(1);
    v1::GetQuotaResponse got;
    ASSERT_TRUE(Call(stub, &Stub::GetQuota, req, &got).ok());
    EXPECT_FALSE(got.has_explicit());
    EXPECT_EQ(got.effective().units_minor(), 15000);
  }
}

// The metrics page counts the calls ExpectReadBack and the test made.
void ExpectCallMetrics(int metrics_port, const Acknowledged& ack) {
  auto page = salesops::testing::HttpGet("127.0.0.1", metrics_port, "/metrics");
  ASSERT_TRUE(page.ok()) << page.status();
  auto samples = salesops::testing::ParseTextPage(*page);
  ASSERT_TRUE(samples.ok()) << samples.status();
  const std::string svc = "salesops.v1.AccountsService";
  auto handled = [&](const std::string& method, const std::string& code) {
    return salesops::testing::FindSample(*samples, "grpc_server_handled_total",
                                         {{"grpc_type", "unary"},
                                          {"grpc_service", svc},
                                          {"grpc_method", method},
                                          {"grpc_code", code}});
  };
  const double accounts = static_cast<double>(ack.accounts.size());
  EXPECT_EQ(handled("GetAccount", "OK"), accounts) << *page;
  EXPECT_EQ(handled("GetAccount", "NotFound"), 1.0) << *page;
  EXPECT_EQ(handled("GetOrgNode", "OK"), 7.0);
  EXPECT_EQ(handled("GetContact", "OK"), 6.0);
  EXPECT_EQ(handled("GetQuota", "OK"), 4.0);
  EXPECT_EQ(handled("CreateAccount", "OK"), 1.0);
  EXPECT_EQ(handled("CreateAccount", "AlreadyExists"), 1.0);
  EXPECT_EQ(salesops::testing::FindSample(*samples,
                                          "grpc_server_handling_seconds_count",
                                          {{"grpc_type", "unary"},
                                           {"grpc_service", svc},
                                           {"grpc_method", "GetAccount"}}),
            accounts + 1);
  double keys = 0;
  int key_samples = 0;
  for (const auto& s : *samples) {
    if (s.name == "salesops_rocksdb_estimated_keys") {
      ++key_samples;
      keys += s.value;
    }
  }
  EXPECT_GT(key_samples, 0) << *page;
  EXPECT_GT(keys, 0) << *page;
  absl::Status promtool = salesops::testing::PromtoolCheck(*page);
  EXPECT_TRUE(promtool.ok()) << promtool;
}

TEST(AccountsEndToEnd, AcknowledgedWritesSurviveSigkillAndMetricsShowCalls) {
  TempDir dir;
  Acknowledged ack;
  {
    Running r = Launch(dir.path());
    ASSERT_GT(r.port, 0) << r.process->Log();
    WriteEverything(*r.stub, &ack);
    if (HasFatalFailure()) {
      return;
    }
    r.process->Signal(SIGKILL);  // no drain, no clean close
    auto status = r.process->WaitExit(absl::Seconds(10));
    ASSERT_TRUE(status.has_value());
    ASSERT_TRUE(WIFSIGNALED(*status));
  }
  ASSERT_EQ(ack.nodes.size(), 7u);
  ASSERT_EQ(ack.accounts.size(), 12u);
  ASSERT_EQ(ack.contacts.size(), 6u);

  Running r = Launch(dir.path());
  ASSERT_GT(r.port, 0) << r.process->Log();
  ASSERT_GT(r.metrics_port, 0) << r.process->Log();
  Stub& stub = *r.stub;
  ASSERT_NO_FATAL_FAILURE(ExpectReadBack(stub, ack));
  // The request_id of a create is remembered across the crash: the retry
  // answers the first result.
  {
    v1::Account out;
    grpc::Status s = Call(stub, &Stub::CreateAccount, ack.first_create, &out);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(out.SerializeAsString(), ack.first_created.SerializeAsString());
  }
  // Some errors for the metrics: a duplicate name, an unknown id.
  {
    v1::CreateAccountRequest req;
    req.mutable_account()->set_name(" customer 0 ");
    v1::Account out;
    grpc::Status s = Call(stub, &Stub::CreateAccount, req, &out);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::ALREADY_EXISTS)
        << s.error_message();
  }
  {
    v1::GetAccountRequest req;
    req.set_id("acc_01NOSUCHACCOUNT0000000000");
    v1::Account out;
    EXPECT_EQ(Call(stub, &Stub::GetAccount, req, &out).error_code(),
              grpc::StatusCode::NOT_FOUND);
  }

  ExpectCallMetrics(r.metrics_port, ack);
}

TEST(AccountsEndToEnd, SigtermExitsZero) {
  TempDir dir;
  Running r = Launch(dir.path());
  ASSERT_GT(r.port, 0) << r.process->Log();
  v1::CreateOrgNodeRequest req;
  req.mutable_node()->set_kind(v1::ORG_NODE_KIND_GLOBAL);
  req.mutable_node()->set_name("Global");
  v1::OrgNode root;
  grpc::Status s = Call(*r.stub, &Stub::CreateOrgNode, req, &root);
  ASSERT_TRUE(s.ok()) << s.error_message();
  // Close our connection first: an idle client channel answers the server's
  // graceful-GOAWAY ping only when gRPC's backup poller runs (every 5 s), which
  // would hold the drain that long.
  r.stub.reset();
  const absl::Time signalled = absl::Now();
  r.process->Signal(SIGTERM);
  auto status = r.process->WaitExit(absl::Seconds(30));
  ASSERT_TRUE(status.has_value()) << r.process->Log();
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0)
      << r.process->Log();
  // SPEC §8: a restart takes under 5 s, so stopping must be quicker.
  EXPECT_LT(absl::Now() - signalled, absl::Seconds(5)) << r.process->Log();

  // The write is there after a clean restart too.
  Running again = Launch(dir.path());
  ASSERT_GT(again.port, 0) << again.process->Log();
  v1::GetOrgNodeRequest get;
  get.set_id(root.id());
  v1::OrgNode got;
  ASSERT_TRUE(Call(*again.stub, &Stub::GetOrgNode, get, &got).ok());
  EXPECT_EQ(got.SerializeAsString(), root.SerializeAsString());
}

}  // namespace
}  // namespace salesops
