#include "services/pipeline/pipeline_service.h"

// The service's shared parts: construction and its role table, scope, the
// peer checks, the one write of an opportunity transition, the stage-model
// and evaluation handlers, and following credit's feed. The other handlers
// are in opportunity_handlers.cc and buying_centre_handlers.cc.

#include <algorithm>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/log/log.h"
#include "common/status/status.h"
#include "common/status/violations.h"
#include "common/store/ids.h"
#include "common/store/listing.h"
#include "common/time/clock.h"
#include "services/pipeline/evaluation.h"
#include "services/pipeline/stage_models.h"

namespace salesops::pipeline {

namespace {

const std::vector<Role> kWriters = {Role::kAdmin, Role::kManager, Role::kRep};
const std::vector<Role> kAdminsAndManagers = {Role::kAdmin, Role::kManager};

// Who may call what (SPEC §8): every RPC of salesops.v1.PipelineService has
// one row; CallGate refuses to start otherwise.
std::vector<MethodRoles> PipelineRoles() {
  return {
      {"CreateStageModel", {Role::kAdmin}},
      {"GetStageModel", AllRoles()},
      {"ListStageModels", AllRoles()},
      {"UpdateStageModel", {Role::kAdmin}},
      {"CreateOpportunity", kWriters},
      {"ImportOpportunities", kWriters},
      {"GetOpportunity", AllRoles()},
      {"UpdateOpportunity", kWriters},
      {"ListOpportunities", AllRoles()},
      {"SetExitCriterion", kWriters},
      {"MoveStage", kWriters},
      {"CloseOpportunity", kWriters},
      {"ReopenOpportunity", kAdminsAndManagers},
      {"GetOpportunityHistory", AllRoles()},
      {"SetContactRole", kWriters},
      {"RemoveContactRole", kWriters},
      {"ListContactRoles", AllRoles()},
      {"RecordActivity", kWriters},
      {"ListActivities", AllRoles()},
      {"ListFollowUps", AllRoles()},
      {"ListOverdueFollowUps", AllRoles()},
      // Anyone may evaluate; storing the result on an opportunity needs its
      // writer (FinishEvaluation).
      {"EvaluateFourFactors", AllRoles()},
      {"EvaluateQualification", AllRoles()},
      {"EvaluateCompetitive", AllRoles()},
      {"GetDealHealth", AllRoles()},
      {"RecordWeeklyReview", kWriters},
      {"ListWeeklyReviews", AllRoles()},
      {"ListOpportunityChanges", {Role::kAdmin, Role::kService}},
  };
}

}  // namespace

PipelineServiceImpl::PipelineServiceImpl(Store* store,
                                         const Authenticator* auth,
                                         Clock* clock, AccountsClient* accounts,
                                         CreditClient* credit,
                                         const OrgMirror* org,
                                         PipelineOptions options)
    : db_(store),
      gate_(auth, v1::PipelineService::service_full_name(), PipelineRoles()),
      scope_([org](const std::string& node, const std::string& ancestor) {
        return org->IsWithin(node, ancestor);
      }),
      clock_(clock),
      accounts_(accounts),
      credit_(credit),
      org_(org),
      options_(std::move(options)) {}

absl::Status PipelineServiceImpl::Init() {
  return db_.store
      ->Write(SystemActor("start-up"),
              [&](WriteTxn& txn) -> absl::Status {
                for (v1::StageModel m : BuiltInModels()) {
                  ASSIGN_OR_RETURN(std::optional<v1::StageModel> stored,
                                   db_.models.Find(txn, m.id()));
                  if (stored) {
                    continue;
                  }
                  m.set_created_micros(Micros(txn.now()));
                  m.set_updated_micros(m.created_micros());
                  RETURN_IF_ERROR(db_.models.Insert(txn, m.id(), &m));
                }
                return absl::OkStatus();
              })
      .status();
}

// ---------------------------------------------------------------------------
// Scope

absl::Status PipelineServiceImpl::RequireWriter(
    const Principal& who, const std::string& owner) const {
  return scope_.RequireWriter(who, owner, "opportunities");
}

absl::StatusOr<v1::Opportunity> PipelineServiceImpl::ReadVisible(
    const Principal& who, const std::string& id, std::string_view field) {
  if (id.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(std::string(field), ": required"));
  }
  ASSIGN_OR_RETURN(v1::Opportunity o, db_.opportunities.Get(id));
  RETURN_IF_ERROR(
      scope_.RequireReader(who, o.owner_node_id(), "opportunities"));
  return o;
}

