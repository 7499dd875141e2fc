#include "services/accounts/accounts_service.h"

#include <utility>
#include <vector>

#include "services/accounts/analysis_rules.h"
#include "services/accounts/handlers.h"

namespace salesops::accounts {
namespace {

// Who may call each RPC (SPEC §8, issue 3). Every role reads; data scopes
// are the handlers' (ScopePolicy). ClassifyAccounts is for every role, but
// applying its tiers is for ADMIN and MANAGER (analysis_rules.h).
std::vector<MethodRoles> AccountsRoles() {
  const std::vector<Role> kWriters = {Role::kAdmin, Role::kManager};
  const std::vector<Role> kContactWriters = {Role::kAdmin, Role::kManager,
                                             Role::kRep};
  const std::vector<Role> kResync = {Role::kAdmin, Role::kService};
  const std::vector<Role> kRateWriters = {Role::kAdmin, Role::kFinance};
  return {
      {"CreateAccount", kWriters},
      {"ImportAccounts", kWriters},
      {"GetAccount", AllRoles()},
      {"UpdateAccount", kWriters},
      {"ListAccounts", AllRoles()},
      {"CreateContact", kContactWriters},
      {"ImportContacts", kContactWriters},
      {"GetContact", AllRoles()},
      {"UpdateContact", kContactWriters},
      {"ListContacts", AllRoles()},
      {"GetOrgChart", AllRoles()},
      {"CreateOrgNode", kWriters},
      {"GetOrgNode", AllRoles()},
      {"UpdateOrgNode", kWriters},
      {"MoveOrgNode", kWriters},
      {"ListOrgNodes", AllRoles()},
      {"SetQuota", kWriters},
      {"GetQuota", AllRoles()},
      {"ListQuotas", kResync},
      {"ScoreIndustries", AllRoles()},
      {"GetParetoView", AllRoles()},
      {"ClassifyAccounts", AllRoles()},
      {"SetExchangeRate", kRateWriters},
      {"ListExchangeRates", AllRoles()},
  };
}

}  // namespace

AccountsServiceImpl::AccountsServiceImpl(Store* store,
                                         const Authenticator* auth,
                                         std::string currency)
    : db_(store),
      currency_(std::move(currency)),
      gate_(auth, v1::AccountsService::service_full_name(), AccountsRoles()) {}

grpc::Status AccountsServiceImpl::CreateAccount(
    Ctx* ctx, const v1::CreateAccountRequest* req, v1::Account* resp) {
  return SALESOPS_SERVE(gate_, ctx, [&](const Principal& who) {
    return handlers::CreateAccount(env(), who, *req, resp);
  });
}

grpc::Status AccountsServiceImpl::GetAccount(Ctx* ctx,
                                             const v1::GetAccountRequest* req,
                                             v1::Account* resp) {
  return SALESOPS_SERVE(gate_, ctx, [&](const Principal&) {
    return handlers::GetAccount(env(), *req, resp);
  });
}

grpc::Status AccountsServiceImpl::UpdateAccount(
    Ctx* ctx, const v1::UpdateAccountRequest* req, v1::Account* resp) {
  return SALESOPS_SERVE(gate_, ctx, [&](const Principal& who) {
    return handlers::UpdateAccount(env(), who, *req, resp);
  });
}

grpc::Status AccountsServiceImpl::ListAccounts(
    Ctx* ctx, const v1::ListAccountsRequest* req,
    v1::ListAccountsResponse* resp) {
  return SALESOPS_SERVE(gate_, ctx, [&](const Principal&) {
    return handlers::ListAccounts(env(), *req, resp);
  });
}

grpc::Status AccountsServiceImpl::CreateContact(
    Ctx* ctx, const v1::CreateContactRequest* req, v1::Contact* resp) {
  return SALESOPS_SERVE(gate_, ctx, [&](const Principal& who) {
    return handlers::CreateContact(env(), who, *req, resp);
  });
}

grpc::Status AccountsServiceImpl::ImportAccounts(
    Ctx* ctx, const v1::ImportAccountsRequest* req,
    v1::ImportAccountsResponse* resp) {
  return SALESOPS_SERVE(gate_, ctx, [&](const Principal& who) {
    return handlers::ImportAccounts(env(), who, *req, resp);
  });
}

grpc::Status AccountsServiceImpl::ImportContacts(
    Ctx* ctx, const v1::ImportContactsRequest* req,
    v1::ImportContactsResponse* resp) {
  return SALESOPS_SERVE(gate_, ctx, [&](const Principal& who) {
    return handlers::ImportContacts(env(), who, *req, resp);
  });
}

grpc::Status AccountsServiceImpl::GetContact(Ctx* ctx,
                                             const v1::GetContactRequest* req,
                                             v1::Contact* resp) {
  return SALESOPS_SERVE(gate_, ctx, [&](const Principal&) {
    return handlers::GetContact(env(), *req, resp);
  });
}

grpc::Status AccountsServiceImpl::UpdateContact(
    Ctx* ctx, const v1::UpdateContactRequest* req, v1::Contact* resp) {
  return SALESOPS_SERVE(gate_, ctx, [&](const Principal& who) {
    return handlers::UpdateContact(env(), who, *req, resp);
  });
}

grpc::Status AccountsServiceImpl::ListContacts(
    Ctx* ctx, const v1::ListContactsRequest* req,
    v1::ListContactsResponse* resp) {
  return SALESOPS_SERVE(gate_, ctx, [&](const Principal&) {
    return handlers::ListContacts(env(), *req, resp);
  });
}

grpc::Status AccountsServiceImpl::GetOrgChart(Ctx* ctx,
                                              const v1::GetOrgChartRequest* req,
                                              v1::GetOrgChartResponse* resp) {
  return SALESOPS_SERVE(gate_, ctx, [&](const Principal&) {
    return handlers::GetOrgChart(env(), *req, resp);
  });
}

grpc::Status AccountsServiceImpl::CreateOrgNode(
    Ctx* ctx, const v1::CreateOrgNodeRequest* req, v1::OrgNode* resp) {
  return SALESOPS_SERVE(gate_, ctx, [&](const Principal& who) {
    return handlers::CreateOrgNode(env(), who, *req, resp);
  });
}

grpc::Status AccountsServiceImpl::GetOrgNode(Ctx* ctx,
                                             const v1::GetOrgNodeRequest* req,
                                             v1::OrgNode* resp) {
  return SALESOPS_SERVE(gate_, ctx, [&](const Principal&) {
    return handlers::GetOrgNode(env(), *req, resp);
  });
}

grpc::Status AccountsServiceImpl::UpdateOrgNode(
    Ctx* ctx, const v1::UpdateOrgNodeRequest* req, v1::OrgNode* resp) {
  return SALESOPS_SERVE(gate_, ctx, [&](const Principal& who) {
    return handlers::UpdateOrgNode(env(), who, *req, resp);
  });
}

grpc::Status AccountsServiceImpl::MoveOrgNode(Ctx* ctx,
                                              const v1::MoveOrgNodeRequest* req,
                                              v1::OrgNode* resp) {
  return SALESOPS_SERVE(gate_, ctx, [&](const Principal& who) {
    return handlers::MoveOrgNode(env(), who, *req, resp);
  });
}

grpc::Status AccountsServiceImpl::ListOrgNodes(
    Ctx* ctx, const v1::ListOrgNodesRequest* req,
    v1::ListOrgNodesResponse* resp) {
  return SALESOPS_SERVE(gate_, ctx, [&](const Principal&) {
    return handlers::ListOrgNodes(env(), *req, resp);
  });
}

grpc::Status AccountsServiceImpl::SetQuota(Ctx* ctx,
                                           const v1::SetQuotaRequest* req,
                                           v1::Quota* resp) {
  return SALESOPS_SERVE(gate_, ctx, [&](const Principal& who) {
    return handlers::SetQuota(env(), who, *req, resp);
  });
}

grpc::Status AccountsServiceImpl::GetQuota(Ctx* ctx,
                                           const v1::GetQuotaRequest* req,
                                           v1::GetQuotaResponse* resp) {
  return SALESOPS_SERVE(gate_, ctx, [&](const Principal&) {
    return handlers::GetQuota(env(), *req, resp);
  });
}

grpc::Status AccountsServiceImpl::ListQuotas(Ctx* ctx,
                                             const v1::ListQuotasRequest* req,
                                             v1::ListQuotasResponse* resp) {
  return SALESOPS_SERVE(gate_, ctx, [&](const Principal&) {
    return handlers::ListQuotas(env(), *req, resp);
  });
}

grpc::Status AccountsServiceImpl::ScoreIndustries(
    Ctx* ctx, const v1::ScoreIndustriesRequest* req,
    v1::ScoreIndustriesResponse* resp) {
  return SALESOPS_SERVE(gate_, ctx, [&](const Principal&) {
    return AnswerScoreIndustries(*req, resp);
  });
}

grpc::Status AccountsServiceImpl::GetParetoView(
    Ctx* ctx, const v1::GetParetoViewRequest* req,
    v1::GetParetoViewResponse* resp) {
  return SALESOPS_SERVE(gate_, ctx, [&](const Principal&) {
    return AnswerParetoView(*req, currency_, resp);
  });
}

grpc::Status AccountsServiceImpl::ClassifyAccounts(
    Ctx* ctx, const v1::ClassifyAccountsRequest* req,
    v1::ClassifyAccountsResponse* resp) {
  return SALESOPS_SERVE(gate_, ctx, [&](const Principal& who) {
    return handlers::ClassifyAccounts(env(), who, *req, resp);
  });
}

grpc::Status AccountsServiceImpl::SetExchangeRate(
    Ctx* ctx, const v1::SetExchangeRateRequest* req, v1::ExchangeRate* resp) {
  return SALESOPS_SERVE(gate_, ctx, [&](const Principal& who) {
    return handlers::SetExchangeRate(env(), who, *req, resp);
  });
}

grpc::Status AccountsServiceImpl::ListExchangeRates(
    Ctx* ctx, const v1::ListExchangeRatesRequest* req,
    v1::ListExchangeRatesResponse* resp) {
  return SALESOPS_SERVE(gate_, ctx, [&](const Principal&) {
    return handlers::ListExchangeRates(env(), *req, resp);
  });
}

}  // namespace salesops::accounts
