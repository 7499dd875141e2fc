#pragma once

// The forecast's resync of the accounts feed: the consumer's ResyncFn
// (common/feed/feed_consumer.h), called when accounts answers OUT_OF_RANGE —
// the forecast was down longer than the feed's retention, started long after
// the feed began, or accounts was restored. It lists accounts's whole state
// with its paged List RPCs and REPLACES the forecast's copy with it (PLAN
// decision 4): page-sized transactions, then the stored entities the listing
// lacks are removed, then the cursor is stored last at the first page's feed
// position (later events are applied again, ignored by version; a crash midway
// keeps the old cursor, so a restart resyncs again). The Rollup follows each
// transaction (ForecastView "Replacing a feed's copy"). Called with the
// forecast's SERVICE token; never on the query path.

#include "absl/status/status.h"
#include "common/server/peer.h"
#include "services/forecast/forecast_view.h"

namespace salesops::forecast {

// forecast ← accounts: every org node (one transaction: a re-org is applied
// whole) and every quota (ListQuotas), replacing the forecast's copy.
[[nodiscard]] absl::Status ResyncAccounts(const PeerChannel& accounts,
                                          ForecastView& view);

}  // namespace salesops::forecast