absl::Status PipelineServiceImpl::OwnerVerdict(const Principal& who,
                                               const std::string& owner,
                                               const std::string& parent,
                                               v1::OrgNodeKind kind,
                                               std::string_view field) const {
  if (kind != v1::ORG_NODE_KIND_REP) {
    return absl::InvalidArgumentError(absl::StrCat(
        std::string(field), ": org node ", owner, " is a ",
        v1::OrgNodeKind_Name(kind), "; opportunities are owned by REP nodes"));
  }
  if (who.role == Role::kManager && !org_->IsWithin(parent, who.org_node_id)) {
    return absl::PermissionDeniedError(absl::StrCat(
        "MANAGER ", who.name, " may not give opportunities to org node ", owner,
        " (outside their subtree)"));
  }
  if (who.role == Role::kRep && owner != who.org_node_id) {
    return absl::PermissionDeniedError(absl::StrCat(
        "REP ", who.name, " may only own opportunities themselves (",
        std::string(field), " must be ", who.org_node_id, ")"));
  }
  return absl::OkStatus();
}

absl::Status PipelineServiceImpl::OwnerAsAccountsKnowsIt(
    const Principal& who, const std::string& owner, std::string_view field,
    const absl::StatusOr<v1::OrgNode>& node) const {
  if (absl::IsNotFound(node.status())) {
    return absl::InvalidArgumentError(absl::StrCat(
        std::string(field), ": org node ", owner, " not found in accounts"));
  }
  RETURN_IF_ERROR(node.status());
  return OwnerVerdict(who, owner, node->parent_id(), node->kind(), field);
}

absl::Status PipelineServiceImpl::CheckOwner(const Principal& who,
                                             const std::string& owner,
                                             std::string_view field) {
  // The org tree followed from accounts answers without a call; a node the
  // mirror does not know yet (feed lag) is asked of accounts.
  if (std::optional<OrgMirror::Node> known = org_->Find(owner)) {
    return OwnerVerdict(who, owner, known->parent_id, known->kind, field);
  }
  return OwnerAsAccountsKnowsIt(who, owner, field,
                                accounts_->GetOrgNode(owner));
}

void PipelineServiceImpl::CheckOwnerAsync(
    const Principal& who, const std::string& owner, std::string field,
    std::function<void(absl::Status)> done) {
  if (std::optional<OrgMirror::Node> known = org_->Find(owner)) {
    done(OwnerVerdict(who, owner, known->parent_id, known->kind, field));
    return;
  }
  accounts_->GetOrgNodeAsync(
      owner, [this, who, owner, field = std::move(field),
              done = std::move(done)](absl::StatusOr<v1::OrgNode> node) {
        done(OwnerAsAccountsKnowsIt(who, owner, field, node));
      });
}

void PipelineServiceImpl::CheckAccountAsync(
    const std::string& account_id, std::string field,
    std::function<void(absl::Status)> done) {
  if (AccountKnown(account_id)) {
    done(absl::OkStatus());
    return;
  }
  accounts_->GetAccountAsync(
      account_id, [this, account_id, field = std::move(field),
                   done = std::move(done)](absl::StatusOr<v1::Account> a) {
        done(RememberAccount(account_id, field, a.status()));
      });
}

absl::Status PipelineServiceImpl::RememberAccount(const std::string& account_id,
                                                  std::string_view field,
                                                  const absl::Status& answer) {
  if (absl::IsNotFound(answer)) {
    return absl::InvalidArgumentError(absl::StrCat(
        std::string(field), ": account ", account_id, " not found"));
  }
  RETURN_IF_ERROR(answer);
  std::lock_guard<std::mutex> lock(known_accounts_mu_);
  if (known_accounts_.size() >= kMaxKnownAccounts) {
    known_accounts_.clear();  // a bound, not an eviction policy
  }
  known_accounts_.insert(account_id);
  return absl::OkStatus();
}

bool PipelineServiceImpl::AccountKnown(const std::string& account_id) {
  std::lock_guard<std::mutex> lock(known_accounts_mu_);
  return known_accounts_.count(account_id) > 0;
}

// ---------------------------------------------------------------------------
// Opportunity writes

absl::Status PipelineServiceImpl::Transition(const Principal& who,
                                             const char* method,
                                             const std::string& opportunity_id,
                                             int64_t expected_version,
                                             const TransitionFn& transition,
                                             v1::Opportunity* resp) {
  return db_.store
      ->Write(ActorFor(who, method),
              [&](WriteTxn& txn) -> absl::Status {
                ASSIGN_OR_RETURN(v1::Opportunity o,
                                 db_.opportunities.Get(txn, opportunity_id));
                RETURN_IF_ERROR(RequireWriter(who, o.owner_node_id()));
                RETURN_IF_ERROR(CheckVersion("opportunity", o.id(),
                                             expected_version, o.version()));
                ASSIGN_OR_RETURN(v1::StageModel model,
                                 db_.models.Get(txn, o.stage_model_id()));
                ASSIGN_OR_RETURN(OpportunityTransition t,
                                 transition(o, model, txn.now()));
                return WriteTransition(txn, o, std::move(t), resp);
              })
      .status();
}

