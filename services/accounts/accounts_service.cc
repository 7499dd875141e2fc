#include "services/accounts/accounts_service.h"

#include "common/status/status.h"
#include "services/accounts/analysis_rules.h"
#include "services/accounts/handlers.h"

namespace salesops::accounts {

AccountsServiceImpl::AccountsServiceImpl(Store* store,
                                         const Authenticator* auth,
                                         std::string currency)
    : db_(store), auth_(auth), currency_(std::move(currency)) {}

grpc::Status AccountsServiceImpl::CreateAccount(
    Ctx* ctx, const v1::CreateAccountRequest* req, v1::Account* resp) {
  absl::StatusOr<Principal> who =
      auth_->Authorize(*ctx, {Role::kAdmin, Role::kManager});
  if (!who.ok()) {
    return ToGrpc(who.status());
  }
  return ToGrpc(handlers::CreateAccount(env(), *who, *req, resp));
}

grpc::Status AccountsServiceImpl::GetAccount(Ctx* ctx,
                                             const v1::GetAccountRequest* req,
                                             v1::Account* resp) {
  absl::StatusOr<Principal> who = auth_->Authenticate(*ctx);
  if (!who.ok()) {
    return ToGrpc(who.status());
  }
  return ToGrpc(handlers::GetAccount(env(), *req, resp));
}

grpc::Status AccountsServiceImpl::UpdateAccount(
    Ctx* ctx, const v1::UpdateAccountRequest* req, v1::Account* resp) {
  absl::StatusOr<Principal> who =
      auth_->Authorize(*ctx, {Role::kAdmin, Role::kManager});
  if (!who.ok()) {
    return ToGrpc(who.status());
  }
  return ToGrpc(handlers::UpdateAccount(env(), *who, *req, resp));
}

grpc::Status AccountsServiceImpl::ListAccounts(
    Ctx* ctx, const v1::ListAccountsRequest* req,
    v1::ListAccountsResponse* resp) {
  absl::StatusOr<Principal> who = auth_->Authenticate(*ctx);
  if (!who.ok()) {
    return ToGrpc(who.status());
  }
  return ToGrpc(handlers::ListAccounts(env(), *req, resp));
}

grpc::Status AccountsServiceImpl::CreateContact(
    Ctx* ctx, const v1::CreateContactRequest* req, v1::Contact* resp) {
  absl::StatusOr<Principal> who =
      auth_->Authorize(*ctx, {Role::kAdmin, Role::kManager, Role::kRep});
  if (!who.ok()) {
    return ToGrpc(who.status());
  }
  return ToGrpc(handlers::CreateContact(env(), *who, *req, resp));
}

grpc::Status AccountsServiceImpl::GetContact(Ctx* ctx,
                                             const v1::GetContactRequest* req,
                                             v1::Contact* resp) {
  absl::StatusOr<Principal> who = auth_->Authenticate(*ctx);
  if (!who.ok()) {
    return ToGrpc(who.status());
  }
  return ToGrpc(handlers::GetContact(env(), *req, resp));
}

grpc::Status AccountsServiceImpl::UpdateContact(
    Ctx* ctx, const v1::UpdateContactRequest* req, v1::Contact* resp) {
  absl::StatusOr<Principal> who =
      auth_->Authorize(*ctx, {Role::kAdmin, Role::kManager, Role::kRep});
  if (!who.ok()) {
    return ToGrpc(who.status());
  }
  return ToGrpc(handlers::UpdateContact(env(), *who, *req, resp));
}

grpc::Status AccountsServiceImpl::ListContacts(
    Ctx* ctx, const v1::ListContactsRequest* req,
    v1::ListContactsResponse* resp) {
  absl::StatusOr<Principal> who = auth_->Authenticate(*ctx);
  if (!who.ok()) {
    return ToGrpc(who.status());
  }
  return ToGrpc(handlers::ListContacts(env(), *req, resp));
}

grpc::Status AccountsServiceImpl::GetOrgChart(Ctx* ctx,
                                              const v1::GetOrgChartRequest* req,
                                              v1::GetOrgChartResponse* resp) {
  absl::StatusOr<Principal> who = auth_->Authenticate(*ctx);
  if (!who.ok()) {
    return ToGrpc(who.status());
  }
  return ToGrpc(handlers::GetOrgChart(env(), *req, resp));
}

grpc::Status AccountsServiceImpl::CreateOrgNode(
    Ctx* ctx, const v1::CreateOrgNodeRequest* req, v1::OrgNode* resp) {
  absl::StatusOr<Principal> who =
      auth_->Authorize(*ctx, {Role::kAdmin, Role::kManager});
  if (!who.ok()) {
    return ToGrpc(who.status());
  }
  return ToGrpc(handlers::CreateOrgNode(env(), *who, *req, resp));
}

grpc::Status AccountsServiceImpl::GetOrgNode(Ctx* ctx,
                                             const v1::GetOrgNodeRequest* req,
                                             v1::OrgNode* resp) {
  absl::StatusOr<Principal> who = auth_->Authenticate(*ctx);
  if (!who.ok()) {
    return ToGrpc(who.status());
  }
  return ToGrpc(handlers::GetOrgNode(env(), *req, resp));
}

grpc::Status AccountsServiceImpl::UpdateOrgNode(
    Ctx* ctx, const v1::UpdateOrgNodeRequest* req, v1::OrgNode* resp) {
  absl::StatusOr<Principal> who =
      auth_->Authorize(*ctx, {Role::kAdmin, Role::kManager});
  if (!who.ok()) {
    return ToGrpc(who.status());
  }
  return ToGrpc(handlers::UpdateOrgNode(env(), *who, *req, resp));
}

grpc::Status AccountsServiceImpl::MoveOrgNode(Ctx* ctx,
                                              const v1::MoveOrgNodeRequest* req,
                                              v1::OrgNode* resp) {
  absl::StatusOr<Principal> who =
      auth_->Authorize(*ctx, {Role::kAdmin, Role::kManager});
  if (!who.ok()) {
    return ToGrpc(who.status());
  }
  return ToGrpc(handlers::MoveOrgNode(env(), *who, *req, resp));
}

grpc::Status AccountsServiceImpl::ListOrgNodes(
    Ctx* ctx, const v1::ListOrgNodesRequest* req,
    v1::ListOrgNodesResponse* resp) {
  absl::StatusOr<Principal> who = auth_->Authenticate(*ctx);
  if (!who.ok()) {
    return ToGrpc(who.status());
  }
  return ToGrpc(handlers::ListOrgNodes(env(), *req, resp));
}

grpc::Status AccountsServiceImpl::SetQuota(Ctx* ctx,
                                           const v1::SetQuotaRequest* req,
                                           v1::Quota* resp) {
  absl::StatusOr<Principal> who =
      auth_->Authorize(*ctx, {Role::kAdmin, Role::kManager});
  if (!who.ok()) {
    return ToGrpc(who.status());
  }
  return ToGrpc(handlers::SetQuota(env(), *who, *req, resp));
}

grpc::Status AccountsServiceImpl::GetQuota(Ctx* ctx,
                                           const v1::GetQuotaRequest* req,
                                           v1::GetQuotaResponse* resp) {
  absl::StatusOr<Principal> who = auth_->Authenticate(*ctx);
  if (!who.ok()) {
    return ToGrpc(who.status());
  }
  return ToGrpc(handlers::GetQuota(env(), *req, resp));
}

grpc::Status AccountsServiceImpl::ListQuotas(Ctx* ctx,
                                             const v1::ListQuotasRequest* req,
                                             v1::ListQuotasResponse* resp) {
  absl::StatusOr<Principal> who =
      auth_->Authorize(*ctx, {Role::kAdmin, Role::kService});
  if (!who.ok()) {
    return ToGrpc(who.status());
  }
  return ToGrpc(handlers::ListQuotas(env(), *req, resp));
}

grpc::Status AccountsServiceImpl::ScoreIndustries(
    Ctx* ctx, const v1::ScoreIndustriesRequest* req,
    v1::ScoreIndustriesResponse* resp) {
  absl::StatusOr<Principal> who = auth_->Authenticate(*ctx);
  if (!who.ok()) {
    return ToGrpc(who.status());
  }
  return ToGrpc(AnswerScoreIndustries(*req, resp));
}

grpc::Status AccountsServiceImpl::GetParetoView(
    Ctx* ctx, const v1::GetParetoViewRequest* req,
    v1::GetParetoViewResponse* resp) {
  absl::StatusOr<Principal> who = auth_->Authenticate(*ctx);
  if (!who.ok()) {
    return ToGrpc(who.status());
  }
  return ToGrpc(AnswerParetoView(*req, currency_, resp));
}

grpc::Status AccountsServiceImpl::ClassifyAccounts(
    Ctx* ctx, const v1::ClassifyAccountsRequest* req,
    v1::ClassifyAccountsResponse* resp) {
  absl::StatusOr<Principal> who = auth_->Authenticate(*ctx);
  if (!who.ok()) {
    return ToGrpc(who.status());
  }
  return ToGrpc(handlers::ClassifyAccounts(env(), *who, *req, resp));
}

}  // namespace salesops::accounts
