// Hostile end-to-end tests of issue 16, part 3: the largest entities and the
// oversized ones, with the four real binaries on loopback (tests/suite.h).
//
//   CatchingUpOverLargestEntitiesKeepsSourceMemoryBounded ("Must show" 2):
//     150 opportunities of the largest size the bounds allow are created in
//     pipeline while forecast and credit are down; pipeline's VmRSS is
//     sampled every 50 ms while the two catch up (every one of the 150 goes
//     through both Watch streams and is applied: forecast weighs it, credit
//     opens its contract receivable), and while four raw Watch streams of the
//     test read slowly. Growth stays under 256 MB; the figures are printed.
//   OversizedEntityIsRefusedAndWritesNothing (finding 1): a create (and an
//     update) whose opportunity serializes past --max_entity_bytes is
//     INVALID_ARGUMENT naming the flag; nothing is written (feed head, list,
//     the entity's audit and version unchanged; a retry with the same
//     request_id is refused the same way); so is a create or update with a
//     field over its bound (INVALID_ARGUMENT naming the field); every Watch
//     keeps flowing: the next create is applied by forecast and credit.
//
// "Largest the bounds allow" is what bounds_e2e_test measures: every string
// of the create at its bound in four-byte code points (name and external_id,
// also counted in bytes, in ASCII), every list at its item bound, then the
// largest competitive evaluation stored on it (two events of ~330 and ~400 KB
// per opportunity). The requests are checked against the bounds walker here,
// so a change of the bounds shows.

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <iostream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/server/bounds.h"
#include "tests/suite.h"

namespace salesops {
namespace {

using e2e::Describe;
using e2e::Suite;
using grpc::StatusCode;

constexpr int64_t kMaxEntityBytes = 1 << 20;  // pipeline's flag here
constexpr int kLargest = 150;
constexpr int64_t kMB = 1000 * 1000;

// `tag` then four-byte code points up to `n` code points.
std::string Wide(const std::string& tag, int n) {
  std::string out = tag;
  for (int i = static_cast<int>(tag.size()); i < n; ++i) {
    out += "\xF0\x9F\x98\x80";
  }
  return out;
}

// Adds competitors to `o` until it serializes to about `target` bytes, their
// strengths and weaknesses at most `max_chars` ASCII characters, at most
// `max_items` of them.
void FillCompetitors(v1::Opportunity* o, int64_t target, int64_t max_chars,
                     int max_items) {
  for (int i = 0; i < max_items; ++i) {
    const int64_t left = target - static_cast<int64_t>(o->ByteSizeLong()) - 64;
    if (left <= 0) {
      return;
    }
    const int64_t chars = std::min<int64_t>(max_chars, left / 2);
    v1::Competitor* c = o->add_competitors();
    c->set_name(absl::StrCat("competitor ", i));
    c->set_strengths(std::string(chars, 's'));
    c->set_weaknesses(std::string(chars, 'w'));
  }
}

// The largest create a REP may send (bounds_e2e_test's), in USAGE so that
// credit opens a contract receivable for it.
v1::CreateOpportunityRequest Largest(const Suite& suite, int i) {
  v1::CreateOpportunityRequest req;
  v1::Opportunity* o = req.mutable_opportunity();
  *o = Suite::NewOpp(absl::StrCat(i, " ", std::string(196, 'n')).substr(0, 200),
                     suite.acc_a.id(), suite.rep_a.id(), 1'000'000 + i);
  o->set_stage_key("USAGE");
  for (int c = 0; c < 20; ++c) {
    v1::Competitor* comp = o->add_competitors();
    comp->set_name(Wide(absl::StrCat("c", c), 200));
    comp->set_strengths(Wide("s", 2000));
    comp->set_weaknesses(Wide("w", 2000));
  }
  o->set_external_id(
      absl::StrCat(i, " ", std::string(128, 'e')).substr(0, 128));
  o->mutable_next_step()->set_text(Wide("t", 2000));
  req.set_request_id(
      absl::StrCat("largest-", i, std::string(128, 'r')).substr(0, 128));
  return req;
}

// The largest competitive evaluation stored on opportunity `id`.
v1::EvaluateCompetitiveRequest LargestEvaluation(const std::string& id) {
  v1::EvaluateCompetitiveRequest eval;
  eval.set_opportunity_id(id);
  for (int k = 0; k < 30; ++k) {
    v1::CompetitiveCriterion* c = eval.add_criteria();
    c->set_name(Wide(absl::StrCat("k", k), 200));
    c->set_weight_bp(k < 10 ? 334 : 333);  // 10 × 334 + 20 × 333 = 10000
  }
  for (int p = 0; p < 20; ++p) {
    v1::CompetitiveParty* party = eval.add_parties();
    party->set_name(Wide(absl::StrCat("p", p), 200));
    for (int k = 0; k < 30; ++k) {
      party->add_scores(5);
    }
  }
  return eval;
}

// Samples a process's VmRSS every 50 ms until stopped; keeps the peak.
class RssSampler {
 public:
  explicit RssSampler(int pid) : pid_(pid) {
    thread_ = std::thread([this] {
      while (!stop_) {
        peak_ = std::max<int64_t>(peak_, e2e::RssBytes(pid_));
        ++samples_;
        absl::SleepFor(absl::Milliseconds(50));
      }
    });
  }
  ~RssSampler() { Stop(); }
  int64_t Stop() {
    stop_ = true;
    if (thread_.joinable()) {
      thread_.join();
    }
    return peak_;
  }
  int samples() const { return samples_; }

