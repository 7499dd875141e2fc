#pragma once

// Typed tables of protobuf entities on top of Store, and the rules every entity
// shares:
//   - the key is <tag><id>, the value the serialized message;
//   - `version` starts at 1 and grows by 1 per change; updates take
//   expected_version
//     (0 = don't care) and a mismatch is ABORTED;
//   - every insert and update emits an outbox event with the full new state,
//   and its audit record (store.h), in the same batch.
// Msg must have `int64 version` (version()/set_version()).

#include <google/protobuf/message.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "common/status/status.h"
#include "common/store/key.h"
#include "common/store/store.h"

namespace salesops {

// ABORTED when expected_version is set (non-zero) and differs from
// current_version; the message names both so the caller can re-read and retry.
// INVALID_ARGUMENT when expected_version < 0.
[[nodiscard]] absl::Status CheckVersion(std::string_view what,
                                        std::string_view id,
                                        int64_t expected_version,
                                        int64_t current_version);

template <typename Msg>
class Table {
 public:
  // `tag` tells this table's keys apart inside `cf`; `kind` names its events
  // (e.g. "accounts.Account"); `what` names an entity in messages (e.g.
  // "account").
  Table(Store* store, CfRef cf, uint8_t tag, std::string kind, std::string what)
      : store_(store),
        cf_(cf),
        tag_(tag),
        kind_(std::move(kind)),
        what_(std::move(what)) {
    if (store_ != nullptr) {
      store_->RegisterTable(kind_, cf_, tag_);
    }
  }

  const std::string& kind() const { return kind_; }
  std::string Key(std::string_view id) const {
    return KeyBuilder(tag_).Str(id).key();
  }

  // ---- committed state ----
  [[nodiscard]] absl::StatusOr<std::optional<Msg>> Find(
      std::string_view id) const {
    ASSIGN_OR_RETURN(std::optional<std::string> raw, store_->Get(cf_, Key(id)));
    return Decode(raw);
  }
  [[nodiscard]] absl::StatusOr<Msg> Get(std::string_view id) const {
    ASSIGN_OR_RETURN(std::optional<Msg> found, Find(id));
    return Required(std::move(found), id);
  }
  // Up to `limit` entities with id > after_id, in id order; `*more` tells
  // whether others follow.
  [[nodiscard]] absl::Status List(std::string_view after_id, size_t limit,
                                  std::vector<Msg>* out, bool* more) const {
    const std::string start =
        after_id.empty() ? KeyBuilder(tag_).key() : Key(after_id);
    const std::string end = PrefixSuccessor(KeyBuilder(tag_).key());
    absl::Status decode_error;
    *more = false;
    RETURN_IF_ERROR(store_->Scan(
        cf_, start, end, [&](std::string_view key, std::string_view v) {
          if (!after_id.empty() && key == start) {
            return true;
          }
          if (out->size() >= limit) {
            *more = true;
            return false;
          }
          Msg msg;
          if (!msg.ParseFromArray(v.data(), static_cast<int>(v.size()))) {
            decode_error =
                absl::DataLossError(absl::StrCat("store: corrupt ", what_));
            return false;
          }
          out->push_back(std::move(msg));
          return true;
        }));
    return decode_error;
  }

  // ---- inside a transaction ----
  [[nodiscard]] absl::StatusOr<std::optional<Msg>> Find(
      WriteTxn& txn, std::string_view id) const {
    ASSIGN_OR_RETURN(std::optional<std::string> raw, txn.Get(cf_, Key(id)));
    return Decode(raw);
  }
  [[nodiscard]] absl::StatusOr<Msg> Get(WriteTxn& txn,
                                        std::string_view id) const {
    ASSIGN_OR_RETURN(std::optional<Msg> found, Find(txn, id));
    return Required(std::move(found), id);
  }
  // Stores a new entity with version 1 and emits its event; ALREADY_EXISTS when
  // the id is taken.
  [[nodiscard]] absl::Status Insert(WriteTxn& txn, std::string_view id,
                                    Msg* msg) const {
    ASSIGN_OR_RETURN(std::optional<std::string> existing,
                     txn.Get(cf_, Key(id)));
    if (existing) {
      return absl::AlreadyExistsError(
          absl::StrCat(what_, " ", std::string(id), " already exists"));
    }
    msg->set_version(1);
    Write(txn, id, *msg, nullptr);
    return absl::OkStatus();
  }
  // Insert for an id made by NewId in this transaction (or derived from such
  // an id, like a first history entry's): no entity can hold it yet, so the
  // existence check's read is skipped (a read per row on the commit path,
  // D54). Precondition: the id is new; an old one would be overwritten.
  void InsertNew(WriteTxn& txn, std::string_view id, Msg* msg) const {
    msg->set_version(1);
    Write(txn, id, *msg, nullptr);
  }
  // Replaces an existing entity: checks expected_version against the stored
  // version, sets msg's version to stored + 1, stores it and emits its event.
  // NOT_FOUND when absent.
  [[nodiscard]] absl::Status Update(WriteTxn& txn, std::string_view id,
                                    int64_t expected_version, Msg* msg) const {
    ASSIGN_OR_RETURN(Msg stored, Get(txn, id));
    RETURN_IF_ERROR(
        CheckVersion(what_, id, expected_version, stored.version()));
    msg->set_version(stored.version() + 1);
    Write(txn, id, *msg, &stored);
    return absl::OkStatus();
  }

