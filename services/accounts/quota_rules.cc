#include "services/accounts/quota_rules.h"

#include <cstdint>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/money/money.h"
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

}  // namespace

std::string QuotaKey(std::string_view node_id, int32_t year, int32_t quarter) {
  return absl::StrFormat("%s/%04d/Q%d", std::string(node_id), year, quarter);
}

absl::Status CheckSetQuota(const v1::SetQuotaRequest& req,
                           const std::string& currency) {
  Violations v;
  ValidatePeriod(req.node_id(), req.fiscal_year(), req.fiscal_quarter(), v);
  if (absl::Status m = money::Validate(req.amount(), currency, "amount",
                                       money::Sign::kNonNegative);
      !m.ok()) {
    v.Add(std::string(m.message()));
  }
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

absl::Status AnswerQuota(const std::vector<QuotaNode>& subtree,
                         const std::string& currency,
                         v1::GetQuotaResponse* resp) {
  using Effective = std::map<std::string, int64_t>;
  ASSIGN_OR_RETURN(const Effective effective, EffectiveQuotas(subtree));
  const QuotaNode& top = subtree.at(0);
  if (top.explicit_quota_minor.has_value()) {
    resp->set_has_explicit(true);
    *resp->mutable_explicit_() =
        money::Make(*top.explicit_quota_minor, currency);
  }
  *resp->mutable_effective() = money::Make(effective.at(top.id), currency);
  return absl::OkStatus();
}

}  // namespace salesops::accounts
