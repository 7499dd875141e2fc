#include "services/pipeline/pipeline_service.h"

#include <algorithm>
#include <functional>
#include <optional>
#include <set>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/civil_time.h"
#include "common/log/log.h"
#include "common/money/money.h"
#include "common/status/status.h"
#include "common/status/violations.h"
#include "common/store/ids.h"
#include "common/store/listing.h"
#include "common/time/fiscal_calendar.h"
#include "services/pipeline/deal_health.h"
#include "services/pipeline/evaluation.h"
#include "services/pipeline/stage_models.h"
#include "services/pipeline/stage_rules.h"

namespace salesops::pipeline {
namespace {

constexpr std::initializer_list<Role> kWriters = {Role::kAdmin, Role::kManager,
                                                  Role::kRep};
constexpr std::initializer_list<Role> kAnyone = {
    Role::kAdmin, Role::kManager, Role::kRep, Role::kFinance, Role::kService};
// Most entries read for one opportunity's history, roles, activities.
constexpr size_t kMaxPerOpportunity = 100'000;

int64_t Micros(absl::Time t) { return absl::ToUnixMicros(t); }

// Every id `index` lists under `value` (bounded).
absl::StatusOr<std::vector<std::string>> AllIds(const Store& store,
                                                const MultiIndex& index,
                                                const std::string& value) {
  std::vector<std::string> ids;
  bool more = false;
  RETURN_IF_ERROR(
      index.ListIds(store, value, "", kMaxPerOpportunity, &ids, &more));
  if (more) {
    return absl::FailedPreconditionError(absl::StrCat(
        "more than ", kMaxPerOpportunity, " entries under ", value));
  }
  return ids;
}
absl::StatusOr<std::vector<std::string>> AllIds(WriteTxn& txn,
                                                const MultiIndex& index,
                                                const std::string& value) {
  std::vector<std::string> ids;
  bool more = false;
  RETURN_IF_ERROR(
      index.ListIds(txn, value, "", kMaxPerOpportunity, &ids, &more));
  if (more) {
    return absl::FailedPreconditionError(absl::StrCat(
        "more than ", kMaxPerOpportunity, " entries under ", value));
  }
  return ids;
}

template <typename Msg, typename Source>
absl::StatusOr<std::vector<Msg>> LoadAll(Source& source,
                                         const MultiIndex& index,
                                         const Table<Msg>& table,
                                         const std::string& value) {
  ASSIGN_OR_RETURN(std::vector<std::string> ids, AllIds(source, index, value));
  std::vector<Msg> out;
  out.reserve(ids.size());
  for (const std::string& id : ids) {
    std::optional<Msg> m;
    if constexpr (std::is_same_v<Source, WriteTxn>) {
      ASSIGN_OR_RETURN(m, table.Find(source, id));
    } else {
      ASSIGN_OR_RETURN(m, table.Find(id));
    }
    if (m) {
      out.push_back(std::move(*m));
    }
  }
  return out;
}

// Fields a client sets on create and update (SPEC §3.2), checked alike.
void ValidateOpportunityFields(const v1::Opportunity& o,
                               const std::string& currency, Violations& v) {
  if (Blank(o.name())) {
    v.Add("opportunity.name: required");
  } else if (o.name().size() > 200) {
    v.Add("opportunity.name: at most 200 characters");
  }
  v.Add(money::Validate(o.amount(), currency, "opportunity.amount",
                        money::Sign::kPositive));
  if (absl::StatusOr<absl::CivilDay> d =
          FromProto(o.expected_close_date(), "opportunity.expected_close_date");
      !d.ok()) {
    v.Add(d.status());
  }
  for (int i = 0; i < o.competitors_size(); ++i) {
    if (Blank(o.competitors(i).name())) {
      v.Add(absl::StrCat("opportunity.competitors[", i, "].name: required"));
    }
  }
  if (!v1::SourceChannel_IsValid(o.source_channel())) {
    v.Add("opportunity.source_channel: unknown value");
  }
  if (o.external_id().size() > 128) {
    v.Add("opportunity.external_id: at most 128 characters");
  }
  if (o.has_next_step() && o.next_step().has_due()) {
    if (absl::StatusOr<absl::CivilDay> d =
            FromProto(o.next_step().due(), "opportunity.next_step.due");
        !d.ok()) {
      v.Add(d.status());
    }
  }
}

// FAILED_PRECONDITION when `amount` is below the model's out-of-funnel
// threshold (SPEC §3.2, §4.4).
absl::Status CheckFunnelThreshold(const v1::StageModel& model,
                                  const v1::Money& amount) {
  const int64_t threshold = model.out_of_funnel_threshold().units_minor();
  if (threshold > 0 && amount.units_minor() < threshold) {
    const int exp = money::CurrencyExponent(amount.currency());
    return absl::FailedPreconditionError(absl::StrCat(
        "opportunity.amount: ", money::Format(amount.units_minor(), exp), " ",
        amount.currency(), " is below the out-of-funnel threshold ",
        money::Format(threshold, exp), " of stage model ", model.id(),
        "; book it as an out-of-funnel sale (ForecastService."
        "RecordOutOfFunnelSale) instead"));
  }
  return absl::OkStatus();
}

// Appends one history entry of `opp` (whose version is already the new one).
absl::Status AppendChange(const PipelineStore& db, WriteTxn& txn,
                          v1::Opportunity* opp, v1::ChangeKind kind,
                          std::string from, std::string to,
                          const std::string& by, std::string reason = "",
                          std::vector<std::string> overridden = {}) {
  v1::OpportunityChange c;
  c.set_opportunity_id(opp->id());
  c.set_seq(opp->history_length() + 1);
  c.set_kind(kind);
  c.set_from(std::move(from));
  c.set_to(std::move(to));
  c.set_by(by);
  c.set_time_micros(Micros(txn.now()));
  c.set_reason(std::move(reason));
  c.set_override(!overridden.empty());
  c.set_opportunity_version(opp->version());
  for (std::string& o : overridden) {
    c.add_overridden_criteria(std::move(o));
  }
  const std::string id = PipelineStore::ChangeId(opp->id(), c.seq());
  opp->set_history_length(c.seq());
  RETURN_IF_ERROR(db.changes.Insert(txn, id, &c));
  db.changes_by_opportunity.Put(txn, opp->id(), id);
  return absl::OkStatus();
}

// Cancels the planned follow-ups of a closing opportunity.
absl::Status CancelFollowUps(const PipelineStore& db, WriteTxn& txn,
                             const std::string& opportunity_id) {
  ASSIGN_OR_RETURN(std::vector<v1::FollowUp> fups,
                   LoadAll(txn, db.follow_ups_by_opportunity, db.follow_ups,
                           opportunity_id));
  for (v1::FollowUp& f : fups) {
    if (f.state() != v1::FOLLOW_UP_STATE_PLANNED) {
      continue;
    }
    f.set_state(v1::FOLLOW_UP_STATE_CANCELLED);
    f.set_completed_micros(Micros(txn.now()));
    RETURN_IF_ERROR(db.follow_ups.Update(txn, f.id(), 0, &f));
  }
  return absl::OkStatus();
}

absl::Status InsertFollowUp(const PipelineStore& db, WriteTxn& txn,
                            const v1::Opportunity& opp, v1::FollowUp f) {
  f.set_id(NewId("fup", txn.now()));
  f.set_opportunity_id(opp.id());
  f.set_owner_node_id(opp.owner_node_id());
  f.set_state(v1::FOLLOW_UP_STATE_PLANNED);
  f.set_created_micros(Micros(txn.now()));
  RETURN_IF_ERROR(db.follow_ups.Insert(txn, f.id(), &f));
  db.follow_ups_by_opportunity.Put(txn, opp.id(), f.id());
  return absl::OkStatus();
}

// Re-derives out_of_funnel and stamps the update time.
void Touch(const v1::StageModel& model, absl::Time now, v1::Opportunity* o) {
  const int64_t threshold = model.out_of_funnel_threshold().units_minor();
  o->set_out_of_funnel(threshold > 0 && o->amount().units_minor() < threshold);
  o->set_updated_micros(Micros(now));
}

// Closes the OPEN opportunity `o` (as read in `txn`) with `outcome`: status,
// reason, closed time, version + 1, a CLOSED history entry by `by`, its
// planned follow-ups cancelled, stored with its event. The one close path of
// CloseOpportunity and of the close on full collection (credit's feed).
absl::Status CloseInTxn(const PipelineStore& db, WriteTxn& txn,
                        const v1::StageModel& model,
                        v1::OpportunityStatus outcome, std::string reason,
                        int64_t closed_micros, const std::string& by,
                        v1::Opportunity* o) {
  o->set_status(outcome);
  o->set_close_reason(std::move(reason));
  o->set_closed_micros(closed_micros);
  o->set_version(o->version() + 1);
  RETURN_IF_ERROR(AppendChange(db, txn, o, v1::CHANGE_KIND_CLOSED, "OPEN",
                               StatusName(outcome), by, o->close_reason()));
  RETURN_IF_ERROR(CancelFollowUps(db, txn, o->id()));
  Touch(model, txn.now(), o);
  return db.opportunities.Update(txn, o->id(), 0, o);
}

std::string DateText(const v1::Date& d) {
  return absl::StrFormat("%04d-%02d-%02d", d.year(), d.month(), d.day());
}

}  // namespace

PipelineServiceImpl::PipelineServiceImpl(Store* store,
                                         const Authenticator* auth,
                                         Clock* clock, AccountsClient* accounts,
                                         CreditClient* credit,
                                         const OrgMirror* org,
                                         PipelineOptions options)
    : db_(store),
      auth_(auth),
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

bool PipelineServiceImpl::CanSee(const Principal& who,
                                 const std::string& owner) const {
  switch (who.role) {
    case Role::kAdmin:
    case Role::kFinance:
    case Role::kService:
      return true;
    case Role::kManager:
      return org_->IsWithin(owner, who.org_node_id);
    case Role::kRep:
      return !who.org_node_id.empty() && owner == who.org_node_id;
  }
  return false;
}

absl::Status PipelineServiceImpl::RequireWriter(
    const Principal& who, const std::string& owner) const {
  const bool ok =
      who.role == Role::kAdmin ||
      (who.role == Role::kManager && org_->IsWithin(owner, who.org_node_id)) ||
      (who.role == Role::kRep && !who.org_node_id.empty() &&
       owner == who.org_node_id);
  if (ok) {
    return absl::OkStatus();
  }
  return absl::PermissionDeniedError(
      absl::StrCat(std::string(RoleName(who.role)), " ", who.name,
                   " may not change opportunities owned by org node ", owner,
                   who.role == Role::kManager ? " (outside their subtree)"
                   : who.role == Role::kRep   ? " (not their own)"
                                              : ""));
}

absl::StatusOr<v1::Opportunity> PipelineServiceImpl::ReadVisible(
    const Principal& who, const std::string& id, std::string_view field) {
  if (id.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(std::string(field), ": required"));
  }
  ASSIGN_OR_RETURN(v1::Opportunity o, db_.opportunities.Get(id));
  if (!CanSee(who, o.owner_node_id())) {
    return absl::PermissionDeniedError(
        absl::StrCat(std::string(RoleName(who.role)), " ", who.name,
                     " may not see opportunity ", id));
  }
  return o;
}