 private:
  void Write(WriteTxn& txn, std::string_view id, const Msg& msg,
             const Msg* before) const {
    std::string bytes = msg.SerializeAsString();
    txn.Put(cf_, Key(id), bytes);
    txn.Emit(kind_, id, msg, std::move(bytes), before);
  }
  absl::StatusOr<std::optional<Msg>> Decode(
      const std::optional<std::string>& raw) const {
    if (!raw) {
      return std::nullopt;
    }
    Msg msg;
    if (!msg.ParseFromString(*raw)) {
      return absl::DataLossError(absl::StrCat("store: corrupt ", what_));
    }
    return msg;
  }
  absl::StatusOr<Msg> Required(std::optional<Msg> found,
                               std::string_view id) const {
    if (!found) {
      return absl::NotFoundError(
          absl::StrCat(what_, " ", std::string(id), " not found"));
    }
    return std::move(*found);
  }

  Store* store_;
  CfRef cf_;
  uint8_t tag_;
  std::string kind_;
  std::string what_;
};

// A unique index: at most one id per value (a normalized name, an external_id,
// ...). Written in the same transaction as the entity it points to.
//
// `what` names the entity kind in Claim's error ("account", "opportunity").
class UniqueIndex {
 public:
  UniqueIndex(CfRef cf, uint8_t tag, std::string what = "")
      : cf_(cf), tag_(tag), what_(std::move(what)) {}
  std::string Key(std::string_view value) const {
    return KeyBuilder(tag_).Str(value).key();
  }
  [[nodiscard]] absl::StatusOr<std::optional<std::string>> Lookup(
      WriteTxn& txn, std::string_view value) const {
    return txn.Get(cf_, Key(value));
  }
  [[nodiscard]] absl::StatusOr<std::optional<std::string>> Lookup(
      const Store& store, std::string_view value) const {
    return store.Get(cf_, Key(value));
  }
  void Put(WriteTxn& txn, std::string_view value, std::string_view id) const {
    txn.Put(cf_, Key(value), id);
  }
  void Delete(WriteTxn& txn, std::string_view value) const {
    txn.Delete(cf_, Key(value));
  }
  // The one index update of a create or an update: moves entity `id` from
  // `old_value` to `new_value` ("" = not indexed; a create passes "" as
  // old_value). Nothing happens when they are equal. ALREADY_EXISTS
  // `<field>: "<new_value>" is already <what> <holder>` when another id holds
  // new_value, and nothing is written. Runs inside the entity's transaction.
  // `shown` replaces new_value in that message when the index holds a
  // normalized form (a case-folded name) and the caller's own text reads
  // better.
  [[nodiscard]] absl::Status Claim(WriteTxn& txn, std::string_view field,
                                   std::string_view old_value,
                                   std::string_view new_value,
                                   std::string_view id,
                                   std::string_view shown = {}) const;

 private:
  CfRef cf_;
  uint8_t tag_;
  std::string what_;
};

// A non-unique index: value → ids, listed in id order (e.g. opportunities by
// owner).
class MultiIndex {
 public:
  MultiIndex(CfRef cf, uint8_t tag) : cf_(cf), tag_(tag) {}
  void Put(WriteTxn& txn, std::string_view value, std::string_view id) const {
    txn.Put(cf_, KeyBuilder(tag_).Str(value).Str(id).key(), "");
  }
  void Delete(WriteTxn& txn, std::string_view value,
              std::string_view id) const {
    txn.Delete(cf_, KeyBuilder(tag_).Str(value).Str(id).key());
  }
  // Up to `limit` ids under `value` with id > after_id; `*more` tells whether
  // others follow.
  [[nodiscard]] absl::Status ListIds(const Store& store, std::string_view value,
                                     std::string_view after_id, size_t limit,
                                     std::vector<std::string>* ids,
                                     bool* more) const;
  // The same inside a transaction (sees its own and its group's writes).
  [[nodiscard]] absl::Status ListIds(WriteTxn& txn, std::string_view value,
                                     std::string_view after_id, size_t limit,
                                     std::vector<std::string>* ids,
                                     bool* more) const;
  // Every id under `value`; FAILED_PRECONDITION "more than <limit> entries
  // under <value>" past `limit` (a bound, not a page: callers that may meet
  // more page with ListIds).
  [[nodiscard]] absl::StatusOr<std::vector<std::string>> AllIds(
      const Store& store, std::string_view value,
      size_t limit = kDefaultAllIdsLimit) const;
  [[nodiscard]] absl::StatusOr<std::vector<std::string>> AllIds(
      WriteTxn& txn, std::string_view value,
      size_t limit = kDefaultAllIdsLimit) const;
  static constexpr size_t kDefaultAllIdsLimit = 100'000;

 private:
  using ScanFn = std::function<absl::Status(
      std::string_view start, std::string_view end, const Store::Visitor&)>;
  [[nodiscard]] absl::Status ListIdsWith(
      const ScanFn& scan, std::string_view value, std::string_view after_id,
      size_t limit, std::vector<std::string>* ids, bool* more) const;

  CfRef cf_;
  uint8_t tag_;
};

// request_id idempotency for creates. Runs `create` the first time (scope,
// request_id) is seen and records where its result lives (WriteTxn::PutRequest,
// D53); a retry with the same request within the store's
// request_id_retention returns that first result in `*out` without running
// `create`; a retry whose request differs is FAILED_PRECONDITION. After the
// window the request_id makes a new request. An empty request_id always runs
// `create`. `request` is the whole request message (its deterministic
// serialization is fingerprinted).
[[nodiscard]] absl::Status CreateOnce(
    WriteTxn& txn, std::string_view scope, std::string_view request_id,
    const google::protobuf::Message& request, google::protobuf::Message* out,
    const std::function<absl::Status()>& create);

}  // namespace salesops
