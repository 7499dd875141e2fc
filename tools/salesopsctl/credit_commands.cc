// salesopsctl credit ...: credit profiles and checks, receivables and
// payments, aging and DSO, collections (promises, contacts, tasks, worklist,
// dunning, debtor classes) and the cost-of-credit calculators (SPEC.md §5).

#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/money/money.h"
#include "common/status/status.h"
#include "common/time/fiscal_calendar.h"
#include "tools/salesopsctl/cli.h"
#include "tools/salesopsctl/flags.h"
#include "tools/salesopsctl/output.h"

namespace salesops::ctl {
namespace {

using google::protobuf::Message;

// Pages read from one listing; a longer listing is shown up to there.
constexpr int kMaxListPages = 1000;

absl::StatusOr<v1::Money> RequiredMoney(const Args& args,
                                        const std::string& name,
                                        const Env& env) {
  ASSIGN_OR_RETURN(auto m, MoneyFlag(args, name, env, true));
  return *m;
}

// An optional date flag; absent → `fallback` (nullopt: leave unset).
absl::StatusOr<std::optional<v1::Date>> DateFlag(
    const Args& args, const std::string& name,
    std::optional<absl::CivilDay> fallback) {
  ASSIGN_OR_RETURN(auto d, args.Date(name));
  if (d.has_value()) {
    return std::optional<v1::Date>(ToProto(*d));
  }
  if (fallback.has_value()) {
    return std::optional<v1::Date>(ToProto(*fallback));
  }
  return std::optional<v1::Date>();
}

// A percentage flag ("3", "3%", "2.5") or its basis-point twin
// (--<name>-bp=300) as basis points 0..10000.
absl::StatusOr<int32_t> PercentFlag(const Args& args, const std::string& name,
                                    bool required) {
  const std::string bp_name = name + "-bp";
  if (args.Has(bp_name)) {
    ASSIGN_OR_RETURN(auto bp,
                     IntFlag(args, bp_name, 0, 0, money::kBasisPointsPerUnit));
    return bp;
  }
  if (!args.Has(name)) {
    if (required) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--", name, ": required (a percentage, e.g. 3 or 2.5%)"));
    }
    return 0;
  }
  std::string text = args.Get(name);
  if (!text.empty() && text.back() == '%') {
    text.pop_back();
  }
  absl::StatusOr<int64_t> bp = money::Parse(text, 2);
  if (!bp.ok() || *bp < 0 || *bp > money::kBasisPointsPerUnit) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", name,
                     ": must be a percentage 0..100 with at most "
                     "two decimals, got ",
                     args.Get(name)));
  }
  return static_cast<int32_t>(*bp);
}

// One of the flags `names` must be given (and only one).
absl::StatusOr<std::string> OneOf(const Args& args,
                                  const std::vector<std::string>& names) {
  std::string found;
  for (const std::string& n : names) {
    if (!args.Get(n).empty()) {
      if (!found.empty()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "--", n, ": give only one of --", absl::StrJoin(names, ", --")));
      }
      found = n;
    }
  }
  if (found.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", names.front(), ": required (or one of --",
                     absl::StrJoin(names, ", --"), ")"));
  }
  return found;
}

// Every page of a listing (at most kMaxListPages).
absl::Status EachPage(const PageFetch& fetch) {
  return AllPages(fetch, kMaxListPages, absl::OkStatus());
}

// ---- Columns ----

const std::vector<std::string>& ProfileColumns() {
  static const std::vector<std::string> k = {
      "account_id",  "credit_limit", "payment_terms_days", "risk_class", "hold",
      "hold_reason", "version"};
  return k;
}

const std::vector<std::string>& CheckColumns() {
  static const std::vector<std::string> k = {
      "id",       "account_id",   "opportunity_id", "amount",    "decision",
      "exposure", "credit_limit", "reasons",        "checked_by"};
  return k;
}

const std::vector<std::string>& ReceivableColumns() {
  static const std::vector<std::string> k = {
      "id",    "account_id",   "opportunity_id", "amount",
      "paid",  "open",         "issue_date",     "due_date",
      "state", "dunning_step", "external_id"};
  return k;
}

const std::vector<std::string>& PromiseColumns() {
  static const std::vector<std::string> k = {
      "id",          "account_id",    "receivable_ids",
      "amount",      "promised_date", "tolerance_days",
      "excuse_code", "state",         "paid",
      "judged_date"};
  return k;
}

const std::vector<std::string>& TaskColumns() {
  static const std::vector<std::string> k = {
      "id",   "account_id",    "kind",         "due_date",
      "text", "receivable_id", "dunning_step", "excuse_code",
      "done", "version"};
  return k;
}

// ---- Profiles and checks ----

