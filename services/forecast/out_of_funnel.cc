#include "services/forecast/out_of_funnel.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/money/money.h"
#include "common/status/macros.h"
#include "common/status/violations.h"
#include "common/time/clock.h"
#include "common/time/fiscal_calendar.h"
#include "salesops/v1/accounts.pb.h"

namespace salesops::forecast {

absl::StatusOr<absl::CivilDay> ValidateSale(const v1::OutOfFunnelSale& in) {
  Violations v;
  if (in.rep_node_id().empty()) {
    v.Add("sale.rep_node_id: required (a REP node)");
  }
  v.Add(money::ValidateAnyCurrency(in.amount(), "sale.amount",
                                   money::Sign::kPositive));
  absl::StatusOr<absl::CivilDay> day = FromProto(in.date(), "sale.date");
  v.Add(day.status());
  if (in.note().size() > 2000) {
    v.Add("sale.note: at most 2000 characters");
  }
  RETURN_IF_ERROR(v.status());
  return *day;
}

absl::Status CheckSaleNode(const std::string& rep_node_id,
                           std::optional<int> kind) {
  if (!kind) {
    return absl::FailedPreconditionError(
        absl::StrCat("sale.rep_node_id: org node ", rep_node_id,
                     " is not known to the forecast (not in the accounts "
                     "feed yet?)"));
  }
  if (*kind != v1::ORG_NODE_KIND_REP) {
    return absl::InvalidArgumentError(
        absl::StrCat("sale.rep_node_id: org node ", rep_node_id,
                     " is not a REP node; out-of-funnel sales are booked on a "
                     "rep"));
  }
  return absl::OkStatus();
}

v1::OutOfFunnelSale NewSale(const v1::OutOfFunnelSale& in, std::string id,
                            const std::string& recorded_by, absl::Time now) {
  v1::OutOfFunnelSale s = in;
  s.set_id(std::move(id));
  s.set_note(Trimmed(s.note()));
  s.set_recorded_by(recorded_by);
  s.set_created_micros(Micros(now));
  return s;
}

}  // namespace salesops::forecast
