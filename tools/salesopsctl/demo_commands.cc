// `salesopsctl demo ...`: the demo dataset of the README's run command
// (scripts/run.sh) and the checks around it.
//
//   demo wait  waits (bounded) until the four services answer SERVING on
//              grpc.health.v1.Health/Check;
//   demo load  loads the demo dataset once and prints where the services
//              listen and the forecast tree from Global;
//   demo tree  only prints the addresses and the tree.
//
// The dataset: a multinational's sales hierarchy (Global → Asia-Pacific →
// China → North/East/South China → teams → reps, and Europe → DACH → team →
// reps) with quotas for the demo quarter; seven accounts with org charts in
// the spirit of SPEC §2.2; the 18 open opportunities of SPEC §7 on one rep of
// East China (Li Na, quota 5,000,000.00), created directly in their stages, so
// that Li Na, her team, East China and China all show pipeline_weighted
// 3,648,000.00 and forecast 3,648,000.00 against a quota of 5,000,000.00 for
// Li Na; buying centres (SPEC §3.4) on four of them; a few deals of other reps
// (Europe in the demo quarter, North and South China in the next quarter, so
// China's figures for the demo quarter are exactly the seed's); credit
// profiles, ERP invoices (some overdue), payments and two promises to pay.
//
// Idempotent: every entity carries an external id (or is recognised by what
// it belongs to) and is looked up before it is created; creates also carry a
// request id. A second run creates nothing and says so. The demo quarter is
// the calendar quarter (UTC; forecast's default --quarter_start_month=1) of
// the first load, found again from the funnel's close dates on later runs.

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/money/money.h"
#include "common/status/status.h"
#include "common/time/fiscal_calendar.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "salesops/v1/feed.grpc.pb.h"
#include "tools/salesopsctl/cli.h"
#include "tools/salesopsctl/demo_dataset.h"
#include "tools/salesopsctl/demo_support.h"
#include "tools/salesopsctl/flags.h"
#include "tools/salesopsctl/output.h"
#include "tools/salesopsctl/rates.h"

namespace salesops::ctl {
namespace {

using namespace demo;  // NOLINT: the demo's own helpers (demo_support.h)

// ---- the loader ----

class Loader {
 public:
  Loader(Env& env, bool verbose)
      : env_(env),
        verbose_(verbose),
        c_(*env.conn),
        exponent_(money::CurrencyExponent(env.currency)),
        today_(TodayUtc()) {}

  absl::Status Run() {
    RETURN_IF_ERROR(LoadOrg());
    RETURN_IF_ERROR(LoadQuotas());
    RETURN_IF_ERROR(LoadAccounts());
    RETURN_IF_ERROR(LoadContacts());
    RETURN_IF_ERROR(LoadCreditProfiles());
    RETURN_IF_ERROR(LoadOpportunities());
    RETURN_IF_ERROR(LoadRoles());
    RETURN_IF_ERROR(LoadInvoicesPaymentsPromises());
    return absl::OkStatus();
  }

  int created() const { return created_; }
  const std::string& root() const { return root_; }
  const Quarter& quarter() const { return quarter_; }

 private:
  v1::Money Major(int64_t major) const {
    int64_t minor = major;
    for (int i = 0; i < exponent_; ++i) {
      minor *= 10;
    }
    return money::Make(minor, env_.currency);
  }

  void Created(const std::string& what) {
    ++created_;
    if (verbose_) {
      Log(env_) << "  created " << what << "\n";
    }
  }

  const std::string& Node(const std::string& key) const {
    return nodes_.at(key);
  }

  // ---- org ----

