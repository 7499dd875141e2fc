#pragma once

// gRPC handlers of salesops.v1.PipelineService (SPEC.md §3) on the suite's
// handler shell (common/server/handler.h: roles per method in one table, next
// to the constructor in pipeline_service.cc): validate → ask peers (accounts,
// credit) → one transaction on the store's commit path that reads the stored
// state, calls the pure transition (opportunity_rules.h, buying_centre_rules.h,
// activity_rules.h) and writes its result → map the status.
//
// Scope (SPEC §8): ADMIN everything; MANAGER the opportunities whose owner is
// inside the subtree of their org node (per the OrgMirror followed from
// accounts); REP the opportunities their own node owns; FINANCE and SERVICE
// read everything and write nothing (common/org/scope.h). A single entity
// outside the caller's scope is PERMISSION_DENIED; lists are filtered instead.

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/org/org_mirror.h"
#include "common/org/scope.h"
#include "common/server/auth.h"
#include "common/server/handler.h"
#include "common/store/store.h"
#include "common/time/clock.h"
#include "salesops/v1/credit.pb.h"
#include "salesops/v1/feed.pb.h"
#include "salesops/v1/pipeline.grpc.pb.h"
#include "services/pipeline/opportunity_rules.h"
#include "services/pipeline/peers.h"
#include "services/pipeline/pipeline_store.h"

