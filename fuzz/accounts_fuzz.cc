// libFuzzer target over the request validation of salesops.v1.AccountsService
// (see fuzz_harness.h for the input format and the properties checked).

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "fuzz/fuzz_harness.h"
#include "salesops/v1/accounts.grpc.pb.h"
#include "services/accounts/accounts_service.h"
#include "services/accounts/accounts_store.h"

namespace salesops::fuzz {
namespace {

using accounts::AccountsServiceImpl;

class AccountsFixture final : public Fixture {
 public:
  std::string ServiceName() const override {
    return v1::AccountsService::service_full_name();
  }
  std::vector<std::string> ColumnFamilies() const override {
    return accounts::ColumnFamilies();
  }

  void Start(const Env& env, RpcTable* rpcs) override {
    env.clock->Set(absl::FromCivil(absl::CivilSecond(2026, 5, 4, 9, 0, 0),
                                   absl::UTCTimeZone()));
    service_ =
        std::make_unique<AccountsServiceImpl>(env.store, env.auth, "EUR");
    AccountsServiceImpl* s = service_.get();
    rpcs->Add("CreateAccount", s, &AccountsServiceImpl::CreateAccount);
    rpcs->Add("GetAccount", s, &AccountsServiceImpl::GetAccount);
    rpcs->Add("UpdateAccount", s, &AccountsServiceImpl::UpdateAccount);
    rpcs->Add("ListAccounts", s, &AccountsServiceImpl::ListAccounts);
    rpcs->Add("ImportAccounts", s, &AccountsServiceImpl::ImportAccounts);
    rpcs->Add("CreateContact", s, &AccountsServiceImpl::CreateContact);
    rpcs->Add("GetContact", s, &AccountsServiceImpl::GetContact);
    rpcs->Add("UpdateContact", s, &AccountsServiceImpl::UpdateContact);
    rpcs->Add("ListContacts", s, &AccountsServiceImpl::ListContacts);
    rpcs->Add("ImportContacts", s, &AccountsServiceImpl::ImportContacts);
    rpcs->Add("GetOrgChart", s, &AccountsServiceImpl::GetOrgChart);
    rpcs->Add("CreateOrgNode", s, &AccountsServiceImpl::CreateOrgNode);
    rpcs->Add("GetOrgNode", s, &AccountsServiceImpl::GetOrgNode);
    rpcs->Add("UpdateOrgNode", s, &AccountsServiceImpl::UpdateOrgNode);
    rpcs->Add("MoveOrgNode", s, &AccountsServiceImpl::MoveOrgNode);
    rpcs->Add("ListOrgNodes", s, &AccountsServiceImpl::ListOrgNodes);
    rpcs->Add("SetQuota", s, &AccountsServiceImpl::SetQuota);
    rpcs->Add("GetQuota", s, &AccountsServiceImpl::GetQuota);
    rpcs->Add("ScoreIndustries", s, &AccountsServiceImpl::ScoreIndustries);
    rpcs->Add("GetParetoView", s, &AccountsServiceImpl::GetParetoView);
    rpcs->Add("ClassifyAccounts", s, &AccountsServiceImpl::ClassifyAccounts);
    rpcs->Add("ListQuotas", s, &AccountsServiceImpl::ListQuotas);
    rpcs->Add("SetExchangeRate", s, &AccountsServiceImpl::SetExchangeRate);
    rpcs->Add("ListExchangeRates", s, &AccountsServiceImpl::ListExchangeRates);
  }

