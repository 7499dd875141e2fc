// The Rollup's currencies (issue 19; rollup.h): each deal or out-of-funnel
// sale is converted into the reporting currency at the rate its caller looked
// up, weighting and conversion rounded once together (money::Convert), and
// every aggregate also keeps its figures per original currency — what the
// answer's breakdown and missing_rates show.

#include <algorithm>
#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/money/money.h"
#include "common/status/macros.h"
#include "services/forecast/rollup.h"

namespace salesops::forecast {
namespace {

bool FitsInt64(__int128 v) { return v <= INT64_MAX && v >= INT64_MIN; }

}  // namespace

void Rollup::SetReportingCurrency(const std::string& code) {
  reporting_ = code;
  reporting_exponent_ = money::CurrencyExponent(code);
}

int Rollup::InternCurrency(const std::string& code) {
  auto it = currency_index_.find(code);
  if (it != currency_index_.end()) {
    return it->second;
  }
  const int c = static_cast<int>(currency_codes_.size());
  currency_codes_.push_back(code);
  currency_index_.emplace(code, c);
  return c;
}

absl::StatusOr<Rollup::Priced> Rollup::Price(
    const std::string& currency, const std::optional<money::Decimal>& rate,
    int64_t amount_minor, int32_t bp) const {
  Priced p;
  ASSIGN_OR_RETURN(p.weighted_orig, money::WeightBp(amount_minor, bp));
  if (currency.empty() || currency == reporting_) {
    p.amount = amount_minor;
    p.weighted = p.weighted_orig;
    return p;
  }
  if (!rate.has_value()) {
    p.missing = true;
    return p;
  }
  const int from = money::CurrencyExponent(currency);
  ASSIGN_OR_RETURN(p.amount, money::Convert(amount_minor, from,
                                            reporting_exponent_, {*rate}, {}));
  ASSIGN_OR_RETURN(
      p.weighted,
      money::Convert(amount_minor, from, reporting_exponent_, {*rate}, {}, bp));
  return p;
}

void Rollup::CurrencyContribution(const OppFacts& facts, const Priced& p,
                                  Agg* d) {
  const int c =
      InternCurrency(facts.currency.empty() ? reporting_ : facts.currency);
  if (d->currencies.size() <= static_cast<size_t>(c)) {
    d->currencies.resize(c + 1);
  }
  WideCurrency& wc = d->currencies[c];
  if (facts.status == OppFacts::Status::kOpen) {
    wc.open_count = 1;
    wc.pipeline_amount = facts.amount_minor;
    wc.pipeline_weighted = p.weighted_orig;
    wc.pipeline_weighted_converted = p.weighted;
    if (p.missing) {
      wc.missing_open_count = 1;
      wc.missing_open_amount = facts.amount_minor;
    }
  } else {
    wc.won_count = 1;
    wc.closed = facts.amount_minor;
    wc.closed_converted = p.amount;
    if (p.missing) {
      wc.missing_closed_count = 1;
      wc.missing_closed_amount = facts.amount_minor;
    }
  }
}

bool Rollup::IsZero(const WideCurrency& c) {
  return c.open_count == 0 && c.pipeline_amount == 0 &&
         c.pipeline_weighted == 0 && c.pipeline_weighted_converted == 0 &&
         c.won_count == 0 && c.closed == 0 && c.closed_converted == 0 &&
         c.missing_open_count == 0 && c.missing_open_amount == 0 &&
         c.missing_closed_count == 0 && c.missing_closed_amount == 0;
}

void Rollup::AddCurrency(WideCurrency& into, const WideCurrency& d,
                         bool negate) {
  const int64_t k = negate ? -1 : 1;
  into.open_count += k * d.open_count;
  into.pipeline_amount += k * d.pipeline_amount;
  into.pipeline_weighted += k * d.pipeline_weighted;
  into.pipeline_weighted_converted += k * d.pipeline_weighted_converted;
  into.won_count += k * d.won_count;
  into.closed += k * d.closed;
  into.closed_converted += k * d.closed_converted;
  into.missing_open_count += k * d.missing_open_count;
  into.missing_open_amount += k * d.missing_open_amount;
  into.missing_closed_count += k * d.missing_closed_count;
  into.missing_closed_amount += k * d.missing_closed_amount;
}

absl::Status Rollup::ReadCurrencies(const Agg& a,
                                    std::vector<CurrencyFigures>* out) const {
  for (size_t i = 0; i < a.currencies.size(); ++i) {
    const WideCurrency& w = a.currencies[i];
    if (IsZero(w)) continue;
    for (__int128 v :
         {w.pipeline_amount, w.pipeline_weighted, w.pipeline_weighted_converted,
          w.closed, w.closed_converted, w.missing_open_amount,
          w.missing_closed_amount}) {
      if (!FitsInt64(v)) {
        return absl::OutOfRangeError(absl::StrCat("a figure of currency ",
                                                  currency_codes_[i],
                                                  " does not fit int64"));
      }
    }
    out->push_back(CurrencyFigures{
        currency_codes_[i], w.open_count,
        static_cast<int64_t>(w.pipeline_amount),
        static_cast<int64_t>(w.pipeline_weighted),
        static_cast<int64_t>(w.pipeline_weighted_converted), w.won_count,
        static_cast<int64_t>(w.closed),
        static_cast<int64_t>(w.closed_converted), w.missing_open_count,
        static_cast<int64_t>(w.missing_open_amount), w.missing_closed_count,
        static_cast<int64_t>(w.missing_closed_amount)});
  }
  std::sort(out->begin(), out->end(),
            [](const CurrencyFigures& x, const CurrencyFigures& y) {
              return x.currency < y.currency;
            });
  return absl::OkStatus();
}

int64_t Rollup::MissingIn(const Agg& d) {
  int64_t n = 0;
  for (const WideCurrency& c : d.currencies) {
    n += c.missing_open_count + c.missing_closed_count;
  }
  return n;
}

}  // namespace salesops::forecast