 private:
  int pid_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> peak_{0};
  std::atomic<int> samples_{0};
  std::thread thread_;
};

// Every opportunity collection credit keeps (ADMIN).
size_t CreditCollections(Suite& suite, grpc::Status* s) {
  size_t n = 0;
  std::string token;
  for (int page = 0; page < 1000; ++page) {
    v1::ListOpportunityCollectionsRequest req;
    req.set_page_size(1000);
    req.set_page_token(token);
    v1::ListOpportunityCollectionsResponse resp;
    *s = suite.credit().ListOpportunityCollections(
        e2e::Ctx(e2e::kAdminToken).get(), req, &resp);
    if (!s->ok()) {
      return n;
    }
    n += static_cast<size_t>(resp.collections_size());
    token = resp.next_page_token();
    if (token.empty()) {
      break;
    }
  }
  return n;
}

// Waits until forecast counts `opportunities` below the root and credit
// keeps as many collections: both applied that many creates. Cheap for
// pipeline (nothing is read from it).
bool ConsumersCounted(Suite& suite, size_t opportunities,
                      absl::Duration timeout, std::string* why) {
  const absl::Time end = absl::Now() + timeout;
  while (true) {
    v1::Forecast f;
    const grpc::Status fs =
        suite.GetForecast(e2e::kAdminToken, suite.global.id(), &f);
    size_t counted = 0;
    for (const v1::FunnelRow& r : f.funnel()) {
      counted += static_cast<size_t>(r.count());
    }
    grpc::Status cs;
    const size_t collections = CreditCollections(suite, &cs);
    if (fs.ok() && cs.ok() && counted == opportunities &&
        collections == opportunities) {
      return true;
    }
    *why = absl::StrCat("forecast counts ", counted, " (", Describe(fs),
                        "), credit keeps ", collections, " (", Describe(cs),
                        ") of ", opportunities);
    if (absl::Now() > end) {
      return false;
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
}

// ConsumersCounted, then forecast equal to the recomputation from
// pipeline's listing.
bool ConsumersCaughtUp(Suite& suite, size_t opportunities,
                       absl::Duration timeout, std::string* why) {
  return ConsumersCounted(suite, opportunities, timeout, why) &&
         suite.WaitForecastMatchesPipeline(suite.global.id(), timeout, why);
}

// Reads a raw Watch of pipeline's feed slowly (one event per 100 ms) for
// `reads` events or until the deadline.
void SlowWatch(Suite& suite, int reads) {
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(40)));
  ctx.AddMetadata("authorization", absl::StrCat("Bearer ", e2e::kAdminToken));
  v1::WatchRequest req;
  req.set_after_sequence(0);
  auto stream = suite.feed(e2e::kPipeline).Watch(&ctx, req);
  v1::Event event;
  for (int i = 0; i < reads && stream->Read(&event); ++i) {
    absl::SleepFor(absl::Milliseconds(100));
  }
  ctx.TryCancel();
  stream->Finish().IgnoreError();
}

TEST(HostileMemoryE2eTest,
     CatchingUpOverLargestEntitiesKeepsSourceMemoryBounded) {
  Suite suite;
  suite.extra_args(e2e::kPipeline) = {
      absl::StrCat("--max_entity_bytes=", kMaxEntityBytes)};
  ASSERT_TRUE(suite.Build());
  ASSERT_TRUE(suite.Stop(e2e::kForecast));
  ASSERT_TRUE(suite.Stop(e2e::kCredit));

  {
    // At the bounds: nothing over, one more code point is over.
    v1::CreateOpportunityRequest req = Largest(suite, 0);
    EXPECT_TRUE(BoundViolations(req).empty()) << BoundViolations(req)[0];
    EXPECT_TRUE(BoundViolations(LargestEvaluation("x")).empty());
    req.mutable_opportunity()
        ->mutable_competitors(0)
        ->mutable_strengths()
        ->append("s");
    EXPECT_EQ(BoundViolations(req).size(), 1u);
  }
  const absl::Time t0 = absl::Now();
  int64_t entity_bytes = 0;
  for (int i = 0; i < kLargest; ++i) {
    const v1::CreateOpportunityRequest req = Largest(suite, i);
    v1::Opportunity out;
    grpc::Status s = suite.pipeline().CreateOpportunity(
        e2e::Ctx(e2e::kRepAToken).get(), req, &out);
    ASSERT_TRUE(s.ok()) << i << ": " << Describe(s);
    v1::CompetitiveEvaluation evaluated;
    s = suite.pipeline().EvaluateCompetitive(e2e::Ctx(e2e::kRepAToken).get(),
                                             LargestEvaluation(out.id()),
                                             &evaluated);
    ASSERT_TRUE(s.ok()) << i << ": " << Describe(s);
    if (i == 0) {
      v1::GetOpportunityRequest get;
      get.set_id(out.id());
      v1::Opportunity stored;
      s = suite.pipeline().GetOpportunity(e2e::Ctx(e2e::kAdminToken).get(), get,
                                          &stored);
      ASSERT_TRUE(s.ok()) << Describe(s);
      entity_bytes = static_cast<int64_t>(stored.ByteSizeLong());
    }
  }
  std::cout << "memory: " << kLargest << " opportunities of " << entity_bytes
            << " bytes (stored, with the evaluation) made in "
            << absl::FormatDuration(absl::Now() - t0) << "\n";
  ASSERT_GT(entity_bytes, 350 * 1000);

  const int pid = suite.pid(e2e::kPipeline);
  absl::SleepFor(absl::Seconds(1));
  const int64_t before = e2e::RssBytes(pid);
  RssSampler sampler(pid);
  const absl::Time t1 = absl::Now();
  ASSERT_TRUE(suite.Start(e2e::kCredit));
  ASSERT_TRUE(suite.Start(e2e::kForecast));
  std::string why;
  EXPECT_TRUE(ConsumersCounted(suite, kLargest, absl::Seconds(120), &why))
      << why;
  const absl::Duration caught_up = absl::Now() - t1;
  const int64_t peak = sampler.Stop();
  EXPECT_TRUE(suite.WaitForecastMatchesPipeline(suite.global.id(),
                                                absl::Seconds(30), &why))
      << why;
  std::cout << "memory: pipeline VmRSS " << before / kMB << " MB before the "
            << "consumers started, peak " << peak / kMB << " MB while they "
            << "caught up (" << sampler.samples() << " samples), growth "
            << (peak - before) / kMB << " MB; caught up in "
            << absl::FormatDuration(caught_up) << "\n";
  EXPECT_LT(peak - before, 256 * kMB);

  // Four raw Watch streams from the start that read one event per 100 ms.
  const int64_t watch_before = e2e::RssBytes(pid);
  RssSampler watch_sampler(pid);
  std::vector<std::thread> watchers;
  for (int w = 0; w < 4; ++w) {
    watchers.emplace_back([&suite] { SlowWatch(suite, 60); });
  }
  for (std::thread& t : watchers) {
    t.join();
  }
  const int64_t watch_peak = watch_sampler.Stop();
  std::cout << "memory: four slow raw Watch streams: pipeline VmRSS "
            << watch_before / kMB << " MB before, peak " << watch_peak / kMB
            << " MB, growth " << (watch_peak - watch_before) / kMB << " MB\n";
  EXPECT_LT(watch_peak - watch_before, 256 * kMB);
  EXPECT_TRUE(suite.Running(e2e::kPipeline));
  if (HasFailure()) {
    suite.DumpLogs();
  }
}

// Audit records of one entity on pipeline (ADMIN).
int AuditCount(Suite& suite, const std::string& id) {
  v1::ListAuditRecordsRequest req;
  req.set_entity_id(id);
  req.set_page_size(1000);
  v1::ListAuditRecordsResponse resp;
  const grpc::Status s =
      suite.audit(e2e::kPipeline)
          .ListAuditRecords(e2e::Ctx(e2e::kAdminToken).get(), req, &resp);
  EXPECT_TRUE(s.ok()) << Describe(s);
  return resp.records_size();
}

TEST(HostileMemoryE2eTest, OversizedEntityIsRefusedAndWritesNothing) {
  constexpr int64_t kLimit = 64 * 1024;
  Suite suite;
  suite.extra_args(e2e::kPipeline) = {
      absl::StrCat("--max_entity_bytes=", kLimit)};
  ASSERT_TRUE(suite.Build());
  v1::Opportunity first;
  v1::Opportunity o =
      Suite::NewOpp("normal", suite.acc_a.id(), suite.rep_a.id(), 500'000);
  o.set_stage_key("USAGE");
  grpc::Status s = suite.CreateOpp(e2e::kRepAToken, o, "normal-1", &first);
  ASSERT_TRUE(s.ok()) << Describe(s);
  std::string why;
  ASSERT_TRUE(ConsumersCaughtUp(suite, 1, absl::Seconds(30), &why)) << why;

  v1::GetFeedPositionResponse head;
  ASSERT_TRUE(suite.FeedPosition(e2e::kPipeline, &head).ok());
  const int audit_before = AuditCount(suite, first.id());
  ASSERT_GT(audit_before, 0);

  // Within every field bound (20 competitors of 2,000 + 2,000 characters),
  // past the entity limit.
  v1::Opportunity big = o;
  big.set_name("oversized");
  FillCompetitors(&big, 2 * kLimit, 2000, 20);
  ASSERT_GT(big.ByteSizeLong(), static_cast<size_t>(kLimit));
  for (int attempt = 0; attempt < 2; ++attempt) {  // a retry: the same answer
    v1::Opportunity out;
    s = suite.CreateOpp(e2e::kRepAToken, big, "oversized-1", &out);
    EXPECT_EQ(s.error_code(), StatusCode::INVALID_ARGUMENT) << Describe(s);
    EXPECT_TRUE(absl::StrContains(s.error_message(), "--max_entity_bytes"))
        << Describe(s);
  }
  {
    v1::UpdateOpportunityRequest req;
    *req.mutable_opportunity() = first;
    *req.mutable_opportunity()->mutable_competitors() = big.competitors();
    req.mutable_opportunity()->clear_stage_key();
    req.set_expected_version(first.version());
    v1::Opportunity out;
    s = suite.pipeline().UpdateOpportunity(e2e::Ctx(e2e::kRepAToken).get(), req,
                                           &out);
    EXPECT_EQ(s.error_code(), StatusCode::INVALID_ARGUMENT) << Describe(s);
    EXPECT_TRUE(absl::StrContains(s.error_message(), "--max_entity_bytes"))
        << Describe(s);
  }
  // A field over its bound (a competitor's name of 201 characters): refused
  // at the edge naming the field, on create and on update.
  {
    v1::Opportunity over = o;
    over.set_name("over-long competitor");
    over.add_competitors()->set_name(std::string(201, 'c'));
    v1::Opportunity out;
    s = suite.CreateOpp(e2e::kRepAToken, over, "over-long-1", &out);
    EXPECT_EQ(s.error_code(), StatusCode::INVALID_ARGUMENT) << Describe(s);
    EXPECT_TRUE(
        absl::StrContains(s.error_message(), "opportunity.competitors[0].name"))
        << Describe(s);
    v1::UpdateOpportunityRequest req;
    *req.mutable_opportunity() = first;
    req.mutable_opportunity()->add_competitors()->set_name(
        std::string(201, 'c'));
    req.set_expected_version(first.version());
    s = suite.pipeline().UpdateOpportunity(e2e::Ctx(e2e::kRepAToken).get(), req,
                                           &out);
    EXPECT_EQ(s.error_code(), StatusCode::INVALID_ARGUMENT) << Describe(s);
    EXPECT_TRUE(
        absl::StrContains(s.error_message(), "opportunity.competitors[0].name"))
        << Describe(s);
  }
  // Nothing written: no event (an audit record is written with each event),
  // no opportunity, the first one unchanged.
  v1::GetFeedPositionResponse after;
  ASSERT_TRUE(suite.FeedPosition(e2e::kPipeline, &after).ok());
  EXPECT_EQ(after.sequence(), head.sequence());
  EXPECT_EQ(AuditCount(suite, first.id()), audit_before);
  const std::vector<v1::Opportunity> listed =
      suite.ListOpps(e2e::kAdminToken, {}, &s);
  ASSERT_TRUE(s.ok()) << Describe(s);
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].id(), first.id());
  EXPECT_EQ(listed[0].version(), first.version());

  // Every Watch keeps flowing: the next create reaches forecast and credit.
  v1::Opportunity second;
  o.set_name("after the oversized one");
  s = suite.CreateOpp(e2e::kRepAToken, o, "normal-2", &second);
  ASSERT_TRUE(s.ok()) << Describe(s);
  EXPECT_TRUE(ConsumersCaughtUp(suite, 2, absl::Seconds(30), &why)) << why;
  v1::GetOpportunityCollectionRequest req;
  req.set_opportunity_id(second.id());
  v1::OpportunityCollection c;
  s = suite.credit().GetOpportunityCollection(e2e::Ctx(e2e::kAdminToken).get(),
                                              req, &c);
  EXPECT_TRUE(s.ok()) << Describe(s);
  EXPECT_EQ(c.invoiced().units_minor(), 500'000);
  if (HasFailure()) {
    suite.DumpLogs();
  }
}

}  // namespace
}  // namespace salesops