  absl::Status LoadOrg() {
    ASSIGN_OR_RETURN(OrgState org, ReadOrg(c_));
    ASSIGN_OR_RETURN(quarter_, DemoQuarter(c_, org));
    for (const NodeSpec& spec : kNodes) {
      const std::string ext = External("org", spec.key);
      auto it = org.by_external_id.find(ext);
      if (it != org.by_external_id.end()) {
        nodes_[spec.key] = it->second.id();
        continue;
      }
      if (spec.parent[0] == '\0' && org.root) {
        // The organization has its own root: the demo hangs below it.
        nodes_[spec.key] = org.root->id();
        Log(env_) << "demo: using the existing root org node " << org.root->id()
                  << " (" << org.root->name() << ") as Global\n";
        continue;
      }
      v1::CreateOrgNodeRequest req;
      req.set_request_id(RequestId("org", spec.key));
      v1::OrgNode* n = req.mutable_node();
      n->set_kind(spec.kind);
      n->set_name(spec.name);
      n->set_manager_principal(spec.manager);
      n->set_external_id(ext);
      if (spec.parent[0] != '\0') {
        n->set_parent_id(Node(spec.parent));
      }
      v1::OrgNode resp;
      RETURN_IF_ERROR(
          Check(c_.accounts().CreateOrgNode(c_.Context().get(), req, &resp)));
      nodes_[spec.key] = resp.id();
      Created(absl::StrCat("org node ", spec.name));
    }
    root_ = Node("global");
    return absl::OkStatus();
  }

  absl::Status LoadQuotas() {
    for (const NodeSpec& spec : kNodes) {
      if (spec.quota <= 0) {
        continue;
      }
      v1::GetQuotaRequest get;
      get.set_node_id(Node(spec.key));
      get.set_fiscal_year(quarter_.year);
      get.set_fiscal_quarter(quarter_.quarter);
      v1::GetQuotaResponse have;
      RETURN_IF_ERROR(
          Check(c_.accounts().GetQuota(c_.Context().get(), get, &have)));
      if (have.has_explicit()) {
        continue;  // set by an earlier run (or by someone since): kept
      }
      v1::SetQuotaRequest req;
      req.set_node_id(Node(spec.key));
      req.set_fiscal_year(quarter_.year);
      req.set_fiscal_quarter(quarter_.quarter);
      *req.mutable_amount() = Major(spec.quota);
      v1::Quota resp;
      RETURN_IF_ERROR(
          Check(c_.accounts().SetQuota(c_.Context().get(), req, &resp)));
      Created(absl::StrCat("quota of ", spec.name, " for ", quarter_.Name()));
    }
    return absl::OkStatus();
  }

  // ---- accounts and contacts ----

  absl::Status LoadAccounts() {
    std::map<std::string, std::string> existing;  // external id → id
    RETURN_IF_ERROR(ListAll(
        [&](const v1::PageRequest& page) -> absl::StatusOr<std::string> {
          v1::ListAccountsRequest req;
          SetPage(page, &req);
          v1::ListAccountsResponse resp;
          RETURN_IF_ERROR(Check(
              c_.accounts().ListAccounts(c_.Context().get(), req, &resp)));
          for (const v1::Account& a : resp.accounts()) {
            if (!a.external_id().empty()) {
              existing[a.external_id()] = a.id();
            }
          }
          return resp.next_page_token();
        }));
    for (const AccountSpec& spec : kAccounts) {
      const std::string ext = External("account", spec.key);
      if (auto it = existing.find(ext); it != existing.end()) {
        accounts_[spec.key] = it->second;
        continue;
      }
      v1::CreateAccountRequest req;
      req.set_request_id(RequestId("account", spec.key));
      v1::Account* a = req.mutable_account();
      a->set_name(spec.name);
      a->set_industry(spec.industry);
      a->set_size_band(spec.size);
      a->set_ownership_type(spec.ownership);
      a->set_region(spec.region);
      a->set_address(spec.address);
      a->set_website(spec.website);
      a->set_source_channel(spec.source);
      a->set_owner_node_id(Node(spec.owner));
      a->set_tier(spec.tier);
      a->set_purchase_potential(spec.potential);
      a->set_share_of_wallet(spec.share);
      a->set_relationship_stage(spec.relationship);
      a->set_external_id(ext);
      v1::Account resp;
      RETURN_IF_ERROR(
          Check(c_.accounts().CreateAccount(c_.Context().get(), req, &resp)));
      accounts_[spec.key] = resp.id();
      Created(absl::StrCat("account ", spec.name));
    }
    return absl::OkStatus();
  }

