#include "services/accounts/quota_rules.h"

#include <cstdint>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/money/money.h"
#include "common/status/errors.h"
#include "common/status/macros.h"
#include "common/status/violations.h"
#include "common/time/clock.h"

namespace salesops::accounts {
namespace {

void ValidatePeriod(const std::string& node_id, int32_t year, int32_t quarter,
                    Violations& v) {
  if (node_id.empty()) {
    v.Add("node_id: required");
  }
  if (year < 1 || year > 9999) {
    v.Add("fiscal_year: must be 1..9999");
  }
  if (quarter < 1 || quarter > 4) {
    v.Add(absl::StrCat("fiscal_quarter: must be 1..4, got ", quarter));
  }
}

// The currencies of the explicit quotas the effective quota of subtree[0]
// sums: each explicit quota with no explicit quota on its path up to (and
// including) subtree[0]. Parents come before their children in `subtree`.
template <typename CurrencyOf>
std::set<std::string> SummedCurrencies(const std::vector<QuotaNode>& subtree,
                                       const CurrencyOf& currency_of) {
  std::set<std::string> currencies;
  std::set<std::string> covered;  // nodes under (or at) an explicit quota
  for (const QuotaNode& node : subtree) {
    const bool under =
        covered.count(node.parent_id) > 0 && node.id != subtree.front().id;
    if (under) {
      covered.insert(node.id);
      continue;
    }
    if (node.explicit_quota_minor.has_value()) {
      currencies.insert(currency_of(node.id));
      covered.insert(node.id);
    }
  }
  return currencies;
}

}  // namespace

std::string QuotaKey(std::string_view node_id, int32_t year, int32_t quarter) {
  return absl::StrFormat("%s/%04d/Q%d", std::string(node_id), year, quarter);
}

absl::Status CheckSetQuota(const v1::SetQuotaRequest& req) {
  Violations v;
  ValidatePeriod(req.node_id(), req.fiscal_year(), req.fiscal_quarter(), v);
  v.Add(money::ValidateAnyCurrency(req.amount(), "amount",
                                   money::Sign::kNonNegative));
  return v.status();
}

absl::Status CheckGetQuota(const v1::GetQuotaRequest& req) {
  Violations v;
  ValidatePeriod(req.node_id(), req.fiscal_year(), req.fiscal_quarter(), v);
  return v.status();
}

absl::StatusOr<QuotaChange> SetQuota(const std::string& node_id,
                                     const std::optional<v1::Quota>& stored,
                                     const v1::SetQuotaRequest& req,
                                     const RequireWriterFn& scope,
                                     absl::Time now) {
  RETURN_IF_ERROR(scope(node_id, "quotas"));
  if (!stored && req.expected_version() != 0) {
    return absl::AbortedError(absl::StrCat(
        "quota ", QuotaKey(node_id, req.fiscal_year(), req.fiscal_quarter()),
        ": expected_version ", req.expected_version(),
        " but no quota is set yet"));
  }
  QuotaChange change;
  v1::Quota& q = change.quota;
  q.set_node_id(node_id);
  q.set_fiscal_year(req.fiscal_year());
  q.set_fiscal_quarter(req.fiscal_quarter());
  *q.mutable_amount() = req.amount();
  q.set_updated_micros(Micros(now));
  change.insert = !stored.has_value();
  return change;
}

absl::Status AnswerQuota(
    const std::vector<QuotaNode>& subtree,
    const std::map<std::string, std::string>& quota_currency,
    const std::string& reporting_currency, v1::GetQuotaResponse* resp) {
  using Effective = std::map<std::string, int64_t>;
  ASSIGN_OR_RETURN(const Effective effective, EffectiveQuotas(subtree));
  const QuotaNode& top = subtree.at(0);
  const auto currency_of = [&](const std::string& id) {
    auto it = quota_currency.find(id);
    return it == quota_currency.end() ? reporting_currency : it->second;
  };
  if (top.explicit_quota_minor.has_value()) {
    resp->set_has_explicit(true);
    *resp->mutable_explicit_() =
        money::Make(*top.explicit_quota_minor, currency_of(top.id));
  }
  const std::set<std::string> currencies =
      SummedCurrencies(subtree, currency_of);
  if (currencies.size() > 1) {
    return FailedPrecondition(
        "QUOTA_CURRENCIES_DIFFER", top.id,
        absl::StrCat("the effective quota of ", top.id,
                     " sums quotas in several currencies (",
                     absl::StrJoin(currencies, ", "),
                     "); accounts does not convert currencies: ask the "
                     "forecast service's GetForecast, which converts them to "
                     "the reporting currency"));
  }
  *resp->mutable_effective() = money::Make(
      effective.at(top.id),
      currencies.empty() ? reporting_currency : *currencies.begin());
  return absl::OkStatus();
}

}  // namespace salesops::accounts
