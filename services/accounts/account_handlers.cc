// Accounts: the I/O around account_rules (see handlers.h).

#include <functional>
#include <optional>
#include <string>

#include "common/status/status.h"
#include "common/store/ids.h"
#include "common/store/listing.h"
#include "services/accounts/account_rules.h"
#include "services/accounts/analysis_rules.h"
#include "services/accounts/handler_support.h"
#include "services/accounts/handlers.h"

namespace salesops::accounts::handlers {
namespace {

// Claims the name and external-id index values of `change`.
absl::Status ClaimKeys(const AccountsStore& db, WriteTxn& txn,
                       const AccountChange& change) {
  const v1::Account& a = change.account;
  RETURN_IF_ERROR(Claim(txn, db.account_by_name, "account.name", change.name,
                        a.id(), a.name()));
  return Claim(txn, db.account_by_external_id, "account.external_id",
               change.external_id, a.id());
}

}  // namespace

TxnFn CreateAccountTxn(AccountsStore& db, Principal who,
                       const v1::CreateAccountRequest& req, v1::Account* resp,
                       bool* ran) {
  return [&db, who = std::move(who), &req, resp,
          ran](WriteTxn& txn) -> absl::Status {
    return CreateOnce(
        txn, "CreateAccount", req.request_id(), req, resp,
        [&]() -> absl::Status {
          ASSIGN_OR_RETURN(std::optional<v1::OrgNode> owner,
                           FindNode(db, txn, req.account().owner_node_id()));
          ASSIGN_OR_RETURN(AccountChange change,
                           accounts::CreateAccount(
                               req.account(), owner, WriterScope(db, txn, who),
                               NewId("acc", txn.now()), txn.now()));
          RETURN_IF_ERROR(ClaimKeys(db, txn, change));
          v1::Account& a = change.account;
          RETURN_IF_ERROR(db.accounts.Insert(txn, a.id(), &a));
          db.accounts_by_owner.Put(txn, a.owner_node_id(), a.id());
          *resp = std::move(a);
          if (ran != nullptr) {
            *ran = true;
          }
          return absl::OkStatus();
        });
  };
}

absl::Status CreateAccount(Env env, const Principal& who,
                           const v1::CreateAccountRequest& req,
                           v1::Account* resp) {
  RETURN_IF_ERROR(CheckCreateAccount(req, who));
  return env.db.store
      ->Write(ActorFor(who, "CreateAccount"),
              CreateAccountTxn(env.db, who, req, resp, nullptr))
      .status();
}

absl::Status GetAccount(Env env, const v1::GetAccountRequest& req,
                        v1::Account* resp) {
  ASSIGN_OR_RETURN(*resp, env.db.accounts.Get(req.id()));
  return absl::OkStatus();
}

absl::Status UpdateAccount(Env env, const Principal& who,
                           const v1::UpdateAccountRequest& req,
                           v1::Account* resp) {
  RETURN_IF_ERROR(CheckUpdateAccount(req));
  AccountsStore& db = env.db;
  const v1::Account& in = req.account();
  return db.store
      ->Write(
          ActorFor(who, "UpdateAccount"),
          [&](WriteTxn& txn) -> absl::Status {
            ASSIGN_OR_RETURN(v1::Account old, db.accounts.Get(txn, in.id()));
            ASSIGN_OR_RETURN(const v1::Account merged,
                             MergeAccountUpdate(old, req));
            std::optional<v1::OrgNode> owner;
            if (merged.owner_node_id() != old.owner_node_id()) {
              ASSIGN_OR_RETURN(owner,
                               FindNode(db, txn, merged.owner_node_id()));
            }
            ASSIGN_OR_RETURN(
                AccountChange change,
                accounts::UpdateAccount(old, merged, owner,
                                        WriterScope(db, txn, who), txn.now()));
            Move(txn, db.accounts_by_owner, change.owner, in.id());
            RETURN_IF_ERROR(ClaimKeys(db, txn, change));
            v1::Account& a = change.account;
            RETURN_IF_ERROR(
                db.accounts.Update(txn, a.id(), req.expected_version(), &a));
            *resp = std::move(a);
            return absl::OkStatus();
          })
      .status();
}

absl::Status ListAccounts(Env env, const v1::ListAccountsRequest& req,
                          v1::ListAccountsResponse* resp) {
  ASSIGN_OR_RETURN(Page page, ReadListPage(req));
  AccountsStore& db = env.db;
  // Read the position first: watching from it after the listing misses
  // nothing (a change may show up twice; applying is idempotent by version).
  SetFeedSequence(resp, db.store->last_sequence());
  const std::function<bool(const v1::Account&)> keep =
      [&](const v1::Account& a) {
        return (req.industry().empty() || a.industry() == req.industry()) &&
               (req.tier() == v1::ACCOUNT_TIER_UNSPECIFIED ||
                a.tier() == req.tier()) &&
               (req.segment() == v1::ACCOUNT_SEGMENT_UNSPECIFIED ||
                a.segment() == req.segment());
      };
  std::string next;
  absl::Status s =
      req.owner_node_id().empty()
          ? FillPage(db.accounts, page, keep, resp->mutable_accounts(), &next)
          : FillPageFromIndex(*db.store, db.accounts_by_owner,
                              req.owner_node_id(), db.accounts, page, keep,
                              resp->mutable_accounts(), &next);
  SetNextPageToken(resp, next);
  return s;
}

absl::Status ClassifyAccounts(Env env, const Principal& who,
                              const v1::ClassifyAccountsRequest& req,
                              v1::ClassifyAccountsResponse* resp) {
  RETURN_IF_ERROR(CheckClassifyCaller(req, who));
  RETURN_IF_ERROR(AnswerClassifyAccounts(req, env.currency, resp));
  if (!req.apply()) {
    return absl::OkStatus();
  }
  AccountsStore& db = env.db;
  return db.store
      ->Write(ActorFor(who, "ClassifyAccounts"),
              [&](WriteTxn& txn) -> absl::Status {
                const RequireWriterFn scope = WriterScope(db, txn, who);
                for (const auto& c : resp->accounts()) {
                  ASSIGN_OR_RETURN(v1::Account stored,
                                   db.accounts.Get(txn, c.account_id()));
                  ASSIGN_OR_RETURN(std::optional<v1::Account> a,
                                   ReTier(stored, c.tier(), scope, txn.now()));
                  if (a) {
                    RETURN_IF_ERROR(db.accounts.Update(txn, a->id(), 0, &*a));
                  }
                }
                return absl::OkStatus();
              })
      .status();
}

}  // namespace salesops::accounts::handlers
