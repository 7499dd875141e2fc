#include "services/accounts/exchange_rate_rules.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/money/money.h"
#include "common/status/violations.h"
#include "common/time/clock.h"
#include "common/time/fiscal_calendar.h"

namespace salesops::accounts {
namespace {

void CheckCurrency(const std::string& currency,
                   std::string_view reporting_currency, Violations& v) {
  if (absl::Status s = money::ValidateCurrency(currency, "currency"); !s.ok()) {
    v.Add(s);
  } else if (currency == reporting_currency) {
    v.Add("currency", absl::StrCat("must differ from the reporting currency ",
                                   std::string(reporting_currency)));
  }
}

// The rate of a non-withdrawn request (nullopt when invalid or withdrawn).
std::optional<money::Decimal> CheckRate(const v1::SetExchangeRateRequest& req,
                                        Violations& v) {
  if (req.withdrawn()) {
    if (!req.rate().empty()) {
      v.Add("rate", "must be empty when withdrawn");
    }
    return std::nullopt;
  }
  if (req.rate().empty()) {
    v.Add("rate", "required (unless withdrawn)");
    return std::nullopt;
  }
  absl::StatusOr<money::Decimal> rate = money::ParseRate(req.rate(), "rate");
  if (!rate.ok()) {
    v.Add(rate.status());
    return std::nullopt;
  }
  return *rate;
}

// Characters (UTF-8 code points) of `s`, as the API's max_length counts them.
size_t Utf8Length(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) {
    n += (c & 0xC0) != 0x80 ? 1 : 0;
  }
  return n;
}

// The stored value of `e` as a revision of its history.
v1::ExchangeRateRevision RevisionOf(const v1::ExchangeRate& e) {
  v1::ExchangeRateRevision r;
  r.set_rate(e.rate());
  r.set_withdrawn(e.withdrawn());
  r.set_version(e.version());
  r.set_updated_micros(e.updated_micros());
  r.set_updated_by(e.updated_by());
  r.set_note(e.note());
  return r;
}

}  // namespace

std::string ExchangeRateId(std::string_view currency, absl::CivilDay start) {
  return absl::StrFormat("%s/%04d-%02d-%02d", std::string(currency),
                         start.year(), start.month(), start.day());
}

absl::StatusOr<ExchangeRateInput> CheckSetExchangeRate(
    const v1::SetExchangeRateRequest& req,
    std::string_view reporting_currency) {
  Violations v;
  ExchangeRateInput in;
  in.currency = req.currency();
  CheckCurrency(req.currency(), reporting_currency, v);
  absl::StatusOr<absl::CivilDay> start =
      FromProto(req.start_date(), "start_date");
  if (start.ok()) {
    in.start = *start;
  } else {
    v.Add(start.status());
  }
  in.rate = CheckRate(req, v);
  if (const size_t n = Utf8Length(req.note()); n > kMaxRateNoteChars) {
    v.Add("note", absl::StrCat("at most ", kMaxRateNoteChars,
                               " characters (got ", n, ")"));
  }
  if (req.expected_version() < 0) {
    v.Add("expected_version", "must be >= 0");
  }
  if (!v.empty()) {
    return v.status();
  }
  return in;
}

absl::Status CheckListExchangeRates(const v1::ListExchangeRatesRequest& req) {
  Violations v;
  if (!req.currency().empty() && !money::IsCurrencyCode(req.currency())) {
    v.Add("currency", absl::StrCat("must be 3 uppercase letters (ISO 4217), "
                                   "got ",
                                   req.currency()));
  }
  return v.status();
}

absl::StatusOr<ExchangeRateChange> SetExchangeRate(
    const std::optional<v1::ExchangeRate>& stored,
    const v1::SetExchangeRateRequest& req, const ExchangeRateInput& in,
    std::string_view reporting_currency, std::string_view by, absl::Time now) {
  const std::string id = ExchangeRateId(in.currency, in.start);
  const int64_t stored_version = stored ? stored->version() : 0;
  if (req.expected_version() != 0 && req.expected_version() != stored_version) {
    return absl::AbortedError(
        absl::StrCat("exchange rate ", id, ": expected_version ",
                     req.expected_version(), " but the stored version is ",
                     stored_version, stored ? "" : " (no entry yet)"));
  }
  if (!stored && req.withdrawn()) {
    return absl::NotFoundError(absl::StrCat(
        "exchange rate ", id, " not found: there is nothing to withdraw"));
  }
  const std::string rate = in.rate ? money::FormatRate(*in.rate) : "";
  ExchangeRateChange change;
  if (stored && stored->rate() == rate &&
      stored->withdrawn() == req.withdrawn() && stored->note() == req.note()) {
    change.rate = *stored;
    change.unchanged = true;
    return change;
  }
  v1::ExchangeRate& e = change.rate;
  if (stored) {
    e = *stored;
    *e.add_history() = RevisionOf(*stored);
    const int excess = e.history_size() - kMaxRateHistory;
    if (excess > 0) {
      e.mutable_history()->DeleteSubrange(0, excess);
    }
  }
  e.set_currency(in.currency);
  *e.mutable_start_date() = ToProto(in.start);
  e.set_rate(rate);
  e.set_reporting_currency(std::string(reporting_currency));
  e.set_withdrawn(req.withdrawn());
  e.set_updated_micros(Micros(now));
  e.set_updated_by(std::string(by));
  e.set_note(req.note());
  change.insert = !stored.has_value();
  return change;
}

}  // namespace salesops::accounts
