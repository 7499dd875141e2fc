#pragma once

// Out-of-funnel sales (SPEC.md §4.4): the rules of recording one, as pure
// functions (no grpc, no store): what a request must hold, which node may
// carry it, and the sale stored for it.

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "salesops/v1/forecast.pb.h"

namespace salesops::forecast {

// The fields of a sale to record (INVALID_ARGUMENT naming every violated
// one): its date. Its amount may be in any active ISO 4217 currency (the
// forecast converts it at its date's rate).
[[nodiscard]] absl::StatusOr<absl::CivilDay> ValidateSale(
    const v1::OutOfFunnelSale& in);

// Sales are booked on a REP node the forecast knows: FAILED_PRECONDITION when
// `kind` (the node's OrgNodeKind as followed) is unknown, INVALID_ARGUMENT
// when it is not a REP.
[[nodiscard]] absl::Status CheckSaleNode(const std::string& rep_node_id,
                                         std::optional<int> kind);

// The sale stored for `in`: id, trimmed note, who recorded it and when.
v1::OutOfFunnelSale NewSale(const v1::OutOfFunnelSale& in, std::string id,
                            const std::string& recorded_by, absl::Time now);

}  // namespace salesops::forecast
