#pragma once

// The I/O of each AccountsService RPC, behind the gRPC shell
// (accounts_service.cc): read the stored state inside one store transaction,
// call the transition (account_rules, contact_rules, org_node_rules,
// quota_rules, analysis_rules, exchange_rate_rules), write its result, fill the
// answer. No gRPC.

#include <string>

#include "absl/status/status.h"
#include "common/server/principal.h"
#include "common/store/store.h"
#include "salesops/v1/accounts.pb.h"
#include "services/accounts/accounts_store.h"

namespace salesops::accounts::handlers {

// What every handler works with: the tables and the instance's reporting
// currency (--currency).
struct Env {
  AccountsStore& db;
  const std::string& currency;
};

// Accounts (account_handlers.cc).
absl::Status CreateAccount(Env env, const Principal& who,
                           const v1::CreateAccountRequest& req,
                           v1::Account* resp);
// CreateAccount's commit-path part (CreateOnce in scope "CreateAccount"),
// for CreateAccount and ImportAccounts: `req` and `resp` outlive its run;
// `*ran` (when not null) is set when the create ran (not a request_id's
// first result returned).
TxnFn CreateAccountTxn(AccountsStore& db, Principal who,
                       const v1::CreateAccountRequest& req, v1::Account* resp,
                       bool* ran);
absl::Status GetAccount(Env env, const v1::GetAccountRequest& req,
                        v1::Account* resp);
absl::Status UpdateAccount(Env env, const Principal& who,
                           const v1::UpdateAccountRequest& req,
                           v1::Account* resp);
absl::Status ListAccounts(Env env, const v1::ListAccountsRequest& req,
                          v1::ListAccountsResponse* resp);
absl::Status ClassifyAccounts(Env env, const Principal& who,
                              const v1::ClassifyAccountsRequest& req,
                              v1::ClassifyAccountsResponse* resp);

// Contacts (contact_handlers.cc).
absl::Status CreateContact(Env env, const Principal& who,
                           const v1::CreateContactRequest& req,
                           v1::Contact* resp);
// CreateContact's commit-path part, as CreateAccountTxn.
TxnFn CreateContactTxn(AccountsStore& db, Principal who,
                       const v1::CreateContactRequest& req, v1::Contact* resp,
                       bool* ran);
absl::Status GetContact(Env env, const v1::GetContactRequest& req,
                        v1::Contact* resp);
absl::Status UpdateContact(Env env, const Principal& who,
                           const v1::UpdateContactRequest& req,
                           v1::Contact* resp);
absl::Status ListContacts(Env env, const v1::ListContactsRequest& req,
                          v1::ListContactsResponse* resp);
absl::Status GetOrgChart(Env env, const v1::GetOrgChartRequest& req,
                         v1::GetOrgChartResponse* resp);

// Bulk imports (import_handlers.cc; docs/API.md "Bulk import"): each row as
// CreateAccount / CreateContact creates it (the same checks, request_id scope
// and feed event; audit method "ImportAccounts" / "ImportContacts"), one
// WriteAsync per row in the rows' order, so the group commit merges them and
// a bad row rolls back alone; returns once every row is done. The batch's own
// rules and the row results are common/bulk's.
absl::Status ImportAccounts(Env env, const Principal& who,
                            const v1::ImportAccountsRequest& req,
                            v1::ImportAccountsResponse* resp);
absl::Status ImportContacts(Env env, const Principal& who,
                            const v1::ImportContactsRequest& req,
                            v1::ImportContactsResponse* resp);

// Org nodes and quotas (org_handlers.cc).
absl::Status CreateOrgNode(Env env, const Principal& who,
                           const v1::CreateOrgNodeRequest& req,
                           v1::OrgNode* resp);
absl::Status GetOrgNode(Env env, const v1::GetOrgNodeRequest& req,
                        v1::OrgNode* resp);
absl::Status UpdateOrgNode(Env env, const Principal& who,
                           const v1::UpdateOrgNodeRequest& req,
                           v1::OrgNode* resp);
absl::Status MoveOrgNode(Env env, const Principal& who,
                         const v1::MoveOrgNodeRequest& req, v1::OrgNode* resp);
absl::Status ListOrgNodes(Env env, const v1::ListOrgNodesRequest& req,
                          v1::ListOrgNodesResponse* resp);
absl::Status SetQuota(Env env, const Principal& who,
                      const v1::SetQuotaRequest& req, v1::Quota* resp);
absl::Status GetQuota(Env env, const v1::GetQuotaRequest& req,
                      v1::GetQuotaResponse* resp);
absl::Status ListQuotas(Env env, const v1::ListQuotasRequest& req,
                        v1::ListQuotasResponse* resp);

// Dated exchange rates (exchange_rate_handlers.cc).
absl::Status SetExchangeRate(Env env, const Principal& who,
                             const v1::SetExchangeRateRequest& req,
                             v1::ExchangeRate* resp);
absl::Status ListExchangeRates(Env env, const v1::ListExchangeRatesRequest& req,
                               v1::ListExchangeRatesResponse* resp);

}  // namespace salesops::accounts::handlers
