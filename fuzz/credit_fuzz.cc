// libFuzzer target over the request validation of salesops.v1.CreditService
// (see fuzz_harness.h for the input format and the properties checked).
//
// The org tree and the accounts' owners reach the OrgMirror as accounts feed
// events; the stage model and an opportunity in a contract-signed stage arrive
// through ApplyPipeline, as the feed consumers would deliver them. The
// account lookup (accounts not on the feed yet) is an in-memory fake: it
// knows acc_remote, answers UNAVAILABLE for ids starting with "down" and
// NOT_FOUND otherwise.

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/org/org_mirror.h"
#include "fuzz/fuzz_harness.h"
#include "salesops/v1/accounts.pb.h"
#include "salesops/v1/credit.grpc.pb.h"
#include "salesops/v1/feed.pb.h"
#include "salesops/v1/pipeline.pb.h"
#include "services/credit/credit_service.h"
#include "services/credit/credit_store.h"
#include "services/credit/followers.h"

namespace salesops::fuzz {
namespace {

using credit::CreditServiceImpl;

absl::StatusOr<std::string> LookupAccount(const std::string& account_id) {
  if (account_id == "acc_remote") {
    return std::string("org_rep_e1");
  }
  if (absl::StartsWith(account_id, "down")) {
    return absl::UnavailableError(absl::StrCat(
        "accounts service unavailable (fuzz fake, id ", account_id, ")"));
  }
  return absl::NotFoundError(absl::StrCat("account ", account_id));
}

class CreditFixture final : public Fixture {
 public:
  std::string ServiceName() const override {
    return v1::CreditService::service_full_name();
  }
  std::vector<std::string> ColumnFamilies() const override {
    return credit::ColumnFamilies();
  }

  void Start(const Env& env, RpcTable* rpcs) override {
    env.clock->Set(absl::FromCivil(absl::CivilSecond(2026, 3, 2, 12, 0, 0),
                                   absl::UTCTimeZone()));
    clock_ = env.clock;
    store_ = env.store;
    mirror_ = std::make_unique<OrgMirror>(env.store, credit::Cf::kMirror);
    MustOk(mirror_->Load(), "OrgMirror::Load");
    ledger_ = std::make_unique<credit::CreditLedger>(env.store,
                                                     credit::CreditOptions{});
    job_ = std::make_unique<credit::DailyJob>(ledger_.get(), env.clock);
    pipeline_ =
        std::make_unique<credit::PipelineFollower>(ledger_.get(), nullptr);
    service_ = std::make_unique<CreditServiceImpl>(ledger_.get(), env.auth,
                                                   env.clock, mirror_.get(),
                                                   LookupAccount, job_.get());
    CreditServiceImpl* s = service_.get();
    rpcs->Add("SetCreditProfile", s, &CreditServiceImpl::SetCreditProfile);
    rpcs->Add("GetCreditProfile", s, &CreditServiceImpl::GetCreditProfile);
    rpcs->Add("CheckCredit", s, &CreditServiceImpl::CheckCredit);
    rpcs->Add("ListCreditChecks", s, &CreditServiceImpl::ListCreditChecks);
    rpcs->Add("PostReceivable", s, &CreditServiceImpl::PostReceivable);
    rpcs->Add("GetReceivable", s, &CreditServiceImpl::GetReceivable);
    rpcs->Add("ListReceivables", s, &CreditServiceImpl::ListReceivables);
    rpcs->Add("RecordPayment", s, &CreditServiceImpl::RecordPayment);
    rpcs->Add("ListPayments", s, &CreditServiceImpl::ListPayments);
    rpcs->Add("WriteOff", s, &CreditServiceImpl::WriteOff);
    rpcs->Add("SetDispute", s, &CreditServiceImpl::SetDispute);
    rpcs->Add("GetOpportunityCollection", s,
              &CreditServiceImpl::GetOpportunityCollection);
    rpcs->Add("ListOpportunityCollections", s,
              &CreditServiceImpl::ListOpportunityCollections);
    rpcs->Add("GetAging", s, &CreditServiceImpl::GetAging);
    rpcs->Add("GetDso", s, &CreditServiceImpl::GetDso);
    rpcs->Add("RecordPromise", s, &CreditServiceImpl::RecordPromise);
    rpcs->Add("ListPromises", s, &CreditServiceImpl::ListPromises);
    rpcs->Add("RecordCollectionContact", s,
              &CreditServiceImpl::RecordCollectionContact);
    rpcs->Add("ListCollectionTasks", s,
              &CreditServiceImpl::ListCollectionTasks);
    rpcs->Add("CompleteCollectionTask", s,
              &CreditServiceImpl::CompleteCollectionTask);
    rpcs->Add("GetWorklist", s, &CreditServiceImpl::GetWorklist);
    rpcs->Add("GetDebtorClass", s, &CreditServiceImpl::GetDebtorClass);
    rpcs->Add("SetDunningStrategy", s, &CreditServiceImpl::SetDunningStrategy);
    rpcs->Add("GetDunningStrategy", s, &CreditServiceImpl::GetDunningStrategy);
    rpcs->Add("RunCollections", s, &CreditServiceImpl::RunCollections);
    rpcs->Add("CalculateBadDebtRecovery", s,
              &CreditServiceImpl::CalculateBadDebtRecovery);
    rpcs->Add("CalculateCarryingCost", s,
              &CreditServiceImpl::CalculateCarryingCost);
    rpcs->Add("CalculateRealizedResult", s,
              &CreditServiceImpl::CalculateRealizedResult);
  }