absl::Status RunProfileSet(const Args& args, Env& env) {
  ASSIGN_OR_RETURN(auto account, args.Required("account"));
  v1::CreditProfile current;
  {
    v1::GetCreditProfileRequest req;
    req.set_account_id(account);
    grpc::Status s = env.conn->credit().GetCreditProfile(
        env.conn->Context().get(), req, &current);
    if (!s.ok() && s.error_code() != grpc::StatusCode::NOT_FOUND) {
      return Check(s);
    }
    if (!s.ok()) {
      current.Clear();
    }
  }
  const bool exists = current.version() > 0;
  v1::SetCreditProfileRequest req;
  v1::CreditProfile* p = req.mutable_profile();
  *p = current;
  p->set_account_id(account);
  p->clear_updated_micros();
  p->clear_version();
  ASSIGN_OR_RETURN(auto limit, MoneyFlag(args, "limit", env, !exists));
  if (limit.has_value()) {
    *p->mutable_credit_limit() = *limit;
  }
  if (args.Has("terms") || !exists) {
    if (!args.Has("terms")) {
      return absl::InvalidArgumentError(
          "--terms: required for a new profile (payment terms in days)");
    }
    ASSIGN_OR_RETURN(auto terms, IntFlag(args, "terms", 0, 0, 365));
    p->set_payment_terms_days(terms);
  }
  ASSIGN_OR_RETURN(auto risk, EnumFlag<v1::RiskClass>(args, "risk"));
  if (!risk.has_value() && !exists) {
    return absl::InvalidArgumentError("--risk: required");
  }
  if (risk.has_value()) {
    p->set_risk_class(*risk);
  }
  ASSIGN_OR_RETURN(auto hold, args.Bool("hold", p->hold()));
  p->set_hold(hold);
  if (args.Has("hold-reason")) {
    p->set_hold_reason(args.Get("hold-reason"));
  } else if (!hold) {
    p->clear_hold_reason();
  }
  ASSIGN_OR_RETURN(auto expected,
                   args.Int("expected-version", current.version()));
  req.set_expected_version(expected);
  v1::CreditProfile out;
  RETURN_IF_ERROR(Check(env.conn->credit().SetCreditProfile(
      env.conn->Context().get(), req, &out)));
  PrintOne(env, out, ProfileColumns());
  return absl::OkStatus();
}

absl::Status RunProfileGet(const Args& args, Env& env) {
  ASSIGN_OR_RETURN(auto account, args.Required("account"));
  v1::GetCreditProfileRequest req;
  req.set_account_id(account);
  v1::CreditProfile out;
  RETURN_IF_ERROR(Check(env.conn->credit().GetCreditProfile(
      env.conn->Context().get(), req, &out)));
  PrintOne(env, out, ProfileColumns());
  return absl::OkStatus();
}

absl::Status RunCheck(const Args& args, Env& env) {
  ASSIGN_OR_RETURN(auto account, args.Required("account"));
  ASSIGN_OR_RETURN(auto amount, RequiredMoney(args, "amount", env));
  v1::CheckCreditRequest req;
  req.set_account_id(account);
  *req.mutable_amount() = amount;
  req.set_opportunity_id(args.Get("opportunity"));
  v1::CreditCheck out;
  RETURN_IF_ERROR(Check(
      env.conn->credit().CheckCredit(env.conn->Context().get(), req, &out)));
  PrintOne(env, out, CheckColumns());
  return absl::OkStatus();
}

absl::Status RunChecks(const Args& args, Env& env) {
  ASSIGN_OR_RETURN(auto account, args.Required("account"));
  v1::ListCreditChecksResponse all;
  RETURN_IF_ERROR(
      EachPage([&](const v1::PageRequest& page) -> absl::StatusOr<std::string> {
        v1::ListCreditChecksRequest req;
        req.set_account_id(account);
        SetPage(page, &req);
        v1::ListCreditChecksResponse resp;
        RETURN_IF_ERROR(Check(env.conn->credit().ListCreditChecks(
            env.conn->Context().get(), req, &resp)));
        for (v1::CreditCheck& c : *resp.mutable_checks()) {
          *all.add_checks() = std::move(c);
        }
        return resp.next_page_token();
      }));
  PrintList(env, Pointers(all.checks()), CheckColumns());
  return absl::OkStatus();
}

// ---- Receivables and payments ----

absl::Status RunReceivables(const Args& args, Env& env) {
  ASSIGN_OR_RETURN(auto by, OneOf(args, {"account", "node", "opportunity"}));
  ASSIGN_OR_RETURN(auto state, EnumFlag<v1::ReceivableState>(args, "state"));
  v1::ListReceivablesResponse all;
  RETURN_IF_ERROR(
      EachPage([&](const v1::PageRequest& page) -> absl::StatusOr<std::string> {
        v1::ListReceivablesRequest req;
        if (by == "account") {
          req.set_account_id(args.Get("account"));
        } else if (by == "node") {
          req.set_org_node_id(args.Get("node"));
        } else {
          req.set_opportunity_id(args.Get("opportunity"));
        }
        req.set_state(state.value_or(v1::ReceivableState{}));
        SetPage(page, &req);
        v1::ListReceivablesResponse resp;
        RETURN_IF_ERROR(Check(env.conn->credit().ListReceivables(
            env.conn->Context().get(), req, &resp)));
        for (v1::Receivable& r : *resp.mutable_receivables()) {
          *all.add_receivables() = std::move(r);
        }
        return resp.next_page_token();
      }));
  PrintList(env, Pointers(all.receivables()), ReceivableColumns());
  return absl::OkStatus();
}

absl::Status RunReceivable(const Args& args, Env& env) {
  ASSIGN_OR_RETURN(auto id, args.Required("id"));
  v1::GetReceivableRequest req;
  req.set_id(id);
  v1::Receivable out;
  RETURN_IF_ERROR(Check(
      env.conn->credit().GetReceivable(env.conn->Context().get(), req, &out)));
  PrintOne(env, out, ReceivableColumns());
  return absl::OkStatus();
}

