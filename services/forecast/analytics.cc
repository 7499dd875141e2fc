// Design note.
//
// Everything here is a pure function of the timelines. StateOf walks the
// history backwards from the current state, undoing every entry later than
// `t`; the funnel analytics walk each history forwards once (the stages an
// opportunity was ever in, and its stays); the waterfall compares StateOf at
// the two instants. All money sums go through money::Add/Sub so an overflow is
// OUT_OF_RANGE, never a wrapped figure.
//
// History entries are validated as a whole on every StateOf call (not only
// the entries later than `t`), so a damaged timeline is an error at every
// instant rather than only at some.

#include "services/forecast/analytics.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "common/money/money.h"
#include "common/status/macros.h"

namespace salesops::forecast {
namespace {

constexpr int64_t kMicrosPerDay = int64_t{86400} * 1000 * 1000;

bool IsClosed(v1::OpportunityStatus s) {
  return s == v1::OPPORTUNITY_STATUS_WON || s == v1::OPPORTUNITY_STATUS_LOST ||
         s == v1::OPPORTUNITY_STATUS_NO_DECISION ||
         s == v1::OPPORTUNITY_STATUS_ABANDONED;
}

// The status names pipeline writes into CLOSED / REOPENED entries.
std::optional<v1::OpportunityStatus> ClosedStatusFromName(
    absl::string_view name) {
  if (name == "WON") return v1::OPPORTUNITY_STATUS_WON;
  if (name == "LOST") return v1::OPPORTUNITY_STATUS_LOST;
  if (name == "NO_DECISION") return v1::OPPORTUNITY_STATUS_NO_DECISION;
  if (name == "ABANDONED") return v1::OPPORTUNITY_STATUS_ABANDONED;
  return std::nullopt;
}

// Strict "YYYY-MM-DD" of a real calendar day.
std::optional<absl::CivilDay> ParseDay(absl::string_view text) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') {
    return std::nullopt;
  }
  int parts[3] = {0, 0, 0};
  const std::pair<size_t, size_t> spans[3] = {{0, 4}, {5, 2}, {8, 2}};
  for (int i = 0; i < 3; ++i) {
    for (size_t k = 0; k < spans[i].second; ++k) {
      const char c = text[spans[i].first + k];
      if (c < '0' || c > '9') {
        return std::nullopt;
      }
      parts[i] = parts[i] * 10 + (c - '0');
    }
  }
  const absl::CivilDay day(parts[0], parts[1], parts[2]);
  if (day.year() != parts[0] || day.month() != parts[1] ||
      day.day() != parts[2]) {
    return std::nullopt;  // e.g. 2025-02-30 would normalize to March
  }
  return day;
}

// Strict decimal int64: optional '-', digits only.
std::optional<int64_t> ParseMinor(absl::string_view text) {
  if (text.empty()) {
    return std::nullopt;
  }
  const size_t digits_from = text[0] == '-' ? 1 : 0;
  if (digits_from == text.size()) {
    return std::nullopt;
  }
  for (size_t i = digits_from; i < text.size(); ++i) {
    if (text[i] < '0' || text[i] > '9') {
      return std::nullopt;
    }
  }
  int64_t v = 0;
  if (!absl::SimpleAtoi(text, &v)) {
    return std::nullopt;  // out of int64 range
  }
  return v;
}

absl::Status BadEntry(const Timeline& t, const Timeline::Change& c,
                      absl::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat("opportunity ", t.id, ": history entry seq ", c.seq, " (",
                   v1::ChangeKind_Name(c.kind), "): ", what));
}