absl::StatusOr<v1::Opportunity> PipelineServiceImpl::ReadForAnyone(
    Ctx* ctx, const std::string& id, std::string_view field) {
  ASSIGN_OR_RETURN(Principal who, auth_->Authorize(*ctx, kAnyone));
  return ReadVisible(who, id, field);
}

absl::Status PipelineServiceImpl::CheckOwner(const Principal& who,
                                             const std::string& owner,
                                             std::string_view field) {
  // The org tree followed from accounts answers without a call; a node the
  // mirror does not know yet (feed lag) is asked of accounts.
  std::string parent;
  v1::OrgNodeKind kind = v1::ORG_NODE_KIND_UNSPECIFIED;
  if (std::optional<OrgMirror::Node> known = org_->Find(owner)) {
    parent = known->parent_id;
    kind = known->kind;
  } else {
    absl::StatusOr<v1::OrgNode> node = accounts_->GetOrgNode(owner);
    if (absl::IsNotFound(node.status())) {
      return absl::InvalidArgumentError(absl::StrCat(
          std::string(field), ": org node ", owner, " not found in accounts"));
    }
    RETURN_IF_ERROR(node.status());
    parent = node->parent_id();
    kind = node->kind();
  }
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

absl::Status PipelineServiceImpl::CheckAccount(const std::string& account_id,
                                               std::string_view field) {
  if (AccountKnown(account_id)) {
    return absl::OkStatus();
  }
  absl::StatusOr<v1::Account> account = accounts_->GetAccount(account_id);
  if (absl::IsNotFound(account.status())) {
    return absl::InvalidArgumentError(absl::StrCat(
        std::string(field), ": account ", account_id, " not found"));
  }
  RETURN_IF_ERROR(account.status());
  std::lock_guard<std::mutex> lock(known_accounts_mu_);
  if (known_accounts_.size() >= kMaxKnownAccounts) {
    known_accounts_.clear();  // a bound, not an eviction policy
  }
  known_accounts_.insert(account_id);
  return absl::OkStatus();
}

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
// Opportunities

grpc::ServerUnaryReactor* PipelineServiceImpl::CreateOpportunity(
    grpc::CallbackServerContext* ctx, const v1::CreateOpportunityRequest* req,
    v1::Opportunity* resp) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  Principal who;
  v1::Opportunity o;
  if (absl::Status s = PrepareCreate(*ctx, *req, &who, &o); !s.ok()) {
    reactor->Finish(ToGrpc(s));
    return reactor;
  }
  // The peer checks, then the commit without waiting: the store's completion
  // thread finishes the call. `release` (on a peer-check thread) gives the
  // thread's slot back once the checks are done, before anything can finish
  // the call.
  const bool known = PeersKnown(o);
  auto check_and_commit = [this, req, resp, reactor, who = std::move(who),
                           o = std::move(o)](bool release) mutable {
    absl::Status s = CheckAccount(o.account_id(), "opportunity.account_id");
    if (s.ok()) {
      s = CheckOwner(who, o.owner_node_id(), "opportunity.owner_node_id");
    }
    if (release) {
      --peer_check_threads_;
    }
    if (!s.ok()) {
      reactor->Finish(ToGrpc(s));
      return;
    }
    db_.store->WriteAsync(ActorFor(who, "CreateOpportunity"),
                          CreateTxn(req, who.name, std::move(o), resp),
                          [reactor](absl::StatusOr<CommitResult> r) {
                            reactor->Finish(ToGrpc(r.status()));
                          });
  };
  // A peer check that has to ask accounts blocks: not on gRPC's thread while
  // there are peer-check threads to spare.
  if (!known) {
    if (peer_check_threads_.fetch_add(1) < kMaxPeerCheckThreads) {
      std::thread([run = std::move(check_and_commit)]() mutable {
        run(/*release=*/true);
      }).detach();
      return reactor;
    }
    --peer_check_threads_;
  }
  check_and_commit(/*release=*/false);
  return reactor;
}

bool PipelineServiceImpl::PeersKnown(const v1::Opportunity& o) {
  return org_->Find(o.owner_node_id()).has_value() &&
         AccountKnown(o.account_id());
}

bool PipelineServiceImpl::AccountKnown(const std::string& account_id) {
  std::lock_guard<std::mutex> lock(known_accounts_mu_);
  return known_accounts_.count(account_id) > 0;
}

absl::Status PipelineServiceImpl::PrepareCreate(
    const grpc::ServerContextBase& ctx, const v1::CreateOpportunityRequest& req,
    Principal* who_out, v1::Opportunity* o_out) {
  ASSIGN_OR_RETURN(Principal who, auth_->Authorize(ctx, kWriters));
  v1::Opportunity o = req.opportunity();
  if (o.owner_node_id().empty() && who.role == Role::kRep) {
    o.set_owner_node_id(who.org_node_id);
  }
  if (o.stage_model_id().empty()) {
    o.set_stage_model_id(kBuyingCycle6);
  }
  Violations v;
  ValidateOpportunityFields(o, options_.currency, v);
  if (o.account_id().empty()) {
    v.Add("opportunity.account_id: required");
  }
  if (o.owner_node_id().empty()) {
    v.Add("opportunity.owner_node_id: required (a REP node)");
  }
  RETURN_IF_ERROR(v.status());
  *who_out = std::move(who);
  *o_out = std::move(o);
  return absl::OkStatus();
}