absl::Status RunPostReceivable(const Args& args, Env& env) {
  ASSIGN_OR_RETURN(auto account, args.Required("account"));
  ASSIGN_OR_RETURN(auto amount, RequiredMoney(args, "amount", env));
  ASSIGN_OR_RETURN(auto issue, DateFlag(args, "issue-date", Today()));
  ASSIGN_OR_RETURN(auto due, DateFlag(args, "due-date", std::nullopt));
  v1::PostReceivableRequest req;
  v1::Receivable* r = req.mutable_receivable();
  r->set_account_id(account);
  r->set_opportunity_id(args.Get("opportunity"));
  *r->mutable_amount() = amount;
  *r->mutable_issue_date() = *issue;
  if (due.has_value()) {
    *r->mutable_due_date() = *due;
  }
  req.set_external_id(args.Get("external-id"));
  v1::Receivable out;
  RETURN_IF_ERROR(Check(
      env.conn->credit().PostReceivable(env.conn->Context().get(), req, &out)));
  PrintOne(env, out, ReceivableColumns());
  return absl::OkStatus();
}

// "rcv_1:100.00,rcv_2:50" → allocations.
absl::Status ParseAllocations(const Args& args, const Env& env,
                              v1::RecordPaymentRequest* req) {
  for (const std::string& part : args.List("allocate")) {
    const size_t colon = part.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == part.size()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--allocate: each allocation is RECEIVABLE:AMOUNT, got ", part));
    }
    absl::StatusOr<int64_t> minor =
        money::Parse(part.substr(colon + 1), Exponent(env));
    if (!minor.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--allocate: ", part, ": ", minor.status().message()));
    }
    v1::Allocation* a = req->add_allocations();
    a->set_receivable_id(part.substr(0, colon));
    *a->mutable_amount() = money::Make(*minor, env.currency);
  }
  return absl::OkStatus();
}

std::string AllocationsText(const v1::Payment& p, const Env& env) {
  std::vector<std::string> parts;
  for (const v1::Allocation& a : p.allocations()) {
    parts.push_back(
        absl::StrCat(a.receivable_id(), ":", MoneyText(a.amount(), env)));
  }
  return absl::StrJoin(parts, ";");
}

void PrintPayments(Env& env, const std::vector<const v1::Payment*>& payments) {
  if (env.format == Format::kJson) {
    std::vector<const Message*> rows(payments.begin(), payments.end());
    PrintList(env, rows, {});
    return;
  }
  std::vector<std::vector<std::string>> rows;
  for (const v1::Payment* p : payments) {
    rows.push_back({p->id(), p->account_id(), MoneyText(p->amount(), env),
                    FieldText(*p, "date"), AllocationsText(*p, env),
                    p->external_id(), p->recorded_by()});
  }
  PrintCells(env,
             {"id", "account_id", "amount", "date", "allocations",
              "external_id", "recorded_by"},
             rows);
}

absl::Status RunPay(const Args& args, Env& env) {
  ASSIGN_OR_RETURN(auto account, args.Required("account"));
  ASSIGN_OR_RETURN(auto amount, RequiredMoney(args, "amount", env));
  ASSIGN_OR_RETURN(auto date, DateFlag(args, "date", Today()));
  v1::RecordPaymentRequest req;
  req.set_account_id(account);
  *req.mutable_amount() = amount;
  *req.mutable_date() = *date;
  req.set_external_id(args.Get("external-id"));
  RETURN_IF_ERROR(ParseAllocations(args, env, &req));
  v1::Payment out;
  RETURN_IF_ERROR(Check(
      env.conn->credit().RecordPayment(env.conn->Context().get(), req, &out)));
  if (env.format == Format::kJson) {
    PrintOne(env, out, {});
    return absl::OkStatus();
  }
  PrintPayments(env, {&out});
  return absl::OkStatus();
}

absl::Status RunPayments(const Args& args, Env& env) {
  ASSIGN_OR_RETURN(auto account, args.Required("account"));
  v1::ListPaymentsResponse all;
  RETURN_IF_ERROR(
      EachPage([&](const v1::PageRequest& page) -> absl::StatusOr<std::string> {
        v1::ListPaymentsRequest req;
        req.set_account_id(account);
        SetPage(page, &req);
        v1::ListPaymentsResponse resp;
        RETURN_IF_ERROR(Check(env.conn->credit().ListPayments(
            env.conn->Context().get(), req, &resp)));
        for (v1::Payment& p : *resp.mutable_payments()) {
          *all.add_payments() = std::move(p);
        }
        return resp.next_page_token();
      }));
  std::vector<const v1::Payment*> rows;
  for (const v1::Payment& p : all.payments()) {
    rows.push_back(&p);
  }
  PrintPayments(env, rows);
  return absl::OkStatus();
}

