#include "services/credit/receivables.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "common/money/money.h"
#include "common/status/macros.h"
#include "common/time/fiscal_calendar.h"

namespace salesops::credit {
namespace {

// A stored date, or nullopt when unset (paid_date and written_off_date stay
// unset until the event happens) or not a valid date.
std::optional<absl::CivilDay> DayOf(const v1::Date& d) {
  absl::StatusOr<absl::CivilDay> day = FromProto(d, "date");
  if (!day.ok()) return std::nullopt;
  return *day;
}

// What `r` still owes, from its amounts rather than its `open` field, so a
// receivable that was never settled is read correctly.
int64_t OpenOf(const v1::Receivable& r) {
  return r.amount().units_minor() - r.paid().units_minor() -
         r.written_off().units_minor();
}

std::string Amount(int64_t units, const std::string& currency) {
  return money::Format(units, money::CurrencyExponent(currency));
}

// The DSO answer from its two sums (in `currency`) over [from, to].
absl::StatusOr<v1::Dso> DsoOf(const money::Accumulator& at_end,
                              const money::Accumulator& sales,
                              absl::CivilDay from, absl::CivilDay to,
                              const std::string& currency);

// Dates compare field by field; an unset date (0-0-0) sorts first.
std::tuple<int32_t, int32_t, int32_t> Key(const v1::Date& d) {
  return {d.year(), d.month(), d.day()};
}

}  // namespace

const std::string& CurrencyOf(const v1::Receivable& r,
                              const std::string& fallback) {
  return r.amount().currency().empty() ? fallback : r.amount().currency();
}

bool Collectible(const v1::Receivable& r) {
  return r.state() == v1::RECEIVABLE_STATE_OPEN ||
         r.state() == v1::RECEIVABLE_STATE_PARTIALLY_PAID;
}

bool Outstanding(const v1::Receivable& r) {
  return Collectible(r) || r.state() == v1::RECEIVABLE_STATE_DISPUTED;
}

void Settle(v1::Receivable* r, const std::string& fallback) {
  const std::string currency = CurrencyOf(*r, fallback);
  const int64_t paid = r->paid().units_minor();
  const int64_t written_off = r->written_off().units_minor();
  const int64_t open = OpenOf(*r);
  *r->mutable_amount() = money::Make(r->amount().units_minor(), currency);
  *r->mutable_paid() = money::Make(paid, currency);
  *r->mutable_written_off() = money::Make(written_off, currency);
  *r->mutable_open() = money::Make(open, currency);
  if (written_off > 0) {
    r->set_state(v1::RECEIVABLE_STATE_WRITTEN_OFF);
  } else if (open == 0) {
    r->set_state(v1::RECEIVABLE_STATE_PAID);
  } else if (!r->dispute_reason().empty()) {
    r->set_state(v1::RECEIVABLE_STATE_DISPUTED);
  } else if (paid > 0) {
    r->set_state(v1::RECEIVABLE_STATE_PARTIALLY_PAID);
  } else {
    r->set_state(v1::RECEIVABLE_STATE_OPEN);
  }
}

absl::Status ApplyPayment(v1::Receivable* r, const std::string& payment_id,
                          int64_t amount, absl::CivilDay date,
                          const std::string& fallback) {
  const std::string currency = CurrencyOf(*r, fallback);
  if (amount <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("amount: must be > 0, got ", Amount(amount, currency)));
  }
  if (!Outstanding(*r)) {
    return absl::FailedPreconditionError(
        absl::StrCat("allocations: ", r->id(), " is ",
                     r->state() == v1::RECEIVABLE_STATE_PAID ? "already paid"
                                                             : "written off",
                     "; it takes no payment"));
  }
  const int64_t open = OpenOf(*r);
  if (amount > open) {
    return absl::FailedPreconditionError(
        absl::StrCat("allocations: ", Amount(amount, currency), " exceeds the ",
                     Amount(open, currency), " still owed on ", r->id()));
  }
  v1::PaymentApplication* app = r->add_payments();
  app->set_payment_id(payment_id);
  *app->mutable_amount() = money::Make(amount, currency);
  *app->mutable_date() = ToProto(date);
  // amount <= open <= amount − paid, so paid + amount cannot overflow.
  r->mutable_paid()->set_units_minor(r->paid().units_minor() + amount);
  Settle(r, currency);
  if (r->state() == v1::RECEIVABLE_STATE_PAID) {
    *r->mutable_paid_date() = ToProto(date);
  }
  return absl::OkStatus();
}

