// ForecastService: construction and metrics, the view's load at start, the
// forecast query (GetForecast, waiting for the pipeline feed) and recording
// out-of-funnel sales (SPEC.md §4.1, §4.4).

#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/money/exchange.h"
#include "common/money/money.h"
#include "common/status/errors.h"
#include "common/status/status.h"
#include "common/status/violations.h"
#include "common/store/ids.h"
#include "common/time/fiscal_calendar.h"
#include "salesops/v1/accounts.pb.h"
#include "services/forecast/answers.h"
#include "services/forecast/forecast_service.h"
#include "services/forecast/out_of_funnel.h"

namespace salesops::forecast {
namespace {

// Tags inside Cf::kEntities. Never reuse a number.
constexpr uint8_t kSaleTag = 1;
constexpr uint8_t kCloseTag = 2;
constexpr uint8_t kSnapshotTag = 3;
constexpr uint8_t kSubmissionTag = 4;
constexpr char kSaleKind[] = "forecast.OutOfFunnelSale";
constexpr char kCloseKind[] = "forecast.WeekClose";
constexpr char kSnapshotKind[] = "forecast.WeekSnapshot";
constexpr char kSubmissionKind[] = "forecast.Submission";

prometheus::Histogram::BucketBoundaries QueryBuckets() {
  // 10 µs .. ~1.3 s, ×2 per bucket: the query path is meant to stay in the
  // first few.
  prometheus::Histogram::BucketBoundaries b;
  for (double s = 10e-6; s < 2.0; s *= 2) {
    b.push_back(s);
  }
  return b;
}

}  // namespace

// The role table: who may call each RPC (scope is checked per node in the
// bodies). Registered as "salesops.v1.ForecastService" (main.cc).
ForecastServiceImpl::ForecastServiceImpl(Store* store,
                                         const Authenticator* auth,
                                         Clock* clock, ForecastView* view,
                                         FeedPositions feeds,
                                         ForecastOptions options,
                                         prometheus::Registry* registry)
    : store_(store),
      gate_(auth, v1::ForecastService::service_full_name(),
            {{"GetForecast", AllRoles()},
             {"RecordOutOfFunnelSale",
              {Role::kAdmin, Role::kManager, Role::kRep}},
             {"CloseWeek", {Role::kAdmin}},
             {"GetProgress", AllRoles()},
             {"SubmitForecast", {Role::kAdmin, Role::kManager, Role::kRep}},
             {"ListSubmissions", AllRoles()},
             {"GetFunnelAnalytics", AllRoles()},
             {"GetPipelineChanges", AllRoles()},
             {"GetForecastAccuracy", AllRoles()}}),
      clock_(clock),
      view_(view),
      feeds_(std::move(feeds)),
      options_(std::move(options)),
      scope_([view](const std::string& node, const std::string& ancestor) {
        return view->IsWithin(node, ancestor);
      }),
      sales_(store, Cf::kEntities, kSaleTag, kSaleKind, "out-of-funnel sale"),
      closes_(store, Cf::kEntities, kCloseTag, kCloseKind, "week close"),
      snapshots_(store, Cf::kEntities, kSnapshotTag, kSnapshotKind,
                 "week snapshot"),
      submissions_(store, Cf::kEntities, kSubmissionTag, kSubmissionKind,
                   "forecast submission") {
  if (registry != nullptr) {
    RegisterMetrics(*registry);
  }
}

void ForecastServiceImpl::RegisterMetrics(prometheus::Registry& registry) {
  query_seconds_ = &prometheus::BuildHistogram()
                        .Name("salesops_forecast_query_seconds")
                        .Help(
                            "Time to answer a forecast query, by RPC "
                            "(seconds), measured inside the handler.")
                        .Register(registry);
  for (const char* rpc :
       {"GetForecast", "GetProgress", "ListSubmissions", "GetFunnelAnalytics",
        "GetPipelineChanges", "GetForecastAccuracy"}) {
    query_histograms_[rpc] =
        &query_seconds_->Add({{"rpc", rpc}}, QueryBuckets());
  }
  gate_.set_observer([this](std::string_view rpc, absl::Duration elapsed) {
    auto it = query_histograms_.find(rpc);
    if (it != query_histograms_.end()) {
      it->second->Observe(absl::ToDoubleSeconds(elapsed));
    }
  });
  auto& size = prometheus::BuildGauge()
                   .Name("salesops_forecast_view_size")
                   .Help(
                       "Entries of the forecast's in-memory view: org "
                       "nodes, and (node, quarter) aggregates.")
                   .Register(registry);
  prometheus::Gauge* nodes = &size.Add({{"what", "nodes"}});
  prometheus::Gauge* aggregates = &size.Add({{"what", "aggregates"}});
  view_->SetSizeListener([nodes, aggregates](size_t n, size_t a) {
    nodes->Set(static_cast<double>(n));
    aggregates->Set(static_cast<double>(a));
  });
  prometheus::Gauge* missing =
      &prometheus::BuildGauge()
           .Name("salesops_forecast_missing_exchange_rates")
           .Help(
               "Deals, out-of-funnel sales and quotas the forecast counts "
               "without a converted amount because no exchange rate is in "
               "force for their date (issue 19): each is listed in the "
               "answers' missing_rates.")
           .Register(registry)
           .Add({});
  view_->SetMissingRatesListener(
      [missing](int64_t n) { missing->Set(static_cast<double>(n)); });
}

absl::Status ForecastServiceImpl::Init() {
  RETURN_IF_ERROR(view_->Load());
  if (view_->loaded_from_snapshot()) {
    return absl::OkStatus();  // its sales are in the snapshot (D55)
  }
  // No view snapshot before every sale is in the Rollup.
  ForecastView::ChangeInFlight in_flight(view_);
  std::string after;
  while (true) {
    std::vector<v1::OutOfFunnelSale> page;
    bool more = false;
    RETURN_IF_ERROR(sales_.List(after, 1024, &page, &more));
    for (const v1::OutOfFunnelSale& s : page) {
      after = s.id();
      if (s.amount().currency() != view_->reporting_currency()) {
        continue;  // with the rate it was converted at: the view's Load
      }
      RETURN_IF_ERROR(view_->AddOutOfFunnelSale(
          s.rep_node_id(),
          absl::CivilDay(s.date().year(), s.date().month(), s.date().day()),
          s.amount()));
    }
    if (!more) {
      return absl::OkStatus();
    }
  }
}

grpc::Status ForecastServiceImpl::GetForecast(Ctx* ctx,
                                              const v1::GetForecastRequest* req,
                                              v1::Forecast* resp) {
  return SALESOPS_SERVE(gate_, ctx, [&](const Principal& who) {
    return DoGetForecast(ctx, who, *req, resp);
  });
}

absl::Status ForecastServiceImpl::DoGetForecast(
    Ctx* ctx, const Principal& who, const v1::GetForecastRequest& req,
    v1::Forecast* resp) {
  ASSIGN_OR_RETURN(const FiscalQuarter quarter,
                   ValidateNodeQuarter(req.node_id(), req.fiscal_year(),
                                       req.fiscal_quarter()));
  if (!req.display_currency().empty()) {
    RETURN_IF_ERROR(
        money::ValidateCurrency(req.display_currency(), "display_currency"));
  }
  if (feeds_.regions && req.min_pipeline_sequence() > 0) {
    return absl::InvalidArgumentError(
        "min_pipeline_sequence: a global forecast follows one pipeline per "
        "region; read the regions' status in the answer instead (0 here)");
  }
  RETURN_IF_ERROR(scope_.RequireReader(who, req.node_id(), "the forecast"));
  if (req.min_pipeline_sequence() > feeds_.pipeline_applied()) {
    RETURN_IF_ERROR(WaitForPipeline(ctx, req.min_pipeline_sequence()));
  }
  // The positions first: the figures read next reflect at least these.
  resp->set_pipeline_sequence(feeds_.pipeline_applied());
  resp->set_accounts_sequence(feeds_.accounts_applied());
  if (feeds_.credit_applied) {
    resp->set_credit_sequence(feeds_.credit_applied());
  }
  NodeAnswer node;
  std::vector<NodeAnswer> children;
  absl::Status read = view_->Read(
      req.node_id(), MakeQuarterKey(quarter.fiscal_year, quarter.quarter),
      !req.skip_children(), &node, &children);
  if (absl::IsNotFound(read)) {
    return absl::NotFoundError(absl::StrCat(
        "node_id: org node ", req.node_id(),
        " is not known to the forecast (not in the accounts feed yet?)"));
  }
  RETURN_IF_ERROR(read);
  std::string currency = options_.currency;
  if (!req.display_currency().empty() &&
      req.display_currency() != options_.currency) {
    currency = req.display_currency();
    RETURN_IF_ERROR(ToDisplay(currency, &node, &children, resp));
  }
  RETURN_IF_ERROR(FillForecast(node, children, quarter, currency, resp));
  if (feeds_.regions) {
    for (v1::RegionStatus& s : feeds_.regions(clock_->Now())) {
      *resp->add_regions() = std::move(s);
    }
  }
  resp->set_currency(currency);
  resp->set_reporting_currency(options_.currency);
  FillCurrencies(node, currency, resp);
  return absl::OkStatus();
}

absl::Status ForecastServiceImpl::ToDisplay(const std::string& currency,
                                            NodeAnswer* node,
                                            std::vector<NodeAnswer>* children,
                                            v1::Forecast* resp) const {
  const absl::CivilDay today = view_->calendar().DayOf(clock_->Now());
  std::optional<money::Decimal> rate = view_->RateOn(currency, today);
  if (!rate) {
    return FailedPrecondition(
        "NO_EXCHANGE_RATE", currency,
        absl::StrCat("display_currency: no rate for ", currency,
                     " is in force today (", absl::FormatCivilTime(today),
                     "); set one with AccountsService.SetExchangeRate"));
  }
  const int from = money::CurrencyExponent(options_.currency);
  const int to = money::CurrencyExponent(currency);
  RETURN_IF_ERROR(ConvertForDisplay(node, *rate, from, to));
  for (NodeAnswer& child : *children) {
    RETURN_IF_ERROR(ConvertForDisplay(&child, *rate, from, to));
  }
  v1::DisplayConversion* d = resp->mutable_display();
  d->set_currency(currency);
  d->set_rate(money::FormatRate(*rate));
  *d->mutable_rate_date() = ToProto(today);
  return absl::OkStatus();
}

absl::Status ForecastServiceImpl::WaitForPipeline(Ctx* ctx, uint64_t sequence) {
  // A waiting call holds a server thread: only so many may wait at once.
  struct Slot {
    std::atomic<int>& n;
    ~Slot() { --n; }
  } slot{waiting_reads_};
  if (++waiting_reads_ > options_.max_waiting_reads) {
    return absl::UnavailableError(absl::StrCat(
        "min_pipeline_sequence: ", options_.max_waiting_reads,
        " GetForecast calls are already waiting for the pipeline feed, the "
        "most this server lets wait; retry after a pause (the forecast "
        "reflects the pipeline feed up to ",
        feeds_.pipeline_applied(), ")"));
  }
  // Wait a little less than the call's deadline (a fifth of it, at most
  // 100 ms, kept for the answer to travel even on a loaded machine), so the
  // caller gets this answer rather than the transport's bare
  // DEADLINE_EXCEEDED; in slices, so a drain ends the wait at once.
  absl::Duration budget = absl::Seconds(10);
  if (ctx->deadline() != std::chrono::system_clock::time_point::max()) {
    budget = absl::FromChrono(ctx->deadline()) - absl::Now();
  }
  budget -= std::min(absl::Milliseconds(100), budget / 5);
  const absl::Time until = absl::Now() + budget;
  constexpr absl::Duration kSlice = absl::Milliseconds(100);
  while (true) {
    if (options_.shutdown != nullptr && options_.shutdown->notified()) {
      return absl::UnavailableError(kShuttingDownMessage);
    }
    const absl::Duration left = until - absl::Now();
    if (left <= absl::ZeroDuration()) {
      break;
    }
    if (feeds_.wait_pipeline(sequence, std::min(left, kSlice))) {
      return absl::OkStatus();
    }
  }
  return absl::DeadlineExceededError(absl::StrCat(
      "min_pipeline_sequence: the forecast reflects the pipeline feed up to ",
      feeds_.pipeline_applied(), ", not yet ", sequence, "; retry"));
}

grpc::Status ForecastServiceImpl::RecordOutOfFunnelSale(
    Ctx* ctx, const v1::RecordOutOfFunnelSaleRequest* req,
    v1::OutOfFunnelSale* resp) {
  return SALESOPS_SERVE(gate_, ctx, [&](const Principal& who) {
    return DoRecordOutOfFunnelSale(who, *req, resp);
  });
}

absl::Status ForecastServiceImpl::DoRecordOutOfFunnelSale(
    const Principal& who, const v1::RecordOutOfFunnelSaleRequest& req,
    v1::OutOfFunnelSale* resp) {
  const v1::OutOfFunnelSale& in = req.sale();
  ASSIGN_OR_RETURN(const absl::CivilDay day, ValidateSale(in));
  RETURN_IF_ERROR(
      CheckSaleNode(in.rep_node_id(), view_->KindOf(in.rep_node_id())));
  RETURN_IF_ERROR(
      scope_.RequireWriter(who, in.rep_node_id(), "out-of-funnel sales"));
  bool created = false;
  std::optional<money::Decimal> rate;
  // No view snapshot between the sale's commit and its aggregation.
  ForecastView::ChangeInFlight in_flight(view_);
  RETURN_IF_ERROR(
      store_
          ->Write(ActorFor(who, "RecordOutOfFunnelSale"),
                  [&](WriteTxn& txn) -> absl::Status {
                    return CreateOnce(
                        txn, "RecordOutOfFunnelSale", req.request_id(), req,
                        resp, [&]() -> absl::Status {
                          v1::OutOfFunnelSale s = NewSale(
                              in, NewId("oof", txn.now()), who.name, txn.now());
                          RETURN_IF_ERROR(sales_.Insert(txn, s.id(), &s));
                          ASSIGN_OR_RETURN(
                              rate,
                              view_->StageSale(txn, s.id(), s.rep_node_id(),
                                               day, s.amount()));
                          *resp = std::move(s);
                          created = true;
                          return absl::OkStatus();
                        });
                  })
          .status());
  if (created) {
    RETURN_IF_ERROR(view_->AddOutOfFunnelSale(resp->rep_node_id(), day,
                                              resp->amount(), rate));
  }
  return absl::OkStatus();
}

}  // namespace salesops::forecast