// Checks that every entry is one StateOf can read.
absl::Status ValidateChanges(const Timeline& t) {
  for (const Timeline::Change& c : t.changes) {
    switch (c.kind) {
      case v1::CHANGE_KIND_CREATED:
      case v1::CHANGE_KIND_STAGE_FORWARD:
      case v1::CHANGE_KIND_STAGE_BACKWARD:
        if (c.to.empty()) {
          return BadEntry(t, c, "empty target stage key");
        }
        if (c.kind != v1::CHANGE_KIND_CREATED && c.from.empty()) {
          return BadEntry(t, c, "empty source stage key");
        }
        break;
      case v1::CHANGE_KIND_AMOUNT:
        if (!ParseMinor(c.from)) {
          return BadEntry(t, c,
                          absl::StrCat("from \"", c.from,
                                       "\" is not an amount in minor units"));
        }
        if (!ParseMinor(c.to)) {
          return BadEntry(t, c,
                          absl::StrCat("to \"", c.to,
                                       "\" is not an amount in minor units"));
        }
        break;
      case v1::CHANGE_KIND_CLOSE_DATE:
        if (!ParseDay(c.from)) {
          return BadEntry(
              t, c, absl::StrCat("from \"", c.from, "\" is not a YYYY-MM-DD"));
        }
        if (!ParseDay(c.to)) {
          return BadEntry(
              t, c, absl::StrCat("to \"", c.to, "\" is not a YYYY-MM-DD"));
        }
        break;
      case v1::CHANGE_KIND_CLOSED:
        if (!ClosedStatusFromName(c.to)) {
          return BadEntry(
              t, c, absl::StrCat("to \"", c.to, "\" is not a closed status"));
        }
        break;
      case v1::CHANGE_KIND_REOPENED:
        if (!ClosedStatusFromName(c.from)) {
          return BadEntry(
              t, c,
              absl::StrCat("from \"", c.from, "\" is not a closed status"));
        }
        break;
      case v1::CHANGE_KIND_OWNER:
        break;  // the analytics use the current owner
      default:
        return BadEntry(t, c, "unknown change kind");
    }
  }
  return absl::OkStatus();
}

// The entries in seq order (the timeline promises it; this makes sure).
std::vector<const Timeline::Change*> BySeq(const Timeline& t) {
  std::vector<const Timeline::Change*> out;
  out.reserve(t.changes.size());
  for (const Timeline::Change& c : t.changes) {
    out.push_back(&c);
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const Timeline::Change* a, const Timeline::Change* b) {
                     return a->seq < b->seq;
                   });
  return out;
}

bool IsStageMove(v1::ChangeKind k) {
  return k == v1::CHANGE_KIND_STAGE_FORWARD ||
         k == v1::CHANGE_KIND_STAGE_BACKWARD;
}

int64_t WholeDays(int64_t from_micros, int64_t to_micros) {
  if (to_micros <= from_micros) {
    return 0;
  }
  return (to_micros - from_micros) / kMicrosPerDay;
}

// The lower median; 0 for none.
int64_t LowerMedian(std::vector<int64_t> v) {
  if (v.empty()) {
    return 0;
  }
  const size_t mid = (v.size() - 1) / 2;
  std::nth_element(v.begin(), v.begin() + static_cast<ptrdiff_t>(mid), v.end());
  return v[mid];
}

absl::StatusOr<int64_t> RatioBp(int64_t part, int64_t whole) {
  if (whole <= 0) {
    return 0;
  }
  return money::MulDivRoundHalfEven(part, money::kBasisPointsPerUnit, whole);
}

std::string SourceName(v1::SourceChannel s) {
  std::string name = v1::SourceChannel_Name(s);
  if (name.empty()) {
    return absl::StrCat(static_cast<int>(s));
  }
  const std::string prefix = "SOURCE_CHANNEL_";
  return name.rfind(prefix, 0) == 0 ? name.substr(prefix.size()) : name;
}

struct BreakdownAcc {
  int64_t created = 0;
  int64_t won = 0;
  int64_t closed = 0;
  int64_t won_amount = 0;
};

absl::Status Count(const Timeline& t, BreakdownAcc* acc) {
  ++acc->created;
  if (IsClosed(t.status)) {
    ++acc->closed;
  }
  if (t.status == v1::OPPORTUNITY_STATUS_WON) {
    ++acc->won;
    ASSIGN_OR_RETURN(acc->won_amount,
                     money::Add(acc->won_amount, t.amount_minor));
  }
  return absl::OkStatus();
}

absl::Status FillBreakdown(
    const std::map<std::string, BreakdownAcc>& accs,
    const std::string& currency,
    google::protobuf::RepeatedPtrField<v1::BreakdownRow>* out) {
  for (const auto& [key, acc] : accs) {
    v1::BreakdownRow* row = out->Add();
    row->set_key(key);
    row->set_created(acc.created);
    row->set_won(acc.won);
    row->set_closed(acc.closed);
    ASSIGN_OR_RETURN(const int64_t bp, RatioBp(acc.won, acc.closed));
    row->set_win_rate_bp(bp);
    *row->mutable_won_amount() = money::Make(acc.won_amount, currency);
  }
  return absl::OkStatus();
}

// One stay in a stage: [from, to).
struct Stay {
  std::string stage_key;
  int64_t from_micros = 0;
  int64_t to_micros = 0;
};

