#pragma once

// gRPC handlers of salesops.v1.CreditService (SPEC.md §5): authorize →
// validate → one transaction on the store's commit path (checks that depend on
// state — versions, what is still owed, external ids — run inside it) → map
// the status. Handlers are I/O only: the rules are pure transitions
// (credit_rules.h, receivable_rules.h, payment_rules.h, promise_rules.h) over
// the pure arithmetic (calculators.h, receivables.h, collections.h). Feeds are
// followed by followers.h, the daily collections run by daily_job.h.
//
// Scope (SPEC §8): ADMIN and FINANCE everything; MANAGER reads the accounts
// whose owner is inside their subtree, REP the accounts they own (owners and
// the tree per the OrgMirror followed from accounts). SERVICE may CheckCredit
// and list opportunity collections. A single entity outside the caller's scope
// is PERMISSION_DENIED.

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "common/org/org_mirror.h"
#include "common/org/scope.h"
#include "common/server/auth.h"
#include "common/server/handler.h"
#include "common/server/peer.h"
#include "common/server/principal.h"
#include "common/status/status.h"
#include "common/store/listing.h"
#include "common/time/clock.h"
#include "salesops/v1/credit.grpc.pb.h"
#include "services/credit/collections.h"
#include "services/credit/credit_ledger.h"
#include "services/credit/credit_options.h"
#include "services/credit/currency_rules.h"
#include "services/credit/daily_job.h"
#include "services/credit/receivable_rules.h"

namespace salesops::credit {

// Whether an account exists, for accounts the followed feed has not shown
// yet: answers its owner node, NOT_FOUND, or UNAVAILABLE.
using AccountLookup =
    std::function<absl::StatusOr<std::string>(const std::string& account_id)>;
// Asks salesops.v1.AccountsService/GetAccount over `peer` (not owned).
AccountLookup GrpcAccountLookup(const PeerChannel* peer);

class CreditServiceImpl final : public v1::CreditService::Service {
 public:
  // Pointers are not owned and outlive the service. `lookup` may be empty
  // (only accounts seen on the accounts feed exist). RunCollections runs
  // `job`'s work now.
  CreditServiceImpl(const CreditLedger* ledger, const Authenticator* auth,
                    Clock* clock, OrgMirror* org, AccountLookup lookup,
                    DailyJob* job);

  using Ctx = grpc::ServerContext;
  grpc::Status SetCreditProfile(Ctx*, const v1::SetCreditProfileRequest*,
                                v1::CreditProfile*) override;
  grpc::Status GetCreditProfile(Ctx*, const v1::GetCreditProfileRequest*,
                                v1::CreditProfile*) override;
  grpc::Status CheckCredit(Ctx*, const v1::CheckCreditRequest*,
                           v1::CreditCheck*) override;
  grpc::Status ListCreditChecks(Ctx*, const v1::ListCreditChecksRequest*,
                                v1::ListCreditChecksResponse*) override;
  grpc::Status PostReceivable(Ctx*, const v1::PostReceivableRequest*,
                              v1::Receivable*) override;
  grpc::Status GetReceivable(Ctx*, const v1::GetReceivableRequest*,
                             v1::Receivable*) override;
  grpc::Status ListReceivables(Ctx*, const v1::ListReceivablesRequest*,
                               v1::ListReceivablesResponse*) override;
  grpc::Status RecordPayment(Ctx*, const v1::RecordPaymentRequest*,
                             v1::Payment*) override;
  grpc::Status ListPayments(Ctx*, const v1::ListPaymentsRequest*,
                            v1::ListPaymentsResponse*) override;
  grpc::Status WriteOff(Ctx*, const v1::WriteOffRequest*,
                        v1::Receivable*) override;
  grpc::Status SetDispute(Ctx*, const v1::SetDisputeRequest*,
                          v1::Receivable*) override;
  grpc::Status GetOpportunityCollection(
      Ctx*, const v1::GetOpportunityCollectionRequest*,
      v1::OpportunityCollection*) override;
  grpc::Status ListOpportunityCollections(
      Ctx*, const v1::ListOpportunityCollectionsRequest*,
      v1::ListOpportunityCollectionsResponse*) override;
  grpc::Status GetAging(Ctx*, const v1::GetAgingRequest*, v1::Aging*) override;
  grpc::Status GetDso(Ctx*, const v1::GetDsoRequest*, v1::Dso*) override;
  grpc::Status RecordPromise(Ctx*, const v1::RecordPromiseRequest*,
                             v1::Promise*) override;
  grpc::Status ListPromises(Ctx*, const v1::ListPromisesRequest*,
                            v1::ListPromisesResponse*) override;
  grpc::Status RecordCollectionContact(
      Ctx*, const v1::RecordCollectionContactRequest*,
      v1::CollectionContact*) override;
  grpc::Status ListCollectionTasks(Ctx*, const v1::ListCollectionTasksRequest*,
                                   v1::ListCollectionTasksResponse*) override;
  grpc::Status CompleteCollectionTask(Ctx*,
                                      const v1::CompleteCollectionTaskRequest*,
                                      v1::CollectionTask*) override;
  grpc::Status GetWorklist(Ctx*, const v1::GetWorklistRequest*,
                           v1::Worklist*) override;
  grpc::Status GetDebtorClass(Ctx*, const v1::GetDebtorClassRequest*,
                              v1::DebtorClassAnswer*) override;
  grpc::Status SetDunningStrategy(Ctx*, const v1::DunningStrategy*,
                                  v1::DunningStrategy*) override;
  grpc::Status GetDunningStrategy(Ctx*, const v1::GetDunningStrategyRequest*,
                                  v1::DunningStrategy*) override;
  grpc::Status RunCollections(Ctx*, const v1::RunCollectionsRequest*,
                              v1::RunCollectionsResponse*) override;
  grpc::Status CalculateBadDebtRecovery(
      Ctx*, const v1::CalculateBadDebtRecoveryRequest*,
      v1::BadDebtRecovery*) override;
  grpc::Status CalculateCarryingCost(Ctx*,
                                     const v1::CalculateCarryingCostRequest*,
                                     v1::CarryingCost*) override;
  grpc::Status CalculateRealizedResult(
      Ctx*, const v1::CalculateRealizedResultRequest*,
      v1::RealizedResult*) override;

