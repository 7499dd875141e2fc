#include "common/org/org_mirror.h"

#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"
#include "common/status/status.h"
#include "common/store/key.h"

namespace salesops {
namespace {

constexpr uint8_t kNodeTag = 1;
constexpr uint8_t kAccountTag = 2;
constexpr char kOrgNodeKind[] = "accounts.OrgNode";
constexpr char kAccountKind[] = "accounts.Account";
constexpr int kMaxDepth = 10'000;

std::string NodeKey(const std::string& id) {
  return KeyBuilder(kNodeTag).Str(id).key();
}
std::string AccountKey(const std::string& id) {
  return KeyBuilder(kAccountTag).Str(id).key();
}

// What is kept of an account: its owner, and the version that set it.
v1::Account OwnerOnly(const v1::Account& a) {
  v1::Account kept;
  kept.set_id(a.id());
  kept.set_owner_node_id(a.owner_node_id());
  kept.set_version(a.version());
  return kept;
}

// Deletes every key of `tag` in `cf`.
absl::Status DeleteTag(WriteTxn& txn, CfRef cf, uint8_t tag) {
  const std::string prefix = KeyBuilder(tag).key();
  std::vector<std::string> old_keys;
  RETURN_IF_ERROR(txn.Scan(cf, prefix, PrefixSuccessor(prefix),
                           [&](std::string_view key, std::string_view) {
                             old_keys.emplace_back(key);
                             return true;
                           }));
  for (const std::string& key : old_keys) {
    txn.Delete(cf, key);
  }
  return absl::OkStatus();
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
  std::unordered_map<std::string, AccountOwnerRecord> accounts;
  const std::string account_prefix = KeyBuilder(kAccountTag).key();
  RETURN_IF_ERROR(store_->Scan(
      cf_, account_prefix, PrefixSuccessor(account_prefix),
      [&](std::string_view, std::string_view value) {
        v1::Account a;
        if (!a.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
          decode = absl::DataLossError("store: corrupt account owner mirror");
          return false;
        }
        accounts[a.id()] = AccountOwnerRecord{a.owner_node_id(), a.version()};
        return true;
      }));
  RETURN_IF_ERROR(decode);
  std::lock_guard<std::mutex> lock(mu_);
  nodes_ = std::move(loaded);
  accounts_ = std::move(accounts);
  return absl::OkStatus();
}

absl::Status OrgMirror::Apply(const v1::Event& event, WriteTxn& txn) {
  if (event.kind() == kAccountKind) {
    v1::Account account;
    if (!event.payload().UnpackTo(&account) || account.id().empty()) {
      return absl::DataLossError(absl::StrCat(
          "accounts feed event ", event.sequence(), ": not an Account"));
    }
    // Judged against the store, as for nodes: memory may already hold a
    // version whose batch rolled back and is being applied again.
    ASSIGN_OR_RETURN(std::optional<std::string> stored,
                     txn.Get(cf_, AccountKey(account.id())));
    if (stored) {
      v1::Account old;
      if (old.ParseFromString(*stored) && old.version() >= account.version()) {
        return absl::OkStatus();  // already applied
      }
    }
    txn.Put(cf_, AccountKey(account.id()),
            OwnerOnly(account).SerializeAsString());
    std::lock_guard<std::mutex> lock(mu_);
    AccountOwnerRecord& known = accounts_[account.id()];
    if (known.version < account.version()) {
      known = AccountOwnerRecord{account.owner_node_id(), account.version()};
    }
    return absl::OkStatus();
  }
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
                                const std::string& source, uint64_t cursor,
                                const std::vector<v1::Account>* accounts) {
  if (accounts == nullptr) {
    // The tree and the cursor in one transaction.
    return ReplaceTree(nodes, source, &cursor);
  }
  RETURN_IF_ERROR(ReplaceNodes(nodes, source));
  std::vector<const v1::Account*> sorted;
  sorted.reserve(accounts->size());
  for (const v1::Account& a : *accounts) sorted.push_back(&a);
  std::sort(sorted.begin(), sorted.end(),
            [](const v1::Account* x, const v1::Account* y) {
              return x->id() < y->id();
            });
  SortedSweep sweep = AccountsSweep();
  std::vector<v1::Account> page;
  for (size_t next = 0; next < sorted.size(); next += kReplaceBatch) {
    page.clear();
    const size_t end = std::min(sorted.size(), next + kReplaceBatch);
    for (size_t i = next; i < end; ++i) page.push_back(*sorted[i]);
    RETURN_IF_ERROR(ReplaceAccountPage(sweep, page, source));
  }
  return FinishAccounts(sweep, source, cursor);
}

absl::Status OrgMirror::ReplaceNodes(const std::vector<v1::OrgNode>& nodes,
                                     const std::string& source) {
  return ReplaceTree(nodes, source, nullptr);
}

absl::Status OrgMirror::ReplaceTree(const std::vector<v1::OrgNode>& nodes,
                                    const std::string& source,
                                    const uint64_t* cursor) {
  RETURN_IF_ERROR(store_
                      ->Write(SystemActor(absl::StrCat("resync:", source)),
                              [&](WriteTxn& txn) -> absl::Status {
                                RETURN_IF_ERROR(DeleteTag(txn, cf_, kNodeTag));
                                for (const v1::OrgNode& n : nodes) {
                                  txn.Put(cf_, NodeKey(n.id()),
                                          n.SerializeAsString());
                                }
                                if (cursor != nullptr) {
                                  txn.PutCursor(source, *cursor);
                                }
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

SortedSweep OrgMirror::AccountsSweep() const {
  return SortedSweep(cf_, KeyBuilder(kAccountTag).key());
}

absl::Status OrgMirror::ReplaceAccountPage(SortedSweep& sweep,
                                           const std::vector<v1::Account>& page,
                                           const std::string& source) {
  std::vector<std::string> gone;
  RETURN_IF_ERROR(
      store_
          ->Write(
              SystemActor(absl::StrCat("resync:", source)),
              [&](WriteTxn& txn) -> absl::Status {
                gone.clear();
                std::vector<std::string> keys;
                keys.reserve(page.size());
                for (const v1::Account& a : page) {
                  keys.push_back(AccountKey(a.id()));
                }
                std::map<std::string, std::string> stored;
                RETURN_IF_ERROR(sweep.Page(txn, keys, Forget(&gone), &stored));
                for (size_t i = 0; i < page.size(); ++i) {
                  std::string value = OwnerOnly(page[i]).SerializeAsString();
                  auto it = stored.find(keys[i]);
                  if (it == stored.end() || it->second != value) {
                    txn.Put(cf_, keys[i], value);
                  }
                }
                return absl::OkStatus();
              })
          .status());
  sweep.Committed();
  std::lock_guard<std::mutex> lock(mu_);
  for (const std::string& id : gone) accounts_.erase(id);
  for (const v1::Account& a : page) {
    accounts_[a.id()] = AccountOwnerRecord{a.owner_node_id(), a.version()};
  }
  return absl::OkStatus();
}

absl::Status OrgMirror::FinishAccounts(SortedSweep& sweep,
                                       const std::string& source,
                                       uint64_t cursor) {
  bool done = false;
  while (!done) {
    std::vector<std::string> gone;
    RETURN_IF_ERROR(store_
                        ->Write(SystemActor(absl::StrCat("resync:", source)),
                                [&](WriteTxn& txn) -> absl::Status {
                                  gone.clear();
                                  RETURN_IF_ERROR(sweep.Rest(txn, kReplaceBatch,
                                                             Forget(&gone),
                                                             &done));
                                  if (done) {
                                    txn.PutCursor(source, cursor);
                                  }
                                  return absl::OkStatus();
                                })
                        .status());
    sweep.Committed();
    std::lock_guard<std::mutex> lock(mu_);
    for (const std::string& id : gone) accounts_.erase(id);
  }
  return absl::OkStatus();
}

SortedSweep::GoneFn OrgMirror::Forget(std::vector<std::string>* gone) {
  return [gone, cf = cf_](WriteTxn& txn, std::string_view key) -> absl::Status {
    KeyReader reader(key);
    uint8_t tag = 0;
    std::string id;
    if (!reader.Tag(&tag) || !reader.Str(&id)) {
      return absl::DataLossError("store: corrupt account owner key");
    }
    txn.Delete(cf, key);
    gone->push_back(std::move(id));
    return absl::OkStatus();
  };
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
  std::lock_guard<std::mutex> lock(mu_);
  return IsWithinLocked(node_id, ancestor_id);
}

bool OrgMirror::IsWithinLocked(const std::string& node_id,
                               const std::string& ancestor_id) const {
  if (ancestor_id.empty()) {
    return false;
  }
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

std::optional<std::string> OrgMirror::AccountOwner(
    const std::string& account_id) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = accounts_.find(account_id);
  if (it == accounts_.end()) {
    return std::nullopt;
  }
  return it->second.owner_node_id;
}

std::vector<std::string> OrgMirror::AccountsWithin(
    const std::string& ancestor_id) const {
  std::vector<std::string> ids;
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [id, account] : accounts_) {
    if (IsWithinLocked(account.owner_node_id, ancestor_id)) {
      ids.push_back(id);
    }
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

}  // namespace salesops
