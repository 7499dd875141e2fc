#pragma once

// credit ← accounts: the accounts consumer's ResyncFn (common/feed/
// feed_consumer.h), called when accounts answers OUT_OF_RANGE (credit was
// down past the feed's retention, started after it, or accounts was
// restored). Lists every org node and every account's owner and REPLACES the
// OrgMirror's copy with them (PLAN decision 4): the tree in one transaction,
// the accounts page by page as they are listed, those no page listed
// removed, the cursor last at the first page's feed position. Role scopes
// (OrgMirror) follow each transaction. Called with credit's SERVICE token.

#include "absl/status/status.h"
#include "common/org/org_mirror.h"
#include "common/server/peer.h"

namespace salesops::credit {

[[nodiscard]] absl::Status ResyncAccounts(const PeerChannel& accounts,
                                          OrgMirror& org);

}  // namespace salesops::credit