absl::Status RunWriteOff(const Args& args, Env& env) {
  ASSIGN_OR_RETURN(auto id, args.Required("receivable"));
  ASSIGN_OR_RETURN(auto reason, args.Required("reason"));
  ASSIGN_OR_RETURN(auto date, DateFlag(args, "date", std::nullopt));
  ASSIGN_OR_RETURN(auto expected, args.Int("expected-version", 0));
  v1::WriteOffRequest req;
  req.set_receivable_id(id);
  req.set_reason(reason);
  if (date.has_value()) {
    *req.mutable_date() = *date;
  }
  req.set_expected_version(expected);
  v1::Receivable out;
  RETURN_IF_ERROR(
      Check(env.conn->credit().WriteOff(env.conn->Context().get(), req, &out)));
  PrintOne(env, out,
           {"id", "account_id", "amount", "paid", "written_off", "open",
            "state", "write_off_reason", "written_off_date"});
  return absl::OkStatus();
}

absl::Status RunDispute(const Args& args, Env& env) {
  ASSIGN_OR_RETURN(auto id, args.Required("receivable"));
  ASSIGN_OR_RETURN(auto resolve, args.Bool("resolve", false));
  ASSIGN_OR_RETURN(auto expected, args.Int("expected-version", 0));
  v1::SetDisputeRequest req;
  req.set_receivable_id(id);
  req.set_disputed(!resolve);
  if (!resolve) {
    ASSIGN_OR_RETURN(auto reason, args.Required("reason"));
    req.set_reason(reason);
  }
  req.set_expected_version(expected);
  v1::Receivable out;
  RETURN_IF_ERROR(Check(
      env.conn->credit().SetDispute(env.conn->Context().get(), req, &out)));
  PrintOne(env, out,
           {"id", "account_id", "amount", "open", "state", "dispute_reason"});
  return absl::OkStatus();
}

// ---- Aging and DSO ----

std::vector<std::string> BucketCells(const v1::AgingBuckets& b,
                                     const Env& env) {
  return {MoneyText(b.not_due(), env),     MoneyText(b.days_1_30(), env),
          MoneyText(b.days_31_60(), env),  MoneyText(b.days_61_90(), env),
          MoneyText(b.days_91_180(), env), MoneyText(b.over_180(), env),
          MoneyText(b.total(), env)};
}

absl::Status RunAging(const Args& args, Env& env) {
  ASSIGN_OR_RETURN(auto by, OneOf(args, {"account", "node"}));
  ASSIGN_OR_RETURN(auto as_of, DateFlag(args, "as-of", std::nullopt));
  v1::GetAgingRequest req;
  if (by == "account") {
    req.set_account_id(args.Get("account"));
  } else {
    req.set_org_node_id(args.Get("node"));
  }
  if (as_of.has_value()) {
    *req.mutable_as_of() = *as_of;
  }
  v1::Aging out;
  RETURN_IF_ERROR(
      Check(env.conn->credit().GetAging(env.conn->Context().get(), req, &out)));
  if (env.format == Format::kJson) {
    PrintOne(env, out, {});
    return absl::OkStatus();
  }
  const std::string as_of_text = FieldText(out, "as_of");
  std::vector<std::vector<std::string>> rows;
  for (const v1::AccountAging& a : out.accounts()) {
    std::vector<std::string> row = {as_of_text, a.account_id()};
    for (std::string& c : BucketCells(a.buckets(), env)) {
      row.push_back(std::move(c));
    }
    rows.push_back(std::move(row));
  }
  std::vector<std::string> total = {as_of_text, "total"};
  for (std::string& c : BucketCells(out.total(), env)) {
    total.push_back(std::move(c));
  }
  rows.push_back(std::move(total));
  PrintCells(env,
             {"as_of", "account_id", "not_due", "days_1_30", "days_31_60",
              "days_61_90", "days_91_180", "over_180", "total"},
             rows);
  return absl::OkStatus();
}

absl::Status RunDso(const Args& args, Env& env) {
  ASSIGN_OR_RETURN(auto by, OneOf(args, {"account", "node"}));
  ASSIGN_OR_RETURN(auto from, args.Date("from"));
  ASSIGN_OR_RETURN(auto to, args.Date("to"));
  if (!from.has_value()) {
    return absl::InvalidArgumentError("--from: required (YYYY-MM-DD)");
  }
  if (!to.has_value()) {
    return absl::InvalidArgumentError("--to: required (YYYY-MM-DD)");
  }
  v1::GetDsoRequest req;
  if (by == "account") {
    req.set_account_id(args.Get("account"));
  } else {
    req.set_org_node_id(args.Get("node"));
  }
  *req.mutable_from() = ToProto(*from);
  *req.mutable_to() = ToProto(*to);
  v1::Dso out;
  RETURN_IF_ERROR(
      Check(env.conn->credit().GetDso(env.conn->Context().get(), req, &out)));
  if (env.format == Format::kJson) {
    PrintOne(env, out, {});
    return absl::OkStatus();
  }
  PrintCells(env, {"receivables_at_end", "credit_sales", "days", "dso_days"},
             {{MoneyText(out.receivables_at_end(), env),
               MoneyText(out.credit_sales(), env), absl::StrCat(out.days()),
               money::Format(out.dso_milli_days(), 3)}});
  return absl::OkStatus();
}

// ---- Collections ----