TxnFn PipelineServiceImpl::CreateTxn(const v1::CreateOpportunityRequest* req,
                                     std::string by, v1::Opportunity o,
                                     v1::Opportunity* resp) {
  return [this, req, by = std::move(by), o = std::move(o),
          resp](WriteTxn& txn) mutable -> absl::Status {
    return CreateOnce(
        txn, "CreateOpportunity", req->request_id(), *req, resp,
        [&]() -> absl::Status {
          ASSIGN_OR_RETURN(std::optional<v1::StageModel> model,
                           db_.models.Find(txn, o.stage_model_id()));
          if (!model) {
            return absl::InvalidArgumentError(
                absl::StrCat("opportunity.stage_model_id: stage model ",
                             o.stage_model_id(), " not found"));
          }
          if (o.stage_key().empty()) {
            o.set_stage_key(model->stages(0).key());
          }
          const int stage = StageIndex(*model, o.stage_key());
          if (stage < 0) {
            return absl::InvalidArgumentError(
                absl::StrCat("opportunity.stage_key: stage ", o.stage_key(),
                             " is not in stage model ", model->id()));
          }
          if (model->stages(stage).closes_won()) {
            return absl::InvalidArgumentError(
                absl::StrCat("opportunity.stage_key: ", o.stage_key(),
                             " closes the opportunity as WON; create it in an "
                             "earlier stage and close it"));
          }
          RETURN_IF_ERROR(CheckFunnelThreshold(*model, o.amount()));
          if (!o.external_id().empty()) {
            ASSIGN_OR_RETURN(auto same, db_.opportunity_by_external_id.Lookup(
                                            txn, o.external_id()));
            if (same) {
              return absl::AlreadyExistsError(
                  absl::StrCat("opportunity.external_id: \"", o.external_id(),
                               "\" is already opportunity ", *same));
            }
          }
          const int64_t now = Micros(txn.now());
          o.set_id(NewId("opp", txn.now()));
          o.set_name(Trimmed(o.name()));
          o.set_status(v1::OPPORTUNITY_STATUS_OPEN);
          o.clear_close_reason();
          o.clear_criteria();
          o.clear_four_factors();
          o.clear_qualification();
          o.clear_competitive();
          o.set_credit_review_pending(false);
          o.clear_credit_review_reason();
          o.set_closed_micros(0);
          o.set_stage_entered_micros(now);
          o.set_created_micros(now);
          o.set_history_length(0);
          Touch(*model, txn.now(), &o);
          o.set_version(1);
          RETURN_IF_ERROR(AppendChange(db_, txn, &o, v1::CHANGE_KIND_CREATED,
                                       "", o.stage_key(), by));
          RETURN_IF_ERROR(db_.opportunities.Insert(txn, o.id(), &o));
          db_.opportunities_by_owner.Put(txn, o.owner_node_id(), o.id());
          db_.opportunities_by_account.Put(txn, o.account_id(), o.id());
          if (!o.external_id().empty()) {
            db_.opportunity_by_external_id.Put(txn, o.external_id(), o.id());
          }
          if (std::optional<v1::FollowUp> first =
                  FirstFollowUp(model->cadence(), now)) {
            RETURN_IF_ERROR(InsertFollowUp(db_, txn, o, *first));
          }
          *resp = o;
          return absl::OkStatus();
        });
  };
}

grpc::Status PipelineServiceImpl::GetOpportunity(
    Ctx* ctx, const v1::GetOpportunityRequest* req, v1::Opportunity* resp) {
  absl::StatusOr<v1::Opportunity> o = ReadForAnyone(ctx, req->id(), "id");
  if (!o.ok()) {
    return ToGrpc(o.status());
  }
  *resp = std::move(*o);
  return grpc::Status::OK;
}

grpc::Status PipelineServiceImpl::UpdateOpportunity(
    Ctx* ctx, const v1::UpdateOpportunityRequest* req, v1::Opportunity* resp) {
  return ToGrpc(DoUpdateOpportunity(ctx, req, resp));
}

absl::Status PipelineServiceImpl::DoUpdateOpportunity(
    Ctx* ctx, const v1::UpdateOpportunityRequest* req, v1::Opportunity* resp) {
  ASSIGN_OR_RETURN(Principal who, auth_->Authorize(*ctx, kWriters));
  const v1::Opportunity& in = req->opportunity();
  Violations v;
  ValidateOpportunityFields(in, options_.currency, v);
  if (in.id().empty()) {
    v.Add("opportunity.id: required");
  }
  RETURN_IF_ERROR(v.status());
  ASSIGN_OR_RETURN(v1::Opportunity committed,
                   ReadVisible(who, in.id(), "opportunity.id"));
  // A new owner is validated with accounts before anything is written.
  const bool reassign = !in.owner_node_id().empty() &&
                        in.owner_node_id() != committed.owner_node_id();
  if (reassign) {
    if (who.role != Role::kAdmin && who.role != Role::kManager) {
      return absl::PermissionDeniedError(
          "opportunity.owner_node_id: only a MANAGER or ADMIN may reassign an "
          "opportunity");
    }
    RETURN_IF_ERROR(
        CheckOwner(who, in.owner_node_id(), "opportunity.owner_node_id"));
  }
  return db_.store
      ->Write(
          ActorFor(who, "UpdateOpportunity"),
          [&](WriteTxn& txn) -> absl::Status {
            ASSIGN_OR_RETURN(v1::Opportunity o,
                             db_.opportunities.Get(txn, in.id()));
            RETURN_IF_ERROR(RequireWriter(who, o.owner_node_id()));
            RETURN_IF_ERROR(CheckVersion("opportunity", o.id(),
                                         req->expected_version(), o.version()));
            if (reassign && o.owner_node_id() != committed.owner_node_id()) {
              return absl::AbortedError(absl::StrCat(
                  "opportunity ", o.id(),
                  " changed owner while the new owner was checked; retry"));
            }
            Violations fixed;
            if (!in.account_id().empty() && in.account_id() != o.account_id()) {
              fixed.Add(
                  "opportunity.account_id: cannot change (create a new "
                  "opportunity for another account)");
            }
            if (!in.stage_model_id().empty() &&
                in.stage_model_id() != o.stage_model_id()) {
              fixed.Add("opportunity.stage_model_id: cannot change");
            }
            if (!in.stage_key().empty() && in.stage_key() != o.stage_key()) {
              fixed.Add("opportunity.stage_key: change it with MoveStage");
            }
            RETURN_IF_ERROR(fixed.status());
            if (o.status() != v1::OPPORTUNITY_STATUS_OPEN) {
              return absl::FailedPreconditionError(absl::StrCat(
                  "opportunity ", o.id(), " is ", StatusName(o.status()),
                  "; reopen it before changing it"));
            }
            ASSIGN_OR_RETURN(v1::StageModel model,
                             db_.models.Get(txn, o.stage_model_id()));
            // Only a new amount must clear the threshold: an opportunity left
            // below it by a raised threshold stays changeable (out_of_funnel).
            if (in.amount().units_minor() != o.amount().units_minor()) {
              RETURN_IF_ERROR(CheckFunnelThreshold(model, in.amount()));
            }
            if (in.external_id() != o.external_id()) {
              if (!in.external_id().empty()) {
                ASSIGN_OR_RETURN(auto same,
                                 db_.opportunity_by_external_id.Lookup(
                                     txn, in.external_id()));
                if (same) {
                  return absl::AlreadyExistsError(absl::StrCat(
                      "opportunity.external_id: \"", in.external_id(),
                      "\" is already opportunity ", *same));
                }
                db_.opportunity_by_external_id.Put(txn, in.external_id(),
                                                   o.id());
              }
              if (!o.external_id().empty()) {
                db_.opportunity_by_external_id.Delete(txn, o.external_id());
              }
            }
            const v1::Opportunity old = o;
            o.set_version(old.version() + 1);  // the version history refers to
            if (old.amount().units_minor() != in.amount().units_minor()) {
              RETURN_IF_ERROR(AppendChange(
                  db_, txn, &o, v1::CHANGE_KIND_AMOUNT,
                  absl::StrCat(old.amount().units_minor()),
                  absl::StrCat(in.amount().units_minor()), who.name));
            }
            if (DateText(old.expected_close_date()) !=
                DateText(in.expected_close_date())) {
              RETURN_IF_ERROR(
                  AppendChange(db_, txn, &o, v1::CHANGE_KIND_CLOSE_DATE,
                               DateText(old.expected_close_date()),
                               DateText(in.expected_close_date()), who.name));
            }
            if (reassign) {
              RETURN_IF_ERROR(AppendChange(db_, txn, &o, v1::CHANGE_KIND_OWNER,
                                           old.owner_node_id(),
                                           in.owner_node_id(), who.name));
              db_.opportunities_by_owner.Delete(txn, old.owner_node_id(),
                                                o.id());
              db_.opportunities_by_owner.Put(txn, in.owner_node_id(), o.id());
              o.set_owner_node_id(in.owner_node_id());
              ASSIGN_OR_RETURN(std::vector<v1::FollowUp> fups,
                               LoadAll(txn, db_.follow_ups_by_opportunity,
                                       db_.follow_ups, o.id()));
              for (v1::FollowUp& f : fups) {
                if (f.state() == v1::FOLLOW_UP_STATE_PLANNED) {
                  f.set_owner_node_id(o.owner_node_id());
                  RETURN_IF_ERROR(db_.follow_ups.Update(txn, f.id(), 0, &f));
                }
              }
            }
            o.set_name(Trimmed(in.name()));
            *o.mutable_amount() = in.amount();
            *o.mutable_expected_close_date() = in.expected_close_date();
            *o.mutable_competitors() = in.competitors();
            o.set_competitors_unknown(in.competitors_unknown());
            o.set_source_channel(in.source_channel());
            *o.mutable_next_step() = in.next_step();
            o.set_external_id(in.external_id());
            Touch(model, txn.now(), &o);
            RETURN_IF_ERROR(db_.opportunities.Update(txn, o.id(), 0, &o));
            *resp = std::move(o);
            return absl::OkStatus();
          })
      .status();
}