namespace salesops::pipeline {

// Following credit's feed (SPEC.md §3.1 `closes_on_collection`, §6): the
// consumer's source name (its cursor's key and metrics label) and the one kind
// it asks for.
inline constexpr char kCreditSource[] = "credit";
inline constexpr char kOpportunityCollectionKind[] =
    "credit.OpportunityCollection";

struct PipelineOptions {
  // The instance's single currency (--currency).
  std::string currency = "EUR";
  // The instance's time zone (--time_zone): "today" for close dates, weeks.
  absl::TimeZone time_zone = absl::UTCTimeZone();
};

// CreateOpportunity and ImportOpportunities are served with gRPC's callback
// API: the call waits for the group commit without holding a thread
// (Store::WriteAsync); the other methods are synchronous.
class PipelineServiceImpl final
    : public v1::PipelineService::WithCallbackMethod_CreateOpportunity<
          v1::PipelineService::WithCallbackMethod_ImportOpportunities<
              v1::PipelineService::Service>> {
 public:
  // Pointers are not owned and outlive the service.
  PipelineServiceImpl(Store* store, const Authenticator* auth, Clock* clock,
                      AccountsClient* accounts, CreditClient* credit,
                      const OrgMirror* org, PipelineOptions options);

  // Stores the built-in stage models that are not stored yet (with their
  // events). Call once before serving.
  [[nodiscard]] absl::Status Init();

  using Ctx = grpc::ServerContext;
  grpc::Status CreateStageModel(Ctx*, const v1::CreateStageModelRequest*,
                                v1::StageModel*) override;
  grpc::Status GetStageModel(Ctx*, const v1::GetStageModelRequest*,
                             v1::StageModel*) override;
  grpc::Status ListStageModels(Ctx*, const v1::ListStageModelsRequest*,
                               v1::ListStageModelsResponse*) override;
  grpc::Status UpdateStageModel(Ctx*, const v1::UpdateStageModelRequest*,
                                v1::StageModel*) override;

  grpc::ServerUnaryReactor* CreateOpportunity(
      grpc::CallbackServerContext*, const v1::CreateOpportunityRequest*,
      v1::Opportunity*) override;
  // Bulk import (import_handlers.cc; docs/API.md "Bulk import"): each row as
  // CreateOpportunity would create it (audit method "ImportOpportunities",
  // request_id scope "CreateOpportunity"), the batch's distinct accounts and
  // owners checked once each, one WriteAsync per row; answers when every row
  // is done, results in the rows' order.
  grpc::ServerUnaryReactor* ImportOpportunities(
      grpc::CallbackServerContext*, const v1::ImportOpportunitiesRequest*,
      v1::ImportOpportunitiesResponse*) override;
  grpc::Status GetOpportunity(Ctx*, const v1::GetOpportunityRequest*,
                              v1::Opportunity*) override;
  grpc::Status UpdateOpportunity(Ctx*, const v1::UpdateOpportunityRequest*,
                                 v1::Opportunity*) override;
  grpc::Status ListOpportunities(Ctx*, const v1::ListOpportunitiesRequest*,
                                 v1::ListOpportunitiesResponse*) override;
  grpc::Status SetExitCriterion(Ctx*, const v1::SetExitCriterionRequest*,
                                v1::Opportunity*) override;
  grpc::Status MoveStage(Ctx*, const v1::MoveStageRequest*,
                         v1::Opportunity*) override;
  grpc::Status CloseOpportunity(Ctx*, const v1::CloseOpportunityRequest*,
                                v1::Opportunity*) override;
  grpc::Status ReopenOpportunity(Ctx*, const v1::ReopenOpportunityRequest*,
                                 v1::Opportunity*) override;
  grpc::Status GetOpportunityHistory(
      Ctx*, const v1::GetOpportunityHistoryRequest*,
      v1::GetOpportunityHistoryResponse*) override;

  grpc::Status SetContactRole(Ctx*, const v1::SetContactRoleRequest*,
                              v1::ContactRole*) override;
  grpc::Status RemoveContactRole(Ctx*, const v1::RemoveContactRoleRequest*,
                                 v1::ContactRole*) override;
  grpc::Status ListContactRoles(Ctx*, const v1::ListContactRolesRequest*,
                                v1::ListContactRolesResponse*) override;

  grpc::Status RecordActivity(Ctx*, const v1::RecordActivityRequest*,
                              v1::Activity*) override;
  grpc::Status ListActivities(Ctx*, const v1::ListActivitiesRequest*,
                              v1::ListActivitiesResponse*) override;
  grpc::Status ListFollowUps(Ctx*, const v1::ListFollowUpsRequest*,
                             v1::ListFollowUpsResponse*) override;
  grpc::Status ListOverdueFollowUps(Ctx*,
                                    const v1::ListOverdueFollowUpsRequest*,
                                    v1::ListOverdueFollowUpsResponse*) override;

  grpc::Status EvaluateFourFactors(Ctx*, const v1::EvaluateFourFactorsRequest*,
                                   v1::FourFactorEvaluation*) override;
  grpc::Status EvaluateQualification(Ctx*,
                                     const v1::EvaluateQualificationRequest*,
                                     v1::QualificationEvaluation*) override;
  grpc::Status EvaluateCompetitive(Ctx*, const v1::EvaluateCompetitiveRequest*,
                                   v1::CompetitiveEvaluation*) override;

  grpc::Status GetDealHealth(Ctx*, const v1::GetDealHealthRequest*,
                             v1::GetDealHealthResponse*) override;
  grpc::Status RecordWeeklyReview(Ctx*, const v1::RecordWeeklyReviewRequest*,
                                  v1::WeeklyReview*) override;
  grpc::Status ListWeeklyReviews(Ctx*, const v1::ListWeeklyReviewsRequest*,
                                 v1::ListWeeklyReviewsResponse*) override;
  // Every opportunity's history, by (opportunity id, seq), for a follower's
  // resync: SERVICE and ADMIN.
  grpc::Status ListOpportunityChanges(
      Ctx*, const v1::ListOpportunityChangesRequest*,
      v1::ListOpportunityChangesResponse*) override;

  // ---- Credit's feed (the consumer of source kCreditSource calls these) ----

  // Applies one event of credit's feed inside the consumer's transaction.
  // A "credit.OpportunityCollection" event (payload: OpportunityCollection)
  // goes to ApplyCollection with the event's time (time_micros) as the close
  // time; other kinds are ignored. DATA_LOSS when the payload is not an
  // OpportunityCollection (the consumer then retries; nothing is written).
  [[nodiscard]] absl::Status ApplyCreditEvent(const v1::Event& event,
                                              WriteTxn& txn);
  // Closes the collection's opportunity WON when `collection` is
  // fully_collected and the opportunity is OPEN, sits in a stage with
  // `closes_on_collection` and belongs to the collection's account: exactly as
  // CloseOpportunity WON (close reason "collected in full", closed_micros =
  // `closed_micros`, or the transaction's time when 0; one CLOSED history
  // entry by "credit"; follow-ups cancelled; version + 1; its event).
  // Anything else (not fully collected, already closed, another stage, an
  // unknown opportunity) writes nothing and is OK, so applying the same state
  // again changes nothing (feeds are at-least-once).
  [[nodiscard]] absl::Status ApplyCollection(
      const v1::OpportunityCollection& collection, int64_t closed_micros,
      WriteTxn& txn);
  // The credit consumer's resync after OUT_OF_RANGE: lists every collection
  // with the credit client (ListAllOpportunityCollections), applies the fully
  // collected ones with ApplyCollection (close time: the transaction's time),
  // at most kResyncBatch per transaction, and stores the listing's feed
  // sequence as the cursor of kCreditSource in the last transaction. A failure
  // part-way leaves the cursor as it was (the consumer resyncs again; what
  // was closed stays closed).
  [[nodiscard]] absl::Status ResyncCredit();
  static constexpr size_t kResyncBatch = 500;

 private:
  // ---- Scope (pipeline_service.cc) ----

  // The committed opportunity `id`, PERMISSION_DENIED when `who` may not read
  // it; `field` names the id in messages.
  [[nodiscard]] absl::StatusOr<v1::Opportunity> ReadVisible(
      const Principal& who, const std::string& id, std::string_view field);
  // PERMISSION_DENIED unless `who` may change opportunities owned by
  // `owner_node_id` (ADMIN; MANAGER inside their subtree; REP their own).
  [[nodiscard]] absl::Status RequireWriter(
      const Principal& who, const std::string& owner_node_id) const;

  // ---- Peers (pipeline_service.cc) ----

  // Validates `owner_node_id`: exists and is a REP node (per the followed org
  // tree, else asking accounts), and `who` may give it opportunities. `field`
  // names it in messages.
  [[nodiscard]] absl::Status CheckOwner(const Principal& who,
                                        const std::string& owner_node_id,
                                        std::string_view field);
  // CheckOwner without holding the thread: asks accounts with its
  // asynchronous stub; `done` runs once with the verdict.
  void CheckOwnerAsync(const Principal& who, const std::string& owner_node_id,
                       std::string field,
                       std::function<void(absl::Status)> done);
  // The verdict on an owner of parent `parent` and kind `kind`.
  [[nodiscard]] absl::Status OwnerVerdict(const Principal& who,
                                          const std::string& owner_node_id,
                                          const std::string& parent,
                                          v1::OrgNodeKind kind,
                                          std::string_view field) const;
  // The verdict on an owner from accounts' answer `node`.
  [[nodiscard]] absl::Status OwnerAsAccountsKnowsIt(
      const Principal& who, const std::string& owner_node_id,
      std::string_view field, const absl::StatusOr<v1::OrgNode>& node) const;
  // `done` gets INVALID_ARGUMENT naming `field` unless accounts knows
  // `account_id`. Accounts are never deleted, so a confirmed id is remembered
  // (up to kMaxKnownAccounts) and not asked again.
  void CheckAccountAsync(const std::string& account_id, std::string field,
                         std::function<void(absl::Status)> done);
  // Accounts' `answer` on `account_id` as a verdict; remembers a confirmed id.
  [[nodiscard]] absl::Status RememberAccount(const std::string& account_id,
                                             std::string_view field,
                                             const absl::Status& answer);
  bool AccountKnown(const std::string& account_id);
  // CreateOpportunity once authorized and validated: account, then owner,
  // then the commit (WriteAsync); `finish` runs once with the outcome, from
  // whichever thread answered last. No thread waits for accounts.
  void CreateAfterPeerChecks(const v1::CreateOpportunityRequest* req,
                             v1::Opportunity* resp, Principal who,
                             v1::Opportunity o, Finish finish);

  // ---- Opportunity writes (pipeline_service.cc) ----

  // One transition of an existing opportunity: reads it in the transaction,
  // checks `who` may change it and the expected version, reads its stage
  // model, calls `transition(stored, model, now)` and writes the result.
  using TransitionFn = std::function<absl::StatusOr<OpportunityTransition>(
      const v1::Opportunity&, const v1::StageModel&, absl::Time)>;
  [[nodiscard]] absl::Status Transition(const Principal& who,
                                        const char* method,
                                        const std::string& opportunity_id,
                                        int64_t expected_version,
                                        const TransitionFn& transition,
                                        v1::Opportunity* resp);
  // Writes `t` (see OpportunityTransition) over `stored` in `txn`.
  [[nodiscard]] absl::Status WriteTransition(WriteTxn& txn,
                                             const v1::Opportunity& stored,
                                             OpportunityTransition t,
                                             v1::Opportunity* resp);

  // ---- Handler bodies; the public methods map their status to gRPC ----

  // CreateOpportunity on the commit path; `req` and `resp` must outlive it.
  // `*ran` (when given) is set when the create ran (false: the
  // request_id's first result was returned).
  TxnFn CreateTxn(const v1::CreateOpportunityRequest* req, std::string by,
                  v1::Opportunity o, v1::Opportunity* resp,
                  bool* ran = nullptr);

  // ---- Bulk import (import_handlers.cc) ----

  // One ImportOpportunities call's state, shared by its callbacks.
  struct OpportunityImport;
  // Checks the distinct accounts and owners of the rows still OK, each once
  // and concurrently, then applies the verdicts to the rows and writes them.
  void CheckImportPeers(std::shared_ptr<OpportunityImport> batch);
  // One WriteAsync per row still OK; answers once the last is done.
  void WriteImportRows(std::shared_ptr<OpportunityImport> batch);
  absl::Status DoUpdateOpportunity(const Principal& who,
                                   const v1::UpdateOpportunityRequest*,
                                   v1::Opportunity*);
  absl::Status DoListOpportunities(const Principal& who,
                                   const v1::ListOpportunitiesRequest*,
                                   v1::ListOpportunitiesResponse*);
  // The one owner whose index answers a list for `owners` (a single REP
  // node, or a REP's own node when no owner is asked for); nullopt: none.
  std::optional<std::string> OnlyOwner(
      const Principal& who, const std::vector<std::string>& owners) const;
  absl::Status DoMoveStage(const Principal& who, const v1::MoveStageRequest*,
                           v1::Opportunity*);
  absl::Status DoSetContactRole(const Principal& who,
                                const v1::SetContactRoleRequest*,
                                v1::ContactRole*);
  absl::Status DoRecordActivity(const Principal& who,
                                const v1::RecordActivityRequest*,
                                v1::Activity*);
  absl::Status DoListOverdueFollowUps(const Principal& who,
                                      const v1::ListOverdueFollowUpsRequest*,
                                      v1::ListOverdueFollowUpsResponse*);
  absl::Status DoGetDealHealth(const Principal& who,
                               const v1::GetDealHealthRequest*,
                               v1::GetDealHealthResponse*);
  absl::Status DoRecordWeeklyReview(const Principal& who,
                                    const v1::RecordWeeklyReviewRequest*,
                                    v1::WeeklyReview*);
  // The rest of an Evaluate* call once `evaluation` is computed: stamps who
  // and when and, with an opportunity id, stores it in that opportunity's
  // `slot` field (the caller must be allowed to change the opportunity).
  // `method` names the RPC in the audit log.
  template <typename Eval>
  [[nodiscard]] absl::Status FinishEvaluation(
      const Principal& who, const char* method, absl::StatusOr<Eval> evaluation,
      const std::string& opportunity_id, int64_t expected_version,
      Eval* (v1::Opportunity::*slot)(), Eval* resp);

  PipelineStore db_;
  CallGate gate_;
  ScopePolicy scope_;
  Clock* clock_;
  AccountsClient* accounts_;
  CreditClient* credit_;
  const OrgMirror* org_;
  PipelineOptions options_;

  static constexpr size_t kMaxKnownAccounts = 1'000'000;
  std::mutex known_accounts_mu_;
  std::unordered_set<std::string> known_accounts_;
};

}  // namespace salesops::pipeline