// The stays of an opportunity, in order. A stay begins at CREATED or a stage
// move into the stage (or a REOPENED, which continues in the same stage) and
// ends at the next stage move, at the CLOSED entry, or at `now_micros`.
std::vector<Stay> StaysOf(const Timeline& t,
                          const std::vector<const Timeline::Change*>& changes,
                          int64_t now_micros) {
  std::vector<Stay> stays;
  // Without a CREATED entry the opportunity starts at created_micros in the
  // source stage of its first move, or in its current stage.
  std::string stage = t.stage_key;
  bool has_created = false;
  for (const Timeline::Change* c : changes) {
    if (c->kind == v1::CHANGE_KIND_CREATED) {
      has_created = true;
      break;
    }
    if (IsStageMove(c->kind)) {
      stage = c->from;
      break;
    }
  }
  bool active = !has_created;
  int64_t start = t.created_micros;
  const auto end_stay = [&](int64_t at) {
    if (active) {
      stays.push_back(Stay{stage, start, at});
      active = false;
    }
  };
  for (const Timeline::Change* c : changes) {
    switch (c->kind) {
      case v1::CHANGE_KIND_CREATED:
        end_stay(c->time_micros);
        stage = c->to;
        start = t.created_micros;
        active = true;
        break;
      case v1::CHANGE_KIND_STAGE_FORWARD:
      case v1::CHANGE_KIND_STAGE_BACKWARD:
        end_stay(c->time_micros);
        stage = c->to;
        start = c->time_micros;
        active = true;
        break;
      case v1::CHANGE_KIND_CLOSED:
        end_stay(c->time_micros);
        break;
      case v1::CHANGE_KIND_REOPENED:
        if (!active) {
          start = c->time_micros;
          active = true;
        }
        break;
      default:
        break;
    }
  }
  // Closed without a CLOSED entry (an incomplete history): end at the close.
  if (active && IsClosed(t.status) && t.closed_micros != 0) {
    end_stay(t.closed_micros);
  }
  end_stay(now_micros);
  return stays;
}

bool InQuarter(const std::optional<StateAt>& s, absl::CivilDay first,
               absl::CivilDay last) {
  return s.has_value() && s->status == v1::OPPORTUNITY_STATUS_OPEN &&
         s->expected_close >= first && s->expected_close <= last;
}

}  // namespace

absl::StatusOr<std::optional<StateAt>> StateOf(const Timeline& timeline,
                                               absl::Time t) {
  RETURN_IF_ERROR(ValidateChanges(timeline));
  const int64_t at = absl::ToUnixMicros(t);
  if (timeline.created_micros > at) {
    return std::optional<StateAt>();
  }
  StateAt s;
  s.stage_key = timeline.stage_key;
  s.status = timeline.status;
  s.amount_minor = timeline.amount_minor;
  s.expected_close = timeline.expected_close;
  s.closed_micros = timeline.closed_micros;
  const std::vector<const Timeline::Change*> changes = BySeq(timeline);
  for (size_t i = changes.size(); i-- > 0;) {
    const Timeline::Change& c = *changes[i];
    if (c.time_micros <= at) {
      continue;  // happened by t
    }
    switch (c.kind) {
      case v1::CHANGE_KIND_AMOUNT:
        s.amount_minor = *ParseMinor(c.from);
        break;
      case v1::CHANGE_KIND_CLOSE_DATE:
        s.expected_close = *ParseDay(c.from);
        break;
      case v1::CHANGE_KIND_STAGE_FORWARD:
      case v1::CHANGE_KIND_STAGE_BACKWARD:
        s.stage_key = c.from;
        break;
      case v1::CHANGE_KIND_CLOSED:
        s.status = v1::OPPORTUNITY_STATUS_OPEN;
        s.closed_micros = 0;
        break;
      case v1::CHANGE_KIND_REOPENED: {
        s.status = *ClosedStatusFromName(c.from);
        // Closed again as of the CLOSED entry this REOPENED undid.
        s.closed_micros = 0;
        for (size_t k = i; k-- > 0;) {
          if (changes[k]->kind == v1::CHANGE_KIND_CLOSED) {
            s.closed_micros = changes[k]->time_micros;
            break;
          }
        }
        break;
      }
      default:
        break;  // CREATED (created_micros decides), OWNER (current owner)
    }
  }
  return std::optional<StateAt>(std::move(s));
}

namespace {

// What ComputeFunnelAnalytics sums over the timelines.
class FunnelAcc {
 public:
  FunnelAcc(const ModelStages& model, int64_t now_micros)
      : model_(model),
        now_micros_(now_micros),
        entered_(model.stages.size(), 0),
        advanced_(model.stages.size(), 0),
        closed_(model.stages.size(), 0),
        won_(model.stages.size(), 0),
        stay_days_(model.stages.size()) {
    for (size_t i = 0; i < model.stages.size(); ++i) {
      index_.emplace(model.stages[i].first, i);
    }
  }