grpc::Status PipelineServiceImpl::ListOpportunities(
    Ctx* ctx, const v1::ListOpportunitiesRequest* req,
    v1::ListOpportunitiesResponse* resp) {
  return ToGrpc(DoListOpportunities(ctx, req, resp));
}

absl::Status PipelineServiceImpl::DoListOpportunities(
    Ctx* ctx, const v1::ListOpportunitiesRequest* req,
    v1::ListOpportunitiesResponse* resp) {
  ASSIGN_OR_RETURN(Principal who, auth_->Authorize(*ctx, kAnyone));
  Violations v;
  if (!v1::OpportunityStatus_IsValid(req->status())) {
    v.Add("status: unknown value");
  }
  std::optional<absl::CivilDay> from, to;
  if (req->has_close_from()) {
    absl::StatusOr<absl::CivilDay> d =
        FromProto(req->close_from(), "close_from");
    d.ok() ? void(from = *d) : v.Add(d.status());
  }
  if (req->has_close_to()) {
    absl::StatusOr<absl::CivilDay> d = FromProto(req->close_to(), "close_to");
    d.ok() ? void(to = *d) : v.Add(d.status());
  }
  if (from && to && *from > *to) {
    v.Add("close_to: must not be before close_from");
  }
  absl::StatusOr<Page> page = ReadPage(req->page());
  if (!page.ok()) {
    v.Add(page.status());
  }
  RETURN_IF_ERROR(v.status());

  const std::vector<std::string> owners(req->owner_ids().begin(),
                                        req->owner_ids().end());
  const auto keep = [&](const v1::Opportunity& o) {
    if (!CanSee(who, o.owner_node_id())) {
      return false;
    }
    if (!owners.empty() &&
        std::none_of(owners.begin(), owners.end(), [&](const std::string& n) {
          return o.owner_node_id() == n || org_->IsWithin(o.owner_node_id(), n);
        })) {
      return false;
    }
    if (!req->account_id().empty() && o.account_id() != req->account_id()) {
      return false;
    }
    if (req->status() != v1::OPPORTUNITY_STATUS_UNSPECIFIED &&
        o.status() != req->status()) {
      return false;
    }
    if (!req->stage_key().empty() && o.stage_key() != req->stage_key()) {
      return false;
    }
    if (!req->stage_model_id().empty() &&
        o.stage_model_id() != req->stage_model_id()) {
      return false;
    }
    if (from || to) {
      const absl::CivilDay close(o.expected_close_date().year(),
                                 o.expected_close_date().month(),
                                 o.expected_close_date().day());
      if ((from && close < *from) || (to && close > *to)) {
        return false;
      }
    }
    return true;
  };
  resp->mutable_page()->set_feed_sequence(db_.store->last_sequence());
  std::string next;
  // The narrowest index that answers the filter; the filter runs anyway.
  std::optional<std::string> only_owner;
  if (owners.size() == 1) {
    std::optional<OrgMirror::Node> n = org_->Find(owners[0]);
    if (n && n->kind == v1::ORG_NODE_KIND_REP) {
      only_owner = owners[0];
    }
  } else if (owners.empty() && who.role == Role::kRep) {
    only_owner = who.org_node_id;
  }
  if (!req->account_id().empty()) {
    RETURN_IF_ERROR(FillPageFromIndex<v1::Opportunity>(
        *db_.store, db_.opportunities_by_account, req->account_id(),
        db_.opportunities, *page, keep, resp->mutable_opportunities(), &next));
  } else if (only_owner) {
    RETURN_IF_ERROR(FillPageFromIndex<v1::Opportunity>(
        *db_.store, db_.opportunities_by_owner, *only_owner, db_.opportunities,
        *page, keep, resp->mutable_opportunities(), &next));
  } else {
    RETURN_IF_ERROR(FillPage<v1::Opportunity>(
        db_.opportunities, *page, keep, resp->mutable_opportunities(), &next));
  }
  resp->mutable_page()->set_next_page_token(next);
  return absl::OkStatus();
}

grpc::Status PipelineServiceImpl::SetExitCriterion(
    Ctx* ctx, const v1::SetExitCriterionRequest* req, v1::Opportunity* resp) {
  absl::StatusOr<Principal> who = auth_->Authorize(*ctx, kWriters);
  if (!who.ok()) {
    return ToGrpc(who.status());
  }
  absl::Status s =
      db_.store
          ->Write(
              ActorFor(*who, "SetExitCriterion"),
              [&](WriteTxn& txn) -> absl::Status {
                if (req->opportunity_id().empty()) {
                  return absl::InvalidArgumentError("opportunity_id: required");
                }
                ASSIGN_OR_RETURN(
                    v1::Opportunity o,
                    db_.opportunities.Get(txn, req->opportunity_id()));
                RETURN_IF_ERROR(RequireWriter(*who, o.owner_node_id()));
                RETURN_IF_ERROR(CheckVersion("opportunity", o.id(),
                                             req->expected_version(),
                                             o.version()));
                if (o.status() != v1::OPPORTUNITY_STATUS_OPEN) {
                  return absl::FailedPreconditionError(absl::StrCat(
                      "opportunity ", o.id(), " is ", StatusName(o.status()),
                      "; reopen it first"));
                }
                ASSIGN_OR_RETURN(v1::StageModel model,
                                 db_.models.Get(txn, o.stage_model_id()));
                RETURN_IF_ERROR(SetCriterion(
                    model, req->stage_key(), req->criterion_key(),
                    req->checked(), who->name, Micros(txn.now()), &o));
                Touch(model, txn.now(), &o);
                RETURN_IF_ERROR(db_.opportunities.Update(txn, o.id(), 0, &o));
                *resp = std::move(o);
                return absl::OkStatus();
              })
          .status();
  return ToGrpc(s);
}

grpc::Status PipelineServiceImpl::MoveStage(Ctx* ctx,
                                            const v1::MoveStageRequest* req,
                                            v1::Opportunity* resp) {
  return ToGrpc(DoMoveStage(ctx, req, resp));
}