  // root (GLOBAL) ── region (REGION) ── team (TEAM) ── rep1, rep2 (REP);
  // acc0 (rep1) with contacts con0 ← con1 (reports to con0), acc1 (team)
  // with con2; a quota of rep1 for FY2026 Q2; a USD rate from 2026-01-01.
  void Seed(Aliases* aliases) override {
    auto node = [&](const char* alias, v1::OrgNodeKind kind,
                    const std::string& parent) {
      v1::CreateOrgNodeRequest req;
      req.mutable_node()->set_kind(kind);
      req.mutable_node()->set_name(alias + 1);
      req.mutable_node()->set_parent_id(parent);
      aliases->Set(alias, MustCall(service_.get(),
                                   &AccountsServiceImpl::CreateOrgNode, req)
                              .id());
    };
    node("$org_root", v1::ORG_NODE_KIND_GLOBAL, "");
    node("$org_region", v1::ORG_NODE_KIND_REGION, aliases->Get("$org_root"));
    node("$org_team", v1::ORG_NODE_KIND_TEAM, aliases->Get("$org_region"));
    node("$org_rep1", v1::ORG_NODE_KIND_REP, aliases->Get("$org_team"));
    node("$org_rep2", v1::ORG_NODE_KIND_REP, aliases->Get("$org_team"));

    auto account = [&](const char* alias, const std::string& owner) {
      v1::CreateAccountRequest req;
      req.mutable_account()->set_name(alias + 1);
      req.mutable_account()->set_owner_node_id(owner);
      req.mutable_account()->set_industry("machinery");
      aliases->Set(alias, MustCall(service_.get(),
                                   &AccountsServiceImpl::CreateAccount, req)
                              .id());
    };
    account("$acc0", aliases->Get("$org_rep1"));
    account("$acc1", aliases->Get("$org_team"));

    auto contact = [&](const char* alias, const std::string& account_id,
                       const std::string& reports_to) {
      v1::CreateContactRequest req;
      req.mutable_contact()->set_account_id(account_id);
      req.mutable_contact()->set_name(alias + 1);
      req.mutable_contact()->set_reports_to_id(reports_to);
      aliases->Set(alias, MustCall(service_.get(),
                                   &AccountsServiceImpl::CreateContact, req)
                              .id());
    };
    contact("$con0", aliases->Get("$acc0"), "");
    contact("$con1", aliases->Get("$acc0"), aliases->Get("$con0"));
    contact("$con2", aliases->Get("$acc1"), "");

    v1::SetQuotaRequest quota;
    quota.set_node_id(aliases->Get("$org_rep1"));
    quota.set_fiscal_year(2026);
    quota.set_fiscal_quarter(2);
    *quota.mutable_amount() = Eur(10'000'000);
    MustCall(service_.get(), &AccountsServiceImpl::SetQuota, quota);

    v1::SetExchangeRateRequest rate;
    rate.set_currency("USD");
    rate.mutable_start_date()->set_year(2026);
    rate.mutable_start_date()->set_month(1);
    rate.mutable_start_date()->set_day(1);
    rate.set_rate("0.92");
    MustCall(service_.get(), &AccountsServiceImpl::SetExchangeRate, rate);
  }

  void Stop() override { service_.reset(); }