namespace {

// The named allocations' shape (INVALID_ARGUMENT): each names a receivable of
// the account once with an amount > 0, and they sum to `amount`. The named
// receivables in `targets`.
absl::Status CheckNamedShape(const std::vector<v1::Receivable>& receivables,
                             int64_t amount,
                             const std::vector<v1::Allocation>& named,
                             const std::string& currency,
                             std::vector<const v1::Receivable*>* targets) {
  std::set<std::string> seen;
  money::Accumulator sum;
  for (size_t i = 0; i < named.size(); ++i) {
    const v1::Allocation& a = named[i];
    const std::string field = absl::StrCat("allocations[", i, "]");
    if (a.receivable_id().empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ".receivable_id: required"));
    }
    auto it = std::find_if(
        receivables.begin(), receivables.end(),
        [&](const v1::Receivable& r) { return r.id() == a.receivable_id(); });
    if (it == receivables.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ".receivable_id: ", a.receivable_id(),
                       " is not a receivable of this account"));
    }
    if (!seen.insert(a.receivable_id()).second) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ".receivable_id: ", a.receivable_id(),
                       " is named more than once"));
    }
    if (a.amount().units_minor() <= 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ".amount: must be > 0, got ",
                       Amount(a.amount().units_minor(), currency)));
    }
    // D40: a receivable is paid in its own currency, and one payment in
    // one currency.
    const std::string& owed_in = CurrencyOf(*it, currency);
    if (!a.amount().currency().empty() && a.amount().currency() != owed_in) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, ".amount.currency: must be ", owed_in, ", the currency of ",
          it->id(), " (an allocation is in its receivable's currency), got ",
          a.amount().currency()));
    }
    if (owed_in != currency) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ".amount.currency: ", it->id(), " is owed in ",
                       owed_in, ", the payment is in ", currency,
                       " (a payment pays receivables of its own currency)"));
    }
    sum.Add(a.amount().units_minor());
    targets->push_back(&*it);
  }
  absl::StatusOr<int64_t> total = sum.Total();
  if (!total.ok()) return total.status();
  if (*total != amount) {
    return absl::InvalidArgumentError(
        absl::StrCat("allocations: they sum to ", Amount(*total, currency),
                     ", must equal amount ", Amount(amount, currency)));
  }
  return absl::OkStatus();
}

// What the named receivables' state refuses (FAILED_PRECONDITION).
absl::Status CheckNamedState(const std::vector<v1::Allocation>& named,
                             const std::vector<const v1::Receivable*>& targets,
                             const std::string& currency) {
  for (size_t i = 0; i < named.size(); ++i) {
    const v1::Receivable& r = *targets[i];
    const int64_t want = named[i].amount().units_minor();
    if (!Outstanding(r)) {
      return absl::FailedPreconditionError(
          absl::StrCat("allocations[", i, "].receivable_id: ", r.id(), " is ",
                       r.state() == v1::RECEIVABLE_STATE_PAID ? "already paid"
                                                              : "written off",
                       "; it takes no payment"));
    }
    if (want > OpenOf(r)) {
      return absl::FailedPreconditionError(
          absl::StrCat("allocations[", i, "].amount: ", Amount(want, currency),
                       " exceeds the ", Amount(OpenOf(r), currency),
                       " still owed on ", r.id()));
    }
  }
  return absl::OkStatus();
}

// Oldest due first: the debt that has waited longest is settled first,
// which is also what dunning and aging expect.
absl::StatusOr<std::vector<v1::Allocation>> AllocateOldestFirst(
    const std::vector<v1::Receivable>& receivables, int64_t amount,
    const std::string& currency) {
  std::vector<const v1::Receivable*> owing;
  money::Accumulator owed;
  for (const v1::Receivable& r : receivables) {
    if (r.state() != v1::RECEIVABLE_STATE_OPEN &&
        r.state() != v1::RECEIVABLE_STATE_PARTIALLY_PAID) {
      continue;
    }
    if (CurrencyOf(r, currency) != currency) {
      continue;  // D40: only receivables in the payment's currency
    }
    if (OpenOf(r) <= 0) continue;
    owing.push_back(&r);
    owed.Add(OpenOf(r));
  }
  absl::StatusOr<int64_t> total = owed.Total();
  if (!total.ok()) return total.status();
  if (amount > *total) {
    return absl::FailedPreconditionError(
        absl::StrCat("amount: ", Amount(amount, currency), " exceeds the ",
                     Amount(*total, currency),
                     " the account owes on undisputed receivables in ",
                     currency, "; the excess is not kept"));
  }
  std::sort(owing.begin(), owing.end(),
            [](const v1::Receivable* a, const v1::Receivable* b) {
              return std::make_tuple(Key(a->due_date()), Key(a->issue_date()),
                                     a->id()) <
                     std::make_tuple(Key(b->due_date()), Key(b->issue_date()),
                                     b->id());
            });
  std::vector<v1::Allocation> out;
  int64_t left = amount;
  for (const v1::Receivable* r : owing) {
    if (left == 0) break;
    const int64_t take = std::min(left, OpenOf(*r));
    v1::Allocation& a = out.emplace_back();
    a.set_receivable_id(r->id());
    *a.mutable_amount() = money::Make(take, currency);
    left -= take;
  }
  return out;
}

}  // namespace