absl::Status RunWorklist(const Args& args, Env& env) {
  ASSIGN_OR_RETURN(auto as_of, DateFlag(args, "as-of", std::nullopt));
  v1::Worklist all;
  RETURN_IF_ERROR(
      EachPage([&](const v1::PageRequest& page) -> absl::StatusOr<std::string> {
        v1::GetWorklistRequest req;
        req.set_org_node_id(args.Get("node"));
        if (as_of.has_value()) {
          *req.mutable_as_of() = *as_of;
        }
        SetPage(page, &req);
        v1::Worklist resp;
        RETURN_IF_ERROR(Check(env.conn->credit().GetWorklist(
            env.conn->Context().get(), req, &resp)));
        *all.mutable_as_of() = resp.as_of();
        for (v1::WorklistItem& i : *resp.mutable_items()) {
          *all.add_items() = std::move(i);
        }
        return resp.next_page_token();
      }));
  if (env.format == Format::kJson) {
    PrintOne(env, all, {});
    return absl::OkStatus();
  }
  std::vector<std::vector<std::string>> rows;
  for (const v1::WorklistItem& i : all.items()) {
    int pending = 0;
    for (const v1::Promise& p : i.promises()) {
      if (p.state() == v1::PROMISE_STATE_PENDING) {
        ++pending;
      }
    }
    rows.push_back(
        {i.account_id(), i.receivable().id(),
         MoneyText(i.receivable().open(), env),
         FieldText(i, "receivable.due_date"), absl::StrCat(i.days_overdue()),
         FieldText(i, "risk_class"), absl::StrCat(i.priority()),
         FieldText(i, "next_dunning_step"), FieldText(i, "next_dunning_date"),
         absl::StrCat(i.promises_size(), " (", pending, " pending)"),
         absl::StrCat(i.open_tasks_size())});
  }
  PrintCells(env,
             {"account_id", "receivable_id", "open", "due_date", "days_overdue",
              "risk_class", "priority", "next_dunning_step",
              "next_dunning_date", "promises", "open_tasks"},
             rows);
  return absl::OkStatus();
}

absl::Status RunPromise(const Args& args, Env& env) {
  const std::vector<std::string> receivables = args.List("receivables");
  if (receivables.empty()) {
    return absl::InvalidArgumentError(
        "--receivables: required (receivable ids, comma separated)");
  }
  ASSIGN_OR_RETURN(auto amount, RequiredMoney(args, "amount", env));
  ASSIGN_OR_RETURN(auto date, args.Date("date"));
  if (!date.has_value()) {
    return absl::InvalidArgumentError("--date: required (the promised date)");
  }
  ASSIGN_OR_RETURN(auto excuse, EnumFlag<v1::ExcuseCode>(args, "excuse"));
  ASSIGN_OR_RETURN(auto tolerance, IntFlag(args, "tolerance", 0, 0, 30));
  v1::RecordPromiseRequest req;
  for (const std::string& id : receivables) {
    req.add_receivable_ids(id);
  }
  *req.mutable_amount() = amount;
  *req.mutable_promised_date() = ToProto(*date);
  req.set_contact_id(args.Get("contact"));
  req.set_excuse_code(excuse.value_or(v1::ExcuseCode{}));
  req.set_tolerance_days(tolerance);
  req.set_request_id(args.Get("request-id"));
  v1::Promise out;
  RETURN_IF_ERROR(Check(
      env.conn->credit().RecordPromise(env.conn->Context().get(), req, &out)));
  PrintOne(env, out, PromiseColumns());
  return absl::OkStatus();
}

absl::Status RunPromises(const Args& args, Env& env) {
  ASSIGN_OR_RETURN(auto account, args.Required("account"));
  ASSIGN_OR_RETURN(auto state, EnumFlag<v1::PromiseState>(args, "state"));
  v1::ListPromisesResponse all;
  RETURN_IF_ERROR(
      EachPage([&](const v1::PageRequest& page) -> absl::StatusOr<std::string> {
        v1::ListPromisesRequest req;
        req.set_account_id(account);
        req.set_state(state.value_or(v1::PromiseState{}));
        SetPage(page, &req);
        v1::ListPromisesResponse resp;
        RETURN_IF_ERROR(Check(env.conn->credit().ListPromises(
            env.conn->Context().get(), req, &resp)));
        for (v1::Promise& p : *resp.mutable_promises()) {
          *all.add_promises() = std::move(p);
        }
        return resp.next_page_token();
      }));
  PrintList(env, Pointers(all.promises()), PromiseColumns());
  return absl::OkStatus();
}

absl::Status RunContact(const Args& args, Env& env) {
  ASSIGN_OR_RETURN(auto account, args.Required("account"));
  ASSIGN_OR_RETURN(auto excuse, EnumFlag<v1::ExcuseCode>(args, "excuse"));
  if (!excuse.has_value()) {
    return absl::InvalidArgumentError("--excuse: required");
  }
  v1::RecordCollectionContactRequest req;
  req.set_account_id(account);
  req.set_excuse_code(*excuse);
  req.set_notes(args.Get("notes"));
  req.set_contact_id(args.Get("contact"));
  for (const std::string& id : args.List("receivables")) {
    req.add_receivable_ids(id);
  }
  req.set_request_id(args.Get("request-id"));
  v1::CollectionContact out;
  RETURN_IF_ERROR(Check(env.conn->credit().RecordCollectionContact(
      env.conn->Context().get(), req, &out)));
  PrintOne(env, out,
           {"id", "account_id", "excuse_code", "recommended_response",
            "follow_up_task_id", "disputed_receivable_ids", "notes"});
  return absl::OkStatus();
}