  // org_global ── org_east (org_rep_e1, org_rep_e2), org_west (org_rep_w1);
  // acc_e1 (e1), acc_e2 (e2), acc_w1 (w1). opp_1 of acc_e1 in USAGE (its
  // receivable rcv_opp); acc_e1 with a profile, an overdue receivable rcv0
  // partly paid (pay0) and a credit check; acc_e2 with rcv1 under a promise
  // (prm0); a collection contact on acc_w1's rcv2 with its follow-up task.
  void Seed(Aliases* aliases) override {
    auto node = [&](const std::string& id, const std::string& parent,
                    v1::OrgNodeKind kind) {
      ApplyAccounts("accounts.OrgNode", id, FeedOrgNode(id, parent, kind));
    };
    node("org_global", "", v1::ORG_NODE_KIND_GLOBAL);
    node("org_east", "org_global", v1::ORG_NODE_KIND_REGION);
    node("org_west", "org_global", v1::ORG_NODE_KIND_REGION);
    node("org_rep_e1", "org_east", v1::ORG_NODE_KIND_REP);
    node("org_rep_e2", "org_east", v1::ORG_NODE_KIND_REP);
    node("org_rep_w1", "org_west", v1::ORG_NODE_KIND_REP);
    for (const auto& [id, owner] :
         {std::pair<const char*, const char*>{"acc_e1", "org_rep_e1"},
          {"acc_e2", "org_rep_e2"},
          {"acc_w1", "org_rep_w1"}}) {
      v1::Account a;
      a.set_id(id);
      a.set_name(id);
      a.set_owner_node_id(owner);
      a.set_version(1);
      ApplyAccounts("accounts.Account", id, a);
    }

    v1::StageModel m;
    m.set_id("buying-cycle-6");
    m.set_name("Buying cycle");
    for (const char* key : {"INTEREST", "COMMITMENT", "USAGE"}) {
      v1::Stage* st = m.add_stages();
      st->set_key(key);
      st->set_name(key);
      st->set_win_rate_bp(5000);
      st->set_requires_credit_check(std::string(key) == "COMMITMENT");
      st->set_contract_signed(std::string(key) == "USAGE");
      st->set_closes_on_collection(std::string(key) == "USAGE");
    }
    m.set_built_in(true);
    m.set_version(1);
    ApplyPipeline("pipeline.StageModel", m.id(), m);
    v1::Opportunity o;
    o.set_id("opp_1");
    o.set_account_id("acc_e1");
    o.set_owner_node_id("org_rep_e1");
    o.set_name("opp_1");
    *o.mutable_amount() = Eur(300'000);
    o.set_stage_model_id("buying-cycle-6");
    o.set_stage_key("USAGE");
    o.set_status(v1::OPPORTUNITY_STATUS_OPEN);
    o.set_version(1);
    ApplyPipeline("pipeline.Opportunity", o.id(), o);

    CreditServiceImpl* s = service_.get();
    {
      v1::ListReceivablesRequest req;
      req.set_opportunity_id("opp_1");
      v1::ListReceivablesResponse resp =
          MustCall(s, &CreditServiceImpl::ListReceivables, req);
      if (resp.receivables_size() != 1) {
        MustOk(absl::InternalError("no receivable"), "opp_1's receivable");
      }
      aliases->Set("$rcv_opp", resp.receivables(0).id());
    }
    {
      v1::SetCreditProfileRequest req;
      v1::CreditProfile* p = req.mutable_profile();
      p->set_account_id("acc_e1");
      *p->mutable_credit_limit() = Eur(1'000'000);
      p->set_payment_terms_days(30);
      p->set_risk_class(v1::RISK_CLASS_MEDIUM);
      MustCall(s, &CreditServiceImpl::SetCreditProfile, req);
    }
    auto receivable = [&](const char* alias, const char* account,
                          int64_t amount, v1::Date issued) {
      v1::PostReceivableRequest req;
      v1::Receivable* r = req.mutable_receivable();
      r->set_account_id(account);
      *r->mutable_amount() = Eur(amount);
      *r->mutable_issue_date() = issued;
      r->set_external_id(alias + 1);
      aliases->Set(alias,
                   MustCall(s, &CreditServiceImpl::PostReceivable, req).id());
    };
    receivable("$rcv0", "acc_e1", 500'000, Day(2025, 12, 1));
    receivable("$rcv1", "acc_e2", 200'000, Day(2026, 1, 15));
    receivable("$rcv2", "acc_w1", 80'000, Day(2025, 11, 3));
    {
      v1::RecordPaymentRequest req;
      req.set_account_id("acc_e1");
      *req.mutable_amount() = Eur(100'000);
      *req.mutable_date() = Day(2026, 2, 20);
      v1::Allocation* a = req.add_allocations();
      a->set_receivable_id(aliases->Get("$rcv0"));
      *a->mutable_amount() = Eur(100'000);
      aliases->Set("$pay0",
                   MustCall(s, &CreditServiceImpl::RecordPayment, req).id());
    }
    {
      v1::CheckCreditRequest req;
      req.set_account_id("acc_e1");
      *req.mutable_amount() = Eur(250'000);
      req.set_opportunity_id("opp_2");
      aliases->Set("$chk0",
                   MustCall(s, &CreditServiceImpl::CheckCredit, req).id());
    }
    {
      v1::RecordPromiseRequest req;
      req.add_receivable_ids(aliases->Get("$rcv1"));
      *req.mutable_amount() = Eur(200'000);
      *req.mutable_promised_date() = Day(2026, 3, 10);
      req.set_excuse_code(v1::EXCUSE_CODE_WILL_PAY);
      aliases->Set("$prm0",
                   MustCall(s, &CreditServiceImpl::RecordPromise, req).id());
    }
    {
      v1::RecordCollectionContactRequest req;
      req.set_account_id("acc_w1");
      req.set_excuse_code(v1::EXCUSE_CODE_QUALITY_ISSUE);
      req.set_notes("a pump leaks");
      req.add_receivable_ids(aliases->Get("$rcv2"));
      v1::CollectionContact c =
          MustCall(s, &CreditServiceImpl::RecordCollectionContact, req);
      aliases->Set("$col0", c.id());
      aliases->Set("$tsk0", c.follow_up_task_id());
    }
  }

  void Stop() override {
    service_.reset();
    pipeline_.reset();
    job_.reset();
    ledger_.reset();
    mirror_.reset();
  }

  SeedList Seeds() const override {
    SeedList seeds;
    {
      v1::SetCreditProfileRequest req;
      v1::CreditProfile* p = req.mutable_profile();
      p->set_account_id("acc_e2");
      *p->mutable_credit_limit() = Eur(300'000);
      p->set_payment_terms_days(45);
      p->set_risk_class(v1::RISK_CLASS_HIGH);
      p->set_hold(true);
      p->set_hold_reason("unpaid since 2025");
      seeds.Add("SetCreditProfile", req);
    }
    {
      v1::GetCreditProfileRequest req;
      req.set_account_id("acc_e1");
      seeds.Add("GetCreditProfile", req);
    }
    {
      v1::CheckCreditRequest req;
      req.set_account_id("acc_e1");
      *req.mutable_amount() = Eur(900'000);
      req.set_opportunity_id("opp_9");
      seeds.Add("CheckCredit", req);
      req.set_account_id("acc_remote");
      seeds.Add("CheckCredit", req);
      req.set_account_id("down_1");
      seeds.Add("CheckCredit", req);
    }
    {
      v1::ListCreditChecksRequest req;
      req.set_account_id("acc_e1");
      req.set_page_size(1);
      seeds.Add("ListCreditChecks", req);
    }
    {
      v1::PostReceivableRequest req;
      v1::Receivable* r = req.mutable_receivable();
      r->set_account_id("acc_e2");
      r->set_opportunity_id("opp_7");
      *r->mutable_amount() = Eur(120'000);
      *r->mutable_issue_date() = Day(2026, 2, 1);
      *r->mutable_due_date() = Day(2026, 3, 1);
      r->set_external_id("erp-77");
      req.set_external_id("erp-77");
      seeds.Add("PostReceivable", req);
    }
    {
      v1::GetReceivableRequest req;
      req.set_id("$rcv0");
      seeds.Add("GetReceivable", req);
    }
    {
      v1::ListReceivablesRequest req;
      req.set_org_node_id("org_east");
      req.set_state(v1::RECEIVABLE_STATE_PARTIALLY_PAID);
      seeds.Add("ListReceivables", req);
    }
    {
      v1::RecordPaymentRequest req;
      req.set_account_id("acc_e1");
      *req.mutable_amount() = Eur(450'000);
      *req.mutable_date() = Day(2026, 3, 1);
      for (const auto& [id, amount] :
           {std::pair<const char*, int64_t>{"$rcv0", 400'000},
            {"$rcv_opp", 50'000}}) {
        v1::Allocation* a = req.add_allocations();
        a->set_receivable_id(id);
        *a->mutable_amount() = Eur(amount);
      }
      req.set_external_id("bank-1");
      seeds.Add("RecordPayment", req);
      v1::RecordPaymentRequest unallocated;
      unallocated.set_account_id("acc_e2");
      *unallocated.mutable_amount() = Eur(10'000);
      *unallocated.mutable_date() = Day(2026, 3, 2);
      seeds.Add("RecordPayment", unallocated);
    }
    {
      v1::ListPaymentsRequest req;
      req.set_account_id("acc_e1");
      seeds.Add("ListPayments", req);
    }
    {
      v1::WriteOffRequest req;
      req.set_receivable_id("$rcv0");
      req.set_reason("insolvency");
      *req.mutable_date() = Day(2026, 3, 2);
      seeds.Add("WriteOff", req);
    }
    {
      v1::SetDisputeRequest req;
      req.set_receivable_id("$rcv1");
      req.set_disputed(true);
      req.set_reason("wrong quantity");
      seeds.Add("SetDispute", req);
      req.set_receivable_id("$rcv2");
      req.set_disputed(false);
      req.clear_reason();
      seeds.Add("SetDispute", req);
    }
    {
      v1::GetOpportunityCollectionRequest req;
      req.set_opportunity_id("opp_1");
      seeds.Add("GetOpportunityCollection", req);
    }
    {
      v1::ListOpportunityCollectionsRequest req;
      req.set_page_size(10);
      seeds.Add("ListOpportunityCollections", req);
    }
    {
      v1::GetAgingRequest req;
      req.set_org_node_id("org_global");
      *req.mutable_as_of() = Day(2026, 3, 2);
      seeds.Add("GetAging", req);
    }
    {
      v1::GetDsoRequest req;
      req.set_account_id("acc_e1");
      *req.mutable_from() = Day(2025, 12, 1);
      *req.mutable_to() = Day(2026, 2, 28);
      seeds.Add("GetDso", req);
    }
    {
      v1::RecordPromiseRequest req;
      req.add_receivable_ids("$rcv0");
      *req.mutable_amount() = Eur(300'000);
      *req.mutable_promised_date() = Day(2026, 3, 15);
      *req.mutable_made_date() = Day(2026, 3, 1);
      req.set_tolerance_days(3);
      req.set_contact_id("con_1");
      req.set_excuse_code(v1::EXCUSE_CODE_APPROVAL_PENDING);
      req.set_request_id("req-1");
      seeds.Add("RecordPromise", req);
    }
    {
      v1::ListPromisesRequest req;
      req.set_account_id("acc_e2");
      req.set_state(v1::PROMISE_STATE_PENDING);
      seeds.Add("ListPromises", req);
    }
    {
      v1::RecordCollectionContactRequest req;
      req.set_account_id("acc_e1");
      req.set_excuse_code(v1::EXCUSE_CODE_PASSED_TO_FINANCE);
      req.set_notes("finance has it");
      req.set_contact_id("con_2");
      req.set_request_id("req-2");
      seeds.Add("RecordCollectionContact", req);
    }
    {
      v1::ListCollectionTasksRequest req;
      req.set_org_node_id("org_west");
      req.set_include_done(true);
      seeds.Add("ListCollectionTasks", req);
    }
    {
      v1::CompleteCollectionTaskRequest req;
      req.set_id("$tsk0");
      seeds.Add("CompleteCollectionTask", req);
    }
    {
      v1::GetWorklistRequest req;
      req.set_org_node_id("org_global");
      *req.mutable_as_of() = Day(2026, 3, 2);
      req.set_page_size(2);
      seeds.Add("GetWorklist", req);
    }
    {
      v1::GetDebtorClassRequest req;
      req.set_account_id("acc_e1");
      seeds.Add("GetDebtorClass", req);
    }
    {
      v1::DunningStrategy req;
      req.set_courtesy_reminder_days(-5);
      req.set_first_reminder_days(2);
      req.set_second_reminder_days(14);
      req.set_final_notice_days(28);
      req.set_credit_hold_days(45);
      seeds.Add("SetDunningStrategy", req);
    }
    seeds.Add("GetDunningStrategy", v1::GetDunningStrategyRequest());
    seeds.Add("RunCollections", v1::RunCollectionsRequest());
    {
      v1::CalculateBadDebtRecoveryRequest req;
      *req.mutable_loss() = Eur(1'000'000);
      req.set_net_margin_bp(500);
      req.set_round_to_minor(100);
      seeds.Add("CalculateBadDebtRecovery", req);
    }
    {
      v1::CalculateCarryingCostRequest req;
      *req.mutable_amount() = Eur(1'000'000);
      req.set_annual_rate_bp(600);
      req.set_days_late(90);
      req.set_net_margin_bp(800);
      seeds.Add("CalculateCarryingCost", req);
    }
    {
      v1::CalculateRealizedResultRequest req;
      *req.mutable_sale_amount() = Eur(1'000'000);
      req.set_gross_margin_bp(2500);
      *req.mutable_collected() = Eur(600'000);
      seeds.Add("CalculateRealizedResult", req);
    }
    return seeds;
  }

 private:
  // An accounts feed event into the mirror, as credit's consumer applies it.
  void ApplyAccounts(const std::string& kind, const std::string& id,
                     const google::protobuf::Message& m) {
    const v1::Event e = FeedEvent(++sequence_, kind, id, m, clock_->Now());
    MustOk(store_
               ->Write(SystemActor("fuzz-seed"),
                       [&](WriteTxn& txn) { return mirror_->Apply(e, txn); })
               .status(),
           absl::StrCat("applying ", kind, " ", id));
  }
  // A pipeline feed event, as credit's consumer applies it.
  void ApplyPipeline(const std::string& kind, const std::string& id,
                     const google::protobuf::Message& m) {
    const v1::Event e = FeedEvent(++sequence_, kind, id, m, clock_->Now());
    MustOk(store_
               ->Write(SystemActor("fuzz-seed"),
                       [&](WriteTxn& txn) { return pipeline_->Apply(e, txn); })
               .status(),
           absl::StrCat("applying ", kind, " ", id));
  }

  Clock* clock_ = nullptr;
  Store* store_ = nullptr;
  uint64_t sequence_ = 0;
  std::unique_ptr<OrgMirror> mirror_;
  std::unique_ptr<credit::CreditLedger> ledger_;
  std::unique_ptr<credit::DailyJob> job_;
  std::unique_ptr<credit::PipelineFollower> pipeline_;
  std::unique_ptr<CreditServiceImpl> service_;
};

}  // namespace
}  // namespace salesops::fuzz

SALESOPS_FUZZ_TARGET(salesops::fuzz::CreditFixture)