 private:
  absl::CivilDay Today() const;
  v1::Money M(int64_t units) const;
  const CreditStore& db() const { return ledger_->db; }
  const CreditOptions& options() const { return ledger_->options; }

  // ---- scope (ScopePolicy over the OrgMirror) ----
  // Reads of one account: ADMIN, FINANCE, SERVICE any; MANAGER an account
  // owned in their subtree; REP one they own. PERMISSION_DENIED otherwise.
  [[nodiscard]] absl::Status RequireAccountReader(
      const Principal& who, const std::string& account_id) const;
  bool CanReadAccount(const Principal& who,
                      const std::string& account_id) const;
  // Reads of a subtree: ADMIN, FINANCE and SERVICE any node; MANAGER a node in
  // their subtree; REP their own node.
  [[nodiscard]] absl::Status RequireNodeReader(const Principal& who,
                                               const std::string& node_id,
                                               std::string_view field) const;
  // The accounts an aging/DSO/worklist request is about: `account_id` or the
  // accounts owned in `org_node_id`'s subtree (exactly one must be set).
  [[nodiscard]] absl::StatusOr<std::vector<std::string>> ScopeAccounts(
      const Principal& who, const std::string& account_id,
      const std::string& org_node_id) const;
  // One page of an account's entities listed by `index` (checks, payments,
  // promises), for a caller allowed to read the account: `req` is the List
  // request (account_id and its paging), `resp` the List response whose
  // paging fields are set.
  template <typename Msg, typename Req, typename Resp>
  [[nodiscard]] absl::Status ListByAccount(
      const Principal& who, const Req& req, const MultiIndex& index,
      const Table<Msg>& table, const std::function<bool(const Msg&)>& keep,
      google::protobuf::RepeatedPtrField<Msg>* out, Resp* resp) const;
  // INVALID_ARGUMENT naming `field` when the account is unknown to accounts.
  [[nodiscard]] absl::Status RequireAccount(const std::string& account_id,
                                            std::string_view field) const;