absl::Status RunTasks(const Args& args, Env& env) {
  ASSIGN_OR_RETURN(auto by, OneOf(args, {"account", "node"}));
  ASSIGN_OR_RETURN(auto include_done, args.Bool("include-done", false));
  v1::ListCollectionTasksResponse all;
  RETURN_IF_ERROR(
      EachPage([&](const v1::PageRequest& page) -> absl::StatusOr<std::string> {
        v1::ListCollectionTasksRequest req;
        if (by == "account") {
          req.set_account_id(args.Get("account"));
        } else {
          req.set_org_node_id(args.Get("node"));
        }
        req.set_include_done(include_done);
        SetPage(page, &req);
        v1::ListCollectionTasksResponse resp;
        RETURN_IF_ERROR(Check(env.conn->credit().ListCollectionTasks(
            env.conn->Context().get(), req, &resp)));
        for (v1::CollectionTask& t : *resp.mutable_tasks()) {
          *all.add_tasks() = std::move(t);
        }
        return resp.next_page_token();
      }));
  PrintList(env, Pointers(all.tasks()), TaskColumns());
  return absl::OkStatus();
}

absl::Status RunCompleteTask(const Args& args, Env& env) {
  ASSIGN_OR_RETURN(auto id, args.Required("id"));
  ASSIGN_OR_RETURN(auto expected, args.Int("expected-version", 0));
  v1::CompleteCollectionTaskRequest req;
  req.set_id(id);
  req.set_expected_version(expected);
  v1::CollectionTask out;
  RETURN_IF_ERROR(Check(env.conn->credit().CompleteCollectionTask(
      env.conn->Context().get(), req, &out)));
  PrintOne(env, out, TaskColumns());
  return absl::OkStatus();
}

absl::Status RunDebtorClass(const Args& args, Env& env) {
  ASSIGN_OR_RETURN(auto account, args.Required("account"));
  ASSIGN_OR_RETURN(auto as_of, DateFlag(args, "as-of", std::nullopt));
  v1::GetDebtorClassRequest req;
  req.set_account_id(account);
  if (as_of.has_value()) {
    *req.mutable_as_of() = *as_of;
  }
  v1::DebtorClassAnswer out;
  RETURN_IF_ERROR(Check(
      env.conn->credit().GetDebtorClass(env.conn->Context().get(), req, &out)));
  PrintOne(env, out, {"account_id", "debtor_class", "reason"});
  return absl::OkStatus();
}

const std::vector<std::string>& DunningColumns() {
  static const std::vector<std::string> k = {
      "courtesy_reminder_days", "first_reminder_days", "second_reminder_days",
      "final_notice_days",      "credit_hold_days",    "version"};
  return k;
}

absl::Status RunDunning(const Args&, Env& env) {
  v1::GetDunningStrategyRequest req;
  v1::DunningStrategy out;
  RETURN_IF_ERROR(Check(env.conn->credit().GetDunningStrategy(
      env.conn->Context().get(), req, &out)));
  PrintOne(env, out, DunningColumns());
  return absl::OkStatus();
}

absl::Status RunDunningSet(const Args& args, Env& env) {
  v1::DunningStrategy current;
  {
    v1::GetDunningStrategyRequest req;
    RETURN_IF_ERROR(Check(env.conn->credit().GetDunningStrategy(
        env.conn->Context().get(), req, &current)));
  }
  v1::DunningStrategy req = current;
  ASSIGN_OR_RETURN(
      auto courtesy,
      IntFlag(args, "courtesy", current.courtesy_reminder_days(), -365, 365));
  ASSIGN_OR_RETURN(
      auto first,
      IntFlag(args, "first", current.first_reminder_days(), -365, 365));
  ASSIGN_OR_RETURN(
      auto second,
      IntFlag(args, "second", current.second_reminder_days(), -365, 365));
  ASSIGN_OR_RETURN(
      auto final_notice,
      IntFlag(args, "final", current.final_notice_days(), -365, 365));
  ASSIGN_OR_RETURN(
      auto hold, IntFlag(args, "hold", current.credit_hold_days(), -365, 3650));
  ASSIGN_OR_RETURN(auto expected,
                   args.Int("expected-version", current.version()));
  req.set_courtesy_reminder_days(courtesy);
  req.set_first_reminder_days(first);
  req.set_second_reminder_days(second);
  req.set_final_notice_days(final_notice);
  req.set_credit_hold_days(hold);
  req.clear_version();
  req.set_expected_version(expected);
  v1::DunningStrategy out;
  RETURN_IF_ERROR(Check(env.conn->credit().SetDunningStrategy(
      env.conn->Context().get(), req, &out)));
  PrintOne(env, out, DunningColumns());
  return absl::OkStatus();
}

absl::Status RunCollections(const Args&, Env& env) {
  v1::RunCollectionsRequest req;
  v1::RunCollectionsResponse out;
  RETURN_IF_ERROR(Check(
      env.conn->credit().RunCollections(env.conn->Context().get(), req, &out)));
  PrintOne(env, out,
           {"today", "promises_judged", "dunning_tasks", "holds_placed"});
  return absl::OkStatus();
}

// ---- Calculators ----

