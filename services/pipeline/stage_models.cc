#include "services/pipeline/stage_models.h"

#include <algorithm>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/money/money.h"
#include "common/status/macros.h"
#include "common/status/violations.h"

namespace salesops::pipeline {
namespace {

struct CriterionDef {
  const char* key;
  const char* text;
};

struct StageDef {
  const char* key;
  const char* name;
  int32_t win_rate_bp;
  std::vector<CriterionDef> criteria;
  const char* buying_step;
  const char* letter;
  v1::LeadRole lead;
  bool requires_credit_check;
  bool contract_signed;
  bool closes_on_collection;
  bool closes_won;
};

v1::StageModel Build(const char* id, const char* name,
                     const std::vector<StageDef>& defs) {
  v1::StageModel m;
  m.set_id(id);
  m.set_name(name);
  m.set_built_in(true);
  *m.mutable_cadence() = DefaultCadence();
  for (const StageDef& d : defs) {
    v1::Stage* s = m.add_stages();
    s->set_key(d.key);
    s->set_name(d.name);
    s->set_win_rate_bp(d.win_rate_bp);
    for (const CriterionDef& c : d.criteria) {
      v1::ExitCriterion* e = s->add_exit_criteria();
      e->set_key(c.key);
      e->set_text(c.text);
      e->set_required(true);
    }
    s->set_buying_step(d.buying_step);
    s->set_letter(d.letter);
    s->set_our_lead_role(d.lead);
    s->set_requires_credit_check(d.requires_credit_check);
    s->set_contract_signed(d.contract_signed);
    s->set_closes_on_collection(d.closes_on_collection);
    s->set_closes_won(d.closes_won);
  }
  return m;
}

constexpr v1::LeadRole kNoLead = v1::LEAD_ROLE_UNSPECIFIED;
constexpr v1::LeadRole kAccountManager = v1::LEAD_ROLE_ACCOUNT_MANAGER;
constexpr v1::LeadRole kPresales = v1::LEAD_ROLE_PRESALES;
constexpr v1::LeadRole kExecutive = v1::LEAD_ROLE_EXECUTIVE;
constexpr v1::LeadRole kCommercial = v1::LEAD_ROLE_COMMERCIAL;

// Stages 1..3 of BuyingCycle6.
// The parts of a model's stage list, in order, as one list.
std::vector<StageDef> Concat(std::vector<std::vector<StageDef>> parts) {
  std::vector<StageDef> all;
  for (std::vector<StageDef>& p : parts) {
    all.insert(all.end(), std::make_move_iterator(p.begin()),
               std::make_move_iterator(p.end()));
  }
  return all;
}

std::vector<StageDef> BuyingCycle6Stages1() {
  return {{"INTEREST",
           "Interest (customer analysis)",
           500,
           {{"purchase_request",
             "the initiator makes a verbal or written purchase request"}},
           "interest",
           "",
           kNoLead,
           false,
           false,
           false,
           false},
          {"CONSIDERATION",
           "Consideration (build trust)",
           1000,
           {{"decision_to_buy",
             "the decision maker agrees to buy, sets timing and budget, and "
             "asks for a purchase plan"}},
           "consideration",
           "",
           kNoLead,
           false,
           false,
           false,
           false},
          {"DESIGN",
           "Design (dig into needs)",
           2000,
           {{"plan_and_specs_ready",
             "the designer finishes the purchase plan and specs and invites "
             "suppliers"}},
           "design",
           "",
           kNoLead,
           false,
           false,
           false,
           false}};
}

// Stages 4..6 of BuyingCycle6.
std::vector<StageDef> BuyingCycle6Stages2() {
  return {{"COMPARISON",
           "Comparison (present value)",
           3000,
           {{"proposals_submitted",
             "suppliers have submitted proposals and quotes; negotiation "
             "begins"}},
           "comparison",
           "",
           kNoLead,
           false,
           false,
           false,
           false},
          {"COMMITMENT",
           "Commitment (win commitment)",
           5000,
           {{"supplier_chosen_and_signed",
             "the customer picks a supplier, negotiates and signs"}},
           "commitment",
           "",
           kNoLead,
           true,
           false,
           false,
           false},
          {"USAGE",
           "Usage (collect payment)",
           8000,
           {{"paid_delivered_commissioned",
             "the customer pays, we deliver and commission"}},
           "usage",
           "",
           kNoLead,
           false,
           true,
           true,
           false}};
}

v1::StageModel BuyingCycle6() {
  return Build(kBuyingCycle6, "Buying cycle (6 stages)",
               Concat({BuyingCycle6Stages1(), BuyingCycle6Stages2()}));
}

// Stages 1..3 of ProjectSales8.
std::vector<StageDef> ProjectSales8Stages1() {
  return {{"PLANNING_AND_CALL",
           "Planning and call",
           1000,
           {{"target_customer", "meets our target-customer criteria"},
            {"counterpart_handler", "counterpart is at least a handler"},
            {"visit_confirmed", "time and place of a visit confirmed"}},
           "1 a user department finds a problem and raises a need",
           "G",
           kAccountManager,
           false,
           false,
           false,
           false},
          {"VISIT",
           "Visit",
           2000,
           {{"qualified_handler", "a qualified handler found"},
            {"strengths_presented", "our technical strengths presented"},
            {"handler_relationship", "relationship with the handler started"}},
           "2 feasibility study and budget (senior leadership)",
           "F",
           kAccountManager,
           false,
           false,
           false,
           false},
          {"PRELIMINARY_PROPOSAL",
           "Preliminary proposal",
           2500,
           {{"department_interviews",
             "targeted interviews with the handler's department"},
            {"handler_satisfied", "the handler is satisfied with the proposal"},
            {"relationship_widened",
             "the relationship deepened and widened to others"}},
           "3 project approved, buying team formed",
           "E",
           kPresales,
           false,
           false,
           false,
           false}};
}

// Stages 4..6 of ProjectSales8.
std::vector<StageDef> ProjectSales8Stages2() {
  return {{"TECHNICAL_EXCHANGE",
           "Technical exchange",
           3000,
           {{"roles_identified",
             "participating roles, departments and their concerns identified "
             "(above all the project lead)"},
            {"presales_engaged",
             "pre-sales engineers engaged the customer's needs"},
            {"demo_view_assessed", "the customer's view of the demo assessed"}},
           "4 technical standard set",
           "D",
           kPresales,
           false,
           false,
           false,
           false},
          {"SOLUTION_CONFIRMED",
           "Solution confirmed",
           5000,
           {{"needs_research_done", "needs research done"},
            {"solution_agreed", "formal solution agreed"}},
           "5 tender and first screening (purchasing)",
           "C",
           kPresales,
           false,
           false,
           false,
           false},
          {"EVALUATION",
           "Evaluation",
           7500,
           {{"preferred_supplier",
             "we are the preferred supplier after bid evaluation"}},
           "6 bid evaluation, preferred supplier",
           "B",
           kExecutive,
           true,
           false,
           false,
           false}};
}

// Stages 7..8 of ProjectSales8.
std::vector<StageDef> ProjectSales8Stages3() {
  return {{"NEGOTIATION",
           "Negotiation",
           9000,
           {{"terms_agreed", "commercial terms agreed"}},
           "7 contract review and negotiation (leadership)",
           "A",
           kCommercial,
           false,
           false,
           false,
           false},
          {"SIGNED",
           "Signed",
           10000,
           {{"contract_signed", "contract signed"}},
           "8 signing and implementation",
           "S",
           kExecutive,
           false,
           true,
           false,
           true}};
}

v1::StageModel ProjectSales8() {
  return Build(kProjectSales8, "Project sales (8 milestones)",
               Concat({ProjectSales8Stages1(), ProjectSales8Stages2(),
                       ProjectSales8Stages3()}));
}

bool MatchesKey(const std::string& s, bool upper) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    const bool letter = upper ? (c >= 'A' && c <= 'Z') : (c >= 'a' && c <= 'z');
    if (!letter && !(c >= '0' && c <= '9') && c != '_') return false;
  }
  return true;
}

}  // namespace