  // Handler bodies (the caller authorized), in credit_service.cc and
  // collections_service.cc.
  absl::Status DoSetCreditProfile(const Principal& who,
                                  const v1::SetCreditProfileRequest& req,
                                  v1::CreditProfile* resp);
  absl::Status DoGetCreditProfile(const Principal& who,
                                  const v1::GetCreditProfileRequest& req,
                                  v1::CreditProfile* resp);
  absl::Status DoCheckCredit(const Principal& who,
                             const v1::CheckCreditRequest& req,
                             v1::CreditCheck* resp);
  absl::Status CheckCreditIn(WriteTxn& txn, const Principal& who,
                             const v1::CheckCreditRequest& req,
                             absl::CivilDay today, v1::CreditCheck* resp);
  absl::Status DoPostReceivable(const Principal& who,
                                const v1::PostReceivableRequest& req,
                                v1::Receivable* resp);
  absl::Status PostReceivableIn(WriteTxn& txn,
                                const v1::PostReceivableRequest& req,
                                const PostedInvoice& invoice,
                                v1::Receivable* resp);
  absl::Status DoGetReceivable(const Principal& who,
                               const v1::GetReceivableRequest& req,
                               v1::Receivable* resp);
  absl::Status DoListReceivables(const Principal& who,
                                 const v1::ListReceivablesRequest& req,
                                 v1::ListReceivablesResponse* resp);
  absl::Status ListReceivablesOfNode(
      const Principal& who, const v1::ListReceivablesRequest& req,
      const Page& page, const std::function<bool(const v1::Receivable&)>& keep,
      v1::ListReceivablesResponse* resp, std::string* next);
  absl::Status DoRecordPayment(const Principal& who,
                               const v1::RecordPaymentRequest& req,
                               v1::Payment* resp);
  absl::Status RecordPaymentIn(WriteTxn& txn, const Principal& who,
                               const v1::RecordPaymentRequest& req,
                               absl::CivilDay date, v1::Payment* resp);
  absl::Status DoWriteOff(const Principal& who, const v1::WriteOffRequest& req,
                          v1::Receivable* resp);
  absl::Status DoSetDispute(const Principal& who,
                            const v1::SetDisputeRequest& req,
                            v1::Receivable* resp);
  absl::Status DoGetOpportunityCollection(
      const Principal& who, const v1::GetOpportunityCollectionRequest& req,
      v1::OpportunityCollection* resp);
  absl::Status DoListOpportunityCollections(
      const v1::ListOpportunityCollectionsRequest& req,
      v1::ListOpportunityCollectionsResponse* resp);
  absl::Status DoGetAging(const Principal& who, const v1::GetAgingRequest& req,
                          v1::Aging* resp);
  absl::Status DoGetDso(const Principal& who, const v1::GetDsoRequest& req,
                        v1::Dso* resp);
  absl::Status DoRecordPromise(const Principal& who,
                               const v1::RecordPromiseRequest& req,
                               v1::Promise* resp);
  absl::Status DoListPromises(const Principal& who,
                              const v1::ListPromisesRequest& req,
                              v1::ListPromisesResponse* resp);
  absl::Status DoRecordCollectionContact(
      const Principal& who, const v1::RecordCollectionContactRequest& req,
      v1::CollectionContact* resp);
  absl::Status DoListCollectionTasks(const Principal& who,
                                     const v1::ListCollectionTasksRequest& req,
                                     v1::ListCollectionTasksResponse* resp);
  absl::Status DoCompleteCollectionTask(
      const Principal& who, const v1::CompleteCollectionTaskRequest& req,
      v1::CollectionTask* resp);
  absl::Status DoGetWorklist(const Principal& who,
                             const v1::GetWorklistRequest& req,
                             v1::Worklist* resp);
  absl::StatusOr<std::vector<std::string>> WorklistAccounts(
      const Principal& who, const v1::GetWorklistRequest& req) const;
  absl::Status ReadWorklistContext(const std::string& account,
                                   WorklistContext* context) const;
  // Adds the account's overdue items to `items`, each priced in the
  // reporting currency by `conv` (its converted open amount in
  // `open_reporting`).
  absl::Status AddWorklistItems(Converter& conv,
                                std::map<std::string, int64_t>* open_reporting,
                                const std::string& account,
                                absl::CivilDay as_of,
                                const v1::DunningStrategy& strategy,
                                std::vector<v1::WorklistItem>* items) const;
  absl::Status DoGetDebtorClass(const Principal& who,
                                const v1::GetDebtorClassRequest& req,
                                v1::DebtorClassAnswer* resp);
  absl::Status DoSetDunningStrategy(const Principal& who,
                                    const v1::DunningStrategy& req,
                                    v1::DunningStrategy* resp);

  const CreditLedger* ledger_;
  CallGate gate_;  // the role table: CreditRoles() in credit_service.cc
  ScopePolicy scope_;
  Clock* clock_;
  OrgMirror* org_;
  AccountLookup lookup_;
  DailyJob* job_;
  int exponent_;
};

}  // namespace salesops::credit