absl::StatusOr<std::vector<v1::Allocation>> Allocate(
    const std::vector<v1::Receivable>& receivables, int64_t amount,
    const std::vector<v1::Allocation>& named, const std::string& currency) {
  if (amount <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("amount: must be > 0, got ", Amount(amount, currency)));
  }
  if (named.empty()) {
    return AllocateOldestFirst(receivables, amount, currency);
  }
  // Malformed requests (INVALID_ARGUMENT) are reported before what the
  // receivables' state refuses (FAILED_PRECONDITION), so a client fixes its
  // request first.
  std::vector<const v1::Receivable*> targets;
  absl::Status shape =
      CheckNamedShape(receivables, amount, named, currency, &targets);
  if (!shape.ok()) return shape;
  absl::Status state = CheckNamedState(named, targets, currency);
  if (!state.ok()) return state;
  return named;
}

int64_t OpenAsOf(const v1::Receivable& r, absl::CivilDay as_of) {
  const std::optional<absl::CivilDay> issued = DayOf(r.issue_date());
  if (issued.has_value() && *issued > as_of) return 0;
  int64_t open = r.amount().units_minor();
  for (const v1::PaymentApplication& p : r.payments()) {
    // A payment without a valid date cannot be placed in time; it was applied,
    // so it counts.
    const std::optional<absl::CivilDay> paid = DayOf(p.date());
    if (!paid.has_value() || *paid <= as_of) open -= p.amount().units_minor();
  }
  const std::optional<absl::CivilDay> written = DayOf(r.written_off_date());
  if (written.has_value() && *written <= as_of) {
    open -= r.written_off().units_minor();
  }
  return open;
}

int DaysPastDue(const v1::Receivable& r, absl::CivilDay as_of) {
  const std::optional<absl::CivilDay> due = DayOf(r.due_date());
  if (!due.has_value()) return 0;  // nothing is due without a due date
  return static_cast<int>(as_of - *due);
}

AgingBucket BucketFor(int days_past_due) {
  if (days_past_due <= 0) return AgingBucket::kNotDue;
  if (days_past_due <= 30) return AgingBucket::k1To30;
  if (days_past_due <= 60) return AgingBucket::k31To60;
  if (days_past_due <= 90) return AgingBucket::k61To90;
  if (days_past_due <= 180) return AgingBucket::k91To180;
  return AgingBucket::kOver180;
}

absl::Status AddToAging(const v1::Receivable& r, absl::CivilDay as_of,
                        const std::string& currency,
                        v1::AgingBuckets* buckets) {
  return AddToAging(r, OpenAsOf(r, as_of), as_of, currency, buckets);
}

