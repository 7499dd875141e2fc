#pragma once

// A service's copy of our sales hierarchy, followed from the accounts
// service's feed (kind "accounts.OrgNode"; SPEC.md §6), so that role scopes
// (a MANAGER sees their subtree, a REP their own node) are decided locally and
// a re-org in accounts changes who may see what here. A follower that also
// asks for "accounts.Account" events (credit) gets each account's owner node
// too, so "accounts owned in a subtree" is decided locally as well.
//
// Durable part: one record per node in the store's "mirror" column family,
// written by the feed consumer's transaction together with its cursor.
// In-memory part: id → {parent, kind, version}, loaded at start and updated as
// events are applied (an event whose transaction is rolled back is applied
// again on retry, so the memory never ends up behind the store).

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/status/status.h"
#include "common/resync/sorted_sweep.h"
#include "common/store/store.h"
#include "salesops/v1/accounts.pb.h"
#include "salesops/v1/feed.pb.h"

namespace salesops {

class OrgMirror {
 public:
  // `store` is not owned; `cf` is the mirror's column family.
  OrgMirror(Store* store, CfRef cf);

  // Reads the stored nodes into memory (at start).
  [[nodiscard]] absl::Status Load();
  // Applies one accounts feed event inside the consumer's transaction:
  // "accounts.OrgNode" and "accounts.Account" events newer than what is
  // stored replace the node (the account's owner); older or equal versions
  // and other kinds are ignored.
  [[nodiscard]] absl::Status Apply(const v1::Event& event, WriteTxn& txn);
  // ---- A resync after OUT_OF_RANGE replaces the copy (PLAN decision 4):
  // what is listed overwrites what is stored whatever its version (a
  // restored source restarts lower), what is not listed is removed, and the
  // memory follows each transaction as it commits, so it stays what Load()
  // builds from the store.
  //
  // Replaces the whole tree with `nodes` (and, when `accounts` is given, the
  // accounts' owners with `accounts`, in transactions of at most
  // kReplaceBatch) and stores `cursor` as the cursor of `source`, last.
  [[nodiscard]] absl::Status Replace(
      const std::vector<v1::OrgNode>& nodes, const std::string& source,
      uint64_t cursor, const std::vector<v1::Account>* accounts = nullptr);
  // The same in steps, for a listing streamed page by page: the tree in one
  // transaction (no cursor), then the accounts' owners page by page in id
  // order (SortedSweep, common/resync/sorted_sweep.h), then FinishAccounts
  // removes the accounts no page listed and stores the cursor last.
  [[nodiscard]] absl::Status ReplaceNodes(const std::vector<v1::OrgNode>& nodes,
                                          const std::string& source);
  SortedSweep AccountsSweep() const;
  [[nodiscard]] absl::Status ReplaceAccountPage(
      SortedSweep& sweep, const std::vector<v1::Account>& page,
      const std::string& source);
  [[nodiscard]] absl::Status FinishAccounts(SortedSweep& sweep,
                                            const std::string& source,
                                            uint64_t cursor);
  static constexpr size_t kReplaceBatch = 1000;

  struct Node {
    std::string parent_id;
    v1::OrgNodeKind kind = v1::ORG_NODE_KIND_UNSPECIFIED;
    int64_t version = 0;
  };
  std::optional<Node> Find(const std::string& id) const;
  // True when `node_id` is `ancestor_id` or below it (false for unknown ids;
  // a chain longer than 10,000 or a cycle ends the walk with false).
  bool IsWithin(const std::string& node_id,
                const std::string& ancestor_id) const;
  size_t size() const;

  // The owner node of an account ("accounts.Account" events only); nullopt
  // for an account not seen yet.
  std::optional<std::string> AccountOwner(const std::string& account_id) const;
  // Accounts whose owner node is `ancestor_id` or below it, in id order.
  std::vector<std::string> AccountsWithin(const std::string& ancestor_id) const;

 private:
  struct AccountOwnerRecord {
    std::string owner_node_id;
    int64_t version = 0;
  };
  // The tree, and `*cursor` with it when given, in one transaction.
  [[nodiscard]] absl::Status ReplaceTree(const std::vector<v1::OrgNode>& nodes,
                                         const std::string& source,
                                         const uint64_t* cursor);
  // Deletes a swept account owner and records its id in *gone.
  SortedSweep::GoneFn Forget(std::vector<std::string>* gone);
  void Remember(const v1::OrgNode& node);
  bool IsWithinLocked(const std::string& node_id,
                      const std::string& ancestor_id) const;

  Store* store_;
  CfRef cf_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Node> nodes_;
  std::unordered_map<std::string, AccountOwnerRecord> accounts_;
};

}  // namespace salesops