  absl::Status LoadContacts() {
    std::map<std::string, std::map<std::string, std::string>> existing;
    for (const AccountSpec& spec : kAccounts) {
      const std::string& account = accounts_.at(spec.key);
      RETURN_IF_ERROR(ListAll(
          [&](const v1::PageRequest& page) -> absl::StatusOr<std::string> {
            v1::ListContactsRequest req;
            req.set_account_id(account);
            SetPage(page, &req);
            v1::ListContactsResponse resp;
            RETURN_IF_ERROR(Check(
                c_.accounts().ListContacts(c_.Context().get(), req, &resp)));
            for (const v1::Contact& ct : resp.contacts()) {
              if (!ct.external_id().empty()) {
                existing[spec.key][ct.external_id()] = ct.id();
              }
            }
            return resp.next_page_token();
          }));
    }
    for (const ContactSpec& spec : kContacts) {
      const std::string key = absl::StrCat(spec.account, "/", spec.key);
      const std::string ext = External("contact", key);
      auto& known = existing[spec.account];
      if (auto it = known.find(ext); it != known.end()) {
        contacts_[key] = it->second;
        continue;
      }
      v1::CreateContactRequest req;
      req.set_request_id(RequestId("contact", key));
      v1::Contact* ct = req.mutable_contact();
      ct->set_account_id(accounts_.at(spec.account));
      ct->set_name(spec.name);
      ct->set_title(spec.title);
      ct->set_department(spec.department);
      ct->set_function(spec.function);
      ct->set_level(spec.level);
      if (spec.reports_to[0] != '\0') {
        ct->set_reports_to_id(
            contacts_.at(absl::StrCat(spec.account, "/", spec.reports_to)));
      }
      ct->set_personal_style(spec.style);
      ct->set_relationship_depth(spec.depth);
      ct->set_notes(spec.notes);
      ct->set_external_id(ext);
      v1::Contact resp;
      RETURN_IF_ERROR(
          Check(c_.accounts().CreateContact(c_.Context().get(), req, &resp)));
      contacts_[key] = resp.id();
      Created(absl::StrCat("contact ", spec.name));
    }
    return absl::OkStatus();
  }

  // ---- credit profiles (before the USAGE deals: their receivables take
  // the profile's payment terms) ----

  absl::Status LoadCreditProfiles() {
    for (const AccountSpec& spec : kAccounts) {
      v1::GetCreditProfileRequest get;
      get.set_account_id(accounts_.at(spec.key));
      v1::CreditProfile have;
      const grpc::Status s =
          c_.credit().GetCreditProfile(c_.Context().get(), get, &have);
      if (s.ok()) {
        continue;
      }
      if (s.error_code() != grpc::StatusCode::NOT_FOUND) {
        return Check(s);
      }
      v1::SetCreditProfileRequest req;
      v1::CreditProfile* p = req.mutable_profile();
      p->set_account_id(accounts_.at(spec.key));
      *p->mutable_credit_limit() = Major(spec.credit_limit);
      p->set_payment_terms_days(spec.terms_days);
      p->set_risk_class(spec.risk);
      v1::CreditProfile resp;
      RETURN_IF_ERROR(
          Check(c_.credit().SetCreditProfile(c_.Context().get(), req, &resp)));
      Created(absl::StrCat("credit profile of ", spec.name));
    }
    return absl::OkStatus();
  }

  // ---- opportunities and buying centres ----

  absl::CivilDay CloseDate(const OpportunitySpec& spec) const {
    if (spec.due == Due::kNextQuarter) {
      return quarter_.next().first() + spec.close_in_days;
    }
    // Never before today (while the demo quarter is the current one) and
    // never after the quarter's last day.
    const absl::CivilDay start = std::max(today_, quarter_.first());
    return std::min(start + spec.close_in_days, quarter_.last());
  }