absl::Status PipelineServiceImpl::DoMoveStage(Ctx* ctx,
                                              const v1::MoveStageRequest* req,
                                              v1::Opportunity* resp) {
  ASSIGN_OR_RETURN(Principal who, auth_->Authorize(*ctx, kWriters));
  const bool forcing = !Blank(req->override_reason());
  if (forcing && who.role != Role::kAdmin && who.role != Role::kManager) {
    return absl::PermissionDeniedError(
        "override_reason: only a MANAGER or ADMIN may force a stage move");
  }
  ASSIGN_OR_RETURN(v1::Opportunity committed,
                   ReadVisible(who, req->opportunity_id(), "opportunity_id"));
  RETURN_IF_ERROR(RequireWriter(who, committed.owner_node_id()));
  RETURN_IF_ERROR(CheckVersion("opportunity", committed.id(),
                               req->expected_version(), committed.version()));
  ASSIGN_OR_RETURN(v1::StageModel model,
                   db_.models.Get(committed.stage_model_id()));

  // Everything a transaction can decide alone is decided again inside it;
  // this first pass only tells whether credit must be asked (a peer call
  // cannot run on the commit path).
  const auto check = [&](const v1::Opportunity& o) -> absl::StatusOr<MovePlan> {
    ASSIGN_OR_RETURN(MovePlan plan, PlanMove(model, o, req->to_stage_key()));
    if (plan.forward && !plan.unchecked.empty() && !forcing) {
      return absl::FailedPreconditionError(absl::StrCat(
          "to_stage_key: opportunity ", o.id(), " cannot move from ",
          o.stage_key(), " to ", req->to_stage_key(),
          ": required exit criteria not checked: ",
          absl::StrJoin(plan.unchecked, ", "),
          " (a MANAGER may force the move with override_reason)"));
    }
    return plan;
  };
  ASSIGN_OR_RETURN(MovePlan first, check(committed));
  std::optional<CreditAnswer> credit;
  if (first.needs_credit_check) {
    ASSIGN_OR_RETURN(CreditAnswer answer,
                     credit_->CheckCredit(committed.account_id(),
                                          committed.amount(), committed.id()));
    if (answer.decision == CreditDecision::kBlock) {
      return absl::FailedPreconditionError(absl::StrCat(
          "to_stage_key: the credit check blocked the move of opportunity ",
          committed.id(), " into ", req->to_stage_key(), ": ",
          absl::StrJoin(answer.reasons, "; ")));
    }
    credit = std::move(answer);
  }

  return db_.store
      ->Write(
          ActorFor(who, "MoveStage"),
          [&](WriteTxn& txn) -> absl::Status {
            ASSIGN_OR_RETURN(v1::Opportunity o,
                             db_.opportunities.Get(txn, committed.id()));
            RETURN_IF_ERROR(CheckVersion("opportunity", o.id(),
                                         req->expected_version(), o.version()));
            RETURN_IF_ERROR(RequireWriter(who, o.owner_node_id()));
            ASSIGN_OR_RETURN(MovePlan plan, check(o));
            if (plan.needs_credit_check &&
                (!credit || o.amount().units_minor() !=
                                committed.amount().units_minor())) {
              return absl::AbortedError(absl::StrCat(
                  "opportunity ", o.id(),
                  " changed during the credit check; read it again and retry"));
            }
            const int64_t now = Micros(txn.now());
            const std::string from = o.stage_key();
            o.set_stage_key(req->to_stage_key());
            o.set_stage_entered_micros(now);
            if (credit) {
              o.set_credit_review_pending(credit->decision ==
                                          CreditDecision::kReview);
              o.set_credit_review_reason(
                  credit->decision == CreditDecision::kReview
                      ? absl::StrJoin(credit->reasons, "; ")
                      : "");
            }
            o.set_version(o.version() + 1);
            const bool overridden = plan.forward && !plan.unchecked.empty();
            // History names overridden criteria as "STAGE/criterion"
            // (OpportunityChange.overridden_criteria); the plan's entries also
            // carry the criterion text for error messages.
            std::vector<std::string> overridden_keys;
            if (overridden) {
              for (const std::string& u : plan.unchecked) {
                overridden_keys.push_back(u.substr(0, u.find(" (")));
              }
            }
            RETURN_IF_ERROR(
                AppendChange(db_, txn, &o,
                             plan.forward ? v1::CHANGE_KIND_STAGE_FORWARD
                                          : v1::CHANGE_KIND_STAGE_BACKWARD,
                             from, o.stage_key(), who.name,
                             overridden ? Trimmed(req->override_reason()) : "",
                             std::move(overridden_keys)));
            if (plan.closes_won) {
              o.set_status(v1::OPPORTUNITY_STATUS_WON);
              o.set_closed_micros(now);
              o.set_close_reason(absl::StrCat("entered ", o.stage_key()));
              RETURN_IF_ERROR(AppendChange(db_, txn, &o, v1::CHANGE_KIND_CLOSED,
                                           "OPEN", "WON", who.name,
                                           o.close_reason()));
              RETURN_IF_ERROR(CancelFollowUps(db_, txn, o.id()));
            }
            Touch(model, txn.now(), &o);
            RETURN_IF_ERROR(db_.opportunities.Update(txn, o.id(), 0, &o));
            *resp = std::move(o);
            return absl::OkStatus();
          })
      .status();
}

grpc::Status PipelineServiceImpl::CloseOpportunity(
    Ctx* ctx, const v1::CloseOpportunityRequest* req, v1::Opportunity* resp) {
  absl::StatusOr<Principal> who = auth_->Authorize(*ctx, kWriters);
  if (!who.ok()) {
    return ToGrpc(who.status());
  }
  Violations v;
  if (req->opportunity_id().empty()) {
    v.Add("opportunity_id: required");
  }
  const v1::OpportunityStatus outcome = req->outcome();
  if (outcome != v1::OPPORTUNITY_STATUS_WON &&
      outcome != v1::OPPORTUNITY_STATUS_LOST &&
      outcome != v1::OPPORTUNITY_STATUS_NO_DECISION &&
      outcome != v1::OPPORTUNITY_STATUS_ABANDONED) {
    v.Add("outcome: must be WON, LOST, NO_DECISION or ABANDONED");
  } else if (outcome != v1::OPPORTUNITY_STATUS_WON && Blank(req->reason())) {
    v.Add(absl::StrCat("reason: required when the outcome is ",
                       StatusName(outcome)));
  }
  if (absl::Status s = v.status(); !s.ok()) {
    return ToGrpc(s);
  }
  absl::Status s =
      db_.store
          ->Write(ActorFor(*who, "CloseOpportunity"),
                  [&](WriteTxn& txn) -> absl::Status {
                    ASSIGN_OR_RETURN(
                        v1::Opportunity o,
                        db_.opportunities.Get(txn, req->opportunity_id()));
                    RETURN_IF_ERROR(RequireWriter(*who, o.owner_node_id()));
                    RETURN_IF_ERROR(CheckVersion("opportunity", o.id(),
                                                 req->expected_version(),
                                                 o.version()));
                    if (o.status() != v1::OPPORTUNITY_STATUS_OPEN) {
                      return absl::FailedPreconditionError(
                          absl::StrCat("opportunity ", o.id(), " is already ",
                                       StatusName(o.status())));
                    }
                    ASSIGN_OR_RETURN(v1::StageModel model,
                                     db_.models.Get(txn, o.stage_model_id()));
                    RETURN_IF_ERROR(CloseInTxn(
                        db_, txn, model, outcome, Trimmed(req->reason()),
                        Micros(txn.now()), who->name, &o));
                    *resp = std::move(o);
                    return absl::OkStatus();
                  })
          .status();
  return ToGrpc(s);
}

grpc::Status PipelineServiceImpl::ReopenOpportunity(
    Ctx* ctx, const v1::ReopenOpportunityRequest* req, v1::Opportunity* resp) {
  absl::StatusOr<Principal> who =
      auth_->Authorize(*ctx, {Role::kAdmin, Role::kManager});
  if (!who.ok()) {
    return ToGrpc(who.status());
  }
  Violations v;
  if (req->opportunity_id().empty()) {
    v.Add("opportunity_id: required");
  }
  if (Blank(req->reason())) {
    v.Add("reason: required");
  }
  if (absl::Status s = v.status(); !s.ok()) {
    return ToGrpc(s);
  }
  absl::Status s =
      db_.store
          ->Write(
              ActorFor(*who, "ReopenOpportunity"),
              [&](WriteTxn& txn) -> absl::Status {
                ASSIGN_OR_RETURN(
                    v1::Opportunity o,
                    db_.opportunities.Get(txn, req->opportunity_id()));
                RETURN_IF_ERROR(RequireWriter(*who, o.owner_node_id()));
                RETURN_IF_ERROR(CheckVersion("opportunity", o.id(),
                                             req->expected_version(),
                                             o.version()));
                if (o.status() == v1::OPPORTUNITY_STATUS_OPEN) {
                  return absl::FailedPreconditionError(
                      absl::StrCat("opportunity ", o.id(), " is already OPEN"));
                }
                ASSIGN_OR_RETURN(v1::StageModel model,
                                 db_.models.Get(txn, o.stage_model_id()));
                const int stage = StageIndex(model, o.stage_key());
                if (stage >= 0 && model.stages(stage).closes_won()) {
                  return absl::FailedPreconditionError(absl::StrCat(
                      "opportunity ", o.id(), " sits in ", o.stage_key(),
                      ", which closes it as WON; it cannot be reopened there"));
                }
                const std::string from = StatusName(o.status());
                o.set_status(v1::OPPORTUNITY_STATUS_OPEN);
                o.clear_close_reason();
                o.set_closed_micros(0);
                o.set_stage_entered_micros(Micros(txn.now()));
                o.set_version(o.version() + 1);
                RETURN_IF_ERROR(
                    AppendChange(db_, txn, &o, v1::CHANGE_KIND_REOPENED, from,
                                 "OPEN", who->name, Trimmed(req->reason())));
                Touch(model, txn.now(), &o);
                RETURN_IF_ERROR(db_.opportunities.Update(txn, o.id(), 0, &o));
                *resp = std::move(o);
                return absl::OkStatus();
              })
          .status();
  return ToGrpc(s);
}

