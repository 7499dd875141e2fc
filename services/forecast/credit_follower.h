#pragma once

// The forecast's resync of the credit feed: the consumer's ResyncFn
// (common/feed/feed_consumer.h), called when credit answers OUT_OF_RANGE — the
// forecast was down longer than the feed's retention, started long after the
// feed began, or credit was restored. It lists credit's whole state with its
// paged List RPCs and REPLACES the forecast's copy with it (PLAN decision 4):
// page-sized transactions, then the stored entities the listing lacks are
// removed, then the cursor is stored last at the first page's feed position
// (later events are applied again, ignored by version; a crash midway keeps
// the old cursor, so a restart resyncs again). The Rollup follows each
// transaction (ForecastView "Replacing a feed's copy"). Called with the
// forecast's SERVICE token; never on the query path.

#include "absl/status/status.h"
#include "common/server/peer.h"
#include "services/forecast/forecast_view.h"

namespace salesops::forecast {

// forecast ← credit: every opportunity's collection, page by page, replacing
// the forecast's copy (an opportunity credit no longer lists has nothing
// collected).
[[nodiscard]] absl::Status ResyncCredit(const PeerChannel& credit,
                                        ForecastView& view);

}  // namespace salesops::forecast