absl::Status RunBadDebtRecovery(const Args& args, Env& env) {
  ASSIGN_OR_RETURN(auto loss, RequiredMoney(args, "loss", env));
  ASSIGN_OR_RETURN(auto margin, PercentFlag(args, "margin", true));
  ASSIGN_OR_RETURN(auto round_to, args.Money("round-to", Exponent(env)));
  v1::CalculateBadDebtRecoveryRequest req;
  *req.mutable_loss() = loss;
  req.set_net_margin_bp(margin);
  req.set_round_to_minor(round_to.value_or(1));
  v1::BadDebtRecovery out;
  RETURN_IF_ERROR(Check(env.conn->credit().CalculateBadDebtRecovery(
      env.conn->Context().get(), req, &out)));
  if (env.format == Format::kJson) {
    PrintOne(env, out, {});
    return absl::OkStatus();
  }
  PrintCells(env, {"loss", "net_margin", "required_sales"},
             {{MoneyText(loss, env), Percent(margin),
               MoneyText(out.required_sales(), env)}});
  return absl::OkStatus();
}

absl::Status RunCarryingCost(const Args& args, Env& env) {
  ASSIGN_OR_RETURN(auto amount, RequiredMoney(args, "amount", env));
  ASSIGN_OR_RETURN(auto rate, PercentFlag(args, "rate", true));
  if (!args.Has("days-late")) {
    return absl::InvalidArgumentError("--days-late: required");
  }
  ASSIGN_OR_RETURN(auto days, IntFlag(args, "days-late", 0, 0, 100000));
  ASSIGN_OR_RETURN(auto margin, PercentFlag(args, "margin", false));
  v1::CalculateCarryingCostRequest req;
  *req.mutable_amount() = amount;
  req.set_annual_rate_bp(rate);
  req.set_days_late(days);
  req.set_net_margin_bp(margin);
  v1::CarryingCost out;
  RETURN_IF_ERROR(Check(env.conn->credit().CalculateCarryingCost(
      env.conn->Context().get(), req, &out)));
  if (env.format == Format::kJson) {
    PrintOne(env, out, {});
    return absl::OkStatus();
  }
  PrintCells(env,
             {"amount", "annual_rate", "days_late", "cost", "net_profit",
              "days_to_consume_profit"},
             {{MoneyText(amount, env), Percent(rate), absl::StrCat(days),
               MoneyText(out.cost(), env), MoneyText(out.net_profit(), env),
               absl::StrCat(out.days_to_consume_profit())}});
  return absl::OkStatus();
}

absl::Status RunRealizedResult(const Args& args, Env& env) {
  ASSIGN_OR_RETURN(auto sale, RequiredMoney(args, "sale", env));
  ASSIGN_OR_RETURN(auto margin, PercentFlag(args, "margin", true));
  ASSIGN_OR_RETURN(auto collected, MoneyFlag(args, "collected", env, false));
  v1::CalculateRealizedResultRequest req;
  *req.mutable_sale_amount() = sale;
  req.set_gross_margin_bp(margin);
  *req.mutable_collected() = collected.value_or(money::Make(0, env.currency));
  v1::RealizedResult out;
  RETURN_IF_ERROR(Check(env.conn->credit().CalculateRealizedResult(
      env.conn->Context().get(), req, &out)));
  if (env.format == Format::kJson) {
    PrintOne(env, out, {});
    return absl::OkStatus();
  }
  PrintCells(
      env,
      {"sale", "gross_margin", "collected", "cost_of_goods", "realized",
       "to_break_even", "profit_when_collected"},
      {{MoneyText(sale, env), Percent(margin), MoneyText(req.collected(), env),
        MoneyText(out.cost_of_goods(), env), MoneyText(out.realized(), env),
        MoneyText(out.to_break_even(), env),
        MoneyText(out.profit_when_collected(), env)}});
  return absl::OkStatus();
}

}  // namespace