absl::Status PipelineServiceImpl::WriteTransition(WriteTxn& txn,
                                                  const v1::Opportunity& stored,
                                                  OpportunityTransition t,
                                                  v1::Opportunity* resp) {
  v1::Opportunity& o = t.opportunity;
  RETURN_IF_ERROR(db_.opportunity_by_external_id.Claim(
      txn, "opportunity.external_id", stored.external_id(), o.external_id(),
      o.id()));
  RETURN_IF_ERROR(db_.AppendHistory(txn, std::move(t.history)));
  if (o.owner_node_id() != stored.owner_node_id()) {
    db_.opportunities_by_owner.Delete(txn, stored.owner_node_id(), o.id());
    db_.opportunities_by_owner.Put(txn, o.owner_node_id(), o.id());
    RETURN_IF_ERROR(db_.ReassignFollowUps(txn, o.id(), o.owner_node_id()));
  }
  if (t.cancel_follow_ups) {
    RETURN_IF_ERROR(db_.CancelFollowUps(txn, o.id()));
  }
  RETURN_IF_ERROR(db_.opportunities.Update(txn, o.id(), 0, &o));
  *resp = std::move(o);
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// Stage models

namespace {

// What a new model leaves empty comes from the model it copies.
void CopyUnset(const v1::StageModel& src, v1::StageModel* m) {
  if (m->stages().empty()) {
    *m->mutable_stages() = src.stages();
  }
  if (!m->has_out_of_funnel_threshold()) {
    *m->mutable_out_of_funnel_threshold() = src.out_of_funnel_threshold();
  }
  if (!m->has_cadence()) {
    *m->mutable_cadence() = src.cadence();
  }
  if (m->stall_limit_days() == 0) {
    m->set_stall_limit_days(src.stall_limit_days());
  }
}

absl::Status CheckModel(const v1::StageModel& m, const std::string& currency) {
  std::vector<std::string> violations;
  ValidateModel(m, currency, &violations);
  if (!violations.empty()) {
    return absl::InvalidArgumentError(absl::StrJoin(violations, "; "));
  }
  return absl::OkStatus();
}

}  // namespace

grpc::Status PipelineServiceImpl::CreateStageModel(
    Ctx* ctx, const v1::CreateStageModelRequest* req, v1::StageModel* resp) {
  return SALESOPS_SERVE(gate_, ctx, [&](const Principal& who) -> absl::Status {
    v1::StageModel m = req->model();
    if (!req->copy_from_id().empty()) {
      ASSIGN_OR_RETURN(std::optional<v1::StageModel> source,
                       db_.models.Find(req->copy_from_id()));
      if (!source) {
        return absl::InvalidArgumentError(absl::StrCat(
            "copy_from_id: stage model ", req->copy_from_id(), " not found"));
      }
      CopyUnset(*source, &m);
    }
    RETURN_IF_ERROR(CheckModel(m, options_.currency));
    const auto insert = [&](WriteTxn& txn) -> absl::Status {
      m.set_id(NewId("stm", txn.now()));
      m.set_name(Trimmed(m.name()));
      m.set_built_in(false);
      m.clear_win_rate_history();
      m.set_created_micros(Micros(txn.now()));
      m.set_updated_micros(m.created_micros());
      RETURN_IF_ERROR(db_.models.Insert(txn, m.id(), &m));
      *resp = m;
      return absl::OkStatus();
    };
    return db_.store
        ->Write(ActorFor(who, "CreateStageModel"),
                [&](WriteTxn& txn) {
                  return CreateOnce(txn, "CreateStageModel", req->request_id(),
                                    *req, resp, [&] { return insert(txn); });
                })
        .status();
  });
}

grpc::Status PipelineServiceImpl::GetStageModel(
    Ctx* ctx, const v1::GetStageModelRequest* req, v1::StageModel* resp) {
  return SALESOPS_SERVE(gate_, ctx, [&](const Principal&) -> absl::Status {
    if (req->id().empty()) {
      return absl::InvalidArgumentError("id: required");
    }
    ASSIGN_OR_RETURN(*resp, db_.models.Get(req->id()));
    return absl::OkStatus();
  });
}

grpc::Status PipelineServiceImpl::ListStageModels(
    Ctx* ctx, const v1::ListStageModelsRequest* req,
    v1::ListStageModelsResponse* resp) {
  return SALESOPS_SERVE(gate_, ctx, [&](const Principal&) -> absl::Status {
    ASSIGN_OR_RETURN(Page page, ReadListPage(*req));
    SetFeedSequence(resp, db_.store->last_sequence());
    std::string next;
    RETURN_IF_ERROR(FillPage<v1::StageModel>(
        db_.models, page, [](const v1::StageModel&) { return true; },
        resp->mutable_models(), &next));
    SetNextPageToken(resp, next);
    return absl::OkStatus();
  });
}

grpc::Status PipelineServiceImpl::UpdateStageModel(
    Ctx* ctx, const v1::UpdateStageModelRequest* req, v1::StageModel* resp) {
  return SALESOPS_SERVE(gate_, ctx, [&](const Principal& who) -> absl::Status {
    Violations early;
    if (req->model().id().empty()) {
      early.Add("model.id", "required");
    }
    early.Add(fieldmask::Resolve(req->update_mask(), req->model(),
                                 StageModelUpdateRules())
                  .status());
    RETURN_IF_ERROR(early.status());
    const auto update = [&](WriteTxn& txn) -> absl::Status {
      ASSIGN_OR_RETURN(v1::StageModel stored,
                       db_.models.Get(txn, req->model().id()));
      // Output-only fields (built_in, times, history) keep their stored
      // values: the merge never copies them.
      ASSIGN_OR_RETURN(v1::StageModel m,
                       MergeModelUpdate(stored, *req, options_.currency));
      m.set_updated_micros(Micros(txn.now()));
      for (v1::WinRateChange& c : WinRateChanges(
               stored, m, Micros(txn.now()), who.name, stored.version() + 1)) {
        *m.add_win_rate_history() = std::move(c);
      }
      RETURN_IF_ERROR(
          db_.models.Update(txn, m.id(), req->expected_version(), &m));
      *resp = std::move(m);
      return absl::OkStatus();
    };
    return db_.store->Write(ActorFor(who, "UpdateStageModel"), update).status();
  });
}

// ---------------------------------------------------------------------------
// Evaluation

template <typename Eval>
absl::Status PipelineServiceImpl::FinishEvaluation(
    const Principal& who, const char* method, absl::StatusOr<Eval> evaluation,
    const std::string& opportunity_id, int64_t expected_version,
    Eval* (v1::Opportunity::*slot)(), Eval* resp) {
  RETURN_IF_ERROR(evaluation.status());
  evaluation->set_evaluated_by(who.name);
  evaluation->set_evaluated_micros(Micros(clock_->Now()));
  if (!opportunity_id.empty()) {
    // Stored on the opportunity: a change, so the caller must be its writer.
    evaluation->set_opportunity_id(opportunity_id);
    v1::Opportunity stored;
    RETURN_IF_ERROR(Transition(
        who, method, opportunity_id, expected_version,
        [&](const v1::Opportunity& o, const v1::StageModel& model,
            absl::Time now) -> absl::StatusOr<OpportunityTransition> {
          OpportunityTransition t;
          t.opportunity = o;
          *(t.opportunity.*slot)() = *evaluation;
          Touch(model, now, &t.opportunity);
          return t;
        },
        &stored));
  }
  *resp = std::move(*evaluation);
  return absl::OkStatus();
}

grpc::Status PipelineServiceImpl::EvaluateFourFactors(
    Ctx* ctx, const v1::EvaluateFourFactorsRequest* req,
    v1::FourFactorEvaluation* resp) {
  return SALESOPS_SERVE(gate_, ctx, [&](const Principal& who) {
    return FinishEvaluation(
        who, "EvaluateFourFactors",
        pipeline::EvaluateFourFactors(req->need(), req->impact(), req->fit(),
                                      req->relationship(), req->min_factor(),
                                      req->min_total()),
        req->opportunity_id(), req->expected_version(),
        &v1::Opportunity::mutable_four_factors, resp);
  });
}

grpc::Status PipelineServiceImpl::EvaluateQualification(
    Ctx* ctx, const v1::EvaluateQualificationRequest* req,
    v1::QualificationEvaluation* resp) {
  return SALESOPS_SERVE(gate_, ctx, [&](const Principal& who) {
    return FinishEvaluation(who, "EvaluateQualification",
                            pipeline::EvaluateQualification(req->evaluation()),
                            req->opportunity_id(), req->expected_version(),
                            &v1::Opportunity::mutable_qualification, resp);
  });
}

grpc::Status PipelineServiceImpl::EvaluateCompetitive(
    Ctx* ctx, const v1::EvaluateCompetitiveRequest* req,
    v1::CompetitiveEvaluation* resp) {
  return SALESOPS_SERVE(gate_, ctx, [&](const Principal& who) {
    return FinishEvaluation(
        who, "EvaluateCompetitive",
        pipeline::EvaluateCompetitive(req->criteria(), req->parties()),
        req->opportunity_id(), req->expected_version(),
        &v1::Opportunity::mutable_competitive, resp);
  });
}

// ---------------------------------------------------------------------------
// Credit's feed: full collection closes a closes_on_collection opportunity WON

absl::Status PipelineServiceImpl::ApplyCreditEvent(const v1::Event& event,
                                                   WriteTxn& txn) {
  if (event.kind() != kOpportunityCollectionKind) {
    return absl::OkStatus();
  }
  v1::OpportunityCollection collection;
  if (!event.payload().UnpackTo(&collection)) {
    return absl::DataLossError(absl::StrCat("credit feed event ",
                                            event.sequence(),
                                            ": not an OpportunityCollection"));
  }
  return ApplyCollection(collection, event.time_micros(), txn);
}

absl::Status PipelineServiceImpl::ApplyCollection(
    const v1::OpportunityCollection& collection, int64_t closed_micros,
    WriteTxn& txn) {
  if (!collection.fully_collected() || collection.opportunity_id().empty()) {
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(std::optional<v1::Opportunity> found,
                   db_.opportunities.Find(txn, collection.opportunity_id()));
  // Unknown here (e.g. an ERP invoice naming an id of another system) or
  // already closed (this state applied before, or closed by hand): nothing to
  // do. A reopened opportunity is OPEN again and is closed by the next fully
  // collected state that reaches it.
  if (!found || found->status() != v1::OPPORTUNITY_STATUS_OPEN) {
    return absl::OkStatus();
  }
  v1::Opportunity& o = *found;
  if (!collection.account_id().empty() &&
      collection.account_id() != o.account_id()) {
    // A receivable linked to the wrong opportunity must not close someone
    // else's deal.
    log::Warn("credit feed: collection names another account; not closing",
              {{"opportunity_id", o.id()},
               {"opportunity_account_id", o.account_id()},
               {"collection_account_id", collection.account_id()}});
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(v1::StageModel model,
                   db_.models.Get(txn, o.stage_model_id()));
  if (!ClosesOnCollection(model, o)) {
    return absl::OkStatus();
  }
  v1::Opportunity closed;
  return WriteTransition(
      txn, o,
      Close(o, model, v1::OPPORTUNITY_STATUS_WON, "collected in full",
            closed_micros > 0 ? closed_micros : Micros(txn.now()),
            kCreditSource, txn.now()),
      &closed);
}

absl::Status PipelineServiceImpl::ResyncCredit() {
  std::vector<v1::OpportunityCollection> listed;
  uint64_t sequence = 0;
  RETURN_IF_ERROR(credit_->ListAllOpportunityCollections(&listed, &sequence));
  std::vector<const v1::OpportunityCollection*> collected;
  for (const v1::OpportunityCollection& c : listed) {
    if (c.fully_collected()) {
      collected.push_back(&c);
    }
  }
  // Transactions of at most kResyncBatch collections keep the commit path
  // free for handlers; the cursor goes with the last one, so an interrupted
  // resync is simply run again (closing is idempotent).
  size_t next = 0;
  do {
    const size_t end = std::min(collected.size(), next + kResyncBatch);
    const bool last = end == collected.size();
    RETURN_IF_ERROR(
        db_.store
            ->Write(
                SystemActor("resync:credit"),
                [&](WriteTxn& txn) -> absl::Status {
                  for (size_t i = next; i < end; ++i) {
                    // The sale lands on the day the cash came in,
                    // not on the day of the resync.
                    const v1::Date& d = collected[i]->collected_date();
                    const int64_t at =
                        d.year() > 0
                            ? Micros(absl::FromCivil(
                                  absl::CivilDay(d.year(), d.month(), d.day()),
                                  options_.time_zone))
                            : 0;
                    RETURN_IF_ERROR(ApplyCollection(*collected[i], at, txn));
                  }
                  if (last) {
                    txn.PutCursor(kCreditSource, sequence);
                  }
                  return absl::OkStatus();
                })
            .status());
    next = end;
  } while (next < collected.size());
  return absl::OkStatus();
}

}  // namespace salesops::pipeline