  absl::Status LoadOpportunities() {
    std::map<std::string, std::string> existing;  // external id → id
    ASSIGN_OR_RETURN(std::vector<v1::Opportunity> all,
                     OpportunitiesOf(c_, root_));
    for (const v1::Opportunity& o : all) {
      if (!o.external_id().empty()) {
        existing[o.external_id()] = o.id();
      }
    }
    for (const OpportunitySpec& spec : kOpportunities) {
      const std::string ext = External("opp", spec.key);
      if (auto it = existing.find(ext); it != existing.end()) {
        opportunities_[spec.key] = it->second;
        continue;
      }
      const absl::CivilDay close = CloseDate(spec);
      v1::CreateOpportunityRequest req;
      // The close date is part of the request: a retry the same day is the
      // same request, a run on another day (after a failed first one) a new
      // one (the external id still keeps it single).
      req.set_request_id(RequestId(
          "opp", absl::StrCat(spec.key, ":", absl::FormatCivilTime(close))));
      v1::Opportunity* o = req.mutable_opportunity();
      o->set_account_id(accounts_.at(spec.account));
      o->set_owner_node_id(Node(spec.owner));
      o->set_name(spec.name);
      *o->mutable_amount() = Major(spec.amount);
      *o->mutable_expected_close_date() = ToProto(close);
      o->set_stage_model_id("buying-cycle-6");
      // Created directly in its stage: no exit criteria, no credit check.
      o->set_stage_key(spec.stage);
      o->set_source_channel(spec.source);
      if (spec.competitor[0] == '\0') {
        o->set_competitors_unknown(true);
      } else {
        v1::Competitor* comp = o->add_competitors();
        comp->set_name(spec.competitor);
      }
      o->set_external_id(ext);
      v1::Opportunity resp;
      RETURN_IF_ERROR(Check(
          c_.pipeline().CreateOpportunity(c_.Context().get(), req, &resp)));
      opportunities_[spec.key] = resp.id();
      Created(absl::StrCat("opportunity ", spec.name, " (", spec.stage, ")"));
    }
    return absl::OkStatus();
  }

  std::string AccountOf(const std::string& opportunity_key) const {
    for (const OpportunitySpec& spec : kOpportunities) {
      if (opportunity_key == spec.key) {
        return spec.account;
      }
    }
    return "";
  }

  absl::Status LoadRoles() {
    std::map<std::string, std::set<std::string>> have;  // opp id → contacts
    for (const RoleSpec& spec : kRoles) {
      const std::string& opp = opportunities_.at(spec.opportunity);
      if (have.count(opp) == 0) {
        v1::ListContactRolesRequest req;
        req.set_opportunity_id(opp);
        req.set_include_removed(true);
        v1::ListContactRolesResponse resp;
        RETURN_IF_ERROR(Check(
            c_.pipeline().ListContactRoles(c_.Context().get(), req, &resp)));
        auto& set = have[opp];
        for (const v1::ContactRole& r : resp.roles()) {
          set.insert(r.contact_id());
        }
      }
      const std::string& contact = contacts_.at(
          absl::StrCat(AccountOf(spec.opportunity), "/", spec.contact));
      if (have[opp].count(contact) > 0) {
        continue;  // recorded by an earlier run (and maybe changed since)
      }
      v1::SetContactRoleRequest req;
      req.set_opportunity_id(opp);
      req.set_contact_id(contact);
      req.set_role(spec.role);
      req.set_attitude(spec.attitude);
      req.set_influence_weight_pct(spec.weight);
      v1::ContactRole resp;
      RETURN_IF_ERROR(
          Check(c_.pipeline().SetContactRole(c_.Context().get(), req, &resp)));
      have[opp].insert(contact);
      Created(absl::StrCat("buying role on ", spec.opportunity));
    }
    return absl::OkStatus();
  }

  // ---- receivables, payments and promises ----

  absl::StatusOr<std::vector<v1::Receivable>> Receivables(
      const std::string& account) {
    std::vector<v1::Receivable> out;
    RETURN_IF_ERROR(ListAll(
        [&](const v1::PageRequest& page) -> absl::StatusOr<std::string> {
          v1::ListReceivablesRequest req;
          req.set_account_id(account);
          SetPage(page, &req);
          v1::ListReceivablesResponse resp;
          RETURN_IF_ERROR(Check(
              c_.credit().ListReceivables(c_.Context().get(), req, &resp)));
          for (const v1::Receivable& r : resp.receivables()) {
            out.push_back(r);
          }
          return resp.next_page_token();
        }));
    return out;
  }

