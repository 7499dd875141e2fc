#pragma once

// The subscriptions of one service in its own store (DECISIONS D35): the
// "webhooks" column family the runtime adds after the service's own. Per
// subscription: the Webhook (state, filter, ...), its secret (apart, never in
// the feed or a response but Create's), its failure streak, and its cursor in
// the meta column family (Store's feed cursors, source "webhook:<id>": the
// last delivered sequence and the epoch it belongs to). Every change of
// the Webhook itself is emitted as a "webhooks.Webhook" feed event, so it is
// audited like any entity; cursor and streak writes are not (they are the
// deliverer's bookkeeping).

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/store/actor.h"
#include "common/store/store.h"
#include "salesops/v1/webhook.pb.h"

namespace salesops::webhook {

// The failure streak of a subscription: when it began (0 = not failing) and
// the first error of it.
struct Streak {
  int64_t since_micros = 0;
  std::string error;
};

class WebhookStore {
 public:
  // `store` is not owned; `cf` is the "webhooks" column family.
  WebhookStore(Store* store, CfRef cf) : store_(store), cf_(cf) {}

  // Stores a new ACTIVE subscription (id, times and version set here) with
  // `secret`, whose cursor starts at its own creation event: it gets every
  // event committed after it. FAILED_PRECONDITION beyond kMaxSubscriptions.
  [[nodiscard]] absl::StatusOr<v1::Webhook> Create(const Actor& actor,
                                                   v1::Webhook webhook,
                                                   const std::string& secret);
  // Sets the state (and last_error when given); NOT_FOUND when missing; no
  // change when `only_from` is given and the state is another. Becoming
  // ACTIVE again ends the failure streak; from AUTO_PAUSED it also moves the
  // cursor to the store's epoch and past trimmed events (the admin has read
  // last_error, which said so).
  [[nodiscard]] absl::StatusOr<v1::Webhook> SetState(
      const Actor& actor, const std::string& id, v1::Webhook::State state,
      std::optional<std::string> last_error = std::nullopt,
      std::optional<v1::Webhook::State> only_from = std::nullopt);
  [[nodiscard]] absl::Status Delete(const Actor& actor, const std::string& id);

  // The subscription with its cursor and streak filled in.
  [[nodiscard]] absl::StatusOr<std::optional<v1::Webhook>> Get(
      const std::string& id) const;
  [[nodiscard]] absl::StatusOr<std::string> Secret(const std::string& id) const;
  // Up to `limit` subscriptions after id `after` ("" = from the first), in id
  // order; `*more` tells whether others follow.
  [[nodiscard]] absl::StatusOr<std::vector<v1::Webhook>> List(
      const std::string& after, int limit, bool* more) const;

  // Moves the cursor to `sequence` (same epoch) unless the subscription is
  // gone; durable when it returns.
  [[nodiscard]] absl::Status Advance(const std::string& id, uint64_t sequence);
  [[nodiscard]] absl::StatusOr<FeedCursor> Cursor(const std::string& id) const;
  // Records the start (since_micros != 0) or the end of a failure streak.
  [[nodiscard]] absl::Status PutStreak(const std::string& id,
                                       const Streak& streak);

 private:
  Store* store_;
  CfRef cf_;
};

}  // namespace salesops::webhook
