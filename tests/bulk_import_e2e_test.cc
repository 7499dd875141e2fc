// Issue 21, Must show 4, and the bulk import RPCs' contract
// (proto/salesops/v1/accounts.proto "Bulk import"; docs/API.md "Bulk
// import") through the real binaries: per-row outcomes with row numbers and
// violations, rows independent of each other, idempotent per row, the same
// checks, audit and feed events as the single creates, and the one JSON call
// through the Connect listener.

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/testing/client_context.h"
#include "tests/suite.h"

namespace salesops::e2e {
namespace {

using ::salesops::testing::BearerContext;

constexpr int kRows = 100'000;
constexpr int kBatch = 1000;

uint64_t Head(Suite& s) {
  v1::GetFeedPositionResponse pos;
  EXPECT_TRUE(s.FeedPosition(kPipeline, &pos).ok());
  return pos.sequence();
}

grpc::Status Import(Suite& s, const std::string& token,
                    const v1::ImportOpportunitiesRequest& req,
                    v1::ImportOpportunitiesResponse* resp) {
  return s.pipeline().ImportOpportunities(
      BearerContext(token, absl::Seconds(60)).get(), req, resp);
}

v1::CreateOpportunityRequest Row(const v1::Opportunity& o,
                                 const std::string& request_id) {
  v1::CreateOpportunityRequest r;
  *r.mutable_opportunity() = o;
  r.set_request_id(request_id);
  return r;
}

// The 1% bad rows of the big import: every 100th row from row 38 on, with
// one of four violations in turn.
bool Bad(int i) { return i % 100 == 37; }
v1::Opportunity BigRow(Suite& s, int i) {
  v1::Opportunity o = Suite::NewOpp(absl::StrCat("Deal ", i), s.acc_a.id(),
                                    s.rep_a.id(), 1000 + i);
  if (!Bad(i)) {
    return o;
  }
  switch ((i / 100) % 4) {
    case 0:
      o.mutable_amount()->set_units_minor(-5);
      break;
    case 1:
      o.set_stage_model_id("no-such-model");
      break;
    case 2:
      o.clear_name();
      break;
    default:
      o.set_account_id(absl::StrCat("acc_missing_", i));
      break;
  }
  return o;
}

// Sends the big file in batches of kBatch, 4 in flight; every batch's
// response into `out` (by batch).
void ImportAll(Suite& s, std::vector<v1::ImportOpportunitiesResponse>* out) {
  out->assign(kRows / kBatch, {});
  std::atomic<int> next{0};
  auto work = [&] {
    for (int b = next++; b < kRows / kBatch; b = next++) {
      v1::ImportOpportunitiesRequest req;
      req.set_first_row(1 + b * kBatch);
      for (int i = b * kBatch; i < (b + 1) * kBatch; ++i) {
        *req.add_rows() = Row(BigRow(s, i), absl::StrCat("big-", i));
      }
      grpc::Status st = Import(s, kAdminToken, req, &(*out)[b]);
      EXPECT_TRUE(st.ok()) << b << ": " << st.error_message();
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back(work);
  }
  for (std::thread& t : threads) {
    t.join();
  }
}

TEST(BulkImportE2eTest, HundredThousandRowsWithOnePercentBadThenRerunIsNoOp) {
  Suite s;
  // Not the durability under test: the group commit's fsync is left out so
  // the test stays well under a minute on a loaded machine.
  s.extra_args(kPipeline).push_back("--sync_writes=false");
  ASSERT_TRUE(s.Build());
  // Events (and audit records) of one single create, to compare with.
  const uint64_t before_single = Head(s);
  v1::Opportunity single;
  ASSERT_TRUE(s.CreateOpp(kAdminToken,
                          Suite::NewOpp("One", s.acc_a.id(), s.rep_a.id(), 5),
                          "single-1", &single)
                  .ok());
  const uint64_t per_create = Head(s) - before_single;
  ASSERT_GE(per_create, 1u);
  const uint64_t head0 = Head(s);

  const absl::Time start = absl::Now();
  std::vector<v1::ImportOpportunitiesResponse> first;
  ImportAll(s, &first);
  const absl::Duration took = absl::Now() - start;
  std::cout << "imported " << kRows << " rows in " << took << " ("
            << kRows / absl::ToDoubleSeconds(took) << " rows/s)\n";

  std::set<int64_t> rejected;
  std::map<int64_t, std::string> ids;
  int created = 0;
  for (const auto& resp : first) {
    ASSERT_EQ(resp.results_size(), kBatch);
    created += resp.counts().created();
    for (const v1::ImportRowResult& r : resp.results()) {
      if (r.outcome() == v1::IMPORT_ROW_OUTCOME_REJECTED) {
        rejected.insert(r.row());
        EXPECT_EQ(r.code(), grpc::StatusCode::INVALID_ARGUMENT) << r.message();
      } else {
        EXPECT_EQ(r.outcome(), v1::IMPORT_ROW_OUTCOME_CREATED) << r.row();
        ids[r.row()] = r.id();
      }
    }
  }
  std::set<int64_t> expected;
  for (int i = 0; i < kRows; ++i) {
    if (Bad(i)) {
      expected.insert(i + 1);
    }
  }
  EXPECT_EQ(rejected, expected);
  EXPECT_EQ(created, kRows - kRows / 100);
  // Spot checks of the violations: the single create's fields.
  const v1::ImportRowResult& amount = first[0].results(37);
  ASSERT_GE(amount.violations_size(), 1);
  EXPECT_EQ(amount.violations(0).field(), "opportunity.amount.units_minor");
  const v1::ImportRowResult& name = first[0].results(237);
  ASSERT_GE(name.violations_size(), 1);
  EXPECT_EQ(name.violations(0).field(), "opportunity.name");
  EXPECT_NE(first[0].results(137).message().find("no-such-model"),
            std::string::npos);
  EXPECT_NE(first[0].results(337).message().find("acc_missing_337"),
            std::string::npos);

  // Exactly 99,000 more opportunities, events and audit records.
  const uint64_t head1 = Head(s);
  EXPECT_EQ(head1 - head0, per_create * 99'000);
  grpc::Status st;
  EXPECT_EQ(s.ListOpps(kAdminToken, {}, &st).size(), 99'001u);
  EXPECT_TRUE(st.ok()) << st.error_message();
  v1::ListAuditRecordsRequest audit_req;
  audit_req.set_entity_id(ids.begin()->second);
  v1::ListAuditRecordsResponse audit;
  ASSERT_TRUE(
      s.audit(kPipeline)
          .ListAuditRecords(BearerContext(kAdminToken).get(), audit_req, &audit)
          .ok());
  ASSERT_GE(audit.records_size(), 1);
  EXPECT_EQ(audit.records(0).method(), "ImportOpportunities");

  // The same rows again: nothing changes.
  std::vector<v1::ImportOpportunitiesResponse> again;
  ImportAll(s, &again);
  for (size_t b = 0; b < again.size(); ++b) {
    ASSERT_EQ(again[b].results_size(), kBatch);
    EXPECT_EQ(again[b].counts().created(), 0);
    EXPECT_EQ(again[b].counts().rejected(), first[b].counts().rejected());
    for (int k = 0; k < kBatch; ++k) {
      const v1::ImportRowResult& r = again[b].results(k);
      const v1::ImportRowResult& was = first[b].results(k);
      if (was.outcome() == v1::IMPORT_ROW_OUTCOME_REJECTED) {
        EXPECT_EQ(r.outcome(), v1::IMPORT_ROW_OUTCOME_REJECTED);
        EXPECT_EQ(r.message(), was.message());
      } else {
        EXPECT_EQ(r.outcome(), v1::IMPORT_ROW_OUTCOME_ALREADY_IMPORTED);
        EXPECT_EQ(r.id(), was.id());
      }
    }
  }
  EXPECT_EQ(Head(s), head1);
  EXPECT_EQ(s.ListOpps(kAdminToken, {}, &st).size(), 99'001u);
}

TEST(BulkImportE2eTest, RowsAreIndependentAndOnlyTheBatchItselfIsRefused) {
  Suite s;
  ASSERT_TRUE(s.Build());
  const v1::Opportunity a = Suite::NewOpp("A", s.acc_a.id(), s.rep_a.id(), 100);
  const v1::Opportunity b = Suite::NewOpp("B", s.acc_b.id(), s.rep_b.id(), 200);
  v1::Opportunity a2 = a;
  a2.set_name("A changed");

  // A REP: their own row is created, another rep's row alone is refused.
  v1::ImportOpportunitiesRequest req;
  req.set_first_row(10);
  *req.add_rows() = Row(a, "r-a");
  *req.add_rows() = Row(b, "r-b");
  *req.add_rows() = Row(a, "r-a");   // same request again: its first result
  *req.add_rows() = Row(a2, "r-a");  // same id, other content
  *req.add_rows() = Row(a, "");      // no request_id
  v1::ImportOpportunitiesResponse resp;
  grpc::Status st = Import(s, kRepAToken, req, &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  ASSERT_EQ(resp.results_size(), 5);
  EXPECT_EQ(resp.results(0).row(), 10);
  EXPECT_EQ(resp.results(0).outcome(), v1::IMPORT_ROW_OUTCOME_CREATED);
  EXPECT_EQ(resp.results(1).row(), 11);
  EXPECT_EQ(resp.results(1).outcome(), v1::IMPORT_ROW_OUTCOME_REJECTED);
  EXPECT_EQ(resp.results(1).code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(resp.results(2).outcome(), v1::IMPORT_ROW_OUTCOME_ALREADY_IMPORTED);
  EXPECT_EQ(resp.results(2).id(), resp.results(0).id());
  EXPECT_EQ(resp.results(3).code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(resp.results(3).message().find("request_id"), std::string::npos);
  EXPECT_EQ(resp.results(4).code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(resp.results(4).message(),
            "rows[4].request_id: required in an import");
  ASSERT_EQ(resp.results(4).violations_size(), 1);
  EXPECT_EQ(resp.results(4).violations(0).field(), "request_id");
  EXPECT_EQ(resp.counts().created(), 1);
  EXPECT_EQ(resp.counts().already_imported(), 1);
  EXPECT_EQ(resp.counts().rejected(), 3);

  // The single create with the same request_id answers the imported row.
  v1::Opportunity same;
  ASSERT_TRUE(s.CreateOpp(kRepAToken, a, "r-a", &same).ok());
  EXPECT_EQ(same.id(), resp.results(0).id());
  // SERVICE may not import at all (CreateOpportunity's roles).
  const uint64_t head = Head(s);
  v1::ImportOpportunitiesResponse denied;
  EXPECT_EQ(Import(s, kPeerToken, req, &denied).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  // The batch itself: no rows, first_row out of range, more than 1,000 rows.
  v1::ImportOpportunitiesRequest none;
  EXPECT_EQ(Import(s, kAdminToken, none, &resp).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  v1::ImportOpportunitiesRequest negative;
  *negative.add_rows() = Row(b, "r-neg");
  negative.set_first_row(-1);
  st = Import(s, kAdminToken, negative, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("first_row"), std::string::npos);
  v1::ImportOpportunitiesRequest many;
  for (int i = 0; i < 1001; ++i) {
    *many.add_rows() = Row(b, absl::StrCat("many-", i));
  }
  st = Import(s, kAdminToken, many, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("at most 1000"), std::string::npos);
  // The refused calls wrote nothing.
  EXPECT_EQ(Head(s), head);
}

TEST(BulkImportE2eTest, AccountsAndContactsAreImportedAsTheSingleCreates) {
  Suite s;
  ASSERT_TRUE(s.Build());
  v1::ImportAccountsRequest accounts;
  auto add_account = [&](const std::string& name, const std::string& rid) {
    v1::CreateAccountRequest* r = accounts.add_rows();
    r->mutable_account()->set_name(name);
    r->mutable_account()->set_owner_node_id(s.rep_a.id());
    r->set_request_id(rid);
  };
  add_account("Imported One", "acc-1");
  add_account("Account A", "acc-2");  // the name is taken
  add_account("", "acc-3");           // no name
  add_account("Imported Two", "acc-4");
  v1::ImportAccountsResponse ar;
  grpc::Status st = s.accounts().ImportAccounts(
      BearerContext(kAdminToken).get(), accounts, &ar);
  ASSERT_TRUE(st.ok()) << st.error_message();
  ASSERT_EQ(ar.results_size(), 4);
  EXPECT_EQ(ar.results(0).outcome(), v1::IMPORT_ROW_OUTCOME_CREATED);
  EXPECT_EQ(ar.results(1).code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(ar.results(2).code(), grpc::StatusCode::INVALID_ARGUMENT);
  ASSERT_GE(ar.results(2).violations_size(), 1);
  EXPECT_EQ(ar.results(2).violations(0).field(), "account.name");
  EXPECT_EQ(ar.results(3).outcome(), v1::IMPORT_ROW_OUTCOME_CREATED);
  EXPECT_EQ(ar.counts().created(), 2);
  // A REP may not import accounts (CreateAccount's roles).
  EXPECT_EQ(s.accounts()
                .ImportAccounts(BearerContext(kRepAToken).get(), accounts, &ar)
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);

  // Contacts: the boss first, then a report naming the boss's id.
  v1::ImportContactsRequest contacts;
  v1::CreateContactRequest* boss = contacts.add_rows();
  boss->mutable_contact()->set_account_id(s.acc_a.id());
  boss->mutable_contact()->set_name("Boss");
  boss->set_request_id("con-1");
  v1::CreateContactRequest* lost = contacts.add_rows();
  lost->mutable_contact()->set_account_id("acc_missing");
  lost->mutable_contact()->set_name("Lost");
  lost->set_request_id("con-2");
  v1::ImportContactsResponse cr;
  st = s.accounts().ImportContacts(BearerContext(kRepAToken).get(), contacts,
                                   &cr);
  ASSERT_TRUE(st.ok()) << st.error_message();
  ASSERT_EQ(cr.results_size(), 2);
  EXPECT_EQ(cr.results(0).outcome(), v1::IMPORT_ROW_OUTCOME_CREATED);
  EXPECT_EQ(cr.results(1).outcome(), v1::IMPORT_ROW_OUTCOME_REJECTED);
  v1::ImportContactsRequest reports;
  v1::CreateContactRequest* report = reports.add_rows();
  report->mutable_contact()->set_account_id(s.acc_a.id());
  report->mutable_contact()->set_name("Report");
  report->mutable_contact()->set_reports_to_id(cr.results(0).id());
  report->set_request_id("con-3");
  reports.set_first_row(3);
  st = s.accounts().ImportContacts(BearerContext(kRepAToken).get(), reports,
                                   &cr);
  ASSERT_TRUE(st.ok()) << st.error_message();
  ASSERT_EQ(cr.results_size(), 1);
  EXPECT_EQ(cr.results(0).row(), 3);
  EXPECT_EQ(cr.results(0).outcome(), v1::IMPORT_ROW_OUTCOME_CREATED);
  v1::Contact got;
  v1::GetContactRequest get;
  get.set_id(cr.results(0).id());
  ASSERT_TRUE(s.accounts()
                  .GetContact(BearerContext(kAdminToken).get(), get, &got)
                  .ok());
  EXPECT_FALSE(got.reports_to_id().empty());
  // Again: already imported, nothing new.
  st = s.accounts().ImportContacts(BearerContext(kRepAToken).get(), reports,
                                   &cr);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(cr.results(0).outcome(), v1::IMPORT_ROW_OUTCOME_ALREADY_IMPORTED);
}

TEST(BulkImportE2eTest, ConnectJsonImportOpportunitiesAnswersCamelCase) {
  Suite s;
  s.EnableHttp();
  ASSERT_TRUE(s.Build());
  const std::string body = absl::StrCat(
      R"({"firstRow": 7, "rows": [{"requestId": "json-1", "opportunity": {)",
      R"("accountId": ")", s.acc_a.id(), R"(", "ownerNodeId": ")", s.rep_a.id(),
      R"(", "name": "Json deal", "amount": {"unitsMinor": "1000",)",
      R"( "currency": "EUR"}, "expectedCloseDate": {"year": )",
      CloseDate().year(), R"(, "month": )", CloseDate().month(), R"(, "day": )",
      CloseDate().day(), R"(}}}, {"requestId": "json-2",)",
      R"( "opportunity": {"accountId": ")", s.acc_a.id(), R"("}}]})");
  const auto [code, out] = RunToExit(
      {"/usr/bin/curl", "-sS", "--max-time", "20", "-X", "POST", "-H",
       "Content-Type: application/json", "-H",
       absl::StrCat("Authorization: Bearer ", kAdminToken), "--data", body,
       absl::StrCat("http://127.0.0.1:", s.http_port(kPipeline),
                    "/salesops.v1.PipelineService/ImportOpportunities")});
  ASSERT_EQ(code, 0) << out;
  EXPECT_NE(out.find(R"("row":"7")"), std::string::npos) << out;
  EXPECT_NE(out.find(R"("outcome":"IMPORT_ROW_OUTCOME_CREATED")"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find(R"("row":"8")"), std::string::npos) << out;
  EXPECT_NE(out.find(R"("outcome":"IMPORT_ROW_OUTCOME_REJECTED")"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find(R"("violations":[{"field":"opportunity.name")"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find(R"("counts":{"created":1,"rejected":1})"),
            std::string::npos)
      << out;
}

}  // namespace
}  // namespace salesops::e2e