  absl::Status Add(const Timeline& t) {
    const std::vector<const Timeline::Change*> changes = BySeq(t);
    const bool is_closed = IsClosed(t.status);
    const bool is_won = t.status == v1::OPPORTUNITY_STATUS_WON;
    const std::set<size_t> ever = EverIn(t, changes);
    const size_t furthest = ever.empty() ? 0 : *ever.rbegin();
    for (size_t s : ever) {
      ++entered_[s];
      advanced_[s] += furthest > s ? 1 : 0;
      closed_[s] += is_closed ? 1 : 0;
      won_[s] += is_won ? 1 : 0;
    }
    for (const Stay& stay : StaysOf(t, changes, now_micros_)) {
      if (std::optional<size_t> i = IndexOf(stay.stage_key)) {
        stay_days_[*i].push_back(WholeDays(stay.from_micros, stay.to_micros));
      }
    }
    if (is_won) {
      ++won_total_;
      cycle_days_.push_back(WholeDays(t.created_micros, t.closed_micros));
    }
    RETURN_IF_ERROR(Count(t, &by_source_[SourceName(t.source_channel)]));
    return Count(t, &by_owner_[t.owner_node_id]);
  }

  absl::StatusOr<v1::FunnelAnalytics> Finish(const std::string& currency) && {
    v1::FunnelAnalytics out;
    std::vector<std::string> ratio;
    for (size_t i = 0; i < model_.stages.size(); ++i) {
      v1::StageAnalytics* s = out.add_stages();
      s->set_stage_key(model_.stages[i].first);
      s->set_entered(entered_[i]);
      s->set_advanced(advanced_[i]);
      ASSIGN_OR_RETURN(const int64_t conversion,
                       RatioBp(advanced_[i], entered_[i]));
      s->set_conversion_bp(conversion);
      s->set_median_days_in_stage(LowerMedian(std::move(stay_days_[i])));
      ASSIGN_OR_RETURN(const int64_t calibrated, RatioBp(won_[i], closed_[i]));
      s->set_calibrated_win_rate_bp(calibrated);
      s->set_configured_win_rate_bp(model_.stages[i].second);
      s->set_closed(closed_[i]);
      ratio.push_back(absl::StrCat(entered_[i]));
    }
    ratio.push_back(absl::StrCat(won_total_));
    out.set_ratio_line(absl::StrJoin(ratio, ":"));
    out.set_median_cycle_days(LowerMedian(std::move(cycle_days_)));
    RETURN_IF_ERROR(
        FillBreakdown(by_source_, currency, out.mutable_by_source()));
    RETURN_IF_ERROR(FillBreakdown(by_owner_, currency, out.mutable_by_owner()));
    return out;
  }

 private:
  std::optional<size_t> IndexOf(const std::string& key) const {
    auto it = index_.find(key);
    if (it == index_.end()) {
      return std::nullopt;
    }
    return it->second;
  }

  // Every stage of the model the opportunity was ever in.
  std::set<size_t> EverIn(const Timeline& t,
                          const std::vector<const Timeline::Change*>& changes) {
    std::set<size_t> ever;
    const auto mark = [&](const std::string& key) {
      if (std::optional<size_t> i = IndexOf(key)) {
        ever.insert(*i);
      }
    };
    mark(t.stage_key);
    for (const Timeline::Change* c : changes) {
      if (c->kind == v1::CHANGE_KIND_CREATED) {
        mark(c->to);
      } else if (IsStageMove(c->kind)) {
        mark(c->from);
        mark(c->to);
      }
    }
    return ever;
  }

  const ModelStages& model_;
  const int64_t now_micros_;
  std::map<std::string, size_t> index_;
  std::vector<int64_t> entered_, advanced_, closed_, won_;
  std::vector<std::vector<int64_t>> stay_days_;
  std::vector<int64_t> cycle_days_;
  int64_t won_total_ = 0;
  std::map<std::string, BreakdownAcc> by_source_;
  std::map<std::string, BreakdownAcc> by_owner_;
};

// What ComputePipelineChanges sums over the timelines.
struct WaterfallAcc {
  int64_t start = 0, end = 0, new_pipeline = 0, won = 0, lost = 0,
          pushed_out = 0, pulled_in = 0, amount_up = 0, amount_down = 0;
  int64_t advanced = 0, slipped = 0;