grpc::Status PipelineServiceImpl::GetOpportunityHistory(
    Ctx* ctx, const v1::GetOpportunityHistoryRequest* req,
    v1::GetOpportunityHistoryResponse* resp) {
  absl::StatusOr<v1::Opportunity> o =
      ReadForAnyone(ctx, req->opportunity_id(), "opportunity_id");
  if (!o.ok()) {
    return ToGrpc(o.status());
  }
  absl::StatusOr<std::vector<v1::OpportunityChange>> changes =
      LoadAll(*db_.store, db_.changes_by_opportunity, db_.changes, o->id());
  if (!changes.ok()) {
    return ToGrpc(changes.status());
  }
  for (v1::OpportunityChange& c : *changes) {
    *resp->add_changes() = std::move(c);
  }
  return grpc::Status::OK;
}

grpc::Status PipelineServiceImpl::ListOpportunityChanges(
    Ctx* ctx, const v1::ListOpportunityChangesRequest* req,
    v1::ListOpportunityChangesResponse* resp) {
  absl::StatusOr<Principal> who =
      auth_->Authorize(*ctx, {Role::kAdmin, Role::kService});
  if (!who.ok()) {
    return ToGrpc(who.status());
  }
  absl::StatusOr<Page> page = ReadPage(req->page());
  if (!page.ok()) {
    return ToGrpc(page.status());
  }
  resp->mutable_page()->set_feed_sequence(db_.store->last_sequence());
  std::vector<v1::OpportunityChange> changes;
  std::string last;
  bool more = false;
  if (absl::Status s =
          db_.ListAllChanges(page->after, page->size, &changes, &last, &more);
      !s.ok()) {
    return ToGrpc(s);
  }
  for (v1::OpportunityChange& c : changes) {
    *resp->add_changes() = std::move(c);
  }
  if (more) {
    resp->mutable_page()->set_next_page_token(EncodePageToken(last));
  }
  return grpc::Status::OK;
}

// ---------------------------------------------------------------------------
// Buying centre

grpc::Status PipelineServiceImpl::SetContactRole(
    Ctx* ctx, const v1::SetContactRoleRequest* req, v1::ContactRole* resp) {
  return ToGrpc(DoSetContactRole(ctx, req, resp));
}

absl::Status PipelineServiceImpl::DoSetContactRole(
    Ctx* ctx, const v1::SetContactRoleRequest* req, v1::ContactRole* resp) {
  ASSIGN_OR_RETURN(Principal who, auth_->Authorize(*ctx, kWriters));
  Violations v;
  if (req->opportunity_id().empty()) {
    v.Add("opportunity_id: required");
  }
  if (req->contact_id().empty()) {
    v.Add("contact_id: required");
  }
  if (!v1::BuyingRole_IsValid(req->role()) ||
      req->role() == v1::BUYING_ROLE_UNSPECIFIED) {
    v.Add("role: required (a BuyingRole)");
  }
  if (!v1::Attitude_IsValid(req->attitude())) {
    v.Add("attitude: unknown value");
  }
  if (req->influence_weight_pct() < 0 || req->influence_weight_pct() > 100) {
    v.Add("influence_weight_pct: must be 0..100");
  }
  RETURN_IF_ERROR(v.status());
  ASSIGN_OR_RETURN(v1::Opportunity committed,
                   ReadVisible(who, req->opportunity_id(), "opportunity_id"));
  RETURN_IF_ERROR(RequireWriter(who, committed.owner_node_id()));
  absl::StatusOr<v1::Contact> contact =
      accounts_->GetContact(req->contact_id());
  if (absl::IsNotFound(contact.status())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "contact_id: contact ", req->contact_id(), " not found in accounts"));
  }
  RETURN_IF_ERROR(contact.status());
  if (contact->account_id() != committed.account_id()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "contact_id: contact ", req->contact_id(), " belongs to account ",
        contact->account_id(), ", not to the opportunity's account ",
        committed.account_id()));
  }
  return db_.store
      ->Write(
          ActorFor(who, "SetContactRole"),
          [&](WriteTxn& txn) -> absl::Status {
            ASSIGN_OR_RETURN(v1::Opportunity o,
                             db_.opportunities.Get(txn, committed.id()));
            RETURN_IF_ERROR(RequireWriter(who, o.owner_node_id()));
            ASSIGN_OR_RETURN(
                std::vector<v1::ContactRole> all,
                LoadAll(txn, db_.roles_by_opportunity, db_.roles, o.id()));
            std::vector<v1::ContactRole> others;
            std::optional<v1::ContactRole> existing;
            for (v1::ContactRole& r : all) {
              if (r.contact_id() == req->contact_id()) {
                existing = std::move(r);
              } else if (!r.removed()) {
                others.push_back(std::move(r));
              }
            }
            RETURN_IF_ERROR(
                CheckInfluenceWeights(others, req->influence_weight_pct()));
            const int64_t now = Micros(txn.now());
            const std::string id =
                PipelineStore::RoleId(o.id(), req->contact_id());
            v1::ContactRole r;
            if (existing) {
              r = *existing;
              RETURN_IF_ERROR(CheckVersion(
                  "contact role", id, req->expected_version(), r.version()));
              const bool revived = r.removed();
              if (revived) {
                r.set_removed(false);
                r.set_added_micros(now);
                r.set_changed_micros(0);
              } else if (r.role() != req->role() ||
                         r.attitude() != req->attitude()) {
                r.set_changed_micros(now);
              }
              if (r.attitude() != req->attitude()) {
                v1::AttitudeChange* c = r.add_attitude_history();
                c->set_from(r.attitude());
                c->set_to(req->attitude());
                c->set_by(who.name);
                c->set_time_micros(now);
              }
            } else {
              r.set_opportunity_id(o.id());
              r.set_contact_id(req->contact_id());
              r.set_original_attitude(req->attitude());
              r.set_added_micros(now);
            }
            r.set_role(req->role());
            r.set_attitude(req->attitude());
            r.set_influence_weight_pct(req->influence_weight_pct());
            r.set_is_core(req->has_is_core() ? req->is_core()
                                             : IsCoreRole(req->role()));
            if (existing) {
              RETURN_IF_ERROR(db_.roles.Update(txn, id, 0, &r));
            } else {
              RETURN_IF_ERROR(db_.roles.Insert(txn, id, &r));
              db_.roles_by_opportunity.Put(txn, o.id(), id);
            }
            *resp = std::move(r);
            return absl::OkStatus();
          })
      .status();
}

grpc::Status PipelineServiceImpl::RemoveContactRole(
    Ctx* ctx, const v1::RemoveContactRoleRequest* req, v1::ContactRole* resp) {
  absl::StatusOr<Principal> who = auth_->Authorize(*ctx, kWriters);
  if (!who.ok()) {
    return ToGrpc(who.status());
  }
  absl::Status s =
      db_.store
          ->Write(ActorFor(*who, "RemoveContactRole"),
                  [&](WriteTxn& txn) -> absl::Status {
                    if (req->opportunity_id().empty() ||
                        req->contact_id().empty()) {
                      return absl::InvalidArgumentError(
                          "opportunity_id, contact_id: required");
                    }
                    ASSIGN_OR_RETURN(
                        v1::Opportunity o,
                        db_.opportunities.Get(txn, req->opportunity_id()));
                    RETURN_IF_ERROR(RequireWriter(*who, o.owner_node_id()));
                    const std::string id =
                        PipelineStore::RoleId(o.id(), req->contact_id());
                    ASSIGN_OR_RETURN(std::optional<v1::ContactRole> r,
                                     db_.roles.Find(txn, id));
                    if (!r || r->removed()) {
                      return absl::NotFoundError(
                          absl::StrCat("contact ", req->contact_id(),
                                       " has no role on opportunity ", o.id()));
                    }
                    r->set_removed(true);
                    RETURN_IF_ERROR(db_.roles.Update(
                        txn, id, req->expected_version(), &*r));
                    *resp = std::move(*r);
                    return absl::OkStatus();
                  })
          .status();
  return ToGrpc(s);
}

grpc::Status PipelineServiceImpl::ListContactRoles(
    Ctx* ctx, const v1::ListContactRolesRequest* req,
    v1::ListContactRolesResponse* resp) {
  absl::StatusOr<v1::Opportunity> o =
      ReadForAnyone(ctx, req->opportunity_id(), "opportunity_id");
  if (!o.ok()) {
    return ToGrpc(o.status());
  }
  resp->set_feed_sequence(db_.store->last_sequence());
  absl::StatusOr<std::vector<v1::ContactRole>> roles =
      LoadAll(*db_.store, db_.roles_by_opportunity, db_.roles, o->id());
  if (!roles.ok()) {
    return ToGrpc(roles.status());
  }
  std::sort(roles->begin(), roles->end(),
            [](const v1::ContactRole& a, const v1::ContactRole& b) {
              return a.contact_id() < b.contact_id();
            });
  for (v1::ContactRole& r : *roles) {
    if (!r.removed() || req->include_removed()) {
      *resp->add_roles() = std::move(r);
    }
  }
  return grpc::Status::OK;
}