absl::Status AddToAging(const v1::Receivable& r, int64_t open,
                        absl::CivilDay as_of, const std::string& currency,
                        v1::AgingBuckets* buckets) {
  v1::Money* bucket = nullptr;
  switch (BucketFor(DaysPastDue(r, as_of))) {
    case AgingBucket::kNotDue:
      bucket = buckets->mutable_not_due();
      break;
    case AgingBucket::k1To30:
      bucket = buckets->mutable_days_1_30();
      break;
    case AgingBucket::k31To60:
      bucket = buckets->mutable_days_31_60();
      break;
    case AgingBucket::k61To90:
      bucket = buckets->mutable_days_61_90();
      break;
    case AgingBucket::k91To180:
      bucket = buckets->mutable_days_91_180();
      break;
    case AgingBucket::kOver180:
      bucket = buckets->mutable_over_180();
      break;
  }
  // Both sums are checked before either is written, so an overflow leaves
  // `buckets` as it was.
  absl::StatusOr<int64_t> in_bucket = money::Add(bucket->units_minor(), open);
  if (!in_bucket.ok()) return in_bucket.status();
  absl::StatusOr<int64_t> total =
      money::Add(buckets->total().units_minor(), open);
  if (!total.ok()) return total.status();
  bucket->set_units_minor(*in_bucket);
  buckets->mutable_total()->set_units_minor(*total);
  // Every field carries the currency, so the message is complete even for the
  // buckets nothing was added to.
  for (v1::Money* m :
       {buckets->mutable_not_due(), buckets->mutable_days_1_30(),
        buckets->mutable_days_31_60(), buckets->mutable_days_61_90(),
        buckets->mutable_days_91_180(), buckets->mutable_over_180(),
        buckets->mutable_total()}) {
    m->set_currency(currency);
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::Dso> ComputeDso(
    const std::vector<v1::Receivable>& receivables, absl::CivilDay from,
    absl::CivilDay to, const std::string& currency) {
  if (to < from) {
    return absl::InvalidArgumentError(absl::StrCat(
        "to: must not be before from (from ", absl::FormatCivilTime(from),
        ", to ", absl::FormatCivilTime(to), ")"));
  }
  money::Accumulator at_end;
  money::Accumulator sales;
  for (const v1::Receivable& r : receivables) {
    at_end.Add(OpenAsOf(r, to));
    const std::optional<absl::CivilDay> issued = DayOf(r.issue_date());
    if (issued.has_value() && *issued >= from && *issued <= to) {
      sales.Add(r.amount().units_minor());
    }
  }
  return DsoOf(at_end, sales, from, to, currency);
}

absl::StatusOr<v1::Dso> ComputeDso(
    const std::vector<v1::Receivable>& receivables, absl::CivilDay from,
    absl::CivilDay to, Converter& conv) {
  if (to < from) {
    return ComputeDso({}, from, to, conv.target());  // the same refusal
  }
  money::Accumulator at_end;
  money::Accumulator sales;
  for (const v1::Receivable& r : receivables) {
    const std::string& currency = CurrencyOf(r, conv.target());
    ASSIGN_OR_RETURN(std::optional<int64_t> end,
                     conv.Convert(money::Make(OpenAsOf(r, to), currency)));
    if (!end.has_value()) {
      continue;  // its rate is missing: recorded, left out of both
    }
    at_end.Add(*end);
    const std::optional<absl::CivilDay> issued = DayOf(r.issue_date());
    if (issued.has_value() && *issued >= from && *issued <= to) {
      ASSIGN_OR_RETURN(std::optional<int64_t> sold, conv.Convert(r.amount()));
      sales.Add(sold.value_or(0));  // the same rate as `end`: never missing
    }
  }
  ASSIGN_OR_RETURN(v1::Dso dso, DsoOf(at_end, sales, from, to, conv.target()));
  ASSIGN_OR_RETURN(std::vector<v1::MissingRate> missing, conv.Missing());
  for (v1::MissingRate& m : missing) {
    *dso.add_missing_rates() = std::move(m);
  }
  return dso;
}

namespace {

absl::StatusOr<v1::Dso> DsoOf(const money::Accumulator& at_end,
                              const money::Accumulator& sales,
                              absl::CivilDay from, absl::CivilDay to,
                              const std::string& currency) {
  absl::StatusOr<int64_t> end_total = at_end.Total();
  if (!end_total.ok()) return end_total.status();
  absl::StatusOr<int64_t> sales_total = sales.Total();
  if (!sales_total.ok()) return sales_total.status();
  const int64_t days = (to - from) + 1;
  if (days > INT32_MAX) {
    return absl::InvalidArgumentError(
        absl::StrCat("to: the period of ", days, " days is too long"));
  }
  v1::Dso dso;
  *dso.mutable_receivables_at_end() = money::Make(*end_total, currency);
  *dso.mutable_credit_sales() = money::Make(*sales_total, currency);
  dso.set_days(static_cast<int32_t>(days));
  if (*sales_total > 0) {
    // days × 1000 < 2^42, and the product with at_end is exact in 128 bits.
    absl::StatusOr<int64_t> milli =
        money::MulDivRoundHalfEven(*end_total, days * 1000, *sales_total);
    if (!milli.ok()) return milli.status();
    dso.set_dso_milli_days(*milli);
  }
  return dso;
}

}  // namespace

}  // namespace salesops::credit
