// CreditService handlers of collections (SPEC.md §5.3): promises, contacts,
// tasks, the worklist, debtor classes, the dunning strategy and run; the
// receivable reports (aging, DSO) and the cost-of-credit calculators. The
// rest is in credit_service.cc.

#include <algorithm>
#include <optional>
#include <set>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/money/money.h"
#include "common/status/status.h"
#include "common/status/violations.h"
#include "common/store/ids.h"
#include "common/time/fiscal_calendar.h"
#include "services/credit/calculators.h"
#include "services/credit/collections.h"
#include "services/credit/credit_service.h"
#include "services/credit/promise_rules.h"
#include "services/credit/receivable_rules.h"
#include "services/credit/receivables.h"

namespace salesops::credit {
namespace {

using money::Sign;

// Tasks are listed by (due date, id); the page token is this key.
std::string TaskOrder(const v1::CollectionTask& t) {
  return absl::StrCat(absl::Dec(t.due_date().year(), absl::kZeroPad4),
                      absl::Dec(t.due_date().month(), absl::kZeroPad2),
                      absl::Dec(t.due_date().day(), absl::kZeroPad2), "/",
                      t.id());
}

}  // namespace

// ---- aging and DSO ----

grpc::Status CreditServiceImpl::GetAging(Ctx* ctx,
                                         const v1::GetAgingRequest* req,
                                         v1::Aging* resp) {
  return SALESOPS_SERVE(gate_, ctx, [&](const Principal& who) {
    return DoGetAging(who, *req, resp);
  });
}

absl::Status CreditServiceImpl::DoGetAging(const Principal& who,
                                           const v1::GetAgingRequest& req,
                                           v1::Aging* resp) {
  ASSIGN_OR_RETURN(absl::CivilDay as_of, DateOr(req.as_of(), "as_of", Today()));
  ASSIGN_OR_RETURN(std::vector<std::string> accounts,
                   ScopeAccounts(who, req.account_id(), req.org_node_id()));
  *resp->mutable_as_of() = ToProto(as_of);
  const std::string& currency = options().currency;
  // In the reporting currency at the rate on as_of (D40).
  const money::RateTable rates = ledger_->rates.Snapshot();
  Converter conv(&rates, currency, as_of);
  v1::AgingBuckets* total = resp->mutable_total();
  for (const std::string& account : accounts) {
    ASSIGN_OR_RETURN(std::vector<v1::Receivable> rs,
                     db().AccountReceivables(account));
    v1::AgingBuckets buckets;
    for (const v1::Receivable& r : rs) {
      const int64_t open = OpenAsOf(r, as_of);
      if (open == 0) {
        continue;
      }
      ASSIGN_OR_RETURN(
          std::optional<int64_t> converted,
          conv.Convert(money::Make(open, CurrencyOf(r, currency))));
      if (!converted.has_value()) {
        continue;  // its rate is missing: listed, not counted
      }
      // A sum past int64 fails this query, naming what it sums.
      if (absl::Status s = AddToAging(r, *converted, as_of, currency, &buckets);
          !s.ok()) {
        return Figure(s, absl::StrCat("aging of account ", account));
      }
      if (absl::Status s = AddToAging(r, *converted, as_of, currency, total);
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
  ASSIGN_OR_RETURN(std::vector<v1::MissingRate> missing, conv.Missing());
  for (v1::MissingRate& m : missing) {
    *resp->add_missing_rates() = std::move(m);
  }
  return absl::OkStatus();
}

grpc::Status CreditServiceImpl::GetDso(Ctx* ctx, const v1::GetDsoRequest* req,
                                       v1::Dso* resp) {
  return SALESOPS_SERVE(gate_, ctx, [&](const Principal& who) {
    return DoGetDso(who, *req, resp);
  });
}

absl::Status CreditServiceImpl::DoGetDso(const Principal& who,
                                         const v1::GetDsoRequest& req,
                                         v1::Dso* resp) {
  Violations v;
  absl::StatusOr<absl::CivilDay> from = FromProto(req.from(), "from");
  absl::StatusOr<absl::CivilDay> to = FromProto(req.to(), "to");
  v.Add(from.status());
  v.Add(to.status());
  RETURN_IF_ERROR(v.status());
  ASSIGN_OR_RETURN(std::vector<std::string> accounts,
                   ScopeAccounts(who, req.account_id(), req.org_node_id()));
  std::vector<v1::Receivable> all;
  for (const std::string& account : accounts) {
    ASSIGN_OR_RETURN(std::vector<v1::Receivable> rs,
                     db().AccountReceivables(account));
    all.insert(all.end(), std::make_move_iterator(rs.begin()),
               std::make_move_iterator(rs.end()));
  }
  // In the reporting currency at the rate on `to` (D40).
  const money::RateTable rates = ledger_->rates.Snapshot();
  Converter conv(&rates, options().currency, *to);
  absl::StatusOr<v1::Dso> dso = ComputeDso(all, *from, *to, conv);
  if (!dso.ok()) {
    return Figure(dso.status(), "DSO of the accounts asked for");
  }
  *resp = std::move(*dso);
  return absl::OkStatus();
}

// ---- promises and contacts ----

grpc::Status CreditServiceImpl::RecordPromise(
    Ctx* ctx, const v1::RecordPromiseRequest* req, v1::Promise* resp) {
  return SALESOPS_SERVE(gate_, ctx, [&](const Principal& who) {
    return DoRecordPromise(who, *req, resp);
  });
}

absl::Status CreditServiceImpl::DoRecordPromise(
    const Principal& who, const v1::RecordPromiseRequest& req,
    v1::Promise* resp) {
  ASSIGN_OR_RETURN(PromiseDates dates,
                   ValidateRecordPromise(req, Today(), options()));
  auto create = [&](WriteTxn& txn) -> absl::Status {
    std::vector<std::optional<v1::Receivable>> found;
    for (const std::string& id : req.receivable_ids()) {
      ASSIGN_OR_RETURN(std::optional<v1::Receivable> r,
                       db().receivables.Find(txn, id));
      found.push_back(std::move(r));
    }
    ASSIGN_OR_RETURN(v1::Promise p,
                     NewPromise(req, found, dates, who.name,
                                NewId("prm", txn.now()), txn.now(), options()));
    RETURN_IF_ERROR(db().promises.Insert(txn, p.id(), &p));
    db().promises_by_account.Put(txn, p.account_id(), p.id());
    db().pending_promises.Put(txn, "", p.id());
    *resp = std::move(p);
    return absl::OkStatus();
  };
  return db()
      .store
      ->Write(ActorFor(who, "RecordPromise"),
              [&](WriteTxn& txn) -> absl::Status {
                return CreateOnce(txn, "RecordPromise", req.request_id(), req,
                                  resp, [&] { return create(txn); });
              })
      .status();
}

grpc::Status CreditServiceImpl::RecordCollectionContact(
    Ctx* ctx, const v1::RecordCollectionContactRequest* req,
    v1::CollectionContact* resp) {
  return SALESOPS_SERVE(gate_, ctx, [&](const Principal& who) {
    return DoRecordCollectionContact(who, *req, resp);
  });
}

absl::Status CreditServiceImpl::DoRecordCollectionContact(
    const Principal& who, const v1::RecordCollectionContactRequest& req,
    v1::CollectionContact* resp) {
  const absl::CivilDay today = Today();
  ASSIGN_OR_RETURN(const ExcuseRule* rule, ValidateContact(req));
  RETURN_IF_ERROR(RequireAccount(req.account_id(), "account_id"));
  auto create = [&](WriteTxn& txn) -> absl::Status {
    std::vector<v1::Receivable> rs;
    if (rule->opens_dispute) {
      ASSIGN_OR_RETURN(rs, db().AccountReceivables(txn, req.account_id()));
    }
    ASSIGN_OR_RETURN(
        RecordedContact out,
        RecordContactOn(req, *rule, std::move(rs), today, who.name,
                        NewId("col", txn.now()), txn.now(), options()));
    for (v1::Receivable& r : out.disputed) {
      RETURN_IF_ERROR(db().SaveReceivable(txn, &r));
    }
    RETURN_IF_ERROR(ledger_->NewTask(txn, &out.follow_up, txn.now()));
    v1::CollectionContact& c = out.contact;
    c.set_follow_up_task_id(out.follow_up.id());
    RETURN_IF_ERROR(db().contacts.Insert(txn, c.id(), &c));
    db().contacts_by_account.Put(txn, c.account_id(), c.id());
    *resp = std::move(c);
    return absl::OkStatus();
  };
  return db()
      .store
      ->Write(ActorFor(who, "RecordCollectionContact"),
              [&](WriteTxn& txn) -> absl::Status {
                return CreateOnce(txn, "RecordCollectionContact",
                                  req.request_id(), req, resp,
                                  [&] { return create(txn); });
              })
      .status();
}

// ---- tasks and the worklist ----

grpc::Status CreditServiceImpl::ListCollectionTasks(
    Ctx* ctx, const v1::ListCollectionTasksRequest* req,
    v1::ListCollectionTasksResponse* resp) {
  return SALESOPS_SERVE(gate_, ctx, [&](const Principal& who) {
    return DoListCollectionTasks(who, *req, resp);
  });
}

absl::Status CreditServiceImpl::DoListCollectionTasks(
    const Principal& who, const v1::ListCollectionTasksRequest& req,
    v1::ListCollectionTasksResponse* resp) {
  ASSIGN_OR_RETURN(std::vector<std::string> accounts,
                   ScopeAccounts(who, req.account_id(), req.org_node_id()));
  ASSIGN_OR_RETURN(Page page, ReadListPage(req));
  SetFeedSequence(resp, db().store->last_sequence());
  // Ordered by (due date, id); the token is the last task's id and due date.
  std::vector<v1::CollectionTask> all;
  for (const std::string& account : accounts) {
    ASSIGN_OR_RETURN(std::vector<std::string> ids,
                     db().tasks_by_account.AllIds(*db().store, account,
                                                  CreditStore::kAllIdsLimit));
    for (const std::string& id : ids) {
      ASSIGN_OR_RETURN(v1::CollectionTask t, db().tasks.Get(id));
      if (req.include_done() || !t.done()) {
        all.push_back(std::move(t));
      }
    }
  }
  std::sort(all.begin(), all.end(), [&](const auto& a, const auto& b) {
    return TaskOrder(a) < TaskOrder(b);
  });
  for (v1::CollectionTask& t : all) {
    if (!page.after.empty() && TaskOrder(t) <= page.after) {
      continue;
    }
    if (resp->tasks_size() >= page.size) {
      SetNextPageToken(resp,
                       EncodePageToken(TaskOrder(*resp->tasks().rbegin())));
      break;
    }
    *resp->add_tasks() = std::move(t);
  }
  return absl::OkStatus();
}

grpc::Status CreditServiceImpl::CompleteCollectionTask(
    Ctx* ctx, const v1::CompleteCollectionTaskRequest* req,
    v1::CollectionTask* resp) {
  return SALESOPS_SERVE(gate_, ctx, [&](const Principal& who) {
    return DoCompleteCollectionTask(who, *req, resp);
  });
}

absl::Status CreditServiceImpl::DoCompleteCollectionTask(
    const Principal& who, const v1::CompleteCollectionTaskRequest& req,
    v1::CollectionTask* resp) {
  if (req.id().empty()) {
    return absl::InvalidArgumentError("id: required");
  }
  return db()
      .store
      ->Write(ActorFor(who, "CompleteCollectionTask"),
              [&](WriteTxn& txn) -> absl::Status {
                ASSIGN_OR_RETURN(v1::CollectionTask t,
                                 db().tasks.Get(txn, req.id()));
                if (t.done()) {
                  return absl::FailedPreconditionError(absl::StrCat(
                      "collection task ", t.id(), " is already done"));
                }
                t.set_done(true);
                t.set_done_by(who.name);
                RETURN_IF_ERROR(
                    db().tasks.Update(txn, t.id(), req.expected_version(), &t));
                *resp = std::move(t);
                return absl::OkStatus();
              })
      .status();
}

grpc::Status CreditServiceImpl::GetWorklist(Ctx* ctx,
                                            const v1::GetWorklistRequest* req,
                                            v1::Worklist* resp) {
  return SALESOPS_SERVE(gate_, ctx, [&](const Principal& who) {
    return DoGetWorklist(who, *req, resp);
  });
}

absl::StatusOr<std::vector<std::string>> CreditServiceImpl::WorklistAccounts(
    const Principal& who, const v1::GetWorklistRequest& req) const {
  const std::string node =
      req.org_node_id().empty() ? who.org_node_id : req.org_node_id();
  if (!node.empty()) {
    return ScopeAccounts(who, "", node);
  }
  if (who.role != Role::kAdmin && who.role != Role::kFinance) {
    return absl::InvalidArgumentError(
        "org_node_id: required (the caller's token names no org node)");
  }
  // ADMIN and FINANCE without an org node: the root, i.e. every account with
  // a receivable that still owes (credit.proto: "ADMIN: root").
  ASSIGN_OR_RETURN(std::vector<std::string> owing,
                   db().owing_receivables.AllIds(*db().store, "",
                                                 CreditStore::kAllIdsLimit));
  std::set<std::string> seen;
  for (const std::string& id : owing) {
    ASSIGN_OR_RETURN(v1::Receivable r, db().receivables.Get(id));
    seen.insert(r.account_id());
  }
  return std::vector<std::string>(seen.begin(), seen.end());
}

absl::Status CreditServiceImpl::DoGetWorklist(const Principal& who,
                                              const v1::GetWorklistRequest& req,
                                              v1::Worklist* resp) {
  ASSIGN_OR_RETURN(absl::CivilDay as_of, DateOr(req.as_of(), "as_of", Today()));
  ASSIGN_OR_RETURN(std::vector<std::string> accounts,
                   WorklistAccounts(who, req));
  ASSIGN_OR_RETURN(Page page, ReadListPage(req));
  ASSIGN_OR_RETURN(v1::DunningStrategy strategy, db().Strategy());
  *resp->mutable_as_of() = ToProto(as_of);
  SetFeedSequence(resp, db().store->last_sequence());
  resp->set_reporting_currency(options().currency);
  // Priorities in the reporting currency at the rate on as_of (D40).
  const money::RateTable rates = ledger_->rates.Snapshot();
  Converter conv(&rates, options().currency, as_of);
  std::map<std::string, int64_t> open_reporting;
  std::vector<v1::WorklistItem> items;
  for (const std::string& account : accounts) {
    RETURN_IF_ERROR(AddWorklistItems(conv, &open_reporting, account, as_of,
                                     strategy, &items));
  }
  SortWorklist(&items, &open_reporting);
  ASSIGN_OR_RETURN(std::vector<v1::MissingRate> missing, conv.Missing());
  for (v1::MissingRate& m : missing) {
    *resp->add_missing_rates() = std::move(m);
  }
  // The token is the position of the next item in this ordering.
  int64_t start = 0;
  if (!page.after.empty() && !absl::SimpleAtoi(page.after, &start)) {
    return absl::InvalidArgumentError("page_token: not a worklist token");
  }
  for (int64_t i = std::max<int64_t>(start, 0);
       i < static_cast<int64_t>(items.size()); ++i) {
    if (resp->items_size() >= page.size) {
      SetNextPageToken(resp, EncodePageToken(absl::StrCat(i)));
      break;
    }
    *resp->add_items() = std::move(items[i]);
  }
  return absl::OkStatus();
}

absl::Status CreditServiceImpl::AddWorklistItems(
    Converter& conv, std::map<std::string, int64_t>* open_reporting,
    const std::string& account, absl::CivilDay as_of,
    const v1::DunningStrategy& strategy,
    std::vector<v1::WorklistItem>* items) const {
  ASSIGN_OR_RETURN(std::vector<v1::Receivable> rs,
                   db().AccountReceivables(account));
  ASSIGN_OR_RETURN(std::optional<v1::CreditProfile> profile,
                   db().profiles.Find(account));
  WorklistContext context;
  context.risk = profile ? profile->risk_class() : v1::RISK_CLASS_UNSPECIFIED;
  bool read = false;
  for (v1::Receivable& r : rs) {
    if (!Collectible(r) || DaysPastDue(r, as_of) <= 0) {
      continue;
    }
    if (!read) {  // the account's context, read once
      read = true;
      RETURN_IF_ERROR(ReadWorklistContext(account, &context));
    }
    ASSIGN_OR_RETURN(std::optional<int64_t> open, conv.Convert(r.open()));
    if (open.has_value()) {
      (*open_reporting)[r.id()] = *open;
    }
    v1::WorklistItem item =
        WorklistItemOf(std::move(r), as_of, strategy, context);
    PriceWorklistItem(open, &item);
    items->push_back(std::move(item));
  }
  return absl::OkStatus();
}

absl::Status CreditServiceImpl::ReadWorklistContext(
    const std::string& account, WorklistContext* context) const {
  ASSIGN_OR_RETURN(std::vector<std::string> pids,
                   db().promises_by_account.AllIds(*db().store, account,
                                                   CreditStore::kAllIdsLimit));
  for (auto it = pids.rbegin();
       it != pids.rend() && context->promises.size() < 5; ++it) {
    ASSIGN_OR_RETURN(v1::Promise p, db().promises.Get(*it));
    context->promises.push_back(std::move(p));
  }
  ASSIGN_OR_RETURN(std::vector<std::string> tids,
                   db().tasks_by_account.AllIds(*db().store, account,
                                                CreditStore::kAllIdsLimit));
  for (const std::string& id : tids) {
    ASSIGN_OR_RETURN(v1::CollectionTask t, db().tasks.Get(id));
    if (!t.done()) {
      context->open_tasks.push_back(std::move(t));
    }
  }
  return absl::OkStatus();
}

grpc::Status CreditServiceImpl::GetDebtorClass(
    Ctx* ctx, const v1::GetDebtorClassRequest* req,
    v1::DebtorClassAnswer* resp) {
  return SALESOPS_SERVE(gate_, ctx, [&](const Principal& who) {
    return DoGetDebtorClass(who, *req, resp);
  });
}

absl::Status CreditServiceImpl::DoGetDebtorClass(
    const Principal& who, const v1::GetDebtorClassRequest& req,
    v1::DebtorClassAnswer* resp) {
  if (req.account_id().empty()) {
    return absl::InvalidArgumentError("account_id: required");
  }
  RETURN_IF_ERROR(RequireAccountReader(who, req.account_id()));
  ASSIGN_OR_RETURN(absl::CivilDay as_of, DateOr(req.as_of(), "as_of", Today()));
  ASSIGN_OR_RETURN(std::vector<v1::Receivable> rs,
                   db().AccountReceivables(req.account_id()));
  ASSIGN_OR_RETURN(v1::DunningStrategy strategy, db().Strategy());
  DebtorClassResult c = ClassifyDebtor(rs, strategy, as_of);
  resp->set_account_id(req.account_id());
  resp->set_debtor_class(c.debtor_class);
  resp->set_reason(c.reason);
  return absl::OkStatus();
}

// ---- dunning ----

grpc::Status CreditServiceImpl::SetDunningStrategy(
    Ctx* ctx, const v1::DunningStrategy* req, v1::DunningStrategy* resp) {
  return SALESOPS_SERVE(gate_, ctx, [&](const Principal& who) {
    return DoSetDunningStrategy(who, *req, resp);
  });
}

absl::Status CreditServiceImpl::DoSetDunningStrategy(
    const Principal& who, const v1::DunningStrategy& req,
    v1::DunningStrategy* resp) {
  RETURN_IF_ERROR(ValidateDunningStrategy(req));
  const std::string id = CreditStore::kStrategyId;
  return db()
      .store
      ->Write(ActorFor(who, "SetDunningStrategy"),
              [&](WriteTxn& txn) -> absl::Status {
                v1::DunningStrategy s = req;
                s.clear_expected_version();
                s.clear_version();
                ASSIGN_OR_RETURN(std::optional<v1::DunningStrategy> old,
                                 db().strategy.Find(txn, id));
                if (old) {
                  RETURN_IF_ERROR(db().strategy.Update(
                      txn, id, req.expected_version(), &s));
                } else {
                  RETURN_IF_ERROR(CheckVersion("dunning strategy", id,
                                               req.expected_version(), 0));
                  RETURN_IF_ERROR(db().strategy.Insert(txn, id, &s));
                }
                *resp = std::move(s);
                return absl::OkStatus();
              })
      .status();
}

grpc::Status CreditServiceImpl::GetDunningStrategy(
    Ctx* ctx, const v1::GetDunningStrategyRequest*, v1::DunningStrategy* resp) {
  return SALESOPS_SERVE(gate_, ctx, [&](const Principal&) -> absl::Status {
    ASSIGN_OR_RETURN(*resp, db().Strategy());
    return absl::OkStatus();
  });
}

grpc::Status CreditServiceImpl::RunCollections(
    Ctx* ctx, const v1::RunCollectionsRequest*,
    v1::RunCollectionsResponse* resp) {
  return SALESOPS_SERVE(gate_, ctx, [&](const Principal& who) -> absl::Status {
    ASSIGN_OR_RETURN(*resp, job_->RunDaily(ActorFor(who, "RunCollections")));
    return absl::OkStatus();
  });
}

// ---- calculators ----

grpc::Status CreditServiceImpl::CalculateBadDebtRecovery(
    Ctx* ctx, const v1::CalculateBadDebtRecoveryRequest* req,
    v1::BadDebtRecovery* resp) {
  return SALESOPS_SERVE(gate_, ctx, [&](const Principal&) -> absl::Status {
    RETURN_IF_ERROR(money::Validate(req->loss(), options().currency, "loss",
                                    Sign::kPositive));
    ASSIGN_OR_RETURN(int64_t sales, BadDebtRecovery(req->loss().units_minor(),
                                                    req->net_margin_bp(),
                                                    req->round_to_minor()));
    *resp->mutable_required_sales() = M(sales);
    return absl::OkStatus();
  });
}

grpc::Status CreditServiceImpl::CalculateCarryingCost(
    Ctx* ctx, const v1::CalculateCarryingCostRequest* req,
    v1::CarryingCost* resp) {
  return SALESOPS_SERVE(gate_, ctx, [&](const Principal&) -> absl::Status {
    RETURN_IF_ERROR(money::Validate(req->amount(), options().currency, "amount",
                                    Sign::kPositive));
    ASSIGN_OR_RETURN(
        CarryingCostResult r,
        CarryingCost(req->amount().units_minor(), req->annual_rate_bp(),
                     req->days_late(), req->net_margin_bp()));
    *resp->mutable_cost() = M(r.cost);
    *resp->mutable_net_profit() = M(r.net_profit);
    resp->set_days_to_consume_profit(r.days_to_consume_profit);
    return absl::OkStatus();
  });
}

grpc::Status CreditServiceImpl::CalculateRealizedResult(
    Ctx* ctx, const v1::CalculateRealizedResultRequest* req,
    v1::RealizedResult* resp) {
  return SALESOPS_SERVE(gate_, ctx, [&](const Principal&) -> absl::Status {
    Violations v;
    v.Add(money::Validate(req->sale_amount(), options().currency, "sale_amount",
                          Sign::kPositive));
    v.Add(money::Validate(req->collected(), options().currency, "collected",
                          Sign::kNonNegative));
    RETURN_IF_ERROR(v.status());
    ASSIGN_OR_RETURN(
        RealizedResultValue r,
        RealizedResult(req->sale_amount().units_minor(), req->gross_margin_bp(),
                       req->collected().units_minor()));
    *resp->mutable_cost_of_goods() = M(r.cost_of_goods);
    *resp->mutable_realized() = M(r.realized);
    *resp->mutable_to_break_even() = M(r.to_break_even);
    *resp->mutable_profit_when_collected() = M(r.profit_when_collected);
    return absl::OkStatus();
  });
}

}  // namespace salesops::credit
