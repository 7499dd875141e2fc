#include "common/webhook/webhook_store.h"

#include "absl/strings/str_cat.h"
#include "common/status/errors.h"
#include "common/status/macros.h"
#include "common/store/ids.h"
#include "common/store/key.h"
#include "common/webhook/webhook_rules.h"

namespace salesops::webhook {
namespace {

constexpr uint8_t kWebhookTag = 1;
constexpr uint8_t kSecretTag = 2;
constexpr uint8_t kStreakTag = 3;

std::string Key(uint8_t tag, const std::string& id) {
  return KeyBuilder(tag).Str(id).key();
}
std::string CursorSource(const std::string& id) {
  return absl::StrCat("webhook:", id);
}
absl::Status NotFound(const std::string& id) {
  return absl::NotFoundError(absl::StrCat("webhook ", id, " not found"));
}

// The streak is kept as a Webhook holding only last_error and
// failing_since_micros.
std::string EncodeStreak(const Streak& s) {
  v1::Webhook w;
  w.set_last_error(s.error);
  w.set_failing_since_micros(s.since_micros);
  return w.SerializeAsString();
}

absl::StatusOr<v1::Webhook> Parse(const std::string& bytes) {
  v1::Webhook w;
  if (!w.ParseFromString(bytes)) {
    return absl::DataLossError("webhook: corrupt record");
  }
  return w;
}

// The subscription `id` as stored, read inside `txn` (NOT_FOUND when absent);
// `bytes` gets its stored form.
absl::StatusOr<v1::Webhook> ReadInTxn(WriteTxn& txn, CfRef cf,
                                      const std::string& id,
                                      std::string* bytes) {
  ASSIGN_OR_RETURN(std::optional<std::string> stored,
                   txn.Get(cf, Key(kWebhookTag, id)));
  if (!stored) {
    return NotFound(id);
  }
  *bytes = std::move(*stored);
  return Parse(*bytes);
}

}  // namespace

absl::StatusOr<v1::Webhook> WebhookStore::Create(const Actor& actor,
                                                 v1::Webhook webhook,
                                                 const std::string& secret) {
  const absl::Time now = store_->clock()->Now();
  webhook.set_id(NewId("whk", now));
  webhook.set_state(v1::Webhook::STATE_ACTIVE);
  webhook.set_secret_hint(SecretHint(secret));
  webhook.set_create_time_micros(absl::ToUnixMicros(now));
  webhook.set_version(1);
  const std::string epoch = store_->epoch();
  absl::Status wrote =
      store_
          ->Write(actor,
                  [&](WriteTxn& txn) -> absl::Status {
                    int count = 0;
                    const std::string start = KeyBuilder(kWebhookTag).key();
                    RETURN_IF_ERROR(
                        txn.Scan(cf_, start, PrefixSuccessor(start),
                                 [&](std::string_view, std::string_view) {
                                   return ++count < kMaxSubscriptions;
                                 }));
                    if (count >= kMaxSubscriptions) {
                      return FailedPrecondition(
                          "TOO_MANY_WEBHOOKS", "webhooks",
                          absl::StrCat("at most ", kMaxSubscriptions,
                                       " webhooks per service; delete one"));
                    }
                    txn.Put(cf_, Key(kWebhookTag, webhook.id()),
                            webhook.SerializeAsString());
                    txn.Put(cf_, Key(kSecretTag, webhook.id()), secret);
                    const uint64_t seq =
                        txn.Emit(kWebhookKind, webhook.id(), webhook);
                    txn.PutFeedCursor(CursorSource(webhook.id()),
                                      FeedCursor{seq, epoch, 0});
                    return absl::OkStatus();
                  })
          .status();
  RETURN_IF_ERROR(wrote);
  ASSIGN_OR_RETURN(std::optional<v1::Webhook> stored, Get(webhook.id()));
  return stored.value_or(webhook);
}

absl::StatusOr<v1::Webhook> WebhookStore::SetState(
    const Actor& actor, const std::string& id, v1::Webhook::State state,
    std::optional<std::string> last_error,
    std::optional<v1::Webhook::State> only_from) {
  v1::Webhook after;
  const std::string epoch = store_->epoch();
  const uint64_t first = store_->first_sequence();
  RETURN_IF_ERROR(
      store_
          ->Write(actor,
                  [&](WriteTxn& txn) -> absl::Status {
                    std::string bytes;
                    ASSIGN_OR_RETURN(v1::Webhook before,
                                     ReadInTxn(txn, cf_, id, &bytes));
                    after = before;
                    if (only_from && before.state() != *only_from) {
                      return absl::OkStatus();
                    }
                    after.set_state(state);
                    if (last_error) {
                      after.set_last_error(*last_error);
                    }
                    if (after.SerializeAsString() == bytes) {
                      return absl::OkStatus();  // idempotent: no change
                    }
                    after.set_version(before.version() + 1);
                    if (state == v1::Webhook::STATE_ACTIVE &&
                        before.state() != v1::Webhook::STATE_ACTIVE) {
                      after.clear_last_error();
                      txn.Delete(cf_, Key(kStreakTag, id));
                    }
                    if (before.state() == v1::Webhook::STATE_AUTO_PAUSED &&
                        state == v1::Webhook::STATE_ACTIVE) {
                      ASSIGN_OR_RETURN(FeedCursor c,
                                       txn.GetFeedCursor(CursorSource(id)));
                      c.epoch = epoch;
                      c.sequence = std::max(c.sequence, first - 1);
                      txn.PutFeedCursor(CursorSource(id), c);
                    }
                    txn.Put(cf_, Key(kWebhookTag, id),
                            after.SerializeAsString());
                    txn.Emit(kWebhookKind, id, after, &before);
                    return absl::OkStatus();
                  })
          .status());
  ASSIGN_OR_RETURN(std::optional<v1::Webhook> stored, Get(id));
  return stored.value_or(after);
}

absl::Status WebhookStore::Delete(const Actor& actor, const std::string& id) {
  return store_
      ->Write(actor,
              [&](WriteTxn& txn) -> absl::Status {
                std::string bytes;
                ASSIGN_OR_RETURN(v1::Webhook before,
                                 ReadInTxn(txn, cf_, id, &bytes));
                v1::Webhook gone = before;
                gone.set_state(v1::Webhook::STATE_UNSPECIFIED);
                gone.set_version(before.version() + 1);
                for (uint8_t tag : {kWebhookTag, kSecretTag, kStreakTag}) {
                  txn.Delete(cf_, Key(tag, id));
                }
                txn.PutFeedCursor(CursorSource(id), FeedCursor{});
                txn.Emit(kWebhookKind, id, gone, &before);
                return absl::OkStatus();
              })
      .status();
}

absl::StatusOr<std::optional<v1::Webhook>> WebhookStore::Get(
    const std::string& id) const {
  ASSIGN_OR_RETURN(std::optional<std::string> bytes,
                   store_->Get(cf_, Key(kWebhookTag, id)));
  if (!bytes) {
    return std::nullopt;
  }
  ASSIGN_OR_RETURN(v1::Webhook w, Parse(*bytes));
  ASSIGN_OR_RETURN(FeedCursor c, Cursor(id));
  w.set_delivered_sequence(c.sequence);
  w.set_epoch(c.epoch);
  ASSIGN_OR_RETURN(std::optional<std::string> streak,
                   store_->Get(cf_, Key(kStreakTag, id)));
  if (streak && w.last_error().empty()) {
    ASSIGN_OR_RETURN(v1::Webhook s, Parse(*streak));
    w.set_last_error(s.last_error());
    w.set_failing_since_micros(s.failing_since_micros());
  }
  return w;
}

absl::StatusOr<std::string> WebhookStore::Secret(const std::string& id) const {
  ASSIGN_OR_RETURN(std::optional<std::string> secret,
                   store_->Get(cf_, Key(kSecretTag, id)));
  if (!secret) {
    return NotFound(id);
  }
  return *secret;
}

absl::StatusOr<std::vector<v1::Webhook>> WebhookStore::List(
    const std::string& after, int limit, bool* more) const {
  const std::string prefix = KeyBuilder(kWebhookTag).key();
  const std::string start =
      after.empty() ? prefix : PrefixSuccessor(Key(kWebhookTag, after));
  std::vector<std::string> ids;
  *more = false;
  RETURN_IF_ERROR(store_->Scan(
      cf_, start, PrefixSuccessor(prefix),
      [&](std::string_view, std::string_view value) {
        if (static_cast<int>(ids.size()) >= limit) {
          *more = true;
          return false;
        }
        v1::Webhook w;
        w.ParseFromArray(value.data(), static_cast<int>(value.size()));
        ids.push_back(w.id());
        return true;
      }));
  std::vector<v1::Webhook> out;
  for (const std::string& id : ids) {
    ASSIGN_OR_RETURN(std::optional<v1::Webhook> w, Get(id));
    if (w) {
      out.push_back(std::move(*w));
    }
  }
  return out;
}

absl::Status WebhookStore::Advance(const std::string& id, uint64_t sequence) {
  return store_
      ->Write(SystemActor("webhook-delivery"),
              [&](WriteTxn& txn) -> absl::Status {
                ASSIGN_OR_RETURN(std::optional<std::string> bytes,
                                 txn.Get(cf_, Key(kWebhookTag, id)));
                if (!bytes) {
                  return absl::OkStatus();  // deleted meanwhile
                }
                ASSIGN_OR_RETURN(FeedCursor c,
                                 txn.GetFeedCursor(CursorSource(id)));
                c.sequence = sequence;
                c.fingerprint = 0;
                txn.PutFeedCursor(CursorSource(id), c);
                return absl::OkStatus();
              })
      .status();
}

absl::StatusOr<FeedCursor> WebhookStore::Cursor(const std::string& id) const {
  return store_->GetFeedCursor(CursorSource(id));
}

absl::Status WebhookStore::PutStreak(const std::string& id,
                                     const Streak& streak) {
  return store_
      ->Write(SystemActor("webhook-delivery"),
              [&](WriteTxn& txn) -> absl::Status {
                ASSIGN_OR_RETURN(std::optional<std::string> bytes,
                                 txn.Get(cf_, Key(kWebhookTag, id)));
                if (!bytes) {
                  return absl::OkStatus();
                }
                if (streak.since_micros == 0) {
                  txn.Delete(cf_, Key(kStreakTag, id));
                } else {
                  txn.Put(cf_, Key(kStreakTag, id), EncodeStreak(streak));
                }
                return absl::OkStatus();
              })
      .status();
}

}  // namespace salesops::webhook