  // The receivable posted with `external_id`, posting it when missing.
  absl::StatusOr<v1::Receivable> Invoice(const InvoiceSpec& spec) {
    const std::string& account = accounts_.at(spec.account);
    ASSIGN_OR_RETURN(std::vector<v1::Receivable> have, Receivables(account));
    for (const v1::Receivable& r : have) {
      if (r.external_id() == spec.external_id) {
        return r;
      }
    }
    v1::PostReceivableRequest req;
    req.set_external_id(spec.external_id);
    v1::Receivable* r = req.mutable_receivable();
    r->set_account_id(account);
    *r->mutable_amount() = Major(spec.amount);
    *r->mutable_issue_date() = ToProto(today_ - spec.issued_days_ago);
    v1::Receivable resp;
    RETURN_IF_ERROR(
        Check(c_.credit().PostReceivable(c_.Context().get(), req, &resp)));
    Created(absl::StrCat("receivable ", spec.external_id));
    return resp;
  }

  // Records a payment of `amount` on `receivable`, dated `date`, unless the
  // account already has one with `external_id`.
  absl::Status Payment(const v1::Receivable& receivable,
                       const std::string& external_id, int64_t amount,
                       absl::CivilDay date) {
    bool found = false;
    RETURN_IF_ERROR(ListAll(
        [&](const v1::PageRequest& page) -> absl::StatusOr<std::string> {
          v1::ListPaymentsRequest req;
          req.set_account_id(receivable.account_id());
          SetPage(page, &req);
          v1::ListPaymentsResponse resp;
          RETURN_IF_ERROR(
              Check(c_.credit().ListPayments(c_.Context().get(), req, &resp)));
          for (const v1::Payment& p : resp.payments()) {
            found = found || p.external_id() == external_id;
          }
          return resp.next_page_token();
        }));
    if (found) {
      return absl::OkStatus();
    }
    v1::RecordPaymentRequest req;
    req.set_account_id(receivable.account_id());
    *req.mutable_amount() = Major(amount);
    *req.mutable_date() = ToProto(date);
    v1::Allocation* a = req.add_allocations();
    a->set_receivable_id(receivable.id());
    *a->mutable_amount() = Major(amount);
    req.set_external_id(external_id);
    v1::Payment resp;
    RETURN_IF_ERROR(
        Check(c_.credit().RecordPayment(c_.Context().get(), req, &resp)));
    Created(absl::StrCat("payment ", external_id));
    return absl::OkStatus();
  }

  // A promise made on `made` to pay `amount` of `receivable` by `promised`,
  // unless one exists for it. Returns whether it exists now.
  absl::StatusOr<bool> Promise(const v1::Receivable& receivable, int64_t amount,
                               v1::ExcuseCode excuse,
                               const std::string& contact,
                               const std::string& key, absl::CivilDay made,
                               absl::CivilDay promised) {
    bool found = false;
    RETURN_IF_ERROR(ListAll(
        [&](const v1::PageRequest& page) -> absl::StatusOr<std::string> {
          v1::ListPromisesRequest req;
          req.set_account_id(receivable.account_id());
          SetPage(page, &req);
          v1::ListPromisesResponse resp;
          RETURN_IF_ERROR(
              Check(c_.credit().ListPromises(c_.Context().get(), req, &resp)));
          for (const v1::Promise& p : resp.promises()) {
            for (const std::string& id : p.receivable_ids()) {
              found = found || id == receivable.id();
            }
          }
          return resp.next_page_token();
        }));
    if (found) {
      return true;
    }
    if (receivable.state() != v1::RECEIVABLE_STATE_OPEN &&
        receivable.state() != v1::RECEIVABLE_STATE_PARTIALLY_PAID) {
      return false;  // nothing left to promise
    }
    v1::RecordPromiseRequest req;
    req.add_receivable_ids(receivable.id());
    *req.mutable_amount() = Major(amount);
    // Made days ago (collections history, as an ERP migration brings it):
    // credit judges it at its next run, the day after the promised date.
    *req.mutable_made_date() = ToProto(made);
    *req.mutable_promised_date() = ToProto(promised);
    req.set_contact_id(contact);
    req.set_excuse_code(excuse);
    req.set_request_id(RequestId(
        "promise", absl::StrCat(key, ":", absl::FormatCivilTime(made))));
    v1::Promise resp;
    RETURN_IF_ERROR(
        Check(c_.credit().RecordPromise(c_.Context().get(), req, &resp)));
    Created(absl::StrCat("promise to pay ", receivable.external_id()));
    return true;
  }

