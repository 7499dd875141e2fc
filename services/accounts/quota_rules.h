#pragma once

// Transitions and answers of quotas of our sales organization (SPEC.md
// §2.3). Pure: the handler reads the stored state inside its transaction,
// calls these, and writes what they return.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "salesops/v1/accounts.pb.h"
#include "services/accounts/org_tree.h"
#include "services/accounts/rules_support.h"

namespace salesops::accounts {

// "<node id>/<year>/Q<quarter>": the id of a quota; sorts a node's quotas by
// period.
std::string QuotaKey(std::string_view node_id, int32_t year, int32_t quarter);

// INVALID_ARGUMENT with every field violation (before the transaction);
// amounts are in any active ISO 4217 currency (issue 19: the forecast
// converts them) and not negative.
[[nodiscard]] absl::Status CheckSetQuota(const v1::SetQuotaRequest& req);
[[nodiscard]] absl::Status CheckGetQuota(const v1::GetQuotaRequest& req);

struct QuotaChange {
  v1::Quota quota;
  bool insert = false;  // no quota was set for the period yet
};

// Sets the quota of stored node `node_id` for the request's period at `now`.
// `stored` is the period's quota (nullopt when not set). ABORTED when the
// request expects a version but no quota is set; the scope's
// PERMISSION_DENIED.
[[nodiscard]] absl::StatusOr<QuotaChange> SetQuota(
    const std::string& node_id, const std::optional<v1::Quota>& stored,
    const v1::SetQuotaRequest& req, const RequireWriterFn& scope,
    absl::Time now);

// Fills the explicit and effective quota of subtree[0] (its subtree,
// parents before children, with each node's explicit quota);
// `quota_currency` maps each node with an explicit quota to that quota's
// currency. The effective quota is in the currency of the explicit quotas it
// sums (`reporting_currency` when it sums none). Accounts does not convert:
// FAILED_PRECONDITION (reason QUOTA_CURRENCIES_DIFFER) naming the currencies
// when the summed quotas are in more than one, pointing at the forecast's
// GetForecast, which converts; EffectiveQuotas' errors.
[[nodiscard]] absl::Status AnswerQuota(
    const std::vector<QuotaNode>& subtree,
    const std::map<std::string, std::string>& quota_currency,
    const std::string& reporting_currency, v1::GetQuotaResponse* resp);

}  // namespace salesops::accounts
