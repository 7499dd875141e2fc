#pragma once

// gRPC handlers of salesops.v1.CreditService (SPEC.md §5): authorize →
// validate → one transaction on the store's commit path (checks that depend on
// state — versions, what is still owed, external ids — run inside it) → map
// the status. The rules themselves are pure functions (calculators.h,
// receivables.h, collections.h, credit_rules.h).
//
// Scope (SPEC §8): ADMIN and FINANCE everything; MANAGER reads the accounts
// whose owner is inside their subtree, REP the accounts they own (owners and
// the tree per the OrgMirror followed from accounts). SERVICE may CheckCredit
// and list opportunity collections. A single entity outside the caller's scope
// is PERMISSION_DENIED.

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/org/org_mirror.h"
#include "common/server/auth.h"
#include "common/server/peer.h"
#include "common/store/store.h"
#include "common/time/clock.h"
#include "salesops/v1/credit.grpc.pb.h"
#include "salesops/v1/feed.pb.h"
#include "services/credit/credit_store.h"

namespace salesops::credit {

struct CreditOptions {
  std::string currency = "EUR";                    // --currency
  absl::TimeZone time_zone = absl::UTCTimeZone();  // --time_zone: "today"
  // Payment terms of receivables of accounts without a profile
  // (--default_payment_terms_days).
  int default_payment_terms_days = 30;
  // CheckCredit BLOCKs when receivables are overdue more than this
  // (--overdue_block_days).
  int overdue_block_days = 30;
};

// Whether an account exists, for accounts the followed feed has not shown
// yet: answers its owner node, NOT_FOUND, or UNAVAILABLE.
using AccountLookup =
    std::function<absl::StatusOr<std::string>(const std::string& account_id)>;
// Asks salesops.v1.AccountsService/GetAccount over `peer` (not owned).
AccountLookup GrpcAccountLookup(const PeerChannel* peer);

class CreditServiceImpl final : public v1::CreditService::Service {
 public:
  // Pointers are not owned and outlive the service. `lookup` may be empty
  // (only accounts seen on the accounts feed exist).
  CreditServiceImpl(Store* store, const Authenticator* auth, Clock* clock,
                    OrgMirror* org, AccountLookup lookup,
                    CreditOptions options);
  ~CreditServiceImpl() override;

  // Follows pipeline's feed (kinds PipelineKinds()) inside the consumer's
  // transaction: stage models are remembered; an opportunity in a
  // contract_signed stage (OPEN, or WON from it) gets its one receivable;
  // one that closes without a sale releases its contracted-not-invoiced
  // amount. Idempotent.
  [[nodiscard]] absl::Status ApplyPipeline(const v1::Event& event,
                                           WriteTxn& txn);
  static std::vector<std::string> PipelineKinds();
  // The accounts kinds credit follows (org nodes and accounts, into `org`).
  static std::vector<std::string> AccountsKinds();

  // The daily collections work for the clock's today (see RunCollections).
  [[nodiscard]] absl::StatusOr<v1::RunCollectionsResponse> RunDaily(
      Actor actor);
  // Runs RunDaily now and then every `period` on a thread of its own, until
  // StopDailyRunner (at the latest the destructor).
  void StartDailyRunner(absl::Duration period);
  // Stops and joins the runner; call before the store closes. Idempotent.
  void StopDailyRunner();

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

  // ---- scope ----
  // Reads of one account: ADMIN, FINANCE, SERVICE any; MANAGER an account
  // owned in their subtree; REP one they own. PERMISSION_DENIED otherwise.
  [[nodiscard]] absl::Status RequireAccountReader(
      const Principal& who, const std::string& account_id) const;
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
  // promises), for a caller allowed to read the account.
  template <typename Msg>
  [[nodiscard]] absl::Status ListByAccount(
      Ctx* ctx, const std::string& account_id, const v1::PageRequest& page,
      const MultiIndex& index, const Table<Msg>& table,
      const std::function<bool(const Msg&)>& keep,
      google::protobuf::RepeatedPtrField<Msg>* out,
      v1::PageResponse* page_out) const;
  // INVALID_ARGUMENT naming `field` when the account is unknown to accounts.
  [[nodiscard]] absl::Status RequireAccount(const std::string& account_id,
                                            std::string_view field) const;

