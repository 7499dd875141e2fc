#include "services/credit/credit_service.h"

#include <algorithm>
#include <map>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/money/money.h"
#include "common/status/status.h"
#include "common/status/violations.h"
#include "common/store/ids.h"
#include "common/store/listing.h"
#include "common/time/fiscal_calendar.h"
#include "salesops/v1/accounts.grpc.pb.h"
#include "services/credit/calculators.h"
#include "services/credit/collections.h"
#include "services/credit/credit_rules.h"
#include "services/credit/receivables.h"

namespace salesops::credit {
namespace {

using money::Sign;

constexpr std::initializer_list<Role> kWriters = {Role::kAdmin, Role::kFinance};
constexpr std::initializer_list<Role> kReaders = {
    Role::kAdmin, Role::kFinance, Role::kManager, Role::kRep, Role::kService};

constexpr char kPipelineOpportunityKind[] = "pipeline.Opportunity";
constexpr char kPipelineModelKind[] = "pipeline.StageModel";
constexpr size_t kMaxTextLength = 2000;
constexpr size_t kMaxExternalIdLength = 128;

int64_t Micros(absl::Time t) { return absl::ToUnixMicros(t); }

// An OUT_OF_RANGE sum (money::Accumulator, money::Add) of the query's
// `figure` names it; any other error passes as is.
absl::Status Figure(const absl::Status& s, const std::string& figure) {
  if (s.code() != absl::StatusCode::kOutOfRange) {
    return s;
  }
  return absl::OutOfRangeError(absl::StrCat(
      figure, " does not fit an int64 amount (", s.message(), ")"));
}

// INVALID_ARGUMENT when pipeline's feed showed `opportunity_id` under another
// account (an opportunity not seen yet passes: the feed may lag the call).
absl::Status RequireOpportunityOf(const CreditStore& db, WriteTxn& txn,
                                  const std::string& opportunity_id,
                                  const std::string& account_id,
                                  std::string_view field) {
  if (opportunity_id.empty()) {
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(std::optional<std::string> owner,
                   db.OpportunityAccount(txn, opportunity_id));
  if (owner && *owner != account_id) {
    return absl::InvalidArgumentError(
        absl::StrCat(std::string(field), ": opportunity ", opportunity_id,
                     " is of account ", *owner, ", not ", account_id));
  }
  return absl::OkStatus();
}

bool IsWriter(const Principal& who) {
  return who.role == Role::kAdmin || who.role == Role::kFinance;
}

// A date field that may be left empty (then `fallback`).
absl::StatusOr<absl::CivilDay> DateOr(const v1::Date& d, std::string_view field,
                                      absl::CivilDay fallback) {
  if (d.year() == 0 && d.month() == 0 && d.day() == 0) {
    return fallback;
  }
  return FromProto(d, field);
}

}  // namespace

AccountLookup GrpcAccountLookup(const PeerChannel* peer) {
  auto stub = std::shared_ptr<v1::AccountsService::Stub>(
      v1::AccountsService::NewStub(peer->channel()));
  return [peer, stub](const std::string& id) -> absl::StatusOr<std::string> {
    v1::GetAccountRequest req;
    req.set_id(id);
    v1::Account resp;
    auto ctx = peer->NewContext();
    grpc::Status s = stub->GetAccount(ctx.get(), req, &resp);
    if (s.ok()) {
      return resp.owner_node_id();
    }
    if (s.error_code() == grpc::StatusCode::NOT_FOUND) {
      return FromGrpc(s);
    }
    return absl::UnavailableError(
        absl::StrCat("accounts service unavailable: ", s.error_message()));
  };
}

CreditServiceImpl::CreditServiceImpl(Store* store, const Authenticator* auth,
                                     Clock* clock, OrgMirror* org,
                                     AccountLookup lookup,
                                     CreditOptions options)
    : db_(store),
      auth_(auth),
      clock_(clock),
      org_(org),
      lookup_(std::move(lookup)),
      options_(std::move(options)),
      exponent_(money::CurrencyExponent(options_.currency)) {}

CreditServiceImpl::~CreditServiceImpl() { StopDailyRunner(); }

void CreditServiceImpl::StopDailyRunner() {
  {
    std::lock_guard<std::mutex> lock(runner_mu_);
    runner_stop_ = true;
  }
  runner_cv_.notify_all();
  if (runner_.joinable()) {
    runner_.join();
  }
}

std::vector<std::string> CreditServiceImpl::PipelineKinds() {
  return {kPipelineModelKind, kPipelineOpportunityKind};
}

std::vector<std::string> CreditServiceImpl::AccountsKinds() {
  return {"accounts.OrgNode", "accounts.Account"};
}

absl::CivilDay CreditServiceImpl::Today() const {
  return absl::ToCivilDay(clock_->Now(), options_.time_zone);
}

v1::Money CreditServiceImpl::M(int64_t units) const {
  return money::Make(units, options_.currency);
}

// ---- scope ----

absl::Status CreditServiceImpl::RequireAccountReader(
    const Principal& who, const std::string& account_id) const {
  if (who.role == Role::kAdmin || who.role == Role::kFinance ||
      who.role == Role::kService) {
    return absl::OkStatus();
  }
  std::optional<std::string> owner = org_->AccountOwner(account_id);
  const bool allowed = owner && (who.role == Role::kRep
                                     ? *owner == who.org_node_id
                                     : org_->IsWithin(*owner, who.org_node_id));
  if (!allowed) {
    return absl::PermissionDeniedError(absl::StrCat(
        "account ", account_id, " is outside the scope of ", who.name));
  }
  return absl::OkStatus();
}

absl::Status CreditServiceImpl::RequireNodeReader(
    const Principal& who, const std::string& node_id,
    std::string_view field) const {
  if (!org_->Find(node_id)) {
    return absl::NotFoundError(
        absl::StrCat(std::string(field), ": org node ", node_id, " not found"));
  }
  if (who.role == Role::kAdmin || who.role == Role::kFinance ||
      who.role == Role::kService) {
    return absl::OkStatus();
  }
  const bool allowed = who.role == Role::kRep
                           ? node_id == who.org_node_id
                           : who.role == Role::kManager &&
                                 org_->IsWithin(node_id, who.org_node_id);
  if (!allowed) {
    return absl::PermissionDeniedError(absl::StrCat(
        "org node ", node_id, " is outside the scope of ", who.name));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> CreditServiceImpl::ScopeAccounts(
    const Principal& who, const std::string& account_id,
    const std::string& org_node_id) const {
  if (account_id.empty() == org_node_id.empty()) {
    return absl::InvalidArgumentError(
        "account_id, org_node_id: exactly one is required");
  }
  if (!account_id.empty()) {
    RETURN_IF_ERROR(RequireAccountReader(who, account_id));
    return std::vector<std::string>{account_id};
  }
  RETURN_IF_ERROR(RequireNodeReader(who, org_node_id, "org_node_id"));
  return org_->AccountsWithin(org_node_id);
}

absl::Status CreditServiceImpl::RequireAccount(const std::string& account_id,
                                               std::string_view field) const {
  if (account_id.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(std::string(field), ": required"));
  }
  if (org_->AccountOwner(account_id)) {
    return absl::OkStatus();
  }
  if (!lookup_) {
    return absl::InvalidArgumentError(absl::StrCat(
        std::string(field), ": account ", account_id, " does not exist"));
  }
  absl::StatusOr<std::string> owner = lookup_(account_id);
  if (absl::IsNotFound(owner.status())) {
    return absl::InvalidArgumentError(absl::StrCat(
        std::string(field), ": account ", account_id, " does not exist"));
  }
  return owner.status();
}

template <typename Msg>
absl::Status CreditServiceImpl::ListByAccount(
    Ctx* ctx, const std::string& account_id, const v1::PageRequest& page_req,
    const MultiIndex& index, const Table<Msg>& table,
    const std::function<bool(const Msg&)>& keep,
    google::protobuf::RepeatedPtrField<Msg>* out,
    v1::PageResponse* page_out) const {
  ASSIGN_OR_RETURN(Principal who, auth_->Authorize(*ctx, kReaders));
  if (account_id.empty()) {
    return absl::InvalidArgumentError("account_id: required");
  }
  RETURN_IF_ERROR(RequireAccountReader(who, account_id));
  ASSIGN_OR_RETURN(Page page, ReadPage(page_req));
  page_out->set_feed_sequence(db_.store->last_sequence());
  std::string next;
  RETURN_IF_ERROR(FillPageFromIndex<Msg>(*db_.store, index, account_id, table,
                                         page, keep, out, &next));
  page_out->set_next_page_token(next);
  return absl::OkStatus();
}

// ---- profiles and checks ----

grpc::Status CreditServiceImpl::SetCreditProfile(
    Ctx* ctx, const v1::SetCreditProfileRequest* req, v1::CreditProfile* resp) {
  return ToGrpc(DoSetCreditProfile(ctx, req, resp));
}

absl::Status CreditServiceImpl::DoSetCreditProfile(
    Ctx* ctx, const v1::SetCreditProfileRequest* req, v1::CreditProfile* resp) {
  ASSIGN_OR_RETURN(Principal who, auth_->Authorize(*ctx, kWriters));
  const v1::CreditProfile& in = req->profile();
  Violations v;
  if (in.account_id().empty()) {
    v.Add("profile.account_id: required");
  }
  v.Add(money::Validate(in.credit_limit(), options_.currency,
                        "profile.credit_limit", Sign::kNonNegative));
  if (in.payment_terms_days() < 0 || in.payment_terms_days() > 365) {
    v.Add(absl::StrCat("profile.payment_terms_days: must be 0..365, got ",
                       in.payment_terms_days()));
  }
  if (!v1::RiskClass_IsValid(in.risk_class()) ||
      in.risk_class() == v1::RISK_CLASS_UNSPECIFIED) {
    v.Add("profile.risk_class: required (LOW, MEDIUM, HIGH or VERY_HIGH)");
  }
  if (in.hold_reason().size() > kMaxTextLength) {
    v.Add("profile.hold_reason: at most 2000 characters");
  }
  if (req->expected_version() < 0) {
    v.Add("expected_version: must be >= 0");
  }
  RETURN_IF_ERROR(v.status());
  RETURN_IF_ERROR(RequireAccount(in.account_id(), "profile.account_id"));
  return db_.store
      ->Write(ActorFor(who, "SetCreditProfile"),
              [&](WriteTxn& txn) -> absl::Status {
                ASSIGN_OR_RETURN(std::optional<v1::CreditProfile> old,
                                 db_.profiles.Find(txn, in.account_id()));
                v1::CreditProfile p;
                p.set_account_id(in.account_id());
                *p.mutable_credit_limit() = M(in.credit_limit().units_minor());
                p.set_payment_terms_days(in.payment_terms_days());
                p.set_risk_class(in.risk_class());
                p.set_hold(in.hold());
                p.set_hold_reason(in.hold() ? Trimmed(in.hold_reason()) : "");
                p.set_updated_micros(Micros(txn.now()));
                if (old) {
                  RETURN_IF_ERROR(db_.profiles.Update(
                      txn, p.account_id(), req->expected_version(), &p));
                } else {
                  RETURN_IF_ERROR(CheckVersion("credit profile", p.account_id(),
                                               req->expected_version(), 0));
                  RETURN_IF_ERROR(db_.profiles.Insert(txn, p.account_id(), &p));
                }
                *resp = p;
                return absl::OkStatus();
              })
      .status();
}

grpc::Status CreditServiceImpl::GetCreditProfile(
    Ctx* ctx, const v1::GetCreditProfileRequest* req, v1::CreditProfile* resp) {
  absl::StatusOr<Principal> who = auth_->Authorize(*ctx, kReaders);
  if (!who.ok()) {
    return ToGrpc(who.status());
  }
  if (req->account_id().empty()) {
    return ToGrpc(absl::InvalidArgumentError("account_id: required"));
  }
  if (absl::Status s = RequireAccountReader(*who, req->account_id()); !s.ok()) {
    return ToGrpc(s);
  }
  absl::StatusOr<v1::CreditProfile> p = db_.profiles.Get(req->account_id());
  if (!p.ok()) {
    return ToGrpc(p.status());
  }
  *resp = std::move(*p);
  return grpc::Status::OK;
}

absl::StatusOr<int64_t> CreditServiceImpl::Exposure(
    WriteTxn& txn, const std::string& account_id,
    const std::string& except_opportunity) const {
  money::Accumulator total;
  ASSIGN_OR_RETURN(std::vector<v1::Receivable> rs,
                   db_.AccountReceivables(txn, account_id));
  for (const v1::Receivable& r : rs) {
    // The opportunity asking is counted once, by the amount it asks for,
    // even when it was invoiced before and slipped back.
    if (except_opportunity.empty() ||
        r.opportunity_id() != except_opportunity) {
      total.Add(r.open().units_minor());
    }
  }
  ASSIGN_OR_RETURN(std::vector<Commitment> cs,
                   db_.AccountCommitments(txn, account_id));
  for (const Commitment& c : cs) {
    if (c.opportunity_id != except_opportunity || except_opportunity.empty()) {
      total.Add(c.amount);
    }
  }
  return total.Total();
}

grpc::Status CreditServiceImpl::CheckCredit(Ctx* ctx,
                                            const v1::CheckCreditRequest* req,
                                            v1::CreditCheck* resp) {
  return ToGrpc(DoCheckCredit(ctx, req, resp));
}

absl::Status CreditServiceImpl::DoCheckCredit(Ctx* ctx,
                                              const v1::CheckCreditRequest* req,
                                              v1::CreditCheck* resp) {
  ASSIGN_OR_RETURN(Principal who, auth_->Authorize(*ctx, kReaders));
  Violations v;
  if (req->account_id().empty()) {
    v.Add("account_id: required");
  }
  v.Add(money::Validate(req->amount(), options_.currency, "amount",
                        Sign::kPositive));
  if (req->opportunity_id().size() > kMaxExternalIdLength) {
    v.Add("opportunity_id: at most 128 characters");
  }
  RETURN_IF_ERROR(v.status());
  if (!req->opportunity_id().empty() && who.role != Role::kService &&
      !IsWriter(who)) {
    // Naming an opportunity reserves exposure for it: that is pipeline's
    // (or finance's) call, not a what-if of a rep.
    return absl::PermissionDeniedError(
        "opportunity_id: only SERVICE (pipeline), FINANCE or ADMIN may name an "
        "opportunity; leave it empty for a check that reserves nothing");
  }
  // Scope first: a caller outside it learns nothing about the account.
  RETURN_IF_ERROR(RequireAccountReader(who, req->account_id()));
  RETURN_IF_ERROR(RequireAccount(req->account_id(), "account_id"));
  const absl::CivilDay today = Today();
  return db_.store
      ->Write(
          ActorFor(who, "CheckCredit"),
          [&](WriteTxn& txn) -> absl::Status {
            RETURN_IF_ERROR(
                RequireOpportunityOf(db_, txn, req->opportunity_id(),
                                     req->account_id(), "opportunity_id"));
            CreditFacts facts;
            facts.exponent = exponent_;
            facts.overdue_block_days = options_.overdue_block_days;
            facts.amount = req->amount().units_minor();
            ASSIGN_OR_RETURN(facts.profile,
                             db_.profiles.Find(txn, req->account_id()));
            absl::StatusOr<int64_t> exposure =
                Exposure(txn, req->account_id(), req->opportunity_id());
            if (!exposure.ok()) {
              return Figure(
                  exposure.status(),
                  absl::StrCat("exposure of account ", req->account_id()));
            }
            facts.exposure = *exposure;
            ASSIGN_OR_RETURN(std::vector<v1::Receivable> rs,
                             db_.AccountReceivables(txn, req->account_id()));
            money::Accumulator beyond;
            for (const v1::Receivable& r : rs) {
              if (!Collectible(r)) {
                continue;
              }
              const int days = DaysPastDue(r, today);
              facts.max_days_overdue = std::max(facts.max_days_overdue, days);
              if (days > options_.overdue_block_days) {
                beyond.Add(r.open().units_minor());
              }
            }
            absl::StatusOr<int64_t> overdue = beyond.Total();
            if (!overdue.ok()) {
              return Figure(overdue.status(),
                            absl::StrCat("overdue receivables of account ",
                                         req->account_id()));
            }
            facts.overdue_beyond_limit = *overdue;
            ASSIGN_OR_RETURN(v1::DunningStrategy strategy, db_.Strategy(txn));
            facts.debtor_class =
                ClassifyDebtor(rs, strategy, today).debtor_class;
            const CreditVerdict verdict = DecideCredit(facts);

            v1::CreditCheck c;
            c.set_id(NewId("chk", txn.now()));
            c.set_account_id(req->account_id());
            c.set_opportunity_id(req->opportunity_id());
            *c.mutable_amount() = M(facts.amount);
            c.set_decision(verdict.decision);
            for (const std::string& reason : verdict.reasons) {
              c.add_reasons(reason);
            }
            *c.mutable_exposure() = M(facts.exposure);
            *c.mutable_credit_limit() =
                M(facts.profile ? facts.profile->credit_limit().units_minor()
                                : 0);
            c.set_checked_by(who.name);
            c.set_checked_micros(Micros(txn.now()));
            RETURN_IF_ERROR(db_.checks.Insert(txn, c.id(), &c));
            db_.checks_by_account.Put(txn, c.account_id(), c.id());
            if (!c.opportunity_id().empty()) {
              RETURN_IF_ERROR(db_.ReleaseCommitment(txn, c.opportunity_id()));
              // Invoiced: any receivable of the opportunity (opened from the
              // pipeline feed or posted by the ERP) ends its commitment.
              ASSIGN_OR_RETURN(std::vector<std::string> invoiced,
                               db_.AllIds(txn, db_.receivables_by_opportunity,
                                          c.opportunity_id()));
              if (verdict.decision != v1::CREDIT_DECISION_BLOCK &&
                  invoiced.empty()) {
                db_.PutCommitment(txn,
                                  Commitment{c.account_id(), c.opportunity_id(),
                                             facts.amount});
              }
            }
            *resp = c;
            return absl::OkStatus();
          })
      .status();
}

grpc::Status CreditServiceImpl::ListCreditChecks(
    Ctx* ctx, const v1::ListCreditChecksRequest* req,
    v1::ListCreditChecksResponse* resp) {
  return ToGrpc(ListByAccount<v1::CreditCheck>(
      ctx, req->account_id(), req->page(), db_.checks_by_account, db_.checks,
      [](const v1::CreditCheck&) { return true; }, resp->mutable_checks(),
      resp->mutable_page()));
}

// ---- receivables and payments ----

absl::StatusOr<int> CreditServiceImpl::PaymentTermsDays(
    WriteTxn& txn, const std::string& account_id) const {
  ASSIGN_OR_RETURN(std::optional<v1::CreditProfile> p,
                   db_.profiles.Find(txn, account_id));
  return p ? p->payment_terms_days() : options_.default_payment_terms_days;
}

absl::Status CreditServiceImpl::RefreshCollection(
    WriteTxn& txn, const std::string& opportunity_id) const {
  if (opportunity_id.empty()) {
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(
      std::vector<std::string> ids,
      db_.AllIds(txn, db_.receivables_by_opportunity, opportunity_id));
  money::Accumulator invoiced, collected, written_off;
  bool all_paid = !ids.empty();
  std::string account_id;
  absl::CivilDay last_paid;
  for (const std::string& id : ids) {
    ASSIGN_OR_RETURN(v1::Receivable r, db_.receivables.Get(txn, id));
    account_id = r.account_id();
    invoiced.Add(r.amount().units_minor());
    collected.Add(r.paid().units_minor());
    written_off.Add(r.written_off().units_minor());
    if (r.state() != v1::RECEIVABLE_STATE_PAID) {
      all_paid = false;
    } else {
      ASSIGN_OR_RETURN(absl::CivilDay paid,
                       FromProto(r.paid_date(), "paid_date"));
      last_paid = std::max(last_paid, paid);
    }
  }
  v1::OpportunityCollection c;
  c.set_opportunity_id(opportunity_id);
  c.set_account_id(account_id);
  ASSIGN_OR_RETURN(int64_t inv, invoiced.Total());
  ASSIGN_OR_RETURN(int64_t col, collected.Total());
  ASSIGN_OR_RETURN(int64_t off, written_off.Total());
  *c.mutable_invoiced() = M(inv);
  *c.mutable_collected() = M(col);
  *c.mutable_written_off() = M(off);
  c.set_fully_collected(all_paid);
  if (all_paid) {
    *c.mutable_collected_date() = ToProto(last_paid);
  }
  ASSIGN_OR_RETURN(std::optional<v1::OpportunityCollection> old,
                   db_.collections.Find(txn, opportunity_id));
  if (!old) {
    return db_.collections.Insert(txn, opportunity_id, &c);
  }
  c.set_version(old->version());
  if (c.SerializeAsString() == old->SerializeAsString()) {
    return absl::OkStatus();
  }
  return db_.collections.Update(txn, opportunity_id, 0, &c);
}

absl::Status CreditServiceImpl::OpenReceivable(WriteTxn& txn,
                                               v1::Receivable* r) const {
  Settle(r, options_.currency);
  RETURN_IF_ERROR(db_.SaveReceivable(txn, r));
  if (!r->external_id().empty()) {
    db_.receivable_by_external_id.Put(txn, r->external_id(), r->id());
  }
  if (!r->opportunity_id().empty()) {
    RETURN_IF_ERROR(db_.ReleaseCommitment(txn, r->opportunity_id()));
    RETURN_IF_ERROR(RefreshCollection(txn, r->opportunity_id()));
  }
  return absl::OkStatus();
}

grpc::Status CreditServiceImpl::PostReceivable(
    Ctx* ctx, const v1::PostReceivableRequest* req, v1::Receivable* resp) {
  return ToGrpc(DoPostReceivable(ctx, req, resp));
}

absl::Status CreditServiceImpl::DoPostReceivable(
    Ctx* ctx, const v1::PostReceivableRequest* req, v1::Receivable* resp) {
  ASSIGN_OR_RETURN(Principal who, auth_->Authorize(*ctx, kWriters));
  const v1::Receivable& in = req->receivable();
  const std::string external_id =
      req->external_id().empty() ? in.external_id() : req->external_id();
  Violations v;
  if (in.account_id().empty()) {
    v.Add("receivable.account_id: required");
  }
  v.Add(money::Validate(in.amount(), options_.currency, "receivable.amount",
                        Sign::kPositive));
  absl::StatusOr<absl::CivilDay> issue =
      FromProto(in.issue_date(), "receivable.issue_date");
  v.Add(issue.status());
  std::optional<absl::CivilDay> due;
  if (in.has_due_date()) {
    absl::StatusOr<absl::CivilDay> d =
        FromProto(in.due_date(), "receivable.due_date");
    v.Add(d.status());
    if (d.ok()) {
      due = *d;
      if (issue.ok() && *d < *issue) {
        v.Add("receivable.due_date: must not be before issue_date");
      }
    }
  }
  if (!req->external_id().empty() && !in.external_id().empty() &&
      req->external_id() != in.external_id()) {
    v.Add("external_id: differs from receivable.external_id");
  }
  if (external_id.size() > kMaxExternalIdLength) {
    v.Add("external_id: at most 128 characters");
  }
  if (in.opportunity_id().size() > kMaxExternalIdLength) {
    v.Add("receivable.opportunity_id: at most 128 characters");
  }
  if (!in.id().empty() || in.has_paid() || in.has_written_off() ||
      in.has_open() || in.state() != v1::RECEIVABLE_STATE_UNSPECIFIED ||
      in.payments_size() > 0 || in.version() != 0) {
    v.Add(
        "receivable: id, paid, written_off, open, state, payments and "
        "version are output only");
  }
  RETURN_IF_ERROR(v.status());
  RETURN_IF_ERROR(RequireAccount(in.account_id(), "receivable.account_id"));
  return db_.store
      ->Write(
          ActorFor(who, "PostReceivable"),
          [&](WriteTxn& txn) -> absl::Status {
            if (!external_id.empty()) {
              ASSIGN_OR_RETURN(
                  std::optional<std::string> known,
                  db_.receivable_by_external_id.Lookup(txn, external_id));
              if (known) {
                ASSIGN_OR_RETURN(v1::Receivable r,
                                 db_.receivables.Get(txn, *known));
                if (r.account_id() != in.account_id() ||
                    r.amount().units_minor() != in.amount().units_minor() ||
                    r.issue_date().SerializeAsString() !=
                        in.issue_date().SerializeAsString()) {
                  return absl::FailedPreconditionError(absl::StrCat(
                      "external_id: ", external_id, " was posted as ", r.id(),
                      " with a different account, amount or issue date"));
                }
                *resp = std::move(r);  // a replay: nothing changes
                return absl::OkStatus();
              }
            }
            RETURN_IF_ERROR(RequireOpportunityOf(db_, txn, in.opportunity_id(),
                                                 in.account_id(),
                                                 "receivable.opportunity_id"));
            std::optional<absl::CivilDay> due_date = due;
            if (!due_date) {
              ASSIGN_OR_RETURN(int terms,
                               PaymentTermsDays(txn, in.account_id()));
              due_date = *issue + terms;
            }
            ASSIGN_OR_RETURN(
                std::optional<std::string> contract,
                in.opportunity_id().empty()
                    ? absl::StatusOr<std::optional<std::string>>(std::nullopt)
                    : db_.contract_receivable_by_opportunity.Lookup(
                          txn, in.opportunity_id()));
            if (contract) {
              // The contract's receivable is already open: the ERP's invoice
              // for it is that receivable (adopted while nothing is paid and
              // the amounts agree), never a second debt.
              ASSIGN_OR_RETURN(v1::Receivable r,
                               db_.receivables.Get(txn, *contract));
              if (!r.external_id().empty() || r.payments_size() > 0 ||
                  r.amount().units_minor() != in.amount().units_minor()) {
                return absl::FailedPreconditionError(absl::StrCat(
                    "receivable.opportunity_id: opportunity ",
                    in.opportunity_id(), " is invoiced by ", r.id(),
                    " (opened when its contract was signed); only an invoice "
                    "of "
                    "the same amount before any payment can be posted for it"));
              }
              r.set_external_id(external_id);
              *r.mutable_issue_date() = ToProto(*issue);
              *r.mutable_due_date() = ToProto(*due_date);
              RETURN_IF_ERROR(db_.SaveReceivable(txn, &r));
              if (!external_id.empty()) {
                db_.receivable_by_external_id.Put(txn, external_id, r.id());
              }
              *resp = std::move(r);
              return absl::OkStatus();
            }
            v1::Receivable r;
            r.set_id(NewId("rcv", txn.now()));
            r.set_account_id(in.account_id());
            r.set_opportunity_id(in.opportunity_id());
            r.set_external_id(external_id);
            *r.mutable_amount() = M(in.amount().units_minor());
            *r.mutable_paid() = M(0);
            *r.mutable_written_off() = M(0);
            *r.mutable_issue_date() = ToProto(*issue);
            *r.mutable_due_date() = ToProto(*due_date);
            r.set_source(v1::RECEIVABLE_SOURCE_POSTED);
            r.set_created_micros(Micros(txn.now()));
            RETURN_IF_ERROR(OpenReceivable(txn, &r));
            *resp = std::move(r);
            return absl::OkStatus();
          })
      .status();
}

grpc::Status CreditServiceImpl::GetReceivable(
    Ctx* ctx, const v1::GetReceivableRequest* req, v1::Receivable* resp) {
  absl::StatusOr<Principal> who = auth_->Authorize(*ctx, kReaders);
  if (!who.ok()) {
    return ToGrpc(who.status());
  }
  if (req->id().empty()) {
    return ToGrpc(absl::InvalidArgumentError("id: required"));
  }
  absl::StatusOr<v1::Receivable> r = db_.receivables.Get(req->id());
  if (!r.ok()) {
    return ToGrpc(r.status());
  }
  if (absl::Status s = RequireAccountReader(*who, r->account_id()); !s.ok()) {
    return ToGrpc(s);
  }
  *resp = std::move(*r);
  return grpc::Status::OK;
}

grpc::Status CreditServiceImpl::ListReceivables(
    Ctx* ctx, const v1::ListReceivablesRequest* req,
    v1::ListReceivablesResponse* resp) {
  return ToGrpc(DoListReceivables(ctx, req, resp));
}

absl::Status CreditServiceImpl::DoListReceivables(
    Ctx* ctx, const v1::ListReceivablesRequest* req,
    v1::ListReceivablesResponse* resp) {
  ASSIGN_OR_RETURN(Principal who, auth_->Authorize(*ctx, kReaders));
  const int set = !req->account_id().empty() + !req->org_node_id().empty() +
                  !req->opportunity_id().empty();
  if (set != 1) {
    return absl::InvalidArgumentError(
        "account_id, org_node_id, opportunity_id: exactly one is required");
  }
  if (!v1::ReceivableState_IsValid(req->state())) {
    return absl::InvalidArgumentError("state: not a ReceivableState");
  }
  ASSIGN_OR_RETURN(Page page, ReadPage(req->page()));
  resp->mutable_page()->set_feed_sequence(db_.store->last_sequence());
  auto keep = [&](const v1::Receivable& r) {
    return (req->state() == v1::RECEIVABLE_STATE_UNSPECIFIED ||
            r.state() == req->state()) &&
           RequireAccountReader(who, r.account_id()).ok();
  };
  std::string next;
  if (!req->org_node_id().empty()) {
    ASSIGN_OR_RETURN(std::vector<std::string> accounts,
                     ScopeAccounts(who, "", req->org_node_id()));
    std::vector<std::string> ids;
    for (const std::string& a : accounts) {
      ASSIGN_OR_RETURN(std::vector<std::string> more,
                       db_.AllIds(db_.receivables_by_account, a));
      ids.insert(ids.end(), more.begin(), more.end());
    }
    std::sort(ids.begin(), ids.end());
    for (const std::string& id : ids) {
      if (id <= page.after && !page.after.empty()) {
        continue;
      }
      ASSIGN_OR_RETURN(v1::Receivable r, db_.receivables.Get(id));
      if (!keep(r)) {
        continue;
      }
      if (resp->receivables_size() >= page.size) {
        next = EncodePageToken(resp->receivables().rbegin()->id());
        break;
      }
      *resp->add_receivables() = std::move(r);
    }
  } else {
    const bool by_account = !req->account_id().empty();
    if (by_account) {
      RETURN_IF_ERROR(RequireAccountReader(who, req->account_id()));
    }
    RETURN_IF_ERROR(FillPageFromIndex<v1::Receivable>(
        *db_.store,
        by_account ? db_.receivables_by_account
                   : db_.receivables_by_opportunity,
        by_account ? req->account_id() : req->opportunity_id(), db_.receivables,
        page, keep, resp->mutable_receivables(), &next));
  }
  resp->mutable_page()->set_next_page_token(next);
  return absl::OkStatus();
}

grpc::Status CreditServiceImpl::RecordPayment(
    Ctx* ctx, const v1::RecordPaymentRequest* req, v1::Payment* resp) {
  return ToGrpc(DoRecordPayment(ctx, req, resp));
}

absl::Status CreditServiceImpl::DoRecordPayment(
    Ctx* ctx, const v1::RecordPaymentRequest* req, v1::Payment* resp) {
  ASSIGN_OR_RETURN(Principal who, auth_->Authorize(*ctx, kWriters));
  const absl::CivilDay today = Today();
  Violations v;
  if (req->account_id().empty()) {
    v.Add("account_id: required");
  }
  v.Add(money::Validate(req->amount(), options_.currency, "amount",
                        Sign::kPositive));
  absl::StatusOr<absl::CivilDay> date = FromProto(req->date(), "date");
  v.Add(date.status());
  if (date.ok() && *date > today) {
    v.Add(absl::StrCat("date: must not be after today (",
                       absl::FormatCivilTime(today), ")"));
  }
  for (int i = 0; i < req->allocations_size(); ++i) {
    const v1::Allocation& a = req->allocations(i);
    const std::string field = absl::StrCat("allocations[", i, "]");
    if (a.receivable_id().empty()) {
      v.Add(absl::StrCat(field, ".receivable_id: required"));
    }
    v.Add(money::Validate(a.amount(), options_.currency,
                          absl::StrCat(field, ".amount"), Sign::kPositive));
  }
  if (req->external_id().size() > kMaxExternalIdLength) {
    v.Add("external_id: at most 128 characters");
  }
  RETURN_IF_ERROR(v.status());
  return db_.store
      ->Write(
          ActorFor(who, "RecordPayment"),
          [&](WriteTxn& txn) -> absl::Status {
            if (!req->external_id().empty()) {
              ASSIGN_OR_RETURN(
                  std::optional<std::string> known,
                  db_.payment_by_external_id.Lookup(txn, req->external_id()));
              if (known) {
                ASSIGN_OR_RETURN(v1::Payment p, db_.payments.Get(txn, *known));
                if (p.account_id() != req->account_id() ||
                    p.amount().units_minor() != req->amount().units_minor() ||
                    p.date().SerializeAsString() !=
                        req->date().SerializeAsString()) {
                  return absl::FailedPreconditionError(absl::StrCat(
                      "external_id: ", req->external_id(), " was recorded as ",
                      p.id(), " with a different account, amount or date"));
                }
                *resp = std::move(p);  // a replay: nothing changes
                return absl::OkStatus();
              }
            }
            ASSIGN_OR_RETURN(std::vector<v1::Receivable> rs,
                             db_.AccountReceivables(txn, req->account_id()));
            std::vector<v1::Allocation> named(req->allocations().begin(),
                                              req->allocations().end());
            ASSIGN_OR_RETURN(std::vector<v1::Allocation> allocations,
                             Allocate(rs, req->amount().units_minor(), named,
                                      options_.currency));
            v1::Payment p;
            p.set_id(NewId("pay", txn.now()));
            p.set_account_id(req->account_id());
            *p.mutable_amount() = M(req->amount().units_minor());
            *p.mutable_date() = ToProto(*date);
            p.set_external_id(req->external_id());
            p.set_recorded_by(who.name);
            p.set_created_micros(Micros(txn.now()));
            std::set<std::string> opportunities;
            for (const v1::Allocation& a : allocations) {
              auto it = std::find_if(rs.begin(), rs.end(), [&](const auto& r) {
                return r.id() == a.receivable_id();
              });
              if (it == rs.end()) {
                return absl::InternalError(
                    "allocation to an unknown receivable");
              }
              RETURN_IF_ERROR(ApplyPayment(&*it, p.id(),
                                           a.amount().units_minor(), *date,
                                           options_.currency));
              RETURN_IF_ERROR(db_.SaveReceivable(txn, &*it));
              opportunities.insert(it->opportunity_id());
              *p.add_allocations() = a;
            }
            RETURN_IF_ERROR(db_.payments.Insert(txn, p.id(), &p));
            db_.payments_by_account.Put(txn, p.account_id(), p.id());
            if (!p.external_id().empty()) {
              db_.payment_by_external_id.Put(txn, p.external_id(), p.id());
            }
            for (const std::string& opp : opportunities) {
              RETURN_IF_ERROR(RefreshCollection(txn, opp));
            }
            *resp = std::move(p);
            return absl::OkStatus();
          })
      .status();
}

grpc::Status CreditServiceImpl::ListPayments(Ctx* ctx,
                                             const v1::ListPaymentsRequest* req,
                                             v1::ListPaymentsResponse* resp) {
  return ToGrpc(ListByAccount<v1::Payment>(
      ctx, req->account_id(), req->page(), db_.payments_by_account,
      db_.payments, [](const v1::Payment&) { return true; },
      resp->mutable_payments(), resp->mutable_page()));
}

grpc::Status CreditServiceImpl::WriteOff(Ctx* ctx,
                                         const v1::WriteOffRequest* req,
                                         v1::Receivable* resp) {
  return ToGrpc(DoWriteOff(ctx, req, resp));
}

absl::Status CreditServiceImpl::DoWriteOff(Ctx* ctx,
                                           const v1::WriteOffRequest* req,
                                           v1::Receivable* resp) {
  ASSIGN_OR_RETURN(Principal who, auth_->Authorize(*ctx, kWriters));
  const absl::CivilDay today = Today();
  Violations v;
  if (req->receivable_id().empty()) {
    v.Add("receivable_id: required");
  }
  if (Blank(req->reason())) {
    v.Add("reason: required");
  } else if (req->reason().size() > kMaxTextLength) {
    v.Add("reason: at most 2000 characters");
  }
  absl::StatusOr<absl::CivilDay> date = DateOr(req->date(), "date", today);
  v.Add(date.status());
  if (date.ok() && *date > today) {
    v.Add("date: must not be after today");
  }
  RETURN_IF_ERROR(v.status());
  return db_.store
      ->Write(
          ActorFor(who, "WriteOff"),
          [&](WriteTxn& txn) -> absl::Status {
            ASSIGN_OR_RETURN(v1::Receivable r,
                             db_.receivables.Get(txn, req->receivable_id()));
            RETURN_IF_ERROR(CheckVersion("receivable", r.id(),
                                         req->expected_version(), r.version()));
            if (!Outstanding(r)) {
              return absl::FailedPreconditionError(absl::StrCat(
                  "receivable ", r.id(), " is ",
                  v1::ReceivableState_Name(r.state()),
                  ": only an OPEN, PARTIALLY_PAID or DISPUTED one can be "
                  "written off"));
            }
            *r.mutable_written_off() = M(r.open().units_minor());
            r.set_write_off_reason(Trimmed(req->reason()));
            *r.mutable_written_off_date() = ToProto(*date);
            Settle(&r, options_.currency);
            RETURN_IF_ERROR(db_.SaveReceivable(txn, &r));
            RETURN_IF_ERROR(RefreshCollection(txn, r.opportunity_id()));
            *resp = std::move(r);
            return absl::OkStatus();
          })
      .status();
}

grpc::Status CreditServiceImpl::SetDispute(Ctx* ctx,
                                           const v1::SetDisputeRequest* req,
                                           v1::Receivable* resp) {
  return ToGrpc(DoSetDispute(ctx, req, resp));
}

absl::Status CreditServiceImpl::DoSetDispute(Ctx* ctx,
                                             const v1::SetDisputeRequest* req,
                                             v1::Receivable* resp) {
  ASSIGN_OR_RETURN(Principal who, auth_->Authorize(*ctx, kWriters));
  Violations v;
  if (req->receivable_id().empty()) {
    v.Add("receivable_id: required");
  }
  if (req->disputed() && Blank(req->reason())) {
    v.Add("reason: required when opening a dispute");
  }
  if (req->reason().size() > kMaxTextLength) {
    v.Add("reason: at most 2000 characters");
  }
  RETURN_IF_ERROR(v.status());
  return db_.store
      ->Write(
          ActorFor(who, "SetDispute"),
          [&](WriteTxn& txn) -> absl::Status {
            ASSIGN_OR_RETURN(v1::Receivable r,
                             db_.receivables.Get(txn, req->receivable_id()));
            RETURN_IF_ERROR(CheckVersion("receivable", r.id(),
                                         req->expected_version(), r.version()));
            if (req->disputed() && !Collectible(r)) {
              return absl::FailedPreconditionError(absl::StrCat(
                  "receivable ", r.id(), " is ",
                  v1::ReceivableState_Name(r.state()),
                  ": only an OPEN or PARTIALLY_PAID one can be disputed"));
            }
            if (!req->disputed() &&
                r.state() != v1::RECEIVABLE_STATE_DISPUTED) {
              return absl::FailedPreconditionError(
                  absl::StrCat("receivable ", r.id(), " is not disputed"));
            }
            r.set_dispute_reason(req->disputed() ? Trimmed(req->reason()) : "");
            Settle(&r, options_.currency);
            RETURN_IF_ERROR(db_.SaveReceivable(txn, &r));
            *resp = std::move(r);
            return absl::OkStatus();
          })
      .status();
}

grpc::Status CreditServiceImpl::GetOpportunityCollection(
    Ctx* ctx, const v1::GetOpportunityCollectionRequest* req,
    v1::OpportunityCollection* resp) {
  absl::StatusOr<Principal> who = auth_->Authorize(*ctx, kReaders);
  if (!who.ok()) {
    return ToGrpc(who.status());
  }
  if (req->opportunity_id().empty()) {
    return ToGrpc(absl::InvalidArgumentError("opportunity_id: required"));
  }
  absl::StatusOr<v1::OpportunityCollection> c =
      db_.collections.Get(req->opportunity_id());
  if (!c.ok()) {
    return ToGrpc(c.status());
  }
  if (absl::Status s = RequireAccountReader(*who, c->account_id()); !s.ok()) {
    return ToGrpc(s);
  }
  *resp = std::move(*c);
  return grpc::Status::OK;
}

grpc::Status CreditServiceImpl::ListOpportunityCollections(
    Ctx* ctx, const v1::ListOpportunityCollectionsRequest* req,
    v1::ListOpportunityCollectionsResponse* resp) {
  absl::StatusOr<Principal> who =
      auth_->Authorize(*ctx, {Role::kAdmin, Role::kFinance, Role::kService});
  if (!who.ok()) {
    return ToGrpc(who.status());
  }
  absl::StatusOr<Page> page = ReadPage(req->page());
  if (!page.ok()) {
    return ToGrpc(page.status());
  }
  resp->mutable_page()->set_feed_sequence(db_.store->last_sequence());
  std::vector<v1::OpportunityCollection> chunk;
  bool more = false;
  if (absl::Status s =
          db_.collections.List(page->after, page->size, &chunk, &more);
      !s.ok()) {
    return ToGrpc(s);
  }
  for (v1::OpportunityCollection& c : chunk) {
    *resp->add_collections() = std::move(c);
  }
  if (more && resp->collections_size() > 0) {
    resp->mutable_page()->set_next_page_token(
        EncodePageToken(resp->collections().rbegin()->opportunity_id()));
  }
  return grpc::Status::OK;
}

// ---- aging and DSO ----

grpc::Status CreditServiceImpl::GetAging(Ctx* ctx,
                                         const v1::GetAgingRequest* req,
                                         v1::Aging* resp) {
  return ToGrpc(DoGetAging(ctx, req, resp));
}

absl::Status CreditServiceImpl::DoGetAging(Ctx* ctx,
                                           const v1::GetAgingRequest* req,
                                           v1::Aging* resp) {
  ASSIGN_OR_RETURN(Principal who, auth_->Authorize(*ctx, kReaders));
  ASSIGN_OR_RETURN(absl::CivilDay as_of,
                   DateOr(req->as_of(), "as_of", Today()));
  ASSIGN_OR_RETURN(std::vector<std::string> accounts,
                   ScopeAccounts(who, req->account_id(), req->org_node_id()));
  *resp->mutable_as_of() = ToProto(as_of);
  v1::AgingBuckets* total = resp->mutable_total();
  for (const std::string& account : accounts) {
    ASSIGN_OR_RETURN(std::vector<v1::Receivable> rs,
                     db_.AccountReceivables(account));
    v1::AgingBuckets buckets;
    for (const v1::Receivable& r : rs) {
      // A sum past int64 fails this query, naming what it sums.
      if (absl::Status s = AddToAging(r, as_of, options_.currency, &buckets);
          !s.ok()) {
        return Figure(s, absl::StrCat("aging of account ", account));
      }
      if (absl::Status s = AddToAging(r, as_of, options_.currency, total);
          !s.ok()) {
        return Figure(s, "aging total of the accounts asked for");
      }
    }
    if (buckets.total().units_minor() != 0) {
      v1::AccountAging* a = resp->add_accounts();
      a->set_account_id(account);
      *a->mutable_buckets() = std::move(buckets);
    }
  }
  if (!total->has_total()) {
    // No receivable at all: every bucket is a zero of the instance currency.
    for (v1::Money* m :
         {total->mutable_not_due(), total->mutable_days_1_30(),
          total->mutable_days_31_60(), total->mutable_days_61_90(),
          total->mutable_days_91_180(), total->mutable_over_180(),
          total->mutable_total()}) {
      *m = M(0);
    }
  }
  return absl::OkStatus();
}

grpc::Status CreditServiceImpl::GetDso(Ctx* ctx, const v1::GetDsoRequest* req,
                                       v1::Dso* resp) {
  return ToGrpc(DoGetDso(ctx, req, resp));
}

absl::Status CreditServiceImpl::DoGetDso(Ctx* ctx, const v1::GetDsoRequest* req,
                                         v1::Dso* resp) {
  ASSIGN_OR_RETURN(Principal who, auth_->Authorize(*ctx, kReaders));
  Violations v;
  absl::StatusOr<absl::CivilDay> from = FromProto(req->from(), "from");
  absl::StatusOr<absl::CivilDay> to = FromProto(req->to(), "to");
  v.Add(from.status());
  v.Add(to.status());
  RETURN_IF_ERROR(v.status());
  ASSIGN_OR_RETURN(std::vector<std::string> accounts,
                   ScopeAccounts(who, req->account_id(), req->org_node_id()));
  std::vector<v1::Receivable> all;
  for (const std::string& account : accounts) {
    ASSIGN_OR_RETURN(std::vector<v1::Receivable> rs,
                     db_.AccountReceivables(account));
    all.insert(all.end(), std::make_move_iterator(rs.begin()),
               std::make_move_iterator(rs.end()));
  }
  absl::StatusOr<v1::Dso> dso = ComputeDso(all, *from, *to, options_.currency);
  if (!dso.ok()) {
    return Figure(dso.status(), "DSO of the accounts asked for");
  }
  *resp = std::move(*dso);
  return absl::OkStatus();
}

// ---- collections ----

absl::Status CreditServiceImpl::NewTask(WriteTxn& txn, v1::CollectionTask* task,
                                        absl::Time now) const {
  task->set_id(NewId("tsk", now));
  task->set_created_micros(Micros(now));
  RETURN_IF_ERROR(db_.tasks.Insert(txn, task->id(), task));
  db_.tasks_by_account.Put(txn, task->account_id(), task->id());
  return absl::OkStatus();
}

grpc::Status CreditServiceImpl::RecordPromise(
    Ctx* ctx, const v1::RecordPromiseRequest* req, v1::Promise* resp) {
  return ToGrpc(DoRecordPromise(ctx, req, resp));
}

absl::Status CreditServiceImpl::DoRecordPromise(
    Ctx* ctx, const v1::RecordPromiseRequest* req, v1::Promise* resp) {
  ASSIGN_OR_RETURN(Principal who, auth_->Authorize(*ctx, kWriters));
  const absl::CivilDay today = Today();
  Violations v;
  if (req->receivable_ids_size() == 0) {
    v.Add("receivable_ids: at least one is required");
  }
  std::set<std::string> ids;
  for (int i = 0; i < req->receivable_ids_size(); ++i) {
    if (!ids.insert(req->receivable_ids(i)).second) {
      v.Add(absl::StrCat("receivable_ids[", i, "]: duplicate"));
    }
  }
  v.Add(money::Validate(req->amount(), options_.currency, "amount",
                        Sign::kPositive));
  absl::StatusOr<absl::CivilDay> made =
      DateOr(req->made_date(), "made_date", today);
  v.Add(made.status());
  if (made.ok() && *made > today) {
    v.Add(absl::StrCat("made_date: must not be after today (",
                       absl::FormatCivilTime(today), ")"));
  }
  absl::StatusOr<absl::CivilDay> promised =
      FromProto(req->promised_date(), "promised_date");
  v.Add(promised.status());
  if (promised.ok() && made.ok() && *promised < *made) {
    v.Add(absl::StrCat("promised_date: must not be before ",
                       *made == today ? "today" : "made_date", " (",
                       absl::FormatCivilTime(*made), ")"));
  }
  if (req->tolerance_days() < 0 || req->tolerance_days() > 30) {
    v.Add(absl::StrCat("tolerance_days: must be 0..30, got ",
                       req->tolerance_days()));
  }
  if (!v1::ExcuseCode_IsValid(req->excuse_code())) {
    v.Add("excuse_code: not an ExcuseCode");
  }
  RETURN_IF_ERROR(v.status());
  return db_.store
      ->Write(
          ActorFor(who, "RecordPromise"),
          [&](WriteTxn& txn) -> absl::Status {
            return CreateOnce(
                txn, "RecordPromise", req->request_id(), *req, resp,
                [&]() -> absl::Status {
                  std::string account_id;
                  money::Accumulator owing;
                  for (int i = 0; i < req->receivable_ids_size(); ++i) {
                    const std::string field =
                        absl::StrCat("receivable_ids[", i, "]");
                    ASSIGN_OR_RETURN(
                        std::optional<v1::Receivable> r,
                        db_.receivables.Find(txn, req->receivable_ids(i)));
                    if (!r) {
                      return absl::InvalidArgumentError(absl::StrCat(
                          field, ": receivable ", req->receivable_ids(i),
                          " does not exist"));
                    }
                    if (!account_id.empty() && r->account_id() != account_id) {
                      return absl::InvalidArgumentError(absl::StrCat(
                          field, ": all receivables must be of one account"));
                    }
                    account_id = r->account_id();
                    if (!Outstanding(*r)) {
                      return absl::FailedPreconditionError(
                          absl::StrCat(field, ": receivable ", r->id(), " is ",
                                       v1::ReceivableState_Name(r->state()),
                                       " and owes nothing"));
                    }
                    owing.Add(r->open().units_minor());
                  }
                  ASSIGN_OR_RETURN(const int64_t owed, owing.Total());
                  if (req->amount().units_minor() > owed) {
                    return absl::FailedPreconditionError(absl::StrCat(
                        "amount: ",
                        money::Format(req->amount().units_minor(), exponent_),
                        " is more than the ", money::Format(owed, exponent_),
                        " still owed on the named receivables"));
                  }
                  v1::Promise p;
                  p.set_id(NewId("prm", txn.now()));
                  p.set_account_id(account_id);
                  for (const std::string& id : req->receivable_ids()) {
                    p.add_receivable_ids(id);
                  }
                  *p.mutable_amount() = M(req->amount().units_minor());
                  *p.mutable_promised_date() = ToProto(*promised);
                  p.set_tolerance_days(req->tolerance_days());
                  p.set_contact_id(req->contact_id());
                  p.set_excuse_code(req->excuse_code());
                  p.set_state(v1::PROMISE_STATE_PENDING);
                  *p.mutable_made_date() = ToProto(*made);
                  p.set_recorded_by(who.name);
                  p.set_created_micros(Micros(txn.now()));
                  RETURN_IF_ERROR(db_.promises.Insert(txn, p.id(), &p));
                  db_.promises_by_account.Put(txn, account_id, p.id());
                  db_.pending_promises.Put(txn, "", p.id());
                  *resp = std::move(p);
                  return absl::OkStatus();
                });
          })
      .status();
}

grpc::Status CreditServiceImpl::ListPromises(Ctx* ctx,
                                             const v1::ListPromisesRequest* req,
                                             v1::ListPromisesResponse* resp) {
  // Who asks comes before what is asked: a caller without a valid token
  // learns nothing about the request's validity.
  if (absl::StatusOr<Principal> who = auth_->Authenticate(*ctx); !who.ok()) {
    return ToGrpc(who.status());
  }
  if (!v1::PromiseState_IsValid(req->state())) {
    return ToGrpc(absl::InvalidArgumentError("state: not a PromiseState"));
  }
  return ToGrpc(ListByAccount<v1::Promise>(
      ctx, req->account_id(), req->page(), db_.promises_by_account,
      db_.promises,
      [&](const v1::Promise& p) {
        return req->state() == v1::PROMISE_STATE_UNSPECIFIED ||
               p.state() == req->state();
      },
      resp->mutable_promises(), resp->mutable_page()));
}

grpc::Status CreditServiceImpl::RecordCollectionContact(
    Ctx* ctx, const v1::RecordCollectionContactRequest* req,
    v1::CollectionContact* resp) {
  return ToGrpc(DoRecordCollectionContact(ctx, req, resp));
}

absl::Status CreditServiceImpl::DoRecordCollectionContact(
    Ctx* ctx, const v1::RecordCollectionContactRequest* req,
    v1::CollectionContact* resp) {
  ASSIGN_OR_RETURN(Principal who, auth_->Authorize(*ctx, kWriters));
  const absl::CivilDay today = Today();
  Violations v;
  if (req->account_id().empty()) {
    v.Add("account_id: required");
  }
  const ExcuseRule* rule = RuleFor(req->excuse_code());
  if (rule == nullptr) {
    v.Add("excuse_code: required (an ExcuseCode)");
  }
  if (req->notes().size() > kMaxTextLength) {
    v.Add("notes: at most 2000 characters");
  }
  if (rule != nullptr && !rule->opens_dispute &&
      req->receivable_ids_size() > 0) {
    v.Add("receivable_ids: only for QUALITY_ISSUE (it disputes them)");
  }
  RETURN_IF_ERROR(v.status());
  RETURN_IF_ERROR(RequireAccount(req->account_id(), "account_id"));
  return db_.store
      ->Write(
          ActorFor(who, "RecordCollectionContact"),
          [&](WriteTxn& txn) -> absl::Status {
            return CreateOnce(
                txn, "RecordCollectionContact", req->request_id(), *req, resp,
                [&]() -> absl::Status {
                  v1::CollectionContact c;
                  c.set_id(NewId("col", txn.now()));
                  c.set_account_id(req->account_id());
                  c.set_excuse_code(req->excuse_code());
                  c.set_notes(req->notes());
                  c.set_contact_id(req->contact_id());
                  c.set_recommended_response(
                      std::string(rule->recommended_response));
                  c.set_recorded_by(who.name);
                  c.set_created_micros(Micros(txn.now()));
                  if (rule->opens_dispute) {
                    ASSIGN_OR_RETURN(
                        std::vector<v1::Receivable> rs,
                        db_.AccountReceivables(txn, req->account_id()));
                    std::set<std::string> named;
                    for (int i = 0; i < req->receivable_ids_size(); ++i) {
                      const std::string& id = req->receivable_ids(i);
                      auto r = std::find_if(
                          rs.begin(), rs.end(),
                          [&](const auto& x) { return x.id() == id; });
                      if (r == rs.end() || !named.insert(id).second) {
                        return absl::InvalidArgumentError(absl::StrCat(
                            "receivable_ids[", i, "]: ", id,
                            r == rs.end() ? " is not a receivable of account "
                                          : " is named twice for account ",
                            req->account_id()));
                      }
                      if (!Collectible(*r)) {
                        return absl::FailedPreconditionError(absl::StrCat(
                            "receivable_ids[", i, "]: ", id, " is ",
                            v1::ReceivableState_Name(r->state()),
                            ", not open: it cannot be disputed"));
                      }
                    }
                    for (v1::Receivable& r : rs) {
                      if (!Collectible(r) ||
                          (!named.empty() && !named.count(r.id()))) {
                        continue;
                      }
                      r.set_dispute_reason(absl::StrCat(
                          "quality issue: ",
                          req->notes().empty() ? "(no notes)" : req->notes()));
                      Settle(&r, options_.currency);
                      RETURN_IF_ERROR(db_.SaveReceivable(txn, &r));
                      c.add_disputed_receivable_ids(r.id());
                    }
                  }
                  v1::CollectionTask t;
                  t.set_account_id(c.account_id());
                  t.set_kind(v1::COLLECTION_TASK_KIND_FOLLOW_UP);
                  *t.mutable_due_date() = ToProto(
                      AddBusinessDays(today, rule->follow_up_business_days));
                  t.set_text(std::string(rule->follow_up));
                  t.set_contact_record_id(c.id());
                  t.set_excuse_code(c.excuse_code());
                  RETURN_IF_ERROR(NewTask(txn, &t, txn.now()));
                  c.set_follow_up_task_id(t.id());
                  RETURN_IF_ERROR(db_.contacts.Insert(txn, c.id(), &c));
                  db_.contacts_by_account.Put(txn, c.account_id(), c.id());
                  *resp = std::move(c);
                  return absl::OkStatus();
                });
          })
      .status();
}

grpc::Status CreditServiceImpl::ListCollectionTasks(
    Ctx* ctx, const v1::ListCollectionTasksRequest* req,
    v1::ListCollectionTasksResponse* resp) {
  return ToGrpc(DoListCollectionTasks(ctx, req, resp));
}

absl::Status CreditServiceImpl::DoListCollectionTasks(
    Ctx* ctx, const v1::ListCollectionTasksRequest* req,
    v1::ListCollectionTasksResponse* resp) {
  ASSIGN_OR_RETURN(Principal who, auth_->Authorize(*ctx, kReaders));
  ASSIGN_OR_RETURN(std::vector<std::string> accounts,
                   ScopeAccounts(who, req->account_id(), req->org_node_id()));
  ASSIGN_OR_RETURN(Page page, ReadPage(req->page()));
  resp->mutable_page()->set_feed_sequence(db_.store->last_sequence());
  // Ordered by (due date, id); the token is the last task's id and due date.
  std::vector<v1::CollectionTask> all;
  for (const std::string& account : accounts) {
    ASSIGN_OR_RETURN(std::vector<std::string> ids,
                     db_.AllIds(db_.tasks_by_account, account));
    for (const std::string& id : ids) {
      ASSIGN_OR_RETURN(v1::CollectionTask t, db_.tasks.Get(id));
      if (req->include_done() || !t.done()) {
        all.push_back(std::move(t));
      }
    }
  }
  auto order = [](const v1::CollectionTask& t) {
    return absl::StrCat(absl::Dec(t.due_date().year(), absl::kZeroPad4),
                        absl::Dec(t.due_date().month(), absl::kZeroPad2),
                        absl::Dec(t.due_date().day(), absl::kZeroPad2), "/",
                        t.id());
  };
  std::sort(all.begin(), all.end(),
            [&](const auto& a, const auto& b) { return order(a) < order(b); });
  for (v1::CollectionTask& t : all) {
    if (!page.after.empty() && order(t) <= page.after) {
      continue;
    }
    if (resp->tasks_size() >= page.size) {
      resp->mutable_page()->set_next_page_token(
          EncodePageToken(order(*resp->tasks().rbegin())));
      break;
    }
    *resp->add_tasks() = std::move(t);
  }
  return absl::OkStatus();
}

grpc::Status CreditServiceImpl::CompleteCollectionTask(
    Ctx* ctx, const v1::CompleteCollectionTaskRequest* req,
    v1::CollectionTask* resp) {
  absl::StatusOr<Principal> who = auth_->Authorize(*ctx, kWriters);
  if (!who.ok()) {
    return ToGrpc(who.status());
  }
  if (req->id().empty()) {
    return ToGrpc(absl::InvalidArgumentError("id: required"));
  }
  return ToGrpc(db_.store
                    ->Write(ActorFor(*who, "CompleteCollectionTask"),
                            [&](WriteTxn& txn) -> absl::Status {
                              ASSIGN_OR_RETURN(v1::CollectionTask t,
                                               db_.tasks.Get(txn, req->id()));
                              if (t.done()) {
                                return absl::FailedPreconditionError(
                                    absl::StrCat("collection task ", t.id(),
                                                 " is already done"));
                              }
                              t.set_done(true);
                              t.set_done_by(who->name);
                              RETURN_IF_ERROR(db_.tasks.Update(
                                  txn, t.id(), req->expected_version(), &t));
                              *resp = std::move(t);
                              return absl::OkStatus();
                            })
                    .status());
}

grpc::Status CreditServiceImpl::GetWorklist(Ctx* ctx,
                                            const v1::GetWorklistRequest* req,
                                            v1::Worklist* resp) {
  return ToGrpc(DoGetWorklist(ctx, req, resp));
}

absl::Status CreditServiceImpl::DoGetWorklist(Ctx* ctx,
                                              const v1::GetWorklistRequest* req,
                                              v1::Worklist* resp) {
  ASSIGN_OR_RETURN(Principal who, auth_->Authorize(*ctx, kReaders));
  ASSIGN_OR_RETURN(absl::CivilDay as_of,
                   DateOr(req->as_of(), "as_of", Today()));
  std::string node = req->org_node_id();
  if (node.empty()) {
    node = who.org_node_id;
  }
  std::vector<std::string> accounts;
  if (node.empty() && IsWriter(who)) {
    // ADMIN and FINANCE without an org node: the root, i.e. every account
    // with a receivable that still owes (credit.proto: "ADMIN: root").
    ASSIGN_OR_RETURN(std::vector<std::string> owing,
                     db_.AllIds(db_.owing_receivables, ""));
    std::set<std::string> seen;
    for (const std::string& id : owing) {
      ASSIGN_OR_RETURN(v1::Receivable r, db_.receivables.Get(id));
      seen.insert(r.account_id());
    }
    accounts.assign(seen.begin(), seen.end());
  } else if (node.empty()) {
    return absl::InvalidArgumentError(
        "org_node_id: required (the caller's token names no org node)");
  } else {
    ASSIGN_OR_RETURN(accounts, ScopeAccounts(who, "", node));
  }
  ASSIGN_OR_RETURN(Page page, ReadPage(req->page()));
  ASSIGN_OR_RETURN(v1::DunningStrategy strategy, db_.Strategy());
  *resp->mutable_as_of() = ToProto(as_of);
  resp->mutable_page()->set_feed_sequence(db_.store->last_sequence());
  std::vector<v1::WorklistItem> items;
  for (const std::string& account : accounts) {
    ASSIGN_OR_RETURN(std::vector<v1::Receivable> rs,
                     db_.AccountReceivables(account));
    ASSIGN_OR_RETURN(std::optional<v1::CreditProfile> profile,
                     db_.profiles.Find(account));
    const v1::RiskClass risk =
        profile ? profile->risk_class() : v1::RISK_CLASS_UNSPECIFIED;
    bool first = true;
    std::vector<v1::Promise> promises;
    std::vector<v1::CollectionTask> tasks;
    for (v1::Receivable& r : rs) {
      const int days = DaysPastDue(r, as_of);
      if (!Collectible(r) || days <= 0) {
        continue;
      }
      if (first) {  // the account's context, read once
        first = false;
        ASSIGN_OR_RETURN(std::vector<std::string> pids,
                         db_.AllIds(db_.promises_by_account, account));
        for (auto it = pids.rbegin(); it != pids.rend() && promises.size() < 5;
             ++it) {
          ASSIGN_OR_RETURN(v1::Promise p, db_.promises.Get(*it));
          promises.push_back(std::move(p));
        }
        ASSIGN_OR_RETURN(std::vector<std::string> tids,
                         db_.AllIds(db_.tasks_by_account, account));
        for (const std::string& id : tids) {
          ASSIGN_OR_RETURN(v1::CollectionTask t, db_.tasks.Get(id));
          if (!t.done()) {
            tasks.push_back(std::move(t));
          }
        }
      }
      v1::WorklistItem item;
      item.set_account_id(account);
      item.set_days_overdue(days);
      item.set_risk_class(risk);
      item.set_priority(WorklistPriority(r.open().units_minor(), days, risk));
      if (std::optional<DueStep> next = NextStep(r, strategy)) {
        item.set_next_dunning_step(next->step);
        *item.mutable_next_dunning_date() = ToProto(next->day);
      }
      for (const v1::Promise& p : promises) {
        *item.add_promises() = p;
      }
      for (const v1::CollectionTask& t : tasks) {
        *item.add_open_tasks() = t;
      }
      *item.mutable_receivable() = std::move(r);
      items.push_back(std::move(item));
    }
  }
  // By the exact rank: a reported priority may be capped (collections.h).
  const auto rank = [](const v1::WorklistItem& i) {
    return WorklistRank(i.receivable().open().units_minor(), i.days_overdue(),
                        i.risk_class());
  };
  std::sort(items.begin(), items.end(), [&](const auto& a, const auto& b) {
    const __int128 ra = rank(a);
    const __int128 rb = rank(b);
    if (ra != rb) {
      return ra > rb;
    }
    return a.receivable().id() < b.receivable().id();
  });
  // The token is the position of the next item in this ordering.
  int64_t start = 0;
  if (!page.after.empty() && !absl::SimpleAtoi(page.after, &start)) {
    return absl::InvalidArgumentError("page_token: not a worklist token");
  }
  for (int64_t i = std::max<int64_t>(start, 0);
       i < static_cast<int64_t>(items.size()); ++i) {
    if (resp->items_size() >= page.size) {
      resp->mutable_page()->set_next_page_token(
          EncodePageToken(absl::StrCat(i)));
      break;
    }
    *resp->add_items() = std::move(items[i]);
  }
  return absl::OkStatus();
}

grpc::Status CreditServiceImpl::GetDebtorClass(
    Ctx* ctx, const v1::GetDebtorClassRequest* req,
    v1::DebtorClassAnswer* resp) {
  return ToGrpc(DoGetDebtorClass(ctx, req, resp));
}

absl::Status CreditServiceImpl::DoGetDebtorClass(
    Ctx* ctx, const v1::GetDebtorClassRequest* req,
    v1::DebtorClassAnswer* resp) {
  ASSIGN_OR_RETURN(Principal who, auth_->Authorize(*ctx, kReaders));
  if (req->account_id().empty()) {
    return absl::InvalidArgumentError("account_id: required");
  }
  RETURN_IF_ERROR(RequireAccountReader(who, req->account_id()));
  ASSIGN_OR_RETURN(absl::CivilDay as_of,
                   DateOr(req->as_of(), "as_of", Today()));
  ASSIGN_OR_RETURN(std::vector<v1::Receivable> rs,
                   db_.AccountReceivables(req->account_id()));
  ASSIGN_OR_RETURN(v1::DunningStrategy strategy, db_.Strategy());
  DebtorClassResult c = ClassifyDebtor(rs, strategy, as_of);
  resp->set_account_id(req->account_id());
  resp->set_debtor_class(c.debtor_class);
  resp->set_reason(c.reason);
  return absl::OkStatus();
}

grpc::Status CreditServiceImpl::SetDunningStrategy(
    Ctx* ctx, const v1::DunningStrategy* req, v1::DunningStrategy* resp) {
  return ToGrpc(DoSetDunningStrategy(ctx, req, resp));
}

absl::Status CreditServiceImpl::DoSetDunningStrategy(
    Ctx* ctx, const v1::DunningStrategy* req, v1::DunningStrategy* resp) {
  ASSIGN_OR_RETURN(Principal who, auth_->Authorize(*ctx, kWriters));
  RETURN_IF_ERROR(ValidateDunningStrategy(*req));
  return db_.store
      ->Write(
          ActorFor(who, "SetDunningStrategy"),
          [&](WriteTxn& txn) -> absl::Status {
            v1::DunningStrategy s = *req;
            s.clear_expected_version();
            s.clear_version();
            ASSIGN_OR_RETURN(std::optional<v1::DunningStrategy> old,
                             db_.strategy.Find(txn, CreditStore::kStrategyId));
            if (old) {
              RETURN_IF_ERROR(db_.strategy.Update(txn, CreditStore::kStrategyId,
                                                  req->expected_version(), &s));
            } else {
              RETURN_IF_ERROR(CheckVersion("dunning strategy",
                                           CreditStore::kStrategyId,
                                           req->expected_version(), 0));
              RETURN_IF_ERROR(
                  db_.strategy.Insert(txn, CreditStore::kStrategyId, &s));
            }
            *resp = std::move(s);
            return absl::OkStatus();
          })
      .status();
}

grpc::Status CreditServiceImpl::GetDunningStrategy(
    Ctx* ctx, const v1::GetDunningStrategyRequest*, v1::DunningStrategy* resp) {
  absl::StatusOr<Principal> who = auth_->Authorize(*ctx, kReaders);
  if (!who.ok()) {
    return ToGrpc(who.status());
  }
  absl::StatusOr<v1::DunningStrategy> s = db_.Strategy();
  if (!s.ok()) {
    return ToGrpc(s.status());
  }
  *resp = std::move(*s);
  return grpc::Status::OK;
}

// ---- the daily collections work ----

absl::Status CreditServiceImpl::RunDailyIn(
    WriteTxn& txn, absl::CivilDay today, absl::Time now,
    v1::RunCollectionsResponse* resp) const {
  *resp->mutable_today() = ToProto(today);
  // Promises whose judging day has come.
  ASSIGN_OR_RETURN(std::vector<std::string> pending,
                   db_.AllIds(txn, db_.pending_promises, ""));
  for (const std::string& id : pending) {
    ASSIGN_OR_RETURN(v1::Promise p, db_.promises.Get(txn, id));
    const absl::CivilDay judge = JudgeDay(p);
    if (judge > today) {
      continue;
    }
    std::vector<v1::Receivable> rs;
    for (const std::string& rid : p.receivable_ids()) {
      ASSIGN_OR_RETURN(v1::Receivable r, db_.receivables.Get(txn, rid));
      rs.push_back(std::move(r));
    }
    const int64_t paid = PaidTowardPromise(p, rs);
    p.set_state(JudgePromise(p.amount().units_minor(), paid));
    // A payment recorded late with a date before the promise may have paid
    // everything in time: nothing is left to chase.
    if (std::all_of(rs.begin(), rs.end(), [&](const v1::Receivable& r) {
          return r.state() == v1::RECEIVABLE_STATE_PAID &&
                 absl::CivilDay(r.paid_date().year(), r.paid_date().month(),
                                r.paid_date().day()) < judge;
        })) {
      p.set_state(v1::PROMISE_STATE_KEPT);
    }
    *p.mutable_paid() = M(paid);
    *p.mutable_judged_date() = ToProto(judge);
    if (p.state() == v1::PROMISE_STATE_BROKEN) {
      v1::CollectionTask t;
      t.set_account_id(p.account_id());
      t.set_kind(v1::COLLECTION_TASK_KIND_ESCALATION);
      // React quickly: the next business day after judging, or today when
      // the run comes late.
      *t.mutable_due_date() = ToProto(std::max(NextBusinessDay(judge), today));
      t.set_text(absl::StrCat(
          "Broken promise to pay ",
          money::Format(p.amount().units_minor(), exponent_), " by ",
          absl::FormatCivilTime(absl::CivilDay(p.promised_date().year(),
                                               p.promised_date().month(),
                                               p.promised_date().day())),
          ": call at once and escalate"));
      t.set_promise_id(p.id());
      RETURN_IF_ERROR(NewTask(txn, &t, now));
      p.set_escalation_task_id(t.id());
    }
    RETURN_IF_ERROR(db_.promises.Update(txn, p.id(), 0, &p));
    db_.pending_promises.Delete(txn, "", p.id());
    resp->set_promises_judged(resp->promises_judged() + 1);
  }
  // Dunning steps whose day has come: only the latest one due is issued (an
  // invoice posted late does not get every earlier reminder at once); the
  // credit hold step always places the hold.
  ASSIGN_OR_RETURN(v1::DunningStrategy strategy, db_.Strategy(txn));
  ASSIGN_OR_RETURN(std::vector<std::string> owing,
                   db_.AllIds(txn, db_.owing_receivables, ""));
  for (const std::string& id : owing) {
    ASSIGN_OR_RETURN(v1::Receivable r, db_.receivables.Get(txn, id));
    std::vector<DueStep> due = DueSteps(r, strategy, today);
    if (due.empty()) {
      continue;
    }
    const DueStep& step = due.back();
    v1::CollectionTask t;
    t.set_account_id(r.account_id());
    t.set_kind(v1::COLLECTION_TASK_KIND_DUNNING);
    *t.mutable_due_date() = ToProto(today);
    t.set_receivable_id(r.id());
    t.set_dunning_step(step.step);
    t.set_text(absl::StrCat(
        "Send the ", v1::DunningStep_Name(step.step), " for ", r.id(), " (",
        money::Format(r.open().units_minor(), exponent_), " open, due ",
        absl::FormatCivilTime(absl::CivilDay(
            r.due_date().year(), r.due_date().month(), r.due_date().day())),
        ")"));
    RETURN_IF_ERROR(NewTask(txn, &t, now));
    resp->set_dunning_tasks(resp->dunning_tasks() + 1);
    r.set_dunning_step(step.step);
    RETURN_IF_ERROR(db_.SaveReceivable(txn, &r));
    if (step.step == v1::DUNNING_STEP_CREDIT_HOLD) {
      ASSIGN_OR_RETURN(std::optional<v1::CreditProfile> profile,
                       db_.profiles.Find(txn, r.account_id()));
      const std::string reason =
          absl::StrCat("dunning: ", r.id(), " reached the credit hold step");
      v1::CreditProfile p;
      if (profile) {
        p = *profile;
      } else {
        p.set_account_id(r.account_id());
        *p.mutable_credit_limit() = M(0);
        p.set_payment_terms_days(options_.default_payment_terms_days);
        p.set_risk_class(v1::RISK_CLASS_HIGH);
      }
      if (!p.hold()) {
        p.set_hold(true);
        p.set_hold_reason(reason);
        p.set_updated_micros(Micros(now));
        if (profile) {
          RETURN_IF_ERROR(db_.profiles.Update(txn, p.account_id(), 0, &p));
        } else {
          RETURN_IF_ERROR(db_.profiles.Insert(txn, p.account_id(), &p));
        }
        resp->set_holds_placed(resp->holds_placed() + 1);
      }
      v1::CollectionTask escalate;
      escalate.set_account_id(r.account_id());
      escalate.set_kind(v1::COLLECTION_TASK_KIND_ESCALATION);
      *escalate.mutable_due_date() = ToProto(NextBusinessDay(today));
      escalate.set_receivable_id(r.id());
      escalate.set_dunning_step(step.step);
      escalate.set_text(
          absl::StrCat(reason, ": escalate to the credit manager"));
      RETURN_IF_ERROR(NewTask(txn, &escalate, now));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::RunCollectionsResponse> CreditServiceImpl::RunDaily(
    Actor actor) {
  const absl::Time now = clock_->Now();
  const absl::CivilDay today = absl::ToCivilDay(now, options_.time_zone);
  v1::RunCollectionsResponse resp;
  RETURN_IF_ERROR(db_.store
                      ->Write(std::move(actor),
                              [&](WriteTxn& txn) {
                                resp.Clear();
                                return RunDailyIn(txn, today, now, &resp);
                              })
                      .status());
  return resp;
}

void CreditServiceImpl::StartDailyRunner(absl::Duration period) {
  runner_ = std::thread([this, period] {
    std::unique_lock<std::mutex> lock(runner_mu_);
    // The work depends only on the day: it runs once per day (and again
    // after a failure), not on every tick.
    std::optional<absl::CivilDay> done;
    while (!runner_stop_) {
      lock.unlock();
      const absl::CivilDay today = Today();
      if (done != today) {
        if (absl::StatusOr<v1::RunCollectionsResponse> r =
                RunDaily(SystemActor("daily-collections"));
            r.ok()) {
          done = today;
        } else {
          log::Error("credit: daily collections run failed",
                     {{"error", r.status().ToString()}});
        }
      }
      lock.lock();
      runner_cv_.wait_for(lock, absl::ToChronoSeconds(period),
                          [this] { return runner_stop_; });
    }
  });
}

grpc::Status CreditServiceImpl::RunCollections(
    Ctx* ctx, const v1::RunCollectionsRequest*,
    v1::RunCollectionsResponse* resp) {
  absl::StatusOr<Principal> who = auth_->Authorize(*ctx, kWriters);
  if (!who.ok()) {
    return ToGrpc(who.status());
  }
  absl::StatusOr<v1::RunCollectionsResponse> r =
      RunDaily(ActorFor(*who, "RunCollections"));
  if (!r.ok()) {
    return ToGrpc(r.status());
  }
  *resp = std::move(*r);
  return grpc::Status::OK;
}

// ---- calculators ----

grpc::Status CreditServiceImpl::CalculateBadDebtRecovery(
    Ctx* ctx, const v1::CalculateBadDebtRecoveryRequest* req,
    v1::BadDebtRecovery* resp) {
  absl::StatusOr<Principal> who = auth_->Authorize(*ctx, kReaders);
  if (!who.ok()) {
    return ToGrpc(who.status());
  }
  if (absl::Status s = money::Validate(req->loss(), options_.currency, "loss",
                                       Sign::kPositive);
      !s.ok()) {
    return ToGrpc(s);
  }
  absl::StatusOr<int64_t> sales = BadDebtRecovery(
      req->loss().units_minor(), req->net_margin_bp(), req->round_to_minor());
  if (!sales.ok()) {
    return ToGrpc(sales.status());
  }
  *resp->mutable_required_sales() = M(*sales);
  return grpc::Status::OK;
}

grpc::Status CreditServiceImpl::CalculateCarryingCost(
    Ctx* ctx, const v1::CalculateCarryingCostRequest* req,
    v1::CarryingCost* resp) {
  absl::StatusOr<Principal> who = auth_->Authorize(*ctx, kReaders);
  if (!who.ok()) {
    return ToGrpc(who.status());
  }
  if (absl::Status s = money::Validate(req->amount(), options_.currency,
                                       "amount", Sign::kPositive);
      !s.ok()) {
    return ToGrpc(s);
  }
  absl::StatusOr<CarryingCostResult> r =
      CarryingCost(req->amount().units_minor(), req->annual_rate_bp(),
                   req->days_late(), req->net_margin_bp());
  if (!r.ok()) {
    return ToGrpc(r.status());
  }
  *resp->mutable_cost() = M(r->cost);
  *resp->mutable_net_profit() = M(r->net_profit);
  resp->set_days_to_consume_profit(r->days_to_consume_profit);
  return grpc::Status::OK;
}

grpc::Status CreditServiceImpl::CalculateRealizedResult(
    Ctx* ctx, const v1::CalculateRealizedResultRequest* req,
    v1::RealizedResult* resp) {
  absl::StatusOr<Principal> who = auth_->Authorize(*ctx, kReaders);
  if (!who.ok()) {
    return ToGrpc(who.status());
  }
  Violations v;
  v.Add(money::Validate(req->sale_amount(), options_.currency, "sale_amount",
                        Sign::kPositive));
  v.Add(money::Validate(req->collected(), options_.currency, "collected",
                        Sign::kNonNegative));
  if (!v.empty()) {
    return ToGrpc(v.status());
  }
  absl::StatusOr<RealizedResultValue> r =
      RealizedResult(req->sale_amount().units_minor(), req->gross_margin_bp(),
                     req->collected().units_minor());
  if (!r.ok()) {
    return ToGrpc(r.status());
  }
  *resp->mutable_cost_of_goods() = M(r->cost_of_goods);
  *resp->mutable_realized() = M(r->realized);
  *resp->mutable_to_break_even() = M(r->to_break_even);
  *resp->mutable_profit_when_collected() = M(r->profit_when_collected);
  return grpc::Status::OK;
}

// ---- following pipeline ----

absl::Status CreditServiceImpl::ApplyPipeline(const v1::Event& event,
                                              WriteTxn& txn) {
  if (event.kind() == kPipelineModelKind) {
    v1::StageModel model;
    if (!event.payload().UnpackTo(&model) || model.id().empty()) {
      return absl::DataLossError(absl::StrCat(
          "pipeline feed event ", event.sequence(), ": not a StageModel"));
    }
    ASSIGN_OR_RETURN(std::optional<v1::StageModel> old,
                     db_.FindModel(txn, model.id()));
    if (!old || old->version() < model.version()) {
      db_.PutModel(txn, model);
    }
    return absl::OkStatus();
  }
  if (event.kind() != kPipelineOpportunityKind) {
    return absl::OkStatus();
  }
  v1::Opportunity o;
  if (!event.payload().UnpackTo(&o) || o.id().empty()) {
    return absl::DataLossError(absl::StrCat(
        "pipeline feed event ", event.sequence(), ": not an Opportunity"));
  }
  db_.PutOpportunityAccount(txn, o.id(), o.account_id());
  const bool sold = o.status() == v1::OPPORTUNITY_STATUS_OPEN ||
                    o.status() == v1::OPPORTUNITY_STATUS_WON;
  if (!sold) {
    // Closed without a sale: nothing is contracted any more.
    return db_.ReleaseCommitment(txn, o.id());
  }
  ASSIGN_OR_RETURN(std::optional<v1::StageModel> model,
                   db_.FindModel(txn, o.stage_model_id()));
  if (!model) {
    // Pipeline emits a model before any opportunity that uses it, so this is
    // a bug or a damaged feed: stop rather than miss a receivable.
    return absl::FailedPreconditionError(
        absl::StrCat("pipeline feed event ", event.sequence(), ": stage model ",
                     o.stage_model_id(), " not seen yet"));
  }
  auto stage = std::find_if(
      model->stages().begin(), model->stages().end(),
      [&](const v1::Stage& s) { return s.key() == o.stage_key(); });
  if (stage == model->stages().end() || !stage->contract_signed()) {
    return absl::OkStatus();
  }
  // Exactly once per opportunity, whatever the feed replays.
  ASSIGN_OR_RETURN(std::optional<std::string> opened,
                   db_.contract_receivable_by_opportunity.Lookup(txn, o.id()));
  if (opened || o.amount().units_minor() <= 0) {
    return absl::OkStatus();
  }
  // An ERP that invoiced the opportunity first has issued the contract's
  // invoice: remember it as this opportunity's receivable, open no second.
  std::vector<std::string> invoiced;
  bool more = false;
  RETURN_IF_ERROR(db_.receivables_by_opportunity.ListIds(txn, o.id(), "", 1,
                                                         &invoiced, &more));
  if (!invoiced.empty()) {
    db_.contract_receivable_by_opportunity.Put(txn, o.id(), invoiced[0]);
    return absl::OkStatus();
  }
  // Issued the day it entered the stage (a resync's synthetic event carries
  // no meaningful time).
  const int64_t entered = o.stage_entered_micros() > 0
                              ? o.stage_entered_micros()
                              : event.time_micros();
  const absl::CivilDay issue =
      absl::ToCivilDay(absl::FromUnixMicros(entered), options_.time_zone);
  v1::Receivable r;
  r.set_id(NewId("rcv", txn.now()));
  r.set_account_id(o.account_id());
  r.set_opportunity_id(o.id());
  *r.mutable_amount() = M(o.amount().units_minor());
  *r.mutable_paid() = M(0);
  *r.mutable_written_off() = M(0);
  *r.mutable_issue_date() = ToProto(issue);
  ASSIGN_OR_RETURN(int terms, PaymentTermsDays(txn, o.account_id()));
  *r.mutable_due_date() = ToProto(issue + terms);
  r.set_source(v1::RECEIVABLE_SOURCE_CONTRACT_SIGNED);
  r.set_created_micros(Micros(txn.now()));
  db_.contract_receivable_by_opportunity.Put(txn, o.id(), r.id());
  return OpenReceivable(txn, &r);
}

}  // namespace salesops::credit