  absl::Status LoadInvoicesPaymentsPromises() {
    std::map<std::string, v1::Receivable> invoices;
    for (const InvoiceSpec& spec : kInvoices) {
      ASSIGN_OR_RETURN(invoices[spec.external_id], Invoice(spec));
    }
    // Jiangnan paid 120,000.00 of DEMO-INV-1001 ten days ago, promised nine
    // days ago the remaining 300,000.00 by five days ago, and paid nothing:
    // BROKEN, with an escalation task.
    const v1::Receivable& broken = invoices.at("DEMO-INV-1001");
    RETURN_IF_ERROR(Payment(broken, "DEMO-PAY-2001", 120'000, today_ - 10));
    ASSIGN_OR_RETURN(const v1::Receivable broken_now, Reread(broken.id()));
    RETURN_IF_ERROR(Promise(broken_now, 300'000,
                            v1::EXCUSE_CODE_APPROVAL_PENDING,
                            contacts_.at("jiangnan-steel/purchasing"), "broken",
                            today_ - 9, today_ - 5)
                        .status());
    // Suzhou promised DEMO-INV-1003 in full by three days ago and paid it
    // four days ago: KEPT.
    const v1::Receivable& kept = invoices.at("DEMO-INV-1003");
    ASSIGN_OR_RETURN(const bool promised,
                     Promise(kept, 260'000, v1::EXCUSE_CODE_PASSED_TO_FINANCE,
                             contacts_.at("suzhou-precision/finance"), "kept",
                             today_ - 9, today_ - 3));
    if (promised) {
      RETURN_IF_ERROR(Payment(kept, "DEMO-PAY-2002", 260'000, today_ - 4));
    }
    // Credit's daily run judges both now (and issues the dunning steps and
    // the hold the overdue invoices have reached); it is idempotent.
    v1::RunCollectionsResponse run;
    return Check(c_.credit().RunCollections(c_.Context().get(),
                                            v1::RunCollectionsRequest(), &run));
  }

  absl::StatusOr<v1::Receivable> Reread(const std::string& id) {
    v1::GetReceivableRequest req;
    req.set_id(id);
    v1::Receivable resp;
    RETURN_IF_ERROR(
        Check(c_.credit().GetReceivable(c_.Context().get(), req, &resp)));
    return resp;
  }

  Env& env_;
  const bool verbose_;
  Connections& c_;
  const int exponent_;
  const absl::CivilDay today_;
  int created_ = 0;
  Quarter quarter_;
  std::string root_;
  std::map<std::string, std::string> nodes_;          // key → id
  std::map<std::string, std::string> accounts_;       // key → id
  std::map<std::string, std::string> contacts_;       // account/key → id
  std::map<std::string, std::string> opportunities_;  // key → id
};

// ---- commands ----

absl::Status WaitServing(const Args& args, Env& env) {
  ASSIGN_OR_RETURN(const int64_t seconds, args.Int("wait_seconds", 60));
  if (seconds < 1 || seconds > 3600) {
    return absl::InvalidArgumentError("--wait_seconds: must be 1..3600");
  }
  const absl::Time deadline = absl::Now() + absl::Seconds(seconds);
  grpc::ChannelArguments channel_args;
  // Retry a refused connection quickly: the services are starting.
  channel_args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  channel_args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  channel_args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 500);
  for (const auto& [name, addr] : env.conn->addresses()) {
    auto stub = grpc::health::v1::Health::NewStub(grpc::CreateCustomChannel(
        addr, grpc::InsecureChannelCredentials(), channel_args));
    std::string last;
    while (true) {
      grpc::ClientContext ctx;
      ctx.set_wait_for_ready(true);
      ctx.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(1));
      if (!env.conn->token().empty()) {
        ctx.AddMetadata("authorization",
                        absl::StrCat("Bearer ", env.conn->token()));
      }
      grpc::health::v1::HealthCheckRequest req;  // "": the whole server
      grpc::health::v1::HealthCheckResponse resp;
      const grpc::Status s = stub->Check(&ctx, req, &resp);
      if (s.ok() &&
          resp.status() == grpc::health::v1::HealthCheckResponse::SERVING) {
        Log(env) << name << " " << addr << " SERVING\n";
        break;
      }
      last = s.ok() ? grpc::health::v1::HealthCheckResponse::ServingStatus_Name(
                          resp.status())
                    : s.error_message();
      if (absl::Now() >= deadline) {
        return absl::DeadlineExceededError(
            absl::StrCat(name, " at ", addr, " is not SERVING after ", seconds,
                         " s (last answer: ", last, ")"));
      }
      absl::SleepFor(absl::Milliseconds(200));
    }
  }
  return absl::OkStatus();
}

absl::Status Load(const Args& args, Env& env) {
  ASSIGN_OR_RETURN(const bool verbose, args.Bool("verbose", false));
  Loader loader(env, verbose);
  Log(env) << "demo: loading the demo dataset...\n";
  RETURN_IF_ERROR(loader.Run());
  ASSIGN_OR_RETURN(const int rates, LoadDemoRates(env, verbose));  // rates.h
  if (loader.created() + rates == 0) {
    Log(env) << "demo: demo data already loaded; nothing changed\n";
  } else {
    Log(env) << "demo: created " << loader.created() + rates
             << " entities (hierarchy, quotas, accounts, contacts, credit "
                "profiles, 22 opportunities, buying centres, invoices, "
                "payments, promises, dated exchange rates)\n";
  }
  const Quarter& q = loader.quarter();
  Log(env) << "demo: Li Na (East China) was given the seed funnel of SPEC §7 "
              "for "
           << q.Name()
           << ": 18 open opportunities, weighted 3,648,000.00 against a "
              "5,000,000.00 quota.\n"
              "demo: promises to pay: DEMO-INV-1003 (paid in time) KEPT, "
              "DEMO-INV-1001 (unpaid) BROKEN with an escalation task.\n";
  RETURN_IF_ERROR(WaitForForecast(*env.conn, loader.root(), q));
  return PrintAddressesAndTree(env, loader.root(), q);
}

absl::Status Tree(const Args& args, Env& env) {
  Connections& c = *env.conn;
  ASSIGN_OR_RETURN(OrgState org, ReadOrg(c));
  ASSIGN_OR_RETURN(const std::string root, TreeRoot(org));
  ASSIGN_OR_RETURN(Quarter q, DemoQuarter(c, org));
  ASSIGN_OR_RETURN(const int64_t year, args.Int("year", q.year));
  ASSIGN_OR_RETURN(const int64_t quarter, args.Int("quarter", q.quarter));
  if (quarter < 1 || quarter > 4) {
    return absl::InvalidArgumentError("--quarter: must be 1..4");
  }
  if (year < 1 || year > 9999) {
    return absl::InvalidArgumentError("--year: must be 1..9999");
  }
  q = Quarter{static_cast<int>(year), static_cast<int>(quarter)};
  RETURN_IF_ERROR(WaitForForecast(c, root, q));
  return PrintAddressesAndTree(env, root, q);
}

}  // namespace

void RegisterDemoCommands(Registry& r) {
  r.Add(Command{"demo",
                "wait",
                "[--wait_seconds=60]",
                "wait until all four services report SERVING (grpc health)",
                {"wait_seconds"},
                WaitServing});
  r.Add(
      Command{"demo",
              "load",
              "[--verbose]",
              "load the demo dataset once (idempotent; --verbose lists what it "
              "creates), then print the service addresses and the forecast "
              "tree",
              {"verbose"},
              Load});
  r.Add(Command{"demo",
                "tree",
                "[--year=YYYY --quarter=N]",
                "print the service addresses and the forecast tree from the "
                "top (default: the demo quarter)",
                {"year", "quarter"},
                Tree});
}

}  // namespace salesops::ctl
