// CreditService: the role table and the gate, the scope, and the handlers of
// credit profiles and checks, receivables, payments and opportunity
// collections. Collections (promises, contacts, tasks, dunning), the reports
// and the calculators are in collections_service.cc.

#include "services/credit/credit_service.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/money/money.h"
#include "common/status/status.h"
#include "common/store/ids.h"
#include "common/time/fiscal_calendar.h"
#include "salesops/v1/accounts.grpc.pb.h"
#include "services/credit/credit_rules.h"
#include "services/credit/payment_rules.h"
#include "services/credit/receivable_rules.h"
#include "services/credit/receivables.h"

namespace salesops::credit {

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

// Which roles may call each RPC (SPEC §8): finance and admin write, every
// role reads (scoped by ScopePolicy), opportunity collections are for
// finance, admin and pipeline's SERVICE.
std::vector<MethodRoles> CreditRoles() {
  const std::vector<Role> writers = {Role::kAdmin, Role::kFinance};
  const std::vector<Role>& readers = AllRoles();
  return {
      {"SetCreditProfile", writers},
      {"GetCreditProfile", readers},
      {"CheckCredit", readers},
      {"ListCreditChecks", readers},
      {"PostReceivable", writers},
      {"GetReceivable", readers},
      {"ListReceivables", readers},
      {"RecordPayment", writers},
      {"ListPayments", readers},
      {"WriteOff", writers},
      {"SetDispute", writers},
      {"GetOpportunityCollection", readers},
      {"ListOpportunityCollections",
       {Role::kAdmin, Role::kFinance, Role::kService}},
      {"GetAging", readers},
      {"GetDso", readers},
      {"RecordPromise", writers},
      {"ListPromises", readers},
      {"RecordCollectionContact", writers},
      {"ListCollectionTasks", readers},
      {"CompleteCollectionTask", writers},
      {"GetWorklist", readers},
      {"GetDebtorClass", readers},
      {"SetDunningStrategy", writers},
      {"GetDunningStrategy", readers},
      {"RunCollections", writers},
      {"CalculateBadDebtRecovery", readers},
      {"CalculateCarryingCost", readers},
      {"CalculateRealizedResult", readers},
  };
}

CreditServiceImpl::CreditServiceImpl(const CreditLedger* ledger,
                                     const Authenticator* auth, Clock* clock,
                                     OrgMirror* org, AccountLookup lookup,
                                     DailyJob* job)
    : ledger_(ledger),
      gate_(auth, v1::CreditService::service_full_name(), CreditRoles()),
      scope_([org](const std::string& node, const std::string& ancestor) {
        return org->IsWithin(node, ancestor);
      }),
      clock_(clock),
      org_(org),
      lookup_(std::move(lookup)),
      job_(job),
      exponent_(money::CurrencyExponent(ledger->options.currency)) {}

absl::CivilDay CreditServiceImpl::Today() const {
  return absl::ToCivilDay(clock_->Now(), options().time_zone);
}

v1::Money CreditServiceImpl::M(int64_t units) const {
  return money::Make(units, options().currency);
}

// ---- scope ----

bool CreditServiceImpl::CanReadAccount(const Principal& who,
                                       const std::string& account_id) const {
  return scope_.CanRead(who, org_->AccountOwner(account_id).value_or(""));
}

absl::Status CreditServiceImpl::RequireAccountReader(
    const Principal& who, const std::string& account_id) const {
  return scope_.RequireReader(who, org_->AccountOwner(account_id).value_or(""),
                              absl::StrCat("account ", account_id));
}

absl::Status CreditServiceImpl::RequireNodeReader(
    const Principal& who, const std::string& node_id,
    std::string_view field) const {
  if (!org_->Find(node_id)) {
    return absl::NotFoundError(
        absl::StrCat(std::string(field), ": org node ", node_id, " not found"));
  }
  return scope_.RequireReader(who, node_id, "the credit data");
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

template <typename Msg, typename Req, typename Resp>
absl::Status CreditServiceImpl::ListByAccount(
    const Principal& who, const Req& req, const MultiIndex& index,
    const Table<Msg>& table, const std::function<bool(const Msg&)>& keep,
    google::protobuf::RepeatedPtrField<Msg>* out, Resp* resp) const {
  const std::string& account_id = req.account_id();
  if (account_id.empty()) {
    return absl::InvalidArgumentError("account_id: required");
  }
  RETURN_IF_ERROR(RequireAccountReader(who, account_id));
  ASSIGN_OR_RETURN(Page page, ReadListPage(req));
  SetFeedSequence(resp, db().store->last_sequence());
  std::string next;
  RETURN_IF_ERROR(FillPageFromIndex<Msg>(*db().store, index, account_id, table,
                                         page, keep, out, &next));
  SetNextPageToken(resp, next);
  return absl::OkStatus();
}

// ---- profiles and checks ----

grpc::Status CreditServiceImpl::SetCreditProfile(
    Ctx* ctx, const v1::SetCreditProfileRequest* req, v1::CreditProfile* resp) {
  return SALESOPS_SERVE(gate_, ctx, [&](const Principal& who) {
    return DoSetCreditProfile(who, *req, resp);
  });
}

absl::Status CreditServiceImpl::DoSetCreditProfile(
    const Principal& who, const v1::SetCreditProfileRequest& req,
    v1::CreditProfile* resp) {
  RETURN_IF_ERROR(ValidateSetCreditProfile(req, options()));
  const std::string& id = req.profile().account_id();
  RETURN_IF_ERROR(RequireAccount(id, "profile.account_id"));
  return db()
      .store
      ->Write(ActorFor(who, "SetCreditProfile"),
              [&](WriteTxn& txn) -> absl::Status {
                ASSIGN_OR_RETURN(std::optional<v1::CreditProfile> old,
                                 db().profiles.Find(txn, id));
                v1::CreditProfile p =
                    NewProfile(req.profile(), txn.now(), options());
                if (old) {
                  RETURN_IF_ERROR(db().profiles.Update(
                      txn, id, req.expected_version(), &p));
                } else {
                  RETURN_IF_ERROR(CheckVersion("credit profile", id,
                                               req.expected_version(), 0));
                  RETURN_IF_ERROR(db().profiles.Insert(txn, id, &p));
                }
                *resp = p;
                return absl::OkStatus();
              })
      .status();
}

grpc::Status CreditServiceImpl::GetCreditProfile(
    Ctx* ctx, const v1::GetCreditProfileRequest* req, v1::CreditProfile* resp) {
  return SALESOPS_SERVE(gate_, ctx, [&](const Principal& who) {
    return DoGetCreditProfile(who, *req, resp);
  });
}

absl::Status CreditServiceImpl::DoGetCreditProfile(
    const Principal& who, const v1::GetCreditProfileRequest& req,
    v1::CreditProfile* resp) {
  if (req.account_id().empty()) {
    return absl::InvalidArgumentError("account_id: required");
  }
  RETURN_IF_ERROR(RequireAccountReader(who, req.account_id()));
  ASSIGN_OR_RETURN(*resp, db().profiles.Get(req.account_id()));
  return absl::OkStatus();
}

grpc::Status CreditServiceImpl::CheckCredit(Ctx* ctx,
                                            const v1::CheckCreditRequest* req,
                                            v1::CreditCheck* resp) {
  return SALESOPS_SERVE(gate_, ctx, [&](const Principal& who) {
    return DoCheckCredit(who, *req, resp);
  });
}

absl::Status CreditServiceImpl::DoCheckCredit(const Principal& who,
                                              const v1::CheckCreditRequest& req,
                                              v1::CreditCheck* resp) {
  RETURN_IF_ERROR(ValidateCheckCredit(req, who, options()));
  // Scope first: a caller outside it learns nothing about the account.
  RETURN_IF_ERROR(RequireAccountReader(who, req.account_id()));
  RETURN_IF_ERROR(RequireAccount(req.account_id(), "account_id"));
  const absl::CivilDay today = Today();
  return db()
      .store
      ->Write(ActorFor(who, "CheckCredit"),
              [&](WriteTxn& txn) {
                return CheckCreditIn(txn, who, req, today, resp);
              })
      .status();
}

absl::Status CreditServiceImpl::CheckCreditIn(WriteTxn& txn,
                                              const Principal& who,
                                              const v1::CheckCreditRequest& req,
                                              absl::CivilDay today,
                                              v1::CreditCheck* resp) {
  const std::string& account = req.account_id();
  const std::string& opportunity = req.opportunity_id();
  RETURN_IF_ERROR(ledger_->RequireOpportunityOf(txn, opportunity, account,
                                                "opportunity_id"));
  CreditFacts facts;
  facts.overdue_block_days = options().overdue_block_days;
  ASSIGN_OR_RETURN(facts.profile, db().profiles.Find(txn, account));
  ASSIGN_OR_RETURN(std::vector<v1::Money> exposure,
                   ledger_->Exposure(txn, account, opportunity));
  // Into the limit's currency at today's rates (D40).
  const money::RateTable rates = ledger_->rates.Snapshot();
  const bool limited =
      facts.profile && !facts.profile->credit_limit().currency().empty();
  Converter conv(
      &rates,
      limited ? facts.profile->credit_limit().currency() : options().currency,
      today);
  RETURN_IF_ERROR(
      ConvertExposure(exposure, req.amount(), account, conv, &facts));
  ASSIGN_OR_RETURN(std::vector<v1::Receivable> rs,
                   db().AccountReceivables(txn, account));
  RETURN_IF_ERROR(AddOverdue(rs, today, account, &facts));
  ASSIGN_OR_RETURN(v1::DunningStrategy strategy, db().Strategy(txn));
  facts.debtor_class = ClassifyDebtor(rs, strategy, today).debtor_class;
  const CreditVerdict verdict = DecideCredit(facts);
  v1::CreditCheck c =
      NewCheck(req, facts, verdict, who.name, NewId("chk", txn.now()),
               txn.now(), options().currency);
  RETURN_IF_ERROR(db().checks.Insert(txn, c.id(), &c));
  db().checks_by_account.Put(txn, account, c.id());
  if (!opportunity.empty()) {
    RETURN_IF_ERROR(db().ReleaseCommitment(txn, opportunity));
    // Invoiced: any receivable of the opportunity (opened from the pipeline
    // feed or posted by the ERP) ends its commitment.
    ASSIGN_OR_RETURN(std::vector<std::string> invoiced,
                     db().receivables_by_opportunity.AllIds(
                         txn, opportunity, CreditStore::kAllIdsLimit));
    if (verdict.decision != v1::CREDIT_DECISION_BLOCK && invoiced.empty()) {
      db().PutCommitment(
          txn, Commitment{account, opportunity, req.amount().units_minor(),
                          req.amount().currency()});
    }
  }
  *resp = std::move(c);
  return absl::OkStatus();
}

grpc::Status CreditServiceImpl::ListCreditChecks(
    Ctx* ctx, const v1::ListCreditChecksRequest* req,
    v1::ListCreditChecksResponse* resp) {
  return SALESOPS_SERVE(gate_, ctx, [&](const Principal& who) {
    return ListByAccount<v1::CreditCheck>(
        who, *req, db().checks_by_account, db().checks,
        [](const v1::CreditCheck&) { return true; }, resp->mutable_checks(),
        resp);
  });
}

grpc::Status CreditServiceImpl::ListPromises(Ctx* ctx,
                                             const v1::ListPromisesRequest* req,
                                             v1::ListPromisesResponse* resp) {
  // Who asks comes before what is asked: a caller without a valid token
  // learns nothing about the request's validity.
  return SALESOPS_SERVE(gate_, ctx, [&](const Principal& who) {
    return DoListPromises(who, *req, resp);
  });
}

absl::Status CreditServiceImpl::DoListPromises(
    const Principal& who, const v1::ListPromisesRequest& req,
    v1::ListPromisesResponse* resp) {
  if (!v1::PromiseState_IsValid(req.state())) {
    return absl::InvalidArgumentError("state: not a PromiseState");
  }
  return ListByAccount<v1::Promise>(
      who, req, db().promises_by_account, db().promises,
      [&](const v1::Promise& p) {
        return req.state() == v1::PROMISE_STATE_UNSPECIFIED ||
               p.state() == req.state();
      },
      resp->mutable_promises(), resp);
}

// ---- receivables and payments ----

grpc::Status CreditServiceImpl::PostReceivable(
    Ctx* ctx, const v1::PostReceivableRequest* req, v1::Receivable* resp) {
  return SALESOPS_SERVE(gate_, ctx, [&](const Principal& who) {
    return DoPostReceivable(who, *req, resp);
  });
}

absl::Status CreditServiceImpl::DoPostReceivable(
    const Principal& who, const v1::PostReceivableRequest& req,
    v1::Receivable* resp) {
  ASSIGN_OR_RETURN(PostedInvoice invoice,
                   ValidatePostReceivable(req, options()));
  RETURN_IF_ERROR(
      RequireAccount(req.receivable().account_id(), "receivable.account_id"));
  return db()
      .store
      ->Write(ActorFor(who, "PostReceivable"),
              [&](WriteTxn& txn) {
                return PostReceivableIn(txn, req, invoice, resp);
              })
      .status();
}

absl::Status CreditServiceImpl::PostReceivableIn(
    WriteTxn& txn, const v1::PostReceivableRequest& req,
    const PostedInvoice& invoice, v1::Receivable* resp) {
  const v1::Receivable& in = req.receivable();
  if (!invoice.external_id.empty()) {
    ASSIGN_OR_RETURN(
        std::optional<std::string> known,
        db().receivable_by_external_id.Lookup(txn, invoice.external_id));
    if (known) {
      ASSIGN_OR_RETURN(*resp, db().receivables.Get(txn, *known));
      // A replay: nothing changes.
      return CheckPostReplay(*resp, in, invoice.external_id);
    }
  }
  RETURN_IF_ERROR(ledger_->RequireOpportunityOf(
      txn, in.opportunity_id(), in.account_id(), "receivable.opportunity_id"));
  absl::CivilDay due;
  if (invoice.due) {
    due = *invoice.due;
  } else {
    ASSIGN_OR_RETURN(int terms,
                     ledger_->PaymentTermsDays(txn, in.account_id()));
    due = invoice.issue + terms;
  }
  std::optional<std::string> contract;
  if (!in.opportunity_id().empty()) {
    ASSIGN_OR_RETURN(contract, db().contract_receivable_by_opportunity.Lookup(
                                   txn, in.opportunity_id()));
  }
  if (contract) {
    // The contract's receivable is already open: the ERP's invoice for it is
    // that receivable, never a second debt.
    ASSIGN_OR_RETURN(v1::Receivable open, db().receivables.Get(txn, *contract));
    ASSIGN_OR_RETURN(v1::Receivable r, AdoptContractReceivable(
                                           std::move(open), in, invoice, due));
    RETURN_IF_ERROR(db().SaveReceivable(txn, &r));
    RETURN_IF_ERROR(db().receivable_by_external_id.Claim(
        txn, "external_id", "", invoice.external_id, r.id()));
    *resp = std::move(r);
    return absl::OkStatus();
  }
  v1::Receivable r = NewPostedReceivable(
      in, invoice, due, NewId("rcv", txn.now()), txn.now(), options());
  RETURN_IF_ERROR(ledger_->OpenReceivable(txn, &r));
  *resp = std::move(r);
  return absl::OkStatus();
}

grpc::Status CreditServiceImpl::GetReceivable(
    Ctx* ctx, const v1::GetReceivableRequest* req, v1::Receivable* resp) {
  return SALESOPS_SERVE(gate_, ctx, [&](const Principal& who) {
    return DoGetReceivable(who, *req, resp);
  });
}

absl::Status CreditServiceImpl::DoGetReceivable(
    const Principal& who, const v1::GetReceivableRequest& req,
    v1::Receivable* resp) {
  if (req.id().empty()) {
    return absl::InvalidArgumentError("id: required");
  }
  ASSIGN_OR_RETURN(v1::Receivable r, db().receivables.Get(req.id()));
  RETURN_IF_ERROR(RequireAccountReader(who, r.account_id()));
  *resp = std::move(r);
  return absl::OkStatus();
}

grpc::Status CreditServiceImpl::ListReceivables(
    Ctx* ctx, const v1::ListReceivablesRequest* req,
    v1::ListReceivablesResponse* resp) {
  return SALESOPS_SERVE(gate_, ctx, [&](const Principal& who) {
    return DoListReceivables(who, *req, resp);
  });
}

absl::Status CreditServiceImpl::DoListReceivables(
    const Principal& who, const v1::ListReceivablesRequest& req,
    v1::ListReceivablesResponse* resp) {
  const int set = !req.account_id().empty() + !req.org_node_id().empty() +
                  !req.opportunity_id().empty();
  if (set != 1) {
    return absl::InvalidArgumentError(
        "account_id, org_node_id, opportunity_id: exactly one is required");
  }
  if (!v1::ReceivableState_IsValid(req.state())) {
    return absl::InvalidArgumentError("state: not a ReceivableState");
  }
  ASSIGN_OR_RETURN(Page page, ReadListPage(req));
  SetFeedSequence(resp, db().store->last_sequence());
  auto keep = [&](const v1::Receivable& r) {
    return (req.state() == v1::RECEIVABLE_STATE_UNSPECIFIED ||
            r.state() == req.state()) &&
           CanReadAccount(who, r.account_id());
  };
  std::string next;
  if (!req.org_node_id().empty()) {
    RETURN_IF_ERROR(ListReceivablesOfNode(who, req, page, keep, resp, &next));
  } else {
    const bool by_account = !req.account_id().empty();
    if (by_account) {
      RETURN_IF_ERROR(RequireAccountReader(who, req.account_id()));
    }
    RETURN_IF_ERROR(FillPageFromIndex<v1::Receivable>(
        *db().store,
        by_account ? db().receivables_by_account
                   : db().receivables_by_opportunity,
        by_account ? req.account_id() : req.opportunity_id(), db().receivables,
        page, keep, resp->mutable_receivables(), &next));
  }
  SetNextPageToken(resp, next);
  return absl::OkStatus();
}

absl::Status CreditServiceImpl::ListReceivablesOfNode(
    const Principal& who, const v1::ListReceivablesRequest& req,
    const Page& page, const std::function<bool(const v1::Receivable&)>& keep,
    v1::ListReceivablesResponse* resp, std::string* next) {
  ASSIGN_OR_RETURN(std::vector<std::string> accounts,
                   ScopeAccounts(who, "", req.org_node_id()));
  std::vector<std::string> ids;
  for (const std::string& a : accounts) {
    ASSIGN_OR_RETURN(std::vector<std::string> more,
                     db().receivables_by_account.AllIds(
                         *db().store, a, CreditStore::kAllIdsLimit));
    ids.insert(ids.end(), more.begin(), more.end());
  }
  std::sort(ids.begin(), ids.end());
  for (const std::string& id : ids) {
    if (id <= page.after && !page.after.empty()) {
      continue;
    }
    ASSIGN_OR_RETURN(v1::Receivable r, db().receivables.Get(id));
    if (!keep(r)) {
      continue;
    }
    if (resp->receivables_size() >= page.size) {
      *next = EncodePageToken(resp->receivables().rbegin()->id());
      break;
    }
    *resp->add_receivables() = std::move(r);
  }
  return absl::OkStatus();
}

grpc::Status CreditServiceImpl::RecordPayment(
    Ctx* ctx, const v1::RecordPaymentRequest* req, v1::Payment* resp) {
  return SALESOPS_SERVE(gate_, ctx, [&](const Principal& who) {
    return DoRecordPayment(who, *req, resp);
  });
}

absl::Status CreditServiceImpl::DoRecordPayment(
    const Principal& who, const v1::RecordPaymentRequest& req,
    v1::Payment* resp) {
  ASSIGN_OR_RETURN(absl::CivilDay date,
                   ValidateRecordPayment(req, Today(), options()));
  return db()
      .store
      ->Write(ActorFor(who, "RecordPayment"),
              [&](WriteTxn& txn) {
                return RecordPaymentIn(txn, who, req, date, resp);
              })
      .status();
}

absl::Status CreditServiceImpl::RecordPaymentIn(
    WriteTxn& txn, const Principal& who, const v1::RecordPaymentRequest& req,
    absl::CivilDay date, v1::Payment* resp) {
  if (!req.external_id().empty()) {
    ASSIGN_OR_RETURN(
        std::optional<std::string> known,
        db().payment_by_external_id.Lookup(txn, req.external_id()));
    if (known) {
      ASSIGN_OR_RETURN(*resp, db().payments.Get(txn, *known));
      return CheckPaymentReplay(*resp, req);  // a replay: nothing changes
    }
  }
  ASSIGN_OR_RETURN(std::vector<v1::Receivable> rs,
                   db().AccountReceivables(txn, req.account_id()));
  ASSIGN_OR_RETURN(
      RecordedPayment paid,
      RecordPaymentOn(std::move(rs), req, date, who.name,
                      NewId("pay", txn.now()), txn.now(), options()));
  for (v1::Receivable& r : paid.changed) {
    RETURN_IF_ERROR(db().SaveReceivable(txn, &r));
  }
  v1::Payment& p = paid.payment;
  RETURN_IF_ERROR(db().payments.Insert(txn, p.id(), &p));
  db().payments_by_account.Put(txn, p.account_id(), p.id());
  RETURN_IF_ERROR(db().payment_by_external_id.Claim(txn, "external_id", "",
                                                    p.external_id(), p.id()));
  for (const std::string& opp : paid.opportunities) {
    RETURN_IF_ERROR(ledger_->RefreshCollection(txn, opp));
  }
  *resp = std::move(p);
  return absl::OkStatus();
}

grpc::Status CreditServiceImpl::ListPayments(Ctx* ctx,
                                             const v1::ListPaymentsRequest* req,
                                             v1::ListPaymentsResponse* resp) {
  return SALESOPS_SERVE(gate_, ctx, [&](const Principal& who) {
    return ListByAccount<v1::Payment>(
        who, *req, db().payments_by_account, db().payments,
        [](const v1::Payment&) { return true; }, resp->mutable_payments(),
        resp);
  });
}

grpc::Status CreditServiceImpl::WriteOff(Ctx* ctx,
                                         const v1::WriteOffRequest* req,
                                         v1::Receivable* resp) {
  return SALESOPS_SERVE(gate_, ctx, [&](const Principal& who) {
    return DoWriteOff(who, *req, resp);
  });
}

absl::Status CreditServiceImpl::DoWriteOff(const Principal& who,
                                           const v1::WriteOffRequest& req,
                                           v1::Receivable* resp) {
  ASSIGN_OR_RETURN(absl::CivilDay date, ValidateWriteOff(req, Today()));
  return db()
      .store
      ->Write(ActorFor(who, "WriteOff"),
              [&](WriteTxn& txn) -> absl::Status {
                ASSIGN_OR_RETURN(
                    v1::Receivable stored,
                    db().receivables.Get(txn, req.receivable_id()));
                RETURN_IF_ERROR(CheckVersion("receivable", stored.id(),
                                             req.expected_version(),
                                             stored.version()));
                ASSIGN_OR_RETURN(v1::Receivable r,
                                 WriteOffReceivable(std::move(stored), req,
                                                    date, options().currency));
                RETURN_IF_ERROR(db().SaveReceivable(txn, &r));
                RETURN_IF_ERROR(
                    ledger_->RefreshCollection(txn, r.opportunity_id()));
                *resp = std::move(r);
                return absl::OkStatus();
              })
      .status();
}

grpc::Status CreditServiceImpl::SetDispute(Ctx* ctx,
                                           const v1::SetDisputeRequest* req,
                                           v1::Receivable* resp) {
  return SALESOPS_SERVE(gate_, ctx, [&](const Principal& who) {
    return DoSetDispute(who, *req, resp);
  });
}

absl::Status CreditServiceImpl::DoSetDispute(const Principal& who,
                                             const v1::SetDisputeRequest& req,
                                             v1::Receivable* resp) {
  RETURN_IF_ERROR(ValidateSetDispute(req));
  return db()
      .store
      ->Write(ActorFor(who, "SetDispute"),
              [&](WriteTxn& txn) -> absl::Status {
                ASSIGN_OR_RETURN(
                    v1::Receivable stored,
                    db().receivables.Get(txn, req.receivable_id()));
                RETURN_IF_ERROR(CheckVersion("receivable", stored.id(),
                                             req.expected_version(),
                                             stored.version()));
                ASSIGN_OR_RETURN(v1::Receivable r,
                                 SetReceivableDispute(std::move(stored), req,
                                                      options().currency));
                RETURN_IF_ERROR(db().SaveReceivable(txn, &r));
                *resp = std::move(r);
                return absl::OkStatus();
              })
      .status();
}

grpc::Status CreditServiceImpl::GetOpportunityCollection(
    Ctx* ctx, const v1::GetOpportunityCollectionRequest* req,
    v1::OpportunityCollection* resp) {
  return SALESOPS_SERVE(gate_, ctx, [&](const Principal& who) {
    return DoGetOpportunityCollection(who, *req, resp);
  });
}

absl::Status CreditServiceImpl::DoGetOpportunityCollection(
    const Principal& who, const v1::GetOpportunityCollectionRequest& req,
    v1::OpportunityCollection* resp) {
  if (req.opportunity_id().empty()) {
    return absl::InvalidArgumentError("opportunity_id: required");
  }
  ASSIGN_OR_RETURN(v1::OpportunityCollection c,
                   db().collections.Get(req.opportunity_id()));
  RETURN_IF_ERROR(RequireAccountReader(who, c.account_id()));
  *resp = std::move(c);
  return absl::OkStatus();
}

grpc::Status CreditServiceImpl::ListOpportunityCollections(
    Ctx* ctx, const v1::ListOpportunityCollectionsRequest* req,
    v1::ListOpportunityCollectionsResponse* resp) {
  return SALESOPS_SERVE(gate_, ctx, [&](const Principal&) {
    return DoListOpportunityCollections(*req, resp);
  });
}

absl::Status CreditServiceImpl::DoListOpportunityCollections(
    const v1::ListOpportunityCollectionsRequest& req,
    v1::ListOpportunityCollectionsResponse* resp) {
  ASSIGN_OR_RETURN(Page page, ReadListPage(req));
  SetFeedSequence(resp, db().store->last_sequence());
  std::vector<v1::OpportunityCollection> chunk;
  bool more = false;
  RETURN_IF_ERROR(db().collections.List(page.after, page.size, &chunk, &more));
  for (v1::OpportunityCollection& c : chunk) {
    *resp->add_collections() = std::move(c);
  }
  if (more && resp->collections_size() > 0) {
    SetNextPageToken(
        resp, EncodePageToken(resp->collections().rbegin()->opportunity_id()));
  }
  return absl::OkStatus();
}

}  // namespace salesops::credit