  // ---- inside transactions ----
  // The open amount of the account's receivables and its commitments (other
  // than `except_opportunity`'s).
  [[nodiscard]] absl::StatusOr<int64_t> Exposure(
      WriteTxn& txn, const std::string& account_id,
      const std::string& except_opportunity) const;
  // Recomputes the OpportunityCollection of `opportunity_id` from its
  // receivables and stores it (with its event) when it changed.
  [[nodiscard]] absl::Status RefreshCollection(
      WriteTxn& txn, const std::string& opportunity_id) const;
  // Opens a receivable (validated by the caller), releases the
  // opportunity's commitment and refreshes its collection.
  [[nodiscard]] absl::Status OpenReceivable(WriteTxn& txn,
                                            v1::Receivable* r) const;
  [[nodiscard]] absl::StatusOr<int> PaymentTermsDays(
      WriteTxn& txn, const std::string& account_id) const;
  [[nodiscard]] absl::Status NewTask(WriteTxn& txn, v1::CollectionTask* task,
                                     absl::Time now) const;
  [[nodiscard]] absl::Status RunDailyIn(WriteTxn& txn, absl::CivilDay today,
                                        absl::Time now,
                                        v1::RunCollectionsResponse* resp) const;

  // Handler bodies returning absl::Status.
  absl::Status DoSetCreditProfile(Ctx*, const v1::SetCreditProfileRequest*,
                                  v1::CreditProfile*);
  absl::Status DoCheckCredit(Ctx*, const v1::CheckCreditRequest*,
                             v1::CreditCheck*);
  absl::Status DoPostReceivable(Ctx*, const v1::PostReceivableRequest*,
                                v1::Receivable*);
  absl::Status DoListReceivables(Ctx*, const v1::ListReceivablesRequest*,
                                 v1::ListReceivablesResponse*);
  absl::Status DoRecordPayment(Ctx*, const v1::RecordPaymentRequest*,
                               v1::Payment*);
  absl::Status DoWriteOff(Ctx*, const v1::WriteOffRequest*, v1::Receivable*);
  absl::Status DoSetDispute(Ctx*, const v1::SetDisputeRequest*,
                            v1::Receivable*);
  absl::Status DoGetAging(Ctx*, const v1::GetAgingRequest*, v1::Aging*);
  absl::Status DoGetDso(Ctx*, const v1::GetDsoRequest*, v1::Dso*);
  absl::Status DoRecordPromise(Ctx*, const v1::RecordPromiseRequest*,
                               v1::Promise*);
  absl::Status DoRecordCollectionContact(
      Ctx*, const v1::RecordCollectionContactRequest*, v1::CollectionContact*);
  absl::Status DoListCollectionTasks(Ctx*,
                                     const v1::ListCollectionTasksRequest*,
                                     v1::ListCollectionTasksResponse*);
  absl::Status DoGetWorklist(Ctx*, const v1::GetWorklistRequest*,
                             v1::Worklist*);
  absl::Status DoGetDebtorClass(Ctx*, const v1::GetDebtorClassRequest*,
                                v1::DebtorClassAnswer*);
  absl::Status DoSetDunningStrategy(Ctx*, const v1::DunningStrategy*,
                                    v1::DunningStrategy*);

  CreditStore db_;
  const Authenticator* auth_;
  Clock* clock_;
  OrgMirror* org_;
  AccountLookup lookup_;
  CreditOptions options_;
  int exponent_;

  std::mutex runner_mu_;
  std::condition_variable runner_cv_;
  bool runner_stop_ = false;
  std::thread runner_;
};

}  // namespace salesops::credit