// ---------------------------------------------------------------------------
// Activities and follow-ups

grpc::Status PipelineServiceImpl::RecordActivity(
    Ctx* ctx, const v1::RecordActivityRequest* req, v1::Activity* resp) {
  return ToGrpc(DoRecordActivity(ctx, req, resp));
}

absl::Status PipelineServiceImpl::DoRecordActivity(
    Ctx* ctx, const v1::RecordActivityRequest* req, v1::Activity* resp) {
  ASSIGN_OR_RETURN(Principal who, auth_->Authorize(*ctx, kWriters));
  const v1::Activity& in = req->activity();
  const absl::Time now = clock_->Now();
  Violations v;
  if (in.opportunity_id().empty()) {
    v.Add("activity.opportunity_id: required");
  }
  if (!v1::ActivityKind_IsValid(in.kind()) ||
      in.kind() == v1::ACTIVITY_KIND_UNSPECIFIED) {
    v.Add("activity.kind: required (an ActivityKind)");
  }
  if (!v1::ActivityOutcome_IsValid(in.outcome()) ||
      in.outcome() == v1::ACTIVITY_OUTCOME_UNSPECIFIED) {
    v.Add("activity.outcome: required (PROGRESS, CONTINUATION or NONE)");
  }
  // A little slack for clocks that disagree.
  if (in.time_micros() > Micros(now + absl::Minutes(5))) {
    v.Add("activity.time_micros: must not be in the future");
  }
  if (in.time_micros() < 0) {
    v.Add("activity.time_micros: must be >= 0");
  }
  std::set<std::string> contacts;
  for (int i = 0; i < in.contact_ids_size(); ++i) {
    if (!contacts.insert(in.contact_ids(i)).second) {
      v.Add(absl::StrCat("activity.contact_ids[", i, "]: duplicate"));
    }
  }
  if (in.has_plan_follow_up()) {
    const v1::PlannedFollowUp& p = in.plan_follow_up();
    if (!v1::ActivityKind_IsValid(p.kind()) ||
        p.kind() == v1::ACTIVITY_KIND_UNSPECIFIED) {
      v.Add("activity.plan_follow_up.kind: required");
    }
    if (Blank(p.text())) {
      v.Add("activity.plan_follow_up.text: required");
    }
    const int64_t at = in.time_micros() == 0 ? Micros(now) : in.time_micros();
    if (p.due_micros() <= at) {
      v.Add("activity.plan_follow_up.due_micros: must be after the activity");
    }
  }
  RETURN_IF_ERROR(v.status());
  ASSIGN_OR_RETURN(
      v1::Opportunity committed,
      ReadVisible(who, in.opportunity_id(), "activity.opportunity_id"));
  RETURN_IF_ERROR(RequireWriter(who, committed.owner_node_id()));

  return db_.store
      ->Write(
          ActorFor(who, "RecordActivity"),
          [&](WriteTxn& txn) -> absl::Status {
            return CreateOnce(
                txn, "RecordActivity", req->request_id(), *req, resp,
                [&]() -> absl::Status {
                  ASSIGN_OR_RETURN(v1::Opportunity o,
                                   db_.opportunities.Get(txn, committed.id()));
                  RETURN_IF_ERROR(RequireWriter(who, o.owner_node_id()));
                  v1::Activity a = in;
                  a.set_id(NewId("act", txn.now()));
                  if (a.time_micros() == 0) {
                    a.set_time_micros(Micros(txn.now()));
                  }
                  a.set_recorded_by(who.name);
                  a.set_created_micros(Micros(txn.now()));
                  a.clear_completed_follow_up_id();
                  // The contacts must be in the buying centre; their last
                  // activity (and visit) times follow this one.
                  for (const std::string& c : contacts) {
                    const std::string rid = PipelineStore::RoleId(o.id(), c);
                    ASSIGN_OR_RETURN(std::optional<v1::ContactRole> r,
                                     db_.roles.Find(txn, rid));
                    if (!r || r->removed()) {
                      return absl::InvalidArgumentError(absl::StrCat(
                          "activity.contact_ids: contact ", c,
                          " is not in the buying centre of opportunity ",
                          o.id(), " (SetContactRole first)"));
                    }
                    bool changed = false;
                    if (a.time_micros() > r->last_activity_micros()) {
                      r->set_last_activity_micros(a.time_micros());
                      changed = true;
                    }
                    if (IsVisit(a.kind()) &&
                        a.time_micros() > r->last_visit_micros()) {
                      r->set_last_visit_micros(a.time_micros());
                      changed = true;
                    }
                    if (changed) {
                      RETURN_IF_ERROR(db_.roles.Update(txn, rid, 0, &*r));
                    }
                  }
                  // Complete a planned follow-up, and plan the cadence's next.
                  ASSIGN_OR_RETURN(std::vector<v1::FollowUp> fups,
                                   LoadAll(txn, db_.follow_ups_by_opportunity,
                                           db_.follow_ups, o.id()));
                  std::vector<v1::FollowUp> planned;
                  for (v1::FollowUp& f : fups) {
                    if (f.state() == v1::FOLLOW_UP_STATE_PLANNED) {
                      planned.push_back(std::move(f));
                    }
                  }
                  std::optional<size_t> done = FollowUpCompletedBy(a, planned);
                  if (!a.follow_up_id().empty() && !done) {
                    return absl::InvalidArgumentError(absl::StrCat(
                        "activity.follow_up_id: ", a.follow_up_id(),
                        " is not a planned follow-up of opportunity ", o.id()));
                  }
                  ASSIGN_OR_RETURN(v1::StageModel model,
                                   db_.models.Get(txn, o.stage_model_id()));
                  if (done) {
                    v1::FollowUp f = planned[*done];
                    f.set_state(v1::FOLLOW_UP_STATE_DONE);
                    f.set_completed_by_activity_id(a.id());
                    f.set_completed_micros(a.time_micros());
                    RETURN_IF_ERROR(db_.follow_ups.Update(txn, f.id(), 0, &f));
                    a.set_completed_follow_up_id(f.id());
                    if (o.status() == v1::OPPORTUNITY_STATUS_OPEN) {
                      if (std::optional<v1::FollowUp> next = NextFollowUp(
                              model.cadence(), f, a.time_micros())) {
                        RETURN_IF_ERROR(InsertFollowUp(db_, txn, o, *next));
                      }
                    }
                  }
                  if (a.has_plan_follow_up()) {
                    v1::FollowUp f;
                    f.set_kind(a.plan_follow_up().kind());
                    f.set_text(Trimmed(a.plan_follow_up().text()));
                    f.set_earliest_micros(a.time_micros());
                    f.set_due_micros(a.plan_follow_up().due_micros());
                    RETURN_IF_ERROR(InsertFollowUp(db_, txn, o, std::move(f)));
                  }
                  RETURN_IF_ERROR(db_.activities.Insert(txn, a.id(), &a));
                  db_.activities_by_opportunity.Put(txn, o.id(), a.id());
                  *resp = std::move(a);
                  return absl::OkStatus();
                });
          })
      .status();
}

grpc::Status PipelineServiceImpl::ListActivities(
    Ctx* ctx, const v1::ListActivitiesRequest* req,
    v1::ListActivitiesResponse* resp) {
  absl::StatusOr<v1::Opportunity> o =
      ReadForAnyone(ctx, req->opportunity_id(), "opportunity_id");
  if (!o.ok()) {
    return ToGrpc(o.status());
  }
  absl::StatusOr<Page> page = ReadPage(req->page());
  if (!page.ok()) {
    return ToGrpc(page.status());
  }
  resp->mutable_page()->set_feed_sequence(db_.store->last_sequence());
  std::string next;
  absl::Status s = FillPageFromIndex<v1::Activity>(
      *db_.store, db_.activities_by_opportunity, o->id(), db_.activities, *page,
      [](const v1::Activity&) { return true; }, resp->mutable_activities(),
      &next);
  resp->mutable_page()->set_next_page_token(next);
  return ToGrpc(s);
}

grpc::Status PipelineServiceImpl::ListFollowUps(
    Ctx* ctx, const v1::ListFollowUpsRequest* req,
    v1::ListFollowUpsResponse* resp) {
  absl::StatusOr<v1::Opportunity> o =
      ReadForAnyone(ctx, req->opportunity_id(), "opportunity_id");
  if (!o.ok()) {
    return ToGrpc(o.status());
  }
  resp->set_feed_sequence(db_.store->last_sequence());
  absl::StatusOr<std::vector<v1::FollowUp>> fups = LoadAll(
      *db_.store, db_.follow_ups_by_opportunity, db_.follow_ups, o->id());
  if (!fups.ok()) {
    return ToGrpc(fups.status());
  }
  for (v1::FollowUp& f : *fups) {
    *resp->add_follow_ups() = std::move(f);
  }
  return grpc::Status::OK;
}

