// The stage-model and evaluation handlers of PipelineServiceImpl (SPEC.md
// §3.1, §3.5): I/O around stage_models.h and evaluation.h.

#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status/status.h"
#include "common/status/violations.h"
#include "common/store/ids.h"
#include "common/store/listing.h"
#include "services/pipeline/evaluation.h"
#include "services/pipeline/handlers_internal.h"
#include "services/pipeline/pipeline_service.h"
#include "services/pipeline/stage_models.h"

namespace salesops::pipeline {

// ---------------------------------------------------------------------------
// Stage models

grpc::Status PipelineServiceImpl::CreateStageModel(
    Ctx* ctx, const v1::CreateStageModelRequest* req, v1::StageModel* resp) {
  absl::StatusOr<Principal> who = auth_->Authorize(*ctx, {Role::kAdmin});
  if (!who.ok()) {
    return ToGrpc(who.status());
  }
  v1::StageModel m = req->model();
  if (!req->copy_from_id().empty()) {
    absl::StatusOr<std::optional<v1::StageModel>> source =
        db_.models.Find(req->copy_from_id());
    if (!source.ok()) {
      return ToGrpc(source.status());
    }
    if (!*source) {
      return ToGrpc(absl::InvalidArgumentError(absl::StrCat(
          "copy_from_id: stage model ", req->copy_from_id(), " not found")));
    }
    const v1::StageModel& src = **source;
    if (m.stages().empty()) {
      *m.mutable_stages() = src.stages();
    }
    if (!m.has_out_of_funnel_threshold()) {
      *m.mutable_out_of_funnel_threshold() = src.out_of_funnel_threshold();
    }
    if (!m.has_cadence()) {
      *m.mutable_cadence() = src.cadence();
    }
    if (m.stall_limit_days() == 0) {
      m.set_stall_limit_days(src.stall_limit_days());
    }
  }
  std::vector<std::string> violations;
  ValidateModel(m, options_.currency, &violations);
  if (!violations.empty()) {
    return ToGrpc(absl::InvalidArgumentError(absl::StrJoin(violations, "; ")));
  }
  absl::Status s =
      db_.store
          ->Write(ActorFor(*who, "CreateStageModel"),
                  [&](WriteTxn& txn) -> absl::Status {
                    return CreateOnce(
                        txn, "CreateStageModel", req->request_id(), *req, resp,
                        [&]() -> absl::Status {
                          m.set_id(NewId("stm", txn.now()));
                          m.set_name(Trimmed(m.name()));
                          m.set_built_in(false);
                          m.clear_win_rate_history();
                          m.set_created_micros(Micros(txn.now()));
                          m.set_updated_micros(m.created_micros());
                          RETURN_IF_ERROR(db_.models.Insert(txn, m.id(), &m));
                          *resp = m;
                          return absl::OkStatus();
                        });
                  })
          .status();
  return ToGrpc(s);
}

grpc::Status PipelineServiceImpl::GetStageModel(
    Ctx* ctx, const v1::GetStageModelRequest* req, v1::StageModel* resp) {
  absl::StatusOr<Principal> who = auth_->Authorize(*ctx, kAnyone);
  if (!who.ok()) {
    return ToGrpc(who.status());
  }
  if (req->id().empty()) {
    return ToGrpc(absl::InvalidArgumentError("id: required"));
  }
  absl::StatusOr<v1::StageModel> m = db_.models.Get(req->id());
  if (!m.ok()) {
    return ToGrpc(m.status());
  }
  *resp = std::move(*m);
  return grpc::Status::OK;
}

grpc::Status PipelineServiceImpl::ListStageModels(
    Ctx* ctx, const v1::ListStageModelsRequest* req,
    v1::ListStageModelsResponse* resp) {
  absl::StatusOr<Principal> who = auth_->Authorize(*ctx, kAnyone);
  if (!who.ok()) {
    return ToGrpc(who.status());
  }
  absl::StatusOr<Page> page = ReadPage(req->page());
  if (!page.ok()) {
    return ToGrpc(page.status());
  }
  resp->mutable_page()->set_feed_sequence(db_.store->last_sequence());
  std::string next;
  absl::Status s = FillPage<v1::StageModel>(
      db_.models, *page, [](const v1::StageModel&) { return true; },
      resp->mutable_models(), &next);
  resp->mutable_page()->set_next_page_token(next);
  return ToGrpc(s);
}

grpc::Status PipelineServiceImpl::UpdateStageModel(
    Ctx* ctx, const v1::UpdateStageModelRequest* req, v1::StageModel* resp) {
  absl::StatusOr<Principal> who = auth_->Authorize(*ctx, {Role::kAdmin});
  if (!who.ok()) {
    return ToGrpc(who.status());
  }
  if (req->model().id().empty()) {
    return ToGrpc(absl::InvalidArgumentError("model.id: required"));
  }
  std::vector<std::string> violations;
  ValidateModel(req->model(), options_.currency, &violations);
  if (!violations.empty()) {
    return ToGrpc(absl::InvalidArgumentError(absl::StrJoin(violations, "; ")));
  }
  absl::Status s =
      db_.store
          ->Write(ActorFor(*who, "UpdateStageModel"),
                  [&](WriteTxn& txn) -> absl::Status {
                    ASSIGN_OR_RETURN(v1::StageModel stored,
                                     db_.models.Get(txn, req->model().id()));
                    RETURN_IF_ERROR(CheckSameStageKeys(stored, req->model()));
                    v1::StageModel m = req->model();
                    m.set_name(Trimmed(m.name()));
                    m.set_built_in(stored.built_in());
                    m.set_created_micros(stored.created_micros());
                    m.set_updated_micros(Micros(txn.now()));
                    *m.mutable_win_rate_history() = stored.win_rate_history();
                    for (v1::WinRateChange& c :
                         WinRateChanges(stored, m, Micros(txn.now()), who->name,
                                        stored.version() + 1)) {
                      *m.add_win_rate_history() = std::move(c);
                    }
                    RETURN_IF_ERROR(db_.models.Update(
                        txn, m.id(), req->expected_version(), &m));
                    *resp = std::move(m);
                    return absl::OkStatus();
                  })
          .status();
  return ToGrpc(s);
}

// ---------------------------------------------------------------------------
// Evaluation

template <typename Eval>
absl::Status PipelineServiceImpl::FinishEvaluation(
    Ctx* ctx, const char* method, absl::StatusOr<Eval> evaluation,
    const std::string& opportunity_id, int64_t expected_version,
    Eval* (v1::Opportunity::*slot)(), Eval* resp) {
  ASSIGN_OR_RETURN(Principal who, auth_->Authorize(*ctx, kAnyone));
  RETURN_IF_ERROR(evaluation.status());
  evaluation->set_evaluated_by(who.name);
  evaluation->set_evaluated_micros(Micros(clock_->Now()));
  if (!opportunity_id.empty()) {
    // Stored on the opportunity: a change, so the caller must be its writer.
    evaluation->set_opportunity_id(opportunity_id);
    RETURN_IF_ERROR(
        db_.store
            ->Write(
                ActorFor(who, method),
                [&](WriteTxn& txn) -> absl::Status {
                  ASSIGN_OR_RETURN(v1::Opportunity o,
                                   db_.opportunities.Get(txn, opportunity_id));
                  RETURN_IF_ERROR(RequireWriter(who, o.owner_node_id()));
                  RETURN_IF_ERROR(CheckVersion("opportunity", o.id(),
                                               expected_version, o.version()));
                  ASSIGN_OR_RETURN(v1::StageModel model,
                                   db_.models.Get(txn, o.stage_model_id()));
                  *(o.*slot)() = *evaluation;
                  Touch(model, txn.now(), &o);
                  return db_.opportunities.Update(txn, o.id(), 0, &o);
                })
            .status());
  }
  *resp = std::move(*evaluation);
  return absl::OkStatus();
}

grpc::Status PipelineServiceImpl::EvaluateFourFactors(
    Ctx* ctx, const v1::EvaluateFourFactorsRequest* req,
    v1::FourFactorEvaluation* resp) {
  return ToGrpc(FinishEvaluation(
      ctx, "EvaluateFourFactors",
      pipeline::EvaluateFourFactors(req->need(), req->impact(), req->fit(),
                                    req->relationship(), req->min_factor(),
                                    req->min_total()),
      req->opportunity_id(), req->expected_version(),
      &v1::Opportunity::mutable_four_factors, resp));
}

grpc::Status PipelineServiceImpl::EvaluateQualification(
    Ctx* ctx, const v1::EvaluateQualificationRequest* req,
    v1::QualificationEvaluation* resp) {
  return ToGrpc(FinishEvaluation(
      ctx, "EvaluateQualification",
      pipeline::EvaluateQualification(req->evaluation()), req->opportunity_id(),
      req->expected_version(), &v1::Opportunity::mutable_qualification, resp));
}

grpc::Status PipelineServiceImpl::EvaluateCompetitive(
    Ctx* ctx, const v1::EvaluateCompetitiveRequest* req,
    v1::CompetitiveEvaluation* resp) {
  return ToGrpc(FinishEvaluation(
      ctx, "EvaluateCompetitive",
      pipeline::EvaluateCompetitive(req->criteria(), req->parties()),
      req->opportunity_id(), req->expected_version(),
      &v1::Opportunity::mutable_competitive, resp));
}

}  // namespace salesops::pipeline