std::vector<v1::StageModel> BuiltInModels() {
  return {BuyingCycle6(), ProjectSales8()};
}

bool IsBuiltInId(std::string_view id) {
  return id == kBuyingCycle6 || id == kProjectSales8;
}

v1::FollowUpCadence DefaultCadence() {
  v1::FollowUpCadence c;
  auto add = [&c](const char* key, const char* text, v1::ActivityKind kind,
                  int32_t min_hours, int32_t max_hours) {
    v1::CadenceStep* s = c.add_steps();
    s->set_key(key);
    s->set_text(text);
    s->set_kind(kind);
    s->set_min_hours(min_hours);
    s->set_max_hours(max_hours);
  };
  add("first_call", "first call within 24 hours", v1::ACTIVITY_KIND_CALL, 0,
      24);
  add("send_materials", "send materials 3-5 days after the first call",
      v1::ACTIVITY_KIND_EMAIL, 3 * 24, 5 * 24);
  add("second_call", "second call 7-10 days after the materials",
      v1::ACTIVITY_KIND_CALL, 7 * 24, 10 * 24);
  return c;
}

namespace {

// The stages' rules (keys, names, win rates, criteria, closes_won last).
void ValidateStages(const v1::StageModel& model,
                    std::vector<std::string>* violations) {
  auto add = [violations](std::string v) {
    violations->push_back(std::move(v));
  };
  std::set<std::string> stage_keys;
  for (int i = 0; i < model.stages_size(); ++i) {
    const v1::Stage& s = model.stages(i);
    const std::string p = absl::StrCat("model.stages[", i, "]");
    if (!MatchesKey(s.key(), /*upper=*/true)) {
      add(absl::StrCat(p, ".key: must match [A-Z0-9_]{1,64}, got \"", s.key(),
                       "\""));
    } else if (!stage_keys.insert(s.key()).second) {
      add(absl::StrCat(p, ".key: duplicate stage key ", s.key()));
    }
    if (Blank(s.name())) add(absl::StrCat(p, ".name: required"));
    if (s.win_rate_bp() < 0 || s.win_rate_bp() > 10000) {
      add(absl::StrCat(p, ".win_rate_bp: must be 0..10000, got ",
                       s.win_rate_bp()));
    }
    std::set<std::string> criterion_keys;
    for (int j = 0; j < s.exit_criteria_size(); ++j) {
      const v1::ExitCriterion& c = s.exit_criteria(j);
      const std::string cp = absl::StrCat(p, ".exit_criteria[", j, "]");
      if (!MatchesKey(c.key(), /*upper=*/false)) {
        add(absl::StrCat(cp, ".key: must match [a-z0-9_]{1,64}, got \"",
                         c.key(), "\""));
      } else if (!criterion_keys.insert(c.key()).second) {
        add(absl::StrCat(cp, ".key: duplicate criterion key ", c.key()));
      }
      if (Blank(c.text())) add(absl::StrCat(cp, ".text: required"));
    }
    if (!v1::LeadRole_IsValid(s.our_lead_role())) {
      add(absl::StrCat(p, ".our_lead_role: unknown value ", s.our_lead_role()));
    }
    if (s.closes_won() && i != model.stages_size() - 1) {
      add(absl::StrCat(p, ".closes_won: only the last stage may close WON"));
    }
    if (s.stall_limit_days() < 0 || s.stall_limit_days() > 3650) {
      add(absl::StrCat(p, ".stall_limit_days: must be 0..3650, got ",
                       s.stall_limit_days()));
    }
  }
}

// The cadence's rules (keys, texts, kinds, hours).
void ValidateCadence(const v1::StageModel& model,
                     std::vector<std::string>* violations) {
  auto add = [violations](std::string v) {
    violations->push_back(std::move(v));
  };
  std::set<std::string> step_keys;
  for (int i = 0; i < model.cadence().steps_size(); ++i) {
    const v1::CadenceStep& s = model.cadence().steps(i);
    const std::string p = absl::StrCat("model.cadence.steps[", i, "]");
    if (!MatchesKey(s.key(), /*upper=*/false)) {
      add(absl::StrCat(p, ".key: must match [a-z0-9_]{1,64}, got \"", s.key(),
                       "\""));
    } else if (!step_keys.insert(s.key()).second) {
      add(absl::StrCat(p, ".key: duplicate step key ", s.key()));
    }
    if (Blank(s.text())) add(absl::StrCat(p, ".text: required"));
    if (s.kind() == v1::ACTIVITY_KIND_UNSPECIFIED ||
        !v1::ActivityKind_IsValid(s.kind())) {
      add(absl::StrCat(p, ".kind: required (an ActivityKind)"));
    }
    if (s.max_hours() < 1 || s.max_hours() > 8760) {
      add(absl::StrCat(p, ".max_hours: must be 1..8760, got ", s.max_hours()));
    }
    if (s.min_hours() < 0 || s.min_hours() > s.max_hours()) {
      add(absl::StrCat(p, ".min_hours: must be 0..max_hours, got ",
                       s.min_hours()));
    }
  }
}

}  // namespace

