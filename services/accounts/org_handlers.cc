// Our sales organization: the I/O around org_node_rules and quota_rules (see
// handlers.h).

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/status/status.h"
#include "common/store/ids.h"
#include "common/store/listing.h"
#include "services/accounts/handler_support.h"
#include "services/accounts/handlers.h"
#include "services/accounts/org_node_rules.h"
#include "services/accounts/org_tree.h"
#include "services/accounts/quota_rules.h"

namespace salesops::accounts::handlers {
namespace {

// The parent links as `txn` sees them.
ParentOfFn ParentOf(const AccountsStore& db, WriteTxn& txn) {
  return [&db, &txn](const std::string& id) -> std::optional<std::string> {
    absl::StatusOr<std::optional<v1::OrgNode>> node = db.nodes.Find(txn, id);
    if (!node.ok() || !node->has_value()) {
      return std::nullopt;
    }
    return (*node)->parent_id();
  };
}

// Writes a changed (not new) node with its external-id claim.
absl::Status WriteNode(const AccountsStore& db, WriteTxn& txn,
                       OrgNodeChange& change, int64_t expected_version,
                       v1::OrgNode* resp) {
  v1::OrgNode& n = change.node;
  RETURN_IF_ERROR(Claim(txn, db.node_by_external_id, "node.external_id",
                        change.external_id, n.id()));
  Move(txn, db.nodes_by_parent, change.parent, n.id());
  RETURN_IF_ERROR(db.nodes.Update(txn, n.id(), expected_version, &n));
  *resp = std::move(n);
  return absl::OkStatus();
}

// Appends the children of `id` to `subtree`, in id order.
absl::Status AddChildren(const AccountsStore& db, const std::string& id,
                         std::vector<QuotaNode>* subtree) {
  ASSIGN_OR_RETURN(std::vector<std::string> children,
                   db.nodes_by_parent.AllIds(*db.store, id));
  for (const std::string& child : children) {
    subtree->push_back({child, id, std::nullopt});
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CreateOrgNode(Env env, const Principal& who,
                           const v1::CreateOrgNodeRequest& req,
                           v1::OrgNode* resp) {
  RETURN_IF_ERROR(CheckCreateOrgNode(req));
  AccountsStore& db = env.db;
  const v1::OrgNode& in = req.node();
  return db.store
      ->Write(ActorFor(who, "CreateOrgNode"),
              [&](WriteTxn& txn) -> absl::Status {
                return CreateOnce(
                    txn, "CreateOrgNode", req.request_id(), req, resp,
                    [&]() -> absl::Status {
                      ASSIGN_OR_RETURN(std::optional<std::string> root,
                                       db.root_node.Lookup(txn, ""));
                      ASSIGN_OR_RETURN(std::optional<v1::OrgNode> parent,
                                       FindNode(db, txn, in.parent_id()));
                      ASSIGN_OR_RETURN(
                          OrgNodeChange change,
                          accounts::CreateOrgNode(
                              in, root, parent, who, WriterScope(db, txn, who),
                              NewId("org", txn.now()), txn.now()));
                      v1::OrgNode& n = change.node;
                      RETURN_IF_ERROR(Claim(txn, db.node_by_external_id,
                                            "node.external_id",
                                            change.external_id, n.id()));
                      RETURN_IF_ERROR(db.nodes.Insert(txn, n.id(), &n));
                      db.nodes_by_parent.Put(txn, n.parent_id(), n.id());
                      if (change.is_root) {
                        db.root_node.Put(txn, "", n.id());
                      }
                      *resp = std::move(n);
                      return absl::OkStatus();
                    });
              })
      .status();
}

absl::Status GetOrgNode(Env env, const v1::GetOrgNodeRequest& req,
                        v1::OrgNode* resp) {
  ASSIGN_OR_RETURN(*resp, env.db.nodes.Get(req.id()));
  return absl::OkStatus();
}

absl::Status UpdateOrgNode(Env env, const Principal& who,
                           const v1::UpdateOrgNodeRequest& req,
                           v1::OrgNode* resp) {
  RETURN_IF_ERROR(CheckUpdateOrgNode(req));
  AccountsStore& db = env.db;
  return db.store
      ->Write(ActorFor(who, "UpdateOrgNode"),
              [&](WriteTxn& txn) -> absl::Status {
                ASSIGN_OR_RETURN(v1::OrgNode stored,
                                 db.nodes.Get(txn, req.node().id()));
                ASSIGN_OR_RETURN(const v1::OrgNode merged,
                                 MergeOrgNodeUpdate(stored, req));
                ASSIGN_OR_RETURN(
                    OrgNodeChange change,
                    accounts::UpdateOrgNode(
                        stored, merged, WriterScope(db, txn, who), txn.now()));
                return WriteNode(db, txn, change, req.expected_version(), resp);
              })
      .status();
}

absl::Status MoveOrgNode(Env env, const Principal& who,
                         const v1::MoveOrgNodeRequest& req, v1::OrgNode* resp) {
  RETURN_IF_ERROR(CheckMoveOrgNode(req));
  AccountsStore& db = env.db;
  return db.store
      ->Write(
          ActorFor(who, "MoveOrgNode"),
          [&](WriteTxn& txn) -> absl::Status {
            ASSIGN_OR_RETURN(v1::OrgNode stored, db.nodes.Get(txn, req.id()));
            ASSIGN_OR_RETURN(std::optional<v1::OrgNode> parent,
                             FindNode(db, txn, req.new_parent_id()));
            ASSIGN_OR_RETURN(
                OrgNodeChange change,
                accounts::MoveOrgNode(stored, req.new_parent_id(), parent,
                                      ParentOf(db, txn),
                                      WriterScope(db, txn, who), txn.now()));
            return WriteNode(db, txn, change, req.expected_version(), resp);
          })
      .status();
}

absl::Status ListOrgNodes(Env env, const v1::ListOrgNodesRequest& req,
                          v1::ListOrgNodesResponse* resp) {
  ASSIGN_OR_RETURN(Page page, ReadListPage(req));
  AccountsStore& db = env.db;
  SetFeedSequence(resp, db.store->last_sequence());
  const std::function<bool(const v1::OrgNode&)> all = [](const v1::OrgNode&) {
    return true;
  };
  std::string next;
  absl::Status s =
      req.parent_id().empty()
          ? FillPage(db.nodes, page, all, resp->mutable_nodes(), &next)
          : FillPageFromIndex(*db.store, db.nodes_by_parent, req.parent_id(),
                              db.nodes, page, all, resp->mutable_nodes(),
                              &next);
  SetNextPageToken(resp, next);
  return s;
}

absl::Status SetQuota(Env env, const Principal& who,
                      const v1::SetQuotaRequest& req, v1::Quota* resp) {
  RETURN_IF_ERROR(CheckSetQuota(req));
  AccountsStore& db = env.db;
  return db.store
      ->Write(ActorFor(who, "SetQuota"),
              [&](WriteTxn& txn) -> absl::Status {
                ASSIGN_OR_RETURN(v1::OrgNode node,
                                 db.nodes.Get(txn, req.node_id()));
                const std::string id = AccountsStore::QuotaId(
                    node.id(), req.fiscal_year(), req.fiscal_quarter());
                ASSIGN_OR_RETURN(std::optional<v1::Quota> stored,
                                 db.quotas.Find(txn, id));
                ASSIGN_OR_RETURN(
                    QuotaChange change,
                    accounts::SetQuota(node.id(), stored, req,
                                       WriterScope(db, txn, who), txn.now()));
                v1::Quota& q = change.quota;
                RETURN_IF_ERROR(change.insert
                                    ? db.quotas.Insert(txn, id, &q)
                                    : db.quotas.Update(
                                          txn, id, req.expected_version(), &q));
                *resp = std::move(q);
                return absl::OkStatus();
              })
      .status();
}

absl::Status GetQuota(Env env, const v1::GetQuotaRequest& req,
                      v1::GetQuotaResponse* resp) {
  RETURN_IF_ERROR(CheckGetQuota(req));
  AccountsStore& db = env.db;
  resp->set_feed_sequence(db.store->last_sequence());
  ASSIGN_OR_RETURN(v1::OrgNode top, db.nodes.Get(req.node_id()));
  // The subtree, breadth first, with each node's explicit quota.
  std::vector<QuotaNode> subtree;
  std::map<std::string, std::string> quota_currency;
  subtree.push_back({top.id(), "", std::nullopt});
  for (size_t i = 0; i < subtree.size(); ++i) {
    const std::string id = subtree[i].id;
    ASSIGN_OR_RETURN(std::optional<v1::Quota> q,
                     db.quotas.Find(AccountsStore::QuotaId(
                         id, req.fiscal_year(), req.fiscal_quarter())));
    if (q) {
      subtree[i].explicit_quota_minor = q->amount().units_minor();
      quota_currency[id] = q->amount().currency();
    }
    RETURN_IF_ERROR(AddChildren(db, id, &subtree));
  }
  return AnswerQuota(subtree, quota_currency, env.currency, resp);
}

absl::Status ListQuotas(Env env, const v1::ListQuotasRequest& req,
                        v1::ListQuotasResponse* resp) {
  ASSIGN_OR_RETURN(Page page, ReadListPage(req));
  AccountsStore& db = env.db;
  SetFeedSequence(resp, db.store->last_sequence());
  std::vector<v1::Quota> chunk;
  bool more = false;
  RETURN_IF_ERROR(db.quotas.List(page.after, page.size, &chunk, &more));
  for (v1::Quota& q : chunk) {
    *resp->add_quotas() = std::move(q);
  }
  if (more && resp->quotas_size() > 0) {
    const v1::Quota& last = *resp->quotas().rbegin();
    SetNextPageToken(
        resp, EncodePageToken(AccountsStore::QuotaId(
                  last.node_id(), last.fiscal_year(), last.fiscal_quarter())));
  }
  return absl::OkStatus();
}

}  // namespace salesops::accounts::handlers
