#pragma once

// gRPC handlers of salesops.v1.AccountsService on the suite's one handler
// shell (common/server/handler.h): the gate authenticates and checks the
// RPC's roles (the table in accounts_service.cc), the body is the RPC's I/O
// (handlers.h: read in one transaction, call the pure transition, write,
// answer). Roles (SPEC §8, issue 3): ADMIN everything; MANAGER writes org
// nodes and quotas inside their subtree and accounts owned inside it; REP
// reads, and writes contacts of accounts its own node owns; FINANCE and
// SERVICE read; FINANCE and ADMIN set exchange rates, every role lists them.

#include <string>

#include "common/server/auth.h"
#include "common/server/handler.h"
#include "common/store/store.h"
#include "salesops/v1/accounts.grpc.pb.h"
#include "services/accounts/accounts_store.h"
#include "services/accounts/handlers.h"

namespace salesops::accounts {

class AccountsServiceImpl final : public v1::AccountsService::Service {
 public:
  // Pointers are not owned and outlive the service. `currency` is the
  // instance's reporting currency (--currency): exchange rates are to it.
  // Times come from the store's clock (WriteTxn::now()).
  AccountsServiceImpl(Store* store, const Authenticator* auth,
                      std::string currency);

  using Ctx = grpc::ServerContext;
  grpc::Status CreateAccount(Ctx*, const v1::CreateAccountRequest*,
                             v1::Account*) override;
  grpc::Status GetAccount(Ctx*, const v1::GetAccountRequest*,
                          v1::Account*) override;
  grpc::Status UpdateAccount(Ctx*, const v1::UpdateAccountRequest*,
                             v1::Account*) override;
  grpc::Status ListAccounts(Ctx*, const v1::ListAccountsRequest*,
                            v1::ListAccountsResponse*) override;

  // Bulk imports (docs/API.md "Bulk import"; handlers.h).
  grpc::Status ImportAccounts(Ctx*, const v1::ImportAccountsRequest*,
                              v1::ImportAccountsResponse*) override;
  grpc::Status ImportContacts(Ctx*, const v1::ImportContactsRequest*,
                              v1::ImportContactsResponse*) override;
  grpc::Status CreateContact(Ctx*, const v1::CreateContactRequest*,
                             v1::Contact*) override;
  grpc::Status GetContact(Ctx*, const v1::GetContactRequest*,
                          v1::Contact*) override;
  grpc::Status UpdateContact(Ctx*, const v1::UpdateContactRequest*,
                             v1::Contact*) override;
  grpc::Status ListContacts(Ctx*, const v1::ListContactsRequest*,
                            v1::ListContactsResponse*) override;
  grpc::Status GetOrgChart(Ctx*, const v1::GetOrgChartRequest*,
                           v1::GetOrgChartResponse*) override;

  grpc::Status CreateOrgNode(Ctx*, const v1::CreateOrgNodeRequest*,
                             v1::OrgNode*) override;
  grpc::Status GetOrgNode(Ctx*, const v1::GetOrgNodeRequest*,
                          v1::OrgNode*) override;
  grpc::Status UpdateOrgNode(Ctx*, const v1::UpdateOrgNodeRequest*,
                             v1::OrgNode*) override;
  grpc::Status MoveOrgNode(Ctx*, const v1::MoveOrgNodeRequest*,
                           v1::OrgNode*) override;
  grpc::Status ListOrgNodes(Ctx*, const v1::ListOrgNodesRequest*,
                            v1::ListOrgNodesResponse*) override;

  grpc::Status SetQuota(Ctx*, const v1::SetQuotaRequest*, v1::Quota*) override;
  grpc::Status GetQuota(Ctx*, const v1::GetQuotaRequest*,
                        v1::GetQuotaResponse*) override;

  grpc::Status ScoreIndustries(Ctx*, const v1::ScoreIndustriesRequest*,
                               v1::ScoreIndustriesResponse*) override;
  grpc::Status GetParetoView(Ctx*, const v1::GetParetoViewRequest*,
                             v1::GetParetoViewResponse*) override;
  grpc::Status ClassifyAccounts(Ctx*, const v1::ClassifyAccountsRequest*,
                                v1::ClassifyAccountsResponse*) override;
  // Every explicit quota by quota id ("<node>/<year>/Q<quarter>"), for a
  // follower's resync: SERVICE and ADMIN.
  grpc::Status ListQuotas(Ctx*, const v1::ListQuotasRequest*,
                          v1::ListQuotasResponse*) override;

  // Dated exchange rates to the reporting currency (issue 19).
  grpc::Status SetExchangeRate(Ctx*, const v1::SetExchangeRateRequest*,
                               v1::ExchangeRate*) override;
  grpc::Status ListExchangeRates(Ctx*, const v1::ListExchangeRatesRequest*,
                                 v1::ListExchangeRatesResponse*) override;

 private:
  handlers::Env env() { return {db_, currency_}; }

  AccountsStore db_;
  std::string currency_;
  CallGate gate_;
};

}  // namespace salesops::accounts