void ValidateModel(const v1::StageModel& model, std::string_view currency,
                   std::vector<std::string>* violations) {
  auto add = [violations](std::string v) {
    violations->push_back(std::move(v));
  };
  if (Blank(model.name())) {
    add("model.name: required");
  } else if (model.name().size() > 200) {
    add("model.name: at most 200 characters");
  }
  if (model.stages_size() == 0) {
    add("model.stages: at least one stage required");
  } else if (model.stages_size() > 50) {
    add(absl::StrCat("model.stages: at most 50 stages, got ",
                     model.stages_size()));
  }
  ValidateStages(model, violations);
  if (model.stall_limit_days() < 0 || model.stall_limit_days() > 3650) {
    add(absl::StrCat("model.stall_limit_days: must be 0..3650, got ",
                     model.stall_limit_days()));
  }
  if (model.has_out_of_funnel_threshold()) {
    const v1::Money& t = model.out_of_funnel_threshold();
    if (!(t.units_minor() == 0 && t.currency().empty())) {
      const absl::Status st =
          money::Validate(t, currency, "model.out_of_funnel_threshold",
                          money::Sign::kNonNegative);
      if (!st.ok()) add(std::string(st.message()));
    }
  }
  ValidateCadence(model, violations);
}

const fieldmask::EntityRules& StageModelUpdateRules() {
  static const fieldmask::EntityRules* rules =
      new fieldmask::EntityRules{{"name", "stages", "out_of_funnel_threshold",
                                  "cadence", "stall_limit_days"},
                                 {}};
  return *rules;
}

