// What `salesopsctl demo` builds on (demo_support.h): ids, quarters, reading
// the org and the funnel back, waiting for forecast, printing the tree.

#include "tools/salesopsctl/demo_support.h"

#include <chrono>
#include <ostream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/status/status.h"
#include "salesops/v1/feed.grpc.pb.h"
#include "tools/salesopsctl/demo_dataset.h"
#include "tools/salesopsctl/flags.h"
#include "tools/salesopsctl/output.h"

namespace salesops::ctl::demo {

absl::CivilDay FromDate(const v1::Date& d) {
  return absl::CivilDay(d.year(), d.month(), d.day());
}

Quarter QuarterOf(absl::CivilDay d) {
  return Quarter{static_cast<int>(d.year()), (d.month() - 1) / 3 + 1};
}

absl::CivilDay TodayUtc() {
  return absl::ToCivilDay(absl::Now(), absl::UTCTimeZone());
}

std::string External(const std::string& kind, const std::string& key) {
  return absl::StrCat(kExternalPrefix, kind, ":", key);
}

std::string RequestId(const std::string& kind, const std::string& key) {
  return absl::StrCat(kRequestPrefix, kind, ":", key);
}

// The text stream for progress lines: stdout in table format, stderr
// otherwise (so json/csv output stays parseable).
std::ostream& Log(Env& env) {
  return env.format == Format::kTable ? *env.out : *env.err;
}

// Every page of a List RPC (`fetch` reads one); INTERNAL after kMaxPages.
absl::Status ListAll(const PageFetch& fetch) {
  return AllPages(fetch, kMaxPages,
                  absl::InternalError(absl::StrCat("listing did not end after ",
                                                   kMaxPages, " pages")));
}

// ---- finding what exists ----

absl::StatusOr<OrgState> ReadOrg(Connections& c) {
  OrgState state;
  RETURN_IF_ERROR(
      ListAll([&](const v1::PageRequest& page) -> absl::StatusOr<std::string> {
        v1::ListOrgNodesRequest req;
        SetPage(page, &req);
        v1::ListOrgNodesResponse resp;
        RETURN_IF_ERROR(
            Check(c.accounts().ListOrgNodes(c.Context().get(), req, &resp)));
        for (const v1::OrgNode& n : resp.nodes()) {
          if (!n.external_id().empty()) {
            state.by_external_id[n.external_id()] = n;
          }
          if (n.parent_id().empty()) {
            state.root = n;
          }
        }
        return resp.next_page_token();
      }));
  return state;
}

// The id of the tree's top: the demo's Global node, else the organization's
// root; NOT_FOUND when there is no organization.
absl::StatusOr<std::string> TreeRoot(const OrgState& org) {
  auto it = org.by_external_id.find(External("org", "global"));
  if (it != org.by_external_id.end()) {
    return it->second.id();
  }
  if (org.root) {
    return org.root->id();
  }
  return absl::NotFoundError(
      "there is no organization yet: run `salesopsctl demo load` first");
}

// The opportunities owned by `owner_id` (and below it).
absl::StatusOr<std::vector<v1::Opportunity>> OpportunitiesOf(
    Connections& c, const std::string& owner_id) {
  std::vector<v1::Opportunity> out;
  RETURN_IF_ERROR(
      ListAll([&](const v1::PageRequest& page) -> absl::StatusOr<std::string> {
        v1::ListOpportunitiesRequest req;
        req.add_owner_ids(owner_id);
        SetPage(page, &req);
        v1::ListOpportunitiesResponse resp;
        RETURN_IF_ERROR(Check(
            c.pipeline().ListOpportunities(c.Context().get(), req, &resp)));
        for (const v1::Opportunity& o : resp.opportunities()) {
          out.push_back(o);
        }
        return resp.next_page_token();
      }));
  return out;
}

// The demo quarter: the quarter of the funnel's close dates when the funnel
// exists, else the current one.
absl::StatusOr<Quarter> DemoQuarter(Connections& c, const OrgState& org) {
  auto rep = org.by_external_id.find(External("org", kFunnelRepKey));
  if (rep != org.by_external_id.end()) {
    ASSIGN_OR_RETURN(std::vector<v1::Opportunity> opps,
                     OpportunitiesOf(c, rep->second.id()));
    for (const v1::Opportunity& o : opps) {
      if (o.external_id().rfind(External("opp", "funnel-"), 0) == 0) {
        return QuarterOf(FromDate(o.expected_close_date()));
      }
    }
  }
  return QuarterOf(TodayUtc());
}

// ---- waiting ----

absl::StatusOr<uint64_t> FeedPosition(Connections& c,
                                      const std::string& service) {
  auto stub = v1::FeedService::NewStub(c.channel(service));
  v1::GetFeedPositionResponse resp;
  RETURN_IF_ERROR(Check(stub->GetFeedPosition(
      c.Context().get(), v1::GetFeedPositionRequest(), &resp)));
  return resp.sequence();
}

// Waits (up to 60 s) until forecast reflects everything pipeline and
// accounts committed so far, so the tree shows the data just loaded.
absl::Status WaitForForecast(Connections& c, const std::string& node_id,
                             const Quarter& q) {
  ASSIGN_OR_RETURN(const uint64_t pipeline, FeedPosition(c, "pipeline"));
  ASSIGN_OR_RETURN(const uint64_t accounts, FeedPosition(c, "accounts"));
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  std::string last;
  while (true) {
    v1::GetForecastRequest req;
    req.set_node_id(node_id);
    req.set_fiscal_year(q.year);
    req.set_fiscal_quarter(q.quarter);
    req.set_min_pipeline_sequence(pipeline);
    req.set_skip_children(true);
    v1::Forecast resp;
    auto ctx = c.Context();
    ctx->set_deadline(std::chrono::system_clock::now() +
                      std::chrono::seconds(5));
    const grpc::Status s = c.forecast().GetForecast(ctx.get(), req, &resp);
    if (s.ok() && resp.accounts_sequence() >= accounts) {
      return absl::OkStatus();
    }
    if (!s.ok() && s.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED &&
        s.error_code() != grpc::StatusCode::UNAVAILABLE &&
        s.error_code() != grpc::StatusCode::NOT_FOUND) {
      return Check(s);
    }
    last = s.ok() ? absl::StrCat("accounts feed applied up to ",
                                 resp.accounts_sequence(), " of ", accounts)
                  : s.error_message();
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("forecast did not catch up with pipeline (", pipeline,
                       ") and accounts (", accounts, ") within 60 s: ", last));
    }
    absl::SleepFor(absl::Milliseconds(200));
  }
}

absl::Status PrintAddressesAndTree(Env& env, const std::string& root,
                                   const Quarter& q) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& [name, addr] : env.conn->addresses()) {
    rows.push_back({name, addr});
  }
  Log(env) << "\nServices:\n";
  PrintCells(env, {"service", "address"}, rows);
  Log(env) << "\nForecast " << q.Name() << " ("
           << absl::FormatCivilTime(q.first()) << " .. "
           << absl::FormatCivilTime(q.last()) << "):\n";
  return PrintForecastTree(env, root, q.year, q.quarter, kTreeDepth);
}

}  // namespace salesops::ctl::demo