  SeedList Seeds() const override {
    SeedList seeds;
    {
      v1::CreateAccountRequest req;
      v1::Account* a = req.mutable_account();
      a->set_name("Fuzz Machinery Ltd");
      a->set_industry("machinery");
      a->set_size_band(v1::SIZE_BAND_LARGE);
      a->set_ownership_type(v1::OWNERSHIP_TYPE_PRIVATE);
      a->set_owner_node_id("$org_rep1");
      a->set_tier(v1::ACCOUNT_TIER_GOLD);
      a->set_purchase_potential(v1::LEVEL_HIGH);
      a->set_share_of_wallet(v1::LEVEL_LOW);
      a->set_external_id("crm-1");
      req.set_request_id("req-1");
      seeds.Add("CreateAccount", req);
      // The same row twice, a row without request_id, a row without a name.
      v1::ImportAccountsRequest import;
      *import.add_rows() = req;
      *import.add_rows() = req;
      import.add_rows()->mutable_account()->set_name("No request id");
      v1::CreateAccountRequest* nameless = import.add_rows();
      nameless->set_request_id("req-import-1");
      import.set_first_row(10);
      seeds.Add("ImportAccounts", import);
    }
    {
      v1::GetAccountRequest req;
      req.set_id("$acc0");
      seeds.Add("GetAccount", req);
    }
    {
      v1::UpdateAccountRequest req;
      v1::Account* a = req.mutable_account();
      a->set_id("$acc0");
      a->set_name("acc0 renamed");
      a->set_owner_node_id("$org_rep2");
      a->set_relationship_stage(v1::RELATIONSHIP_STAGE_MIDDLE);
      req.set_expected_version(1);
      seeds.Add("UpdateAccount", req);
    }
    {
      v1::ListAccountsRequest req;
      req.set_page_size(1);
      req.set_owner_node_id("$org_rep1");
      seeds.Add("ListAccounts", req);
      seeds.Add("ListAccounts", v1::ListAccountsRequest());
    }
    {
      v1::CreateContactRequest req;
      v1::Contact* c = req.mutable_contact();
      c->set_account_id("$acc0");
      c->set_name("Wang Fang");
      c->set_reports_to_id("$con0");
      c->set_function(v1::CONTACT_FUNCTION_PURCHASING);
      c->set_level(v1::CONTACT_LEVEL_DECISION);
      c->mutable_birthday()->set_month(2);
      c->mutable_birthday()->set_day(29);
      req.set_request_id("req-2");
      seeds.Add("CreateContact", req);
      v1::ImportContactsRequest import;
      *import.add_rows() = req;
      v1::CreateContactRequest* other = import.add_rows();
      *other = req;
      other->set_request_id("req-import-2");
      other->mutable_contact()->set_account_id("acc_missing");
      seeds.Add("ImportContacts", import);
    }
    {
      v1::GetContactRequest req;
      req.set_id("$con1");
      seeds.Add("GetContact", req);
    }
    {
      v1::UpdateContactRequest req;
      v1::Contact* c = req.mutable_contact();
      c->set_id("$con1");
      c->set_account_id("$acc0");
      c->set_name("con1");
      c->set_reports_to_id("$con0");
      c->set_status(v1::CONTACT_STATUS_LEFT);
      seeds.Add("UpdateContact", req);
    }
    {
      v1::ListContactsRequest req;
      req.set_account_id("$acc0");
      req.set_page_size(1);
      seeds.Add("ListContacts", req);
    }
    {
      v1::GetOrgChartRequest req;
      req.set_account_id("$acc0");
      req.set_include_left(true);
      seeds.Add("GetOrgChart", req);
    }
    {
      v1::CreateOrgNodeRequest req;
      req.mutable_node()->set_kind(v1::ORG_NODE_KIND_REP);
      req.mutable_node()->set_name("rep3");
      req.mutable_node()->set_parent_id("$org_team");
      req.mutable_node()->set_manager_principal("manager-a");
      seeds.Add("CreateOrgNode", req);
    }
    {
      v1::GetOrgNodeRequest req;
      req.set_id("$org_team");
      seeds.Add("GetOrgNode", req);
    }
    {
      v1::UpdateOrgNodeRequest req;
      req.mutable_node()->set_id("$org_team");
      req.mutable_node()->set_name("Team East");
      req.mutable_node()->set_kind(v1::ORG_NODE_KIND_TEAM);
      req.mutable_node()->set_parent_id("$org_region");
      seeds.Add("UpdateOrgNode", req);
    }
    {
      v1::MoveOrgNodeRequest req;
      req.set_id("$org_rep2");
      req.set_new_parent_id("$org_region");
      seeds.Add("MoveOrgNode", req);
      req.set_id("$org_region");
      req.set_new_parent_id("$org_rep1");  // a cycle
      seeds.Add("MoveOrgNode", req);
    }
    {
      v1::ListOrgNodesRequest req;
      req.set_parent_id("$org_team");
      seeds.Add("ListOrgNodes", req);
    }
    {
      v1::SetQuotaRequest req;
      req.set_node_id("$org_team");
      req.set_fiscal_year(2026);
      req.set_fiscal_quarter(3);
      *req.mutable_amount() = Eur(25'000'000);
      seeds.Add("SetQuota", req);
    }
    {
      v1::GetQuotaRequest req;
      req.set_node_id("$org_root");
      req.set_fiscal_year(2026);
      req.set_fiscal_quarter(2);
      seeds.Add("GetQuota", req);
    }
    {
      v1::ScoreIndustriesRequest req;
      req.add_criteria()->set_name("market size");
      v1::IndustryCriterion* competition = req.add_criteria();
      competition->set_name("competition");
      competition->set_negative(true);
      v1::IndustryScore* a = req.add_industries();
      a->set_name("machinery");
      a->add_scores(8);
      a->add_scores(3);
      v1::IndustryScore* b = req.add_industries();
      b->set_name("chemicals");
      b->add_scores(5);
      b->add_scores(9);
      seeds.Add("ScoreIndustries", req);
    }
    {
      v1::GetParetoViewRequest req;
      req.set_top_share_bp(8000);
      for (const auto& [id, revenue] :
           {std::pair<const char*, int64_t>{"$acc0", 800'000},
            {"$acc1", 150'000},
            {"acc_other", 50'000}}) {
        v1::AccountRevenue* r = req.add_revenues();
        r->set_account_id(id);
        *r->mutable_revenue() = Eur(revenue);
      }
      seeds.Add("GetParetoView", req);
    }
    {
      v1::ClassifyAccountsRequest req;
      for (const char* id : {"$acc0", "$acc1"}) {
        v1::AccountScorecard* c = req.add_scorecards();
        c->set_account_id(id);
        *c->mutable_revenue_12m() = Eur(1'000'000);
        c->set_gross_margin_bp(3000);
        c->set_avg_collection_days(45);
        *c->mutable_purchase_potential() = Eur(5'000'000);
      }
      req.set_apply(true);
      seeds.Add("ClassifyAccounts", req);
    }
    {
      v1::ListQuotasRequest req;
      req.set_page_size(2);
      seeds.Add("ListQuotas", req);
    }
    {
      v1::SetExchangeRateRequest req;
      req.set_currency("USD");
      req.mutable_start_date()->set_year(2026);
      req.mutable_start_date()->set_month(7);
      req.mutable_start_date()->set_day(1);
      req.set_rate("0.9125");
      req.set_note("fuzz seed");
      seeds.Add("SetExchangeRate", req);
    }
    {
      v1::ListExchangeRatesRequest req;
      req.set_currency("USD");
      req.set_page_size(1);
      seeds.Add("ListExchangeRates", req);
    }
    return seeds;
  }

 private:
  std::unique_ptr<AccountsServiceImpl> service_;
};

}  // namespace
}  // namespace salesops::fuzz

SALESOPS_FUZZ_TARGET(salesops::fuzz::AccountsFixture)
