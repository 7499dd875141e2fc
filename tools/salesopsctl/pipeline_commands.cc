// salesopsctl groups of the pipeline service (SPEC.md §3): opportunities
// moving through the stages of a model, their history and deal health, and
// the stage models themselves.

#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "common/money/money.h"
#include "common/status/status.h"
#include "common/time/fiscal_calendar.h"
#include "tools/salesopsctl/cli.h"
#include "tools/salesopsctl/flags.h"
#include "tools/salesopsctl/output.h"

namespace salesops::ctl {
namespace {

// Basis points as a percentage: 500 → "5%", 2550 → "25.5%".
std::string PercentText(int32_t bp) {
  std::string s = absl::StrFormat("%d.%02d", bp / 100, bp % 100);
  while (s.back() == '0') {
    s.pop_back();
  }
  if (s.back() == '.') {
    s.pop_back();
  }
  return s + "%";
}

// ---- opportunities ----

// What a sales manager scans a funnel by.
const std::vector<std::string> kOpportunityColumns = {
    "id",     "name",   "account_id",          "owner_node_id", "stage_key",
    "status", "amount", "expected_close_date", "version"};

// One opportunity: the list columns, the exit criteria checked so far
// ("STAGE/criterion", ";"-separated) and, when set, the close reason and a
// pending credit review. JSON: the whole message.
void PrintOpportunity(Env& env, const v1::Opportunity& o) {
  if (env.format == Format::kJson) {
    PrintOne(env, o, {});
    return;
  }
  std::vector<std::string> header = kOpportunityColumns;
  std::vector<std::string> row;
  for (const std::string& c : kOpportunityColumns) {
    row.push_back(FieldText(o, c));
  }
  std::vector<std::string> checked;
  for (const v1::CriterionState& c : o.criteria()) {
    if (c.checked()) {
      checked.push_back(absl::StrCat(c.stage_key(), "/", c.criterion_key()));
    }
  }
  header.push_back("checked_criteria");
  row.push_back(absl::StrJoin(checked, ";"));
  header.push_back("close_reason");
  row.push_back(o.close_reason());
  header.push_back("credit_review");
  row.push_back(o.credit_review_pending() ? o.credit_review_reason() : "");
  PrintCells(env, header, {row});
}

const std::vector<std::string> kOpportunityFields = {
    "name",       "amount",     "close-date",
    "owner",      "competitor", "competitors-unknown",
    "source",     "next-step",  "next-step-due",
    "external-id"};

// "Acme" or "Acme:strengths:weaknesses".
v1::Competitor ParseCompetitor(const std::string& text) {
  std::vector<std::string> parts =
      absl::StrSplit(text, absl::MaxSplits(':', 2));
  v1::Competitor c;
  c.set_name(parts[0]);
  if (parts.size() > 1) {
    c.set_strengths(parts[1]);
  }
  if (parts.size() > 2) {
    c.set_weaknesses(parts[2]);
  }
  return c;
}

// Sets the fields whose flags are given (--competitor replaces the list).
// The field each flag of `opportunities update` writes (its update_mask).
const FlagPaths kOpportunityPaths = {
    {"name", "name"},
    {"amount", "amount"},
    {"close-date", "expected_close_date"},
    {"owner", "owner_node_id"},
    {"competitor", "competitors"},
    {"competitors-unknown", "competitors_unknown"},
    {"source", "source_channel"},
    {"next-step", "next_step.text"},
    {"next-step-due", "next_step.due"},
    {"external-id", "external_id"}};

absl::Status ApplyOpportunityFlags(const Args& a, const Env& env,
                                   v1::Opportunity* o) {
  if (a.Has("name")) {
    o->set_name(a.Get("name"));
  }
  if (a.Has("owner")) {
    o->set_owner_node_id(a.Get("owner"));
  }
  if (a.Has("external-id")) {
    o->set_external_id(a.Get("external-id"));
  }
  ASSIGN_OR_RETURN(const auto amount, a.Money("amount", Exponent(env)));
  if (amount) {
    *o->mutable_amount() = money::Make(*amount, env.currency);
  }
  ASSIGN_OR_RETURN(const auto close, a.Date("close-date"));
  if (close) {
    *o->mutable_expected_close_date() = ToProto(*close);
  }
  if (a.Has("competitor")) {
    o->clear_competitors();
    for (const std::string& c : a.List("competitor")) {
      *o->add_competitors() = ParseCompetitor(c);
    }
  }
  ASSIGN_OR_RETURN(const bool unknown,
                   a.Bool("competitors-unknown", o->competitors_unknown()));
  o->set_competitors_unknown(unknown);
  ASSIGN_OR_RETURN(const auto source, EnumFlag<v1::SourceChannel>(a, "source"));
  if (source) {
    o->set_source_channel(*source);
  }
  if (a.Has("next-step")) {
    o->mutable_next_step()->set_text(a.Get("next-step"));
  }
  ASSIGN_OR_RETURN(const auto due, a.Date("next-step-due"));
  if (due) {
    *o->mutable_next_step()->mutable_due() = ToProto(*due);
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::Opportunity> GetOpportunity(Env& env,
                                               const std::string& id) {
  v1::GetOpportunityRequest req;
  req.set_id(id);
  v1::Opportunity resp;
  RETURN_IF_ERROR(Check(env.conn->pipeline().GetOpportunity(
      env.conn->Context().get(), req, &resp)));
  return resp;
}

absl::Status OpportunitiesCreate(const Args& a, Env& env) {
  v1::CreateOpportunityRequest req;
  v1::Opportunity* o = req.mutable_opportunity();
  ASSIGN_OR_RETURN(const std::string account, a.Required("account"));
  RETURN_IF_ERROR(a.Required("owner").status());
  RETURN_IF_ERROR(a.Required("name").status());
  RETURN_IF_ERROR(a.Required("amount").status());
  RETURN_IF_ERROR(a.Required("close-date").status());
  o->set_account_id(account);
  o->set_stage_model_id(a.Get("model"));
  o->set_stage_key(a.Get("stage"));
  RETURN_IF_ERROR(ApplyOpportunityFlags(a, env, o));
  req.set_request_id(a.Get("request-id"));
  v1::Opportunity resp;
  RETURN_IF_ERROR(Check(env.conn->pipeline().CreateOpportunity(
      env.conn->Context().get(), req, &resp)));
  PrintOpportunity(env, resp);
  return absl::OkStatus();
}

absl::Status OpportunitiesGet(const Args& a, Env& env) {
  ASSIGN_OR_RETURN(const std::string id, IdArg(a));
  ASSIGN_OR_RETURN(const v1::Opportunity o, GetOpportunity(env, id));
  PrintOpportunity(env, o);
  return absl::OkStatus();
}

absl::Status OpportunitiesList(const Args& a, Env& env) {
  v1::ListOpportunitiesRequest req;
  for (const std::string& owner : a.List("owner")) {
    req.add_owner_ids(owner);
  }
  req.set_account_id(a.Get("account"));
  req.set_stage_key(a.Get("stage"));
  req.set_stage_model_id(a.Get("model"));
  ASSIGN_OR_RETURN(const auto status,
                   EnumFlag<v1::OpportunityStatus>(a, "status"));
  if (status) {
    req.set_status(*status);
  }
  ASSIGN_OR_RETURN(const auto from, a.Date("close-from"));
  if (from) {
    *req.mutable_close_from() = ToProto(*from);
  }
  ASSIGN_OR_RETURN(const auto to, a.Date("close-to"));
  if (to) {
    *req.mutable_close_to() = ToProto(*to);
  }
  std::vector<v1::Opportunity> rows;
  RETURN_IF_ERROR(Paged(
      a, env, [&](const v1::PageRequest& page) -> absl::StatusOr<std::string> {
        SetPage(page, &req);
        v1::ListOpportunitiesResponse resp;
        RETURN_IF_ERROR(Check(env.conn->pipeline().ListOpportunities(
            env.conn->Context().get(), req, &resp)));
        rows.insert(rows.end(), resp.opportunities().begin(),
                    resp.opportunities().end());
        return resp.next_page_token();
      }));
  PrintList(env, Pointers(rows), kOpportunityColumns);
  return absl::OkStatus();
}

absl::Status OpportunitiesUpdate(const Args& a, Env& env) {
  ASSIGN_OR_RETURN(const std::string id, IdArg(a));
  ASSIGN_OR_RETURN(const int64_t expected, a.Int("expected-version", 0));
  ASSIGN_OR_RETURN(v1::Opportunity o, GetOpportunity(env, id));
  RETURN_IF_ERROR(ApplyOpportunityFlags(a, env, &o));
  v1::UpdateOpportunityRequest req;
  *req.mutable_opportunity() = o;
  *req.mutable_update_mask() = FlagMask(a, kOpportunityPaths);
  // Without --expected-version, the version just read: a change made in
  // between is not overwritten silently (ABORTED; run it again).
  req.set_expected_version(expected != 0 ? expected : o.version());
  v1::Opportunity resp;
  RETURN_IF_ERROR(Check(env.conn->pipeline().UpdateOpportunity(
      env.conn->Context().get(), req, &resp)));
  PrintOpportunity(env, resp);
  return absl::OkStatus();
}

absl::Status OpportunitiesMove(const Args& a, Env& env) {
  v1::MoveStageRequest req;
  ASSIGN_OR_RETURN(const std::string id, IdArg(a));
  ASSIGN_OR_RETURN(const std::string to, a.Required("to"));
  ASSIGN_OR_RETURN(const int64_t expected, a.Int("expected-version", 0));
  req.set_opportunity_id(id);
  req.set_to_stage_key(to);
  req.set_expected_version(expected);
  req.set_override_reason(a.Get("override-reason"));
  v1::Opportunity resp;
  RETURN_IF_ERROR(Check(
      env.conn->pipeline().MoveStage(env.conn->Context().get(), req, &resp)));
  PrintOpportunity(env, resp);
  return absl::OkStatus();
}

absl::Status OpportunitiesClose(const Args& a, Env& env) {
  v1::CloseOpportunityRequest req;
  ASSIGN_OR_RETURN(const std::string id, IdArg(a));
  ASSIGN_OR_RETURN(const auto outcome,
                   EnumFlag<v1::OpportunityStatus>(a, "outcome"));
  if (!outcome) {
    return absl::InvalidArgumentError(
        "--outcome: required (WON, LOST, NO_DECISION or ABANDONED)");
  }
  ASSIGN_OR_RETURN(const int64_t expected, a.Int("expected-version", 0));
  req.set_opportunity_id(id);
  req.set_outcome(*outcome);
  req.set_reason(a.Get("reason"));
  req.set_expected_version(expected);
  v1::Opportunity resp;
  RETURN_IF_ERROR(Check(env.conn->pipeline().CloseOpportunity(
      env.conn->Context().get(), req, &resp)));
  PrintOpportunity(env, resp);
  return absl::OkStatus();
}

absl::Status OpportunitiesReopen(const Args& a, Env& env) {
  v1::ReopenOpportunityRequest req;
  ASSIGN_OR_RETURN(const std::string id, IdArg(a));
  ASSIGN_OR_RETURN(const std::string reason, a.Required("reason"));
  ASSIGN_OR_RETURN(const int64_t expected, a.Int("expected-version", 0));
  req.set_opportunity_id(id);
  req.set_reason(reason);
  req.set_expected_version(expected);
  v1::Opportunity resp;
  RETURN_IF_ERROR(Check(env.conn->pipeline().ReopenOpportunity(
      env.conn->Context().get(), req, &resp)));
  PrintOpportunity(env, resp);
  return absl::OkStatus();
}

absl::Status OpportunitiesCriterion(const Args& a, Env& env) {
  v1::SetExitCriterionRequest req;
  ASSIGN_OR_RETURN(const std::string id, IdArg(a));
  ASSIGN_OR_RETURN(const std::string criterion, a.Required("criterion"));
  ASSIGN_OR_RETURN(const bool checked, a.Bool("checked", true));
  ASSIGN_OR_RETURN(const int64_t expected, a.Int("expected-version", 0));
  std::string stage = a.Get("stage");
  if (stage.empty()) {  // the stage the opportunity is in
    ASSIGN_OR_RETURN(const v1::Opportunity o, GetOpportunity(env, id));
    stage = o.stage_key();
  }
  req.set_opportunity_id(id);
  req.set_stage_key(stage);
  req.set_criterion_key(criterion);
  req.set_checked(checked);
  req.set_expected_version(expected);
  v1::Opportunity resp;
  RETURN_IF_ERROR(Check(env.conn->pipeline().SetExitCriterion(
      env.conn->Context().get(), req, &resp)));
  PrintOpportunity(env, resp);
  return absl::OkStatus();
}

absl::Status OpportunitiesHistory(const Args& a, Env& env) {
  v1::GetOpportunityHistoryRequest req;
  ASSIGN_OR_RETURN(const std::string id, IdArg(a));
  req.set_opportunity_id(id);
  v1::GetOpportunityHistoryResponse resp;
  RETURN_IF_ERROR(Check(env.conn->pipeline().GetOpportunityHistory(
      env.conn->Context().get(), req, &resp)));
  if (env.format == Format::kJson) {
    PrintList(env, Pointers(resp.changes()), {});
    return absl::OkStatus();
  }
  const int exponent = Exponent(env);
  // Amount changes carry minor units: shown in major units like every amount.
  auto value = [&](const v1::OpportunityChange& c, const std::string& text) {
    int64_t minor = 0;
    if (c.kind() == v1::CHANGE_KIND_AMOUNT && absl::SimpleAtoi(text, &minor)) {
      return money::Format(minor, exponent);
    }
    return text;
  };
  std::vector<std::vector<std::string>> rows;
  for (const v1::OpportunityChange& c : resp.changes()) {
    rows.push_back({absl::StrCat(c.seq()), FieldText(c, "kind"),
                    value(c, c.from()), value(c, c.to()), c.by(),
                    TimeText(c.time_micros()), c.reason(),
                    absl::StrJoin(c.overridden_criteria(), ";")});
  }
  PrintCells(env,
             {"seq", "kind", "from", "to", "by", "time", "reason",
              "overridden_criteria"},
             rows);
  return absl::OkStatus();
}

absl::Status OpportunitiesHealth(const Args& a, Env& env) {
  v1::GetDealHealthRequest req;
  ASSIGN_OR_RETURN(const std::string id, IdArg(a));
  req.set_opportunity_id(id);
  v1::GetDealHealthResponse resp;
  RETURN_IF_ERROR(Check(env.conn->pipeline().GetDealHealth(
      env.conn->Context().get(), req, &resp)));
  if (env.format == Format::kJson) {
    PrintOne(env, resp, {});
    return absl::OkStatus();
  }
  PrintList(env, Pointers(resp.warnings()),
            {"code", "severity", "detail", "contact_ids"});
  if (env.format == Format::kTable && resp.healthy()) {
    *env.out << "healthy: no warnings\n";
  }
  return absl::OkStatus();
}

// ---- stage models ----

absl::Status ModelsList(const Args& a, Env& env) {
  v1::ListStageModelsRequest req;
  std::vector<v1::StageModel> models;
  RETURN_IF_ERROR(Paged(
      a, env, [&](const v1::PageRequest& page) -> absl::StatusOr<std::string> {
        SetPage(page, &req);
        v1::ListStageModelsResponse resp;
        RETURN_IF_ERROR(Check(env.conn->pipeline().ListStageModels(
            env.conn->Context().get(), req, &resp)));
        models.insert(models.end(), resp.models().begin(), resp.models().end());
        return resp.next_page_token();
      }));
  if (env.format == Format::kJson) {
    PrintList(env, Pointers(models), {});
    return absl::OkStatus();
  }
  std::vector<std::vector<std::string>> rows;
  for (const v1::StageModel& m : models) {
    std::vector<std::string> stages;
    for (const v1::Stage& s : m.stages()) {
      stages.push_back(
          absl::StrCat(s.key(), " (", PercentText(s.win_rate_bp()), ")"));
    }
    rows.push_back(
        {m.id(), m.name(), m.built_in() ? "true" : "false",
         absl::StrJoin(stages, " > "), FieldText(m, "out_of_funnel_threshold"),
         absl::StrCat(m.stall_limit_days() == 0 ? 45 : m.stall_limit_days()),
         absl::StrCat(m.version())});
  }
  PrintCells(env,
             {"id", "name", "built_in", "stages", "out_of_funnel_threshold",
              "stall_limit_days", "version"},
             rows);
  return absl::OkStatus();
}

absl::Status ModelsGet(const Args& a, Env& env) {
  v1::GetStageModelRequest req;
  ASSIGN_OR_RETURN(const std::string id, IdArg(a));
  req.set_id(id);
  v1::StageModel m;
  RETURN_IF_ERROR(Check(
      env.conn->pipeline().GetStageModel(env.conn->Context().get(), req, &m)));
  if (env.format == Format::kJson) {
    PrintOne(env, m, {});
    return absl::OkStatus();
  }
  // One row per stage, in order.
  std::vector<std::vector<std::string>> rows;
  for (const v1::Stage& s : m.stages()) {
    std::vector<std::string> criteria;
    for (const v1::ExitCriterion& c : s.exit_criteria()) {
      criteria.push_back(c.required() ? c.key() + "*" : c.key());
    }
    std::vector<std::string> flags;
    if (s.requires_credit_check()) {
      flags.push_back("requires_credit_check");
    }
    if (s.contract_signed()) {
      flags.push_back("contract_signed");
    }
    if (s.closes_on_collection()) {
      flags.push_back("closes_on_collection");
    }
    if (s.closes_won()) {
      flags.push_back("closes_won");
    }
    rows.push_back({s.key(), s.name(), PercentText(s.win_rate_bp()), s.letter(),
                    FieldText(s, "our_lead_role"), absl::StrJoin(criteria, ";"),
                    absl::StrJoin(flags, ";")});
  }
  PrintCells(env,
             {"stage", "name", "win_rate", "letter", "lead_role",
              "exit_criteria", "flags"},
             rows);
  return absl::OkStatus();
}

}  // namespace

void RegisterPipelineCommands(Registry& r) {
  const std::string fields =
      "[--competitor=NAME[:STRENGTHS[:WEAKNESSES]] ...] "
      "[--competitors-unknown] "
      "[--source=ADVERTISING|TRADE_SHOW|REFERRAL|INBOUND|OUTBOUND|PARTNER] "
      "[--next-step=TEXT] [--next-step-due=YYYY-MM-DD] [--external-id=KEY]";
  r.Add({"opportunities", "create",
         "--account=ACCOUNT --owner=REP_NODE --name=TEXT --amount=MAJOR_UNITS "
         "--close-date=YYYY-MM-DD [--model=buying-cycle-6] [--stage=KEY] " +
             fields + " [--request-id=KEY]",
         "Creates an opportunity and prints it.",
         With(kOpportunityFields, {"account", "model", "stage", "request-id"}),
         OpportunitiesCreate});
  r.Add({"opportunities",
         "get",
         "--id=OPPORTUNITY",
         "Prints one opportunity with the exit criteria checked so far.",
         {"id"},
         OpportunitiesGet});
  r.Add({"opportunities", "list",
         "[--owner=NODE,...] [--account=ACCOUNT] "
         "[--status=OPEN|WON|LOST|NO_DECISION|ABANDONED] [--stage=KEY] "
         "[--model=ID] [--close-from=YYYY-MM-DD] [--close-to=YYYY-MM-DD] "
         "[--page-size=N [--page-token=T]]",
         "Lists opportunities (owners include their subtree).",
         With({"owner", "account", "status", "stage", "model", "close-from",
               "close-to"},
              kPageFlags),
         OpportunitiesList});
  r.Add(
      {"opportunities", "update",
       "--id=OPPORTUNITY [--name=TEXT] [--amount=MAJOR_UNITS] "
       "[--close-date=YYYY-MM-DD] [--owner=REP_NODE] " +
           fields + " [--expected-version=N]",
       "Changes the given fields of an open opportunity (the update_mask names "
       "exactly those fields) and prints it.",
       With(kOpportunityFields, {"id", "expected-version"}),
       OpportunitiesUpdate});
  r.Add({"opportunities",
         "move",
         "--id=OPPORTUNITY --to=STAGE [--expected-version=N] "
         "[--override-reason=TEXT]",
         "Moves an opportunity to another stage (forward needs the exit "
         "criteria checked, or a manager's override reason).",
         {"id", "to", "expected-version", "override-reason"},
         OpportunitiesMove});
  r.Add({"opportunities",
         "close",
         "--id=OPPORTUNITY --outcome=WON|LOST|NO_DECISION|ABANDONED "
         "[--reason=TEXT] [--expected-version=N]",
         "Closes an opportunity (a reason is required unless WON).",
         {"id", "outcome", "reason", "expected-version"},
         OpportunitiesClose});
  r.Add({"opportunities",
         "reopen",
         "--id=OPPORTUNITY --reason=TEXT [--expected-version=N]",
         "Reopens a closed opportunity (MANAGER or ADMIN).",
         {"id", "reason", "expected-version"},
         OpportunitiesReopen});
  r.Add({"opportunities",
         "criterion",
         "--id=OPPORTUNITY --criterion=KEY [--stage=KEY (default: the "
         "current stage)] [--checked=true|false] [--expected-version=N]",
         "Checks (or unchecks) an exit criterion of a stage.",
         {"id", "criterion", "stage", "checked", "expected-version"},
         OpportunitiesCriterion});
  r.Add({"opportunities",
         "history",
         "--id=OPPORTUNITY",
         "Prints every stage, amount, close-date, owner and close change.",
         {"id"},
         OpportunitiesHistory});
  r.Add({"opportunities",
         "health",
         "--id=OPPORTUNITY",
         "Prints the deal's warnings (landmines), if any.",
         {"id"},
         OpportunitiesHealth});

  r.Add({"models", "list", "[--page-size=N [--page-token=T]]",
         "Lists the stage models with their stages and win rates.", kPageFlags,
         ModelsList});
  r.Add({"models",
         "get",
         "--id=MODEL",
         "Prints a stage model, one stage a row (required criteria marked *).",
         {"id"},
         ModelsGet});
}

}  // namespace salesops::ctl