grpc::Status PipelineServiceImpl::ListOverdueFollowUps(
    Ctx* ctx, const v1::ListOverdueFollowUpsRequest* req,
    v1::ListOverdueFollowUpsResponse* resp) {
  return ToGrpc(DoListOverdueFollowUps(ctx, req, resp));
}

absl::Status PipelineServiceImpl::DoListOverdueFollowUps(
    Ctx* ctx, const v1::ListOverdueFollowUpsRequest* req,
    v1::ListOverdueFollowUpsResponse* resp) {
  ASSIGN_OR_RETURN(Principal who, auth_->Authorize(*ctx, kAnyone));
  if (req->as_of_micros() < 0) {
    return absl::InvalidArgumentError("as_of_micros: must be >= 0");
  }
  ASSIGN_OR_RETURN(Page page, ReadPage(req->page()));
  const int64_t as_of =
      req->as_of_micros() == 0 ? Micros(clock_->Now()) : req->as_of_micros();
  std::vector<std::string> owners(req->owner_ids().begin(),
                                  req->owner_ids().end());
  if (owners.empty() &&
      (who.role == Role::kManager || who.role == Role::kRep)) {
    owners.push_back(who.org_node_id);
  }
  const auto keep = [&](const v1::FollowUp& f) {
    if (f.state() != v1::FOLLOW_UP_STATE_PLANNED || f.due_micros() >= as_of) {
      return false;
    }
    if (!CanSee(who, f.owner_node_id())) {
      return false;
    }
    return owners.empty() ||
           std::any_of(owners.begin(), owners.end(), [&](const std::string& n) {
             return f.owner_node_id() == n ||
                    org_->IsWithin(f.owner_node_id(), n);
           });
  };
  resp->mutable_page()->set_feed_sequence(db_.store->last_sequence());
  std::string next;
  RETURN_IF_ERROR(FillPage<v1::FollowUp>(db_.follow_ups, page, keep,
                                         resp->mutable_follow_ups(), &next));
  resp->mutable_page()->set_next_page_token(next);
  return absl::OkStatus();
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

// ---------------------------------------------------------------------------
// Deal health and weekly reviews

grpc::Status PipelineServiceImpl::GetDealHealth(
    Ctx* ctx, const v1::GetDealHealthRequest* req,
    v1::GetDealHealthResponse* resp) {
  return ToGrpc(DoGetDealHealth(ctx, req, resp));
}

absl::Status PipelineServiceImpl::DoGetDealHealth(
    Ctx* ctx, const v1::GetDealHealthRequest* req,
    v1::GetDealHealthResponse* resp) {
  ASSIGN_OR_RETURN(Principal who, auth_->Authorize(*ctx, kAnyone));
  if (req->as_of_micros() < 0) {
    return absl::InvalidArgumentError("as_of_micros: must be >= 0");
  }
  DealFacts facts;
  ASSIGN_OR_RETURN(facts.opportunity,
                   ReadVisible(who, req->opportunity_id(), "opportunity_id"));
  const std::string& id = facts.opportunity.id();
  ASSIGN_OR_RETURN(facts.model,
                   db_.models.Get(facts.opportunity.stage_model_id()));
  ASSIGN_OR_RETURN(
      std::vector<v1::ContactRole> roles,
      LoadAll(*db_.store, db_.roles_by_opportunity, db_.roles, id));
  for (v1::ContactRole& r : roles) {
    if (!r.removed()) {
      facts.roles.push_back(std::move(r));
    }
  }
  ASSIGN_OR_RETURN(
      facts.activities,
      LoadAll(*db_.store, db_.activities_by_opportunity, db_.activities, id));
  ASSIGN_OR_RETURN(
      facts.follow_ups,
      LoadAll(*db_.store, db_.follow_ups_by_opportunity, db_.follow_ups, id));
  ASSIGN_OR_RETURN(
      std::vector<v1::WeeklyReview> reviews,
      LoadAll(*db_.store, db_.reviews_by_opportunity, db_.reviews, id));
  for (const v1::WeeklyReview& r : reviews) {
    facts.last_review_micros =
        std::max(facts.last_review_micros, r.recorded_micros());
  }
  facts.as_of = req->as_of_micros() == 0
                    ? clock_->Now()
                    : absl::FromUnixMicros(req->as_of_micros());
  facts.time_zone = options_.time_zone;
  for (v1::DealWarning& w : AssessDealHealth(facts)) {
    *resp->add_warnings() = std::move(w);
  }
  resp->set_healthy(resp->warnings().empty());
  return absl::OkStatus();
}

grpc::Status PipelineServiceImpl::RecordWeeklyReview(
    Ctx* ctx, const v1::RecordWeeklyReviewRequest* req,
    v1::WeeklyReview* resp) {
  return ToGrpc(DoRecordWeeklyReview(ctx, req, resp));
}

absl::Status PipelineServiceImpl::DoRecordWeeklyReview(
    Ctx* ctx, const v1::RecordWeeklyReviewRequest* req,
    v1::WeeklyReview* resp) {
  ASSIGN_OR_RETURN(Principal who, auth_->Authorize(*ctx, kWriters));
  const v1::WeeklyReview& in = req->review();
  Violations v;
  if (in.opportunity_id().empty()) {
    v.Add("review.opportunity_id: required");
  }
  absl::StatusOr<absl::CivilDay> day = FromProto(in.week(), "review.week");
  if (!day.ok()) {
    v.Add(day.status());
  }
  if (in.position_vs_competitor() < -5 || in.position_vs_competitor() > 5) {
    v.Add("review.position_vs_competitor: must be -5..+5");
  }
  RETURN_IF_ERROR(v.status());
  // The Monday of the week.
  absl::CivilDay monday = *day;
  while (absl::GetWeekday(monday) != absl::Weekday::monday) {
    monday -= 1;
  }
  return db_.store
      ->Write(ActorFor(who, "RecordWeeklyReview"),
              [&](WriteTxn& txn) -> absl::Status {
                ASSIGN_OR_RETURN(
                    v1::Opportunity o,
                    db_.opportunities.Get(txn, in.opportunity_id()));
                RETURN_IF_ERROR(RequireWriter(who, o.owner_node_id()));
                v1::WeeklyReview r = in;
                *r.mutable_week() = ToProto(monday);
                r.set_recorded_by(who.name);
                r.set_recorded_micros(Micros(txn.now()));
                const std::string id =
                    PipelineStore::ReviewId(o.id(), DateText(r.week()));
                ASSIGN_OR_RETURN(std::optional<v1::WeeklyReview> stored,
                                 db_.reviews.Find(txn, id));
                if (stored) {
                  RETURN_IF_ERROR(
                      db_.reviews.Update(txn, id, req->expected_version(), &r));
                } else {
                  RETURN_IF_ERROR(db_.reviews.Insert(txn, id, &r));
                  db_.reviews_by_opportunity.Put(txn, o.id(), id);
                }
                *resp = std::move(r);
                return absl::OkStatus();
              })
      .status();
}

grpc::Status PipelineServiceImpl::ListWeeklyReviews(
    Ctx* ctx, const v1::ListWeeklyReviewsRequest* req,
    v1::ListWeeklyReviewsResponse* resp) {
  absl::StatusOr<v1::Opportunity> o =
      ReadForAnyone(ctx, req->opportunity_id(), "opportunity_id");
  if (!o.ok()) {
    return ToGrpc(o.status());
  }
  resp->set_feed_sequence(db_.store->last_sequence());
  absl::StatusOr<std::vector<v1::WeeklyReview>> reviews =
      LoadAll(*db_.store, db_.reviews_by_opportunity, db_.reviews, o->id());
  if (!reviews.ok()) {
    return ToGrpc(reviews.status());
  }
  // Ids embed the week as YYYY-MM-DD, so index order is week order.
  for (v1::WeeklyReview& r : *reviews) {
    *resp->add_reviews() = std::move(r);
  }
  return grpc::Status::OK;
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
  const int stage = StageIndex(model, o.stage_key());
  if (stage < 0 || !model.stages(stage).closes_on_collection()) {
    return absl::OkStatus();
  }
  return CloseInTxn(
      db_, txn, model, v1::OPPORTUNITY_STATUS_WON, "collected in full",
      closed_micros > 0 ? closed_micros : Micros(txn.now()), kCreditSource, &o);
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