  static absl::Status Plus(int64_t* acc, int64_t v) {
    ASSIGN_OR_RETURN(*acc, money::Add(*acc, v));
    return absl::OkStatus();
  }

  // One opportunity in the quarter at `a` (from) and at `b` (to).
  absl::Status AddAmounts(const StateAt& a, const StateAt& b) {
    if (b.amount_minor > a.amount_minor) {
      ASSIGN_OR_RETURN(const int64_t up,
                       money::Sub(b.amount_minor, a.amount_minor));
      return Plus(&amount_up, up);
    }
    if (b.amount_minor < a.amount_minor) {
      ASSIGN_OR_RETURN(const int64_t down,
                       money::Sub(a.amount_minor, b.amount_minor));
      return Plus(&amount_down, down);
    }
    return absl::OkStatus();
  }

  // One opportunity's move between the states at from (`a`) and to (`b`).
  absl::Status AddMove(const std::optional<StateAt>& a, bool in_a,
                       const std::optional<StateAt>& b, bool in_b) {
    if (in_a) {
      RETURN_IF_ERROR(Plus(&start, a->amount_minor));
    }
    if (in_b) {
      RETURN_IF_ERROR(Plus(&end, b->amount_minor));
    }
    if (in_a && in_b) {
      return AddAmounts(*a, *b);
    }
    if (in_a) {
      if (b.has_value() && b->status == v1::OPPORTUNITY_STATUS_WON) {
        return Plus(&won, a->amount_minor);
      }
      if (b.has_value() && IsClosed(b->status)) {
        return Plus(&lost, a->amount_minor);
      }
      return Plus(&pushed_out, a->amount_minor);
    }
    if (in_b) {
      return Plus(a.has_value() ? &pulled_in : &new_pipeline, b->amount_minor);
    }
    return absl::OkStatus();
  }

  void CountMoves(const Timeline& t, int64_t from_micros, int64_t to_micros) {
    for (const Timeline::Change& c : t.changes) {
      if (c.time_micros > from_micros && c.time_micros <= to_micros) {
        if (c.kind == v1::CHANGE_KIND_STAGE_FORWARD) {
          ++advanced;
        } else if (c.kind == v1::CHANGE_KIND_STAGE_BACKWARD) {
          ++slipped;
        }
      }
    }
  }

  v1::PipelineChanges ToProto(const std::string& currency) const {
    v1::PipelineChanges out;
    *out.mutable_start() = money::Make(start, currency);
    *out.mutable_new_pipeline() = money::Make(new_pipeline, currency);
    *out.mutable_won() = money::Make(won, currency);
    *out.mutable_lost() = money::Make(lost, currency);
    *out.mutable_pushed_out() = money::Make(pushed_out, currency);
    *out.mutable_pulled_in() = money::Make(pulled_in, currency);
    *out.mutable_amount_up() = money::Make(amount_up, currency);
    *out.mutable_amount_down() = money::Make(amount_down, currency);
    out.set_advanced(advanced);
    out.set_slipped(slipped);
    *out.mutable_end() = money::Make(end, currency);
    return out;
  }
};

}  // namespace

absl::StatusOr<v1::FunnelAnalytics> ComputeFunnelAnalytics(
    const std::vector<Timeline>& timelines, const ModelStages& model,
    absl::Time now, const std::string& currency) {
  FunnelAcc acc(model, absl::ToUnixMicros(now));
  for (const Timeline& t : timelines) {
    RETURN_IF_ERROR(acc.Add(t));
  }
  return std::move(acc).Finish(currency);
}

absl::StatusOr<v1::PipelineChanges> ComputePipelineChanges(
    const std::vector<Timeline>& timelines, absl::CivilDay quarter_first,
    absl::CivilDay quarter_last, absl::Time from, absl::Time to,
    const std::string& currency) {
  WaterfallAcc acc;
  for (const Timeline& t : timelines) {
    ASSIGN_OR_RETURN(const std::optional<StateAt> a, StateOf(t, from));
    ASSIGN_OR_RETURN(const std::optional<StateAt> b, StateOf(t, to));
    const bool in_a = InQuarter(a, quarter_first, quarter_last);
    const bool in_b = InQuarter(b, quarter_first, quarter_last);
    RETURN_IF_ERROR(acc.AddMove(a, in_a, b, in_b));
    if (in_a || in_b) {
      acc.CountMoves(t, absl::ToUnixMicros(from), absl::ToUnixMicros(to));
    }
  }
  return acc.ToProto(currency);
}

}  // namespace salesops::forecast
