#pragma once

// credit ← pipeline: the pipeline consumer's ResyncFn (common/feed/
// feed_consumer.h), called when pipeline answers OUT_OF_RANGE (credit was
// down past the feed's retention, started after it, or pipeline was
// restored: versions restart lower and what was created after the backup is
// gone). It REPLACES credit's copy of pipeline (PLAN decision 4): the stage
// models in one transaction, then the opportunities page by page as they
// are listed — each applied as its feed event would be
// (CreditServiceImpl::ApplyPipeline: a contract_signed stage opens its
// receivable once, a close without a sale releases its commitment) — then
// the opportunities no page listed are forgotten (their account and their
// contracted-not-invoiced commitment: the deal no longer exists), then the
// cursor last at the listing's first feed position. Credit's own data stays:
// a receivable opened for a contract is a real debt whatever became of the
// deal.

#include "absl/status/status.h"
#include "common/server/peer.h"
#include "common/store/store.h"
#include "services/credit/credit_service.h"

namespace salesops::credit {

[[nodiscard]] absl::Status ResyncPipeline(const PeerChannel& pipeline,
                                          Store& store,
                                          CreditServiceImpl& service);

}  // namespace salesops::credit
