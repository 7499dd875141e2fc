#pragma once

// The pipeline's copy of our sales hierarchy, followed from the accounts
// service's feed (kind "accounts.OrgNode"; SPEC.md §6), so that role scopes
// (a MANAGER sees their subtree, a REP their own node) are decided locally and
// a re-org in accounts changes who may see what here.
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
#include "common/store/store.h"
#include "salesops/v1/accounts.pb.h"
#include "salesops/v1/feed.pb.h"

namespace salesops::pipeline {

class OrgMirror {
 public:
  // `store` is not owned; `cf` is the mirror's column family.
  OrgMirror(Store* store, CfRef cf);

  // Reads the stored nodes into memory (at start).
  [[nodiscard]] absl::Status Load();
  // Applies one accounts feed event inside the consumer's transaction:
  // "accounts.OrgNode" events newer than what is stored replace the node;
  // older or equal versions and other kinds are ignored.
  [[nodiscard]] absl::Status Apply(const v1::Event& event, WriteTxn& txn);
  // Replaces the whole copy with `nodes` and stores `cursor` as the cursor of
  // `source`, in one transaction (a resync after OUT_OF_RANGE).
  [[nodiscard]] absl::Status Replace(const std::vector<v1::OrgNode>& nodes,
                                     const std::string& source,
                                     uint64_t cursor);

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

 private:
  void Remember(const v1::OrgNode& node);

  Store* store_;
  CfRef cf_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Node> nodes_;
};

}  // namespace salesops::pipeline
