#include "services/pipeline/org_mirror.h"

#include "absl/strings/str_cat.h"
#include "common/status/status.h"
#include "common/store/key.h"

namespace salesops::pipeline {
namespace {

constexpr uint8_t kNodeTag = 1;
constexpr char kOrgNodeKind[] = "accounts.OrgNode";
constexpr int kMaxDepth = 10'000;

std::string NodeKey(const std::string& id) {
  return KeyBuilder(kNodeTag).Str(id).key();
}

}  // namespace

OrgMirror::OrgMirror(Store* store, CfRef cf) : store_(store), cf_(cf) {}

absl::Status OrgMirror::Load() {
  const std::string prefix = KeyBuilder(kNodeTag).key();
  absl::Status decode;
  std::unordered_map<std::string, Node> loaded;
  RETURN_IF_ERROR(store_->Scan(
      cf_, prefix, PrefixSuccessor(prefix),
      [&](std::string_view, std::string_view value) {
        v1::OrgNode n;
        if (!n.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
          decode = absl::DataLossError("store: corrupt org node mirror");
          return false;
        }
        loaded[n.id()] = Node{n.parent_id(), n.kind(), n.version()};
        return true;
      }));
  RETURN_IF_ERROR(decode);
  std::lock_guard<std::mutex> lock(mu_);
  nodes_ = std::move(loaded);
  return absl::OkStatus();
}

absl::Status OrgMirror::Apply(const v1::Event& event, WriteTxn& txn) {
  if (event.kind() != kOrgNodeKind) {
    return absl::OkStatus();
  }
  v1::OrgNode node;
  if (!event.payload().UnpackTo(&node) || node.id().empty()) {
    return absl::DataLossError(absl::StrCat(
        "accounts feed event ", event.sequence(), ": not an OrgNode"));
  }
  ASSIGN_OR_RETURN(std::optional<std::string> stored,
                   txn.Get(cf_, NodeKey(node.id())));
  if (stored) {
    v1::OrgNode old;
    if (old.ParseFromString(*stored) && old.version() >= node.version()) {
      return absl::OkStatus();  // already applied
    }
  }
  txn.Put(cf_, NodeKey(node.id()), node.SerializeAsString());
  Remember(node);
  return absl::OkStatus();
}

absl::Status OrgMirror::Replace(const std::vector<v1::OrgNode>& nodes,
                                const std::string& source, uint64_t cursor) {
  RETURN_IF_ERROR(store_
                      ->Write([&](WriteTxn& txn) -> absl::Status {
                        const std::string prefix = KeyBuilder(kNodeTag).key();
                        std::vector<std::string> old_keys;
                        RETURN_IF_ERROR(txn.Scan(
                            cf_, prefix, PrefixSuccessor(prefix),
                            [&](std::string_view key, std::string_view) {
                              old_keys.emplace_back(key);
                              return true;
                            }));
                        for (const std::string& key : old_keys) {
                          txn.Delete(cf_, key);
                        }
                        for (const v1::OrgNode& n : nodes) {
                          txn.Put(cf_, NodeKey(n.id()), n.SerializeAsString());
                        }
                        txn.PutCursor(source, cursor);
                        return absl::OkStatus();
                      })
                      .status());
  std::lock_guard<std::mutex> lock(mu_);
  nodes_.clear();
  for (const v1::OrgNode& n : nodes) {
    nodes_[n.id()] = Node{n.parent_id(), n.kind(), n.version()};
  }
  return absl::OkStatus();
}

void OrgMirror::Remember(const v1::OrgNode& node) {
  std::lock_guard<std::mutex> lock(mu_);
  Node& n = nodes_[node.id()];
  if (n.version < node.version()) {
    n = Node{node.parent_id(), node.kind(), node.version()};
  }
}

std::optional<OrgMirror::Node> OrgMirror::Find(const std::string& id) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = nodes_.find(id);
  if (it == nodes_.end()) {
    return std::nullopt;
  }
  return it->second;
}

bool OrgMirror::IsWithin(const std::string& node_id,
                         const std::string& ancestor_id) const {
  if (ancestor_id.empty()) {
    return false;
  }
  std::lock_guard<std::mutex> lock(mu_);
  std::string id = node_id;
  for (int depth = 0; depth < kMaxDepth && !id.empty(); ++depth) {
    if (id == ancestor_id) {
      return true;
    }
    auto it = nodes_.find(id);
    if (it == nodes_.end()) {
      return false;
    }
    id = it->second.parent_id;
  }
  return false;
}

size_t OrgMirror::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return nodes_.size();
}

}  // namespace salesops::pipeline
