#include "services/credit/currency_rules.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status/macros.h"
#include "common/time/fiscal_calendar.h"

namespace salesops::credit {

Converter::Converter(const money::RateTable* rates, std::string target,
                     absl::CivilDay day)
    : rates_(rates),
      target_(std::move(target)),
      day_(day),
      target_rate_(rates->RateOn(target_, day)) {}

absl::StatusOr<std::optional<int64_t>> Converter::Convert(const v1::Money& m) {
  if (m.currency() == target_) {
    return std::optional<int64_t>(m.units_minor());
  }
  const std::optional<money::Decimal> from = rates_->RateOn(m.currency(), day_);
  if (!from.has_value() || !target_rate_.has_value()) {
    // Recorded under the currency without a rate: the source's when it has
    // none (its amount is what is unconverted), else the target's.
    if (!from.has_value()) {
      Gap& g = missing_[m.currency()];
      ++g.count;
      g.sum.Add(m.units_minor());
    } else {
      ++missing_[target_].count;
    }
    return std::optional<int64_t>();
  }
  ASSIGN_OR_RETURN(
      const int64_t converted,
      money::Convert(m.units_minor(), money::CurrencyExponent(m.currency()),
                     money::CurrencyExponent(target_), {*from},
                     {*target_rate_}));
  return std::optional<int64_t>(converted);
}

absl::StatusOr<std::vector<v1::MissingRate>> Converter::Missing() const {
  std::vector<v1::MissingRate> out;
  for (const auto& [currency, gap] : missing_) {
    ASSIGN_OR_RETURN(const int64_t sum, gap.sum.Total());
    v1::MissingRate& m = out.emplace_back();
    m.set_currency(currency);
    *m.mutable_date() = ToProto(day_);
    m.set_count(gap.count);
    *m.mutable_amount() = money::Make(sum, currency);
  }
  return out;
}

absl::Status MergeMissing(const std::vector<v1::MissingRate>& add,
                          std::vector<v1::MissingRate>* into) {
  for (const v1::MissingRate& a : add) {
    v1::MissingRate* same = nullptr;
    for (v1::MissingRate& m : *into) {
      if (m.currency() == a.currency() &&
          m.date().SerializeAsString() == a.date().SerializeAsString()) {
        same = &m;
      }
    }
    if (same == nullptr) {
      into->push_back(a);
      continue;
    }
    ASSIGN_OR_RETURN(const int64_t sum, money::Add(same->amount().units_minor(),
                                                   a.amount().units_minor()));
    same->set_count(same->count() + a.count());
    same->mutable_amount()->set_units_minor(sum);
  }
  return absl::OkStatus();
}

std::string MissingRateReason(const v1::MissingRate& m,
                              const std::string& limit_currency) {
  const std::string day = absl::StrFormat("%04d-%02d-%02d", m.date().year(),
                                          m.date().month(), m.date().day());
  return absl::StrCat(
      "no exchange rate for ", m.currency(), " on ", day, " (", m.count(),
      m.count() == 1 ? " amount, " : " amounts, ",
      money::Format(m.amount().units_minor(),
                    money::CurrencyExponent(m.currency())),
      " ", m.currency(),
      " unconverted): exposure cannot be compared with the limit in ",
      limit_currency);
}

}  // namespace salesops::credit