void RegisterCreditCommands(Registry& r) {
  const char* risks = "LOW|MEDIUM|HIGH|VERY_HIGH";
  r.Add({"credit",
         "profile-set",
         absl::StrCat("--account=ID --limit=X --terms=DAYS --risk=", risks,
                      " [--hold[=false]] [--hold-reason=TEXT] "
                      "[--expected-version=N] (an existing profile keeps the "
                      "fields not given)"),
         "set an account's credit profile",
         {"account", "limit", "terms", "risk", "hold", "hold-reason",
          "expected-version"},
         RunProfileSet});
  r.Add({"credit",
         "profile-get",
         "--account=ID",
         "an account's credit profile",
         {"account"},
         RunProfileGet});
  r.Add({"credit",
         "check",
         "--account=ID --amount=X [--opportunity=ID]",
         "ask for a credit decision (APPROVE, REVIEW or BLOCK with reasons)",
         {"account", "amount", "opportunity"},
         RunCheck});
  r.Add({"credit",
         "checks",
         "--account=ID",
         "the stored credit decisions of an account",
         {"account"},
         RunChecks});
  r.Add({"credit",
         "receivables",
         "--account=ID | --node=ID | --opportunity=ID "
         "[--state=OPEN|PARTIALLY_PAID|PAID|DISPUTED|WRITTEN_OFF]",
         "receivables of an account, an org subtree or an opportunity",
         {"account", "node", "opportunity", "state"},
         RunReceivables});
  r.Add({"credit",
         "receivable",
         "--id=RCV",
         "one receivable",
         {"id"},
         RunReceivable});
  r.Add({"credit",
         "post-receivable",
         "--account=ID --amount=X [--issue-date=YYYY-MM-DD (default today)] "
         "[--due-date=YYYY-MM-DD] [--opportunity=ID] [--external-id=ID]",
         "post an invoice (an external id makes the post idempotent)",
         {"account", "amount", "issue-date", "due-date", "opportunity",
          "external-id"},
         RunPostReceivable});
  r.Add({"credit",
         "pay",
         "--account=ID --amount=X [--date=YYYY-MM-DD (default today)] "
         "[--allocate=RCV:AMOUNT,...] [--external-id=ID]",
         "record a payment (default allocation: oldest due first)",
         {"account", "amount", "date", "allocate", "external-id"},
         RunPay});
  r.Add({"credit",
         "payments",
         "--account=ID",
         "the payments of an account",
         {"account"},
         RunPayments});
  r.Add({"credit",
         "aging",
         "--account=ID | --node=ID [--as-of=YYYY-MM-DD]",
         "aging buckets per account and in total",
         {"account", "node", "as-of"},
         RunAging});
  r.Add({"credit",
         "dso",
         "--account=ID | --node=ID --from=YYYY-MM-DD --to=YYYY-MM-DD",
         "days sales outstanding over a period",
         {"account", "node", "from", "to"},
         RunDso});
  r.Add({"credit",
         "worklist",
         "[--node=ID] [--as-of=YYYY-MM-DD]",
         "overdue receivables, highest priority (amount x days x risk) first",
         {"node", "as-of"},
         RunWorklist});
  r.Add({"credit",
         "promise",
         "--receivables=RCV,... --amount=X --date=YYYY-MM-DD "
         "[--contact=ID] [--excuse=CODE] [--tolerance=DAYS] "
         "[--request-id=ID]",
         "record a promise to pay",
         {"receivables", "amount", "date", "contact", "excuse", "tolerance",
          "request-id"},
         RunPromise});
  r.Add({"credit",
         "promises",
         "--account=ID [--state=PENDING|KEPT|PARTIALLY_KEPT|BROKEN]",
         "the promises to pay of an account",
         {"account", "state"},
         RunPromises});
  r.Add({"credit",
         "contact",
         "--account=ID --excuse=CODE [--notes=TEXT] [--contact=ID] "
         "[--receivables=RCV,...] [--request-id=ID]",
         "record a collection contact: prints the recommended response and "
         "schedules its follow-up",
         {"account", "excuse", "notes", "contact", "receivables", "request-id"},
         RunContact});
  r.Add({"credit",
         "tasks",
         "--account=ID | --node=ID [--include-done]",
         "collection tasks (follow-ups, escalations, dunning steps)",
         {"account", "node", "include-done"},
         RunTasks});
  r.Add({"credit",
         "complete-task",
         "--id=TSK [--expected-version=N]",
         "mark a collection task done",
         {"id", "expected-version"},
         RunCompleteTask});
  r.Add({"credit",
         "debtor-class",
         "--account=ID [--as-of=YYYY-MM-DD]",
         "an account's debtor class from its payment behaviour",
         {"account", "as-of"},
         RunDebtorClass});
  r.Add({"credit",
         "write-off",
         "--receivable=RCV --reason=TEXT [--date=YYYY-MM-DD] "
         "[--expected-version=N]",
         "write off what a receivable still owes",
         {"receivable", "reason", "date", "expected-version"},
         RunWriteOff});
  r.Add({"credit",
         "dispute",
         "--receivable=RCV --reason=TEXT | --receivable=RCV --resolve "
         "[--expected-version=N]",
         "open (or resolve) a dispute on a receivable",
         {"receivable", "reason", "resolve", "expected-version"},
         RunDispute});
  r.Add({"credit",
         "dunning",
         "",
         "the dunning strategy (days from due date)",
         {},
         RunDunning});
  r.Add({"credit",
         "dunning-set",
         "[--courtesy=DAYS] [--first=DAYS] [--second=DAYS] [--final=DAYS] "
         "[--hold=DAYS] [--expected-version=N]",
         "change the dunning strategy (steps not given keep their days)",
         {"courtesy", "first", "second", "final", "hold", "expected-version"},
         RunDunningSet});
  r.Add({"credit",
         "run-collections",
         "",
         "run today's collections work now: judge promises, issue dunning "
         "steps and holds",
         {},
         RunCollections});
  r.Add({"credit",
         "bad-debt-recovery",
         "--loss=X --margin=PCT|--margin-bp=BP [--round-to=X]",
         "extra sales needed to recover a bad-debt loss (loss / net margin)",
         {"loss", "margin", "margin-bp", "round-to"},
         RunBadDebtRecovery});
  r.Add({"credit",
         "carrying-cost",
         "--amount=X --rate=PCT|--rate-bp=BP --days-late=N "
         "[--margin=PCT|--margin-bp=BP]",
         "the cost of carrying a late receivable and the days that consume "
         "the sale's net profit",
         {"amount", "rate", "rate-bp", "days-late", "margin", "margin-bp"},
         RunCarryingCost});
  r.Add({"credit",
         "realized-result",
         "--sale=X --margin=PCT|--margin-bp=BP [--collected=X]",
         "the realized result of a credit sale: collected - cost of goods",
         {"sale", "margin", "margin-bp", "collected"},
         RunRealizedResult});
}

}  // namespace salesops::ctl