absl::StatusOr<v1::StageModel> MergeModelUpdate(
    const v1::StageModel& current, const v1::UpdateStageModelRequest& req,
    std::string_view currency) {
  ASSIGN_OR_RETURN(v1::StageModel merged,
                   fieldmask::Merge(current, req.model(), req.update_mask(),
                                    StageModelUpdateRules()));
  merged.set_name(Trimmed(merged.name()));
  std::vector<std::string> rules;
  ValidateModel(merged, currency, &rules);
  Violations v;
  for (const std::string& rule : rules) {
    v.Add(rule);
  }
  RETURN_IF_ERROR(v.status());
  RETURN_IF_ERROR(CheckSameStageKeys(current, merged));
  return merged;
}

absl::Status CheckSameStageKeys(const v1::StageModel& current,
                                const v1::StageModel& updated) {
  const int n = std::max(current.stages_size(), updated.stages_size());
  for (int i = 0; i < n; ++i) {
    const std::string was =
        i < current.stages_size() ? current.stages(i).key() : "(none)";
    const std::string now =
        i < updated.stages_size() ? updated.stages(i).key() : "(none)";
    if (was != now) {
      return absl::FailedPreconditionError(absl::StrCat(
          "model.stages[", i, "].key: stage keys and their order are fixed (",
          was, " expected, got ", now, "); create a new model to change them"));
    }
  }
  return absl::OkStatus();
}

std::vector<v1::WinRateChange> WinRateChanges(const v1::StageModel& current,
                                              const v1::StageModel& updated,
                                              int64_t effective_micros,
                                              std::string_view changed_by,
                                              int64_t new_version) {
  std::vector<v1::WinRateChange> out;
  const int n = std::min(current.stages_size(), updated.stages_size());
  for (int i = 0; i < n; ++i) {
    const v1::Stage& a = current.stages(i);
    const v1::Stage& b = updated.stages(i);
    if (a.key() != b.key() || a.win_rate_bp() == b.win_rate_bp()) continue;
    v1::WinRateChange c;
    c.set_stage_key(a.key());
    c.set_from_bp(a.win_rate_bp());
    c.set_to_bp(b.win_rate_bp());
    c.set_effective_micros(effective_micros);
    c.set_changed_by(std::string(changed_by));
    c.set_model_version(new_version);
    out.push_back(std::move(c));
  }
  return out;
}

int StageIndex(const v1::StageModel& model, std::string_view key) {
  for (int i = 0; i < model.stages_size(); ++i) {
    if (model.stages(i).key() == key) return i;
  }
  return -1;
}

int32_t StallLimitDays(const v1::StageModel& model, int stage_index) {
  if (stage_index >= 0 && stage_index < model.stages_size() &&
      model.stages(stage_index).stall_limit_days() > 0) {
    return model.stages(stage_index).stall_limit_days();
  }
  if (model.stall_limit_days() > 0) return model.stall_limit_days();
  return kDefaultStallLimitDays;
}

}  // namespace salesops::pipeline
