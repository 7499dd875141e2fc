// Issue 19 through the forecast's gRPC API: deals, out-of-funnel sales and
// quotas in several currencies (JPY with no decimals, KWD with three)
// converted at dated rates into the reporting currency (EUR), against figures
// computed by hand to the cent; a rate inserted between two re-values exactly
// the deals whose dates fall in its range; a snapshot keeps its figures; a
// missing rate is reported, never a silent zero; a display currency.

#include <array>
#include <random>

#include "services/forecast/forecast_service_test_fixture.h"

namespace salesops::forecast::service_testing {
namespace {

constexpr char kRateKind[] = "accounts.ExchangeRate";

class ForecastCurrencyTest : public ForecastServiceTest {
 protected:
  void PutRate(const std::string& currency, v1::Date start,
               const std::string& rate, int64_t version = 1,
               bool withdrawn = false) {
    v1::ExchangeRate r;
    r.set_currency(currency);
    *r.mutable_start_date() = start;
    r.set_rate(rate);
    r.set_withdrawn(withdrawn);
    r.set_version(version);
    const absl::Status s =
        ApplyAccounts(MakeEvent(&accounts_seq_, kRateKind,
                                absl::StrCat(currency, "/", start.year(), "-",
                                             start.month(), "-", start.day()),
                                r));
    EXPECT_TRUE(s.ok()) << currency << ": " << s;
  }
  void PutForeignQuota(const std::string& node, int64_t amount,
                       const std::string& currency) {
    v1::Quota q;
    q.set_node_id(node);
    q.set_fiscal_year(2026);
    q.set_fiscal_quarter(2);
    *q.mutable_amount() = money::Make(amount, currency);
    q.set_version(1);
    EXPECT_TRUE(
        ApplyAccounts(MakeEvent(&accounts_seq_, kQuotaKind, node + "/q", q))
            .ok());
  }

  // The org of BuildOrg, rates, and Q2 deals in five currencies:
  //   u1 r1 USD COMMITMENT 1234.57 USD, 05-10 @0.9  → 1111.11 / w 555.56
  //   u2 r2 USD DESIGN     1000.00 USD, 06-15 @0.8  →  800.00 / w 160.00
  //   u3 r3 USD COMMITMENT    0.05 USD, 05-01 @0.9  →    0.04 (4.5 → 4) / w
  //   0.02 u4 r1 USD COMMITMENT 2000.00 USD, 05-20 @0.9  → 1800.00 / w 900.00
  //   j1 r1 JPY USAGE      1234567 JPY, 05-20 @0.0062 → 7654.32 / w 6123.45
  //   k1 r2 KWD INTEREST  1000.001 KWD, 04-30 @2.75 → 2750.00 / w 137.50
  //   e1 r3 EUR INTEREST      0.03 EUR                  → 0.03 / w 0.00
  //   m1 r2 CNY COMMITMENT  500.00 CNY, 05-05: no CNY rate (missing)
  //   w1 r3 JPY WON        1000000 JPY, closed 05-15 → 6200.00 closed
  // Out-of-funnel: r1 10000 JPY on 05-05 → 62.00. Quotas: r3 1000.00 USD at
  // 04-01 @0.9 → 900.00; r2 5000.00 CNY (missing rate).
  void SeedCurrencies() {
    BuildOrg();
    PutModel(BuyingCycle6());
    PutRate("USD", Day(2026, 1, 1), "0.9");
    PutRate("USD", Day(2026, 6, 1), "0.80");
    PutRate("JPY", Day(2026, 1, 1), "0.0062");
    PutRate("KWD", Day(2026, 1, 1), "2.75");
    PutOpp(Foreign("u1", "r1", "COMMITMENT", 123457, Day(2026, 5, 10), "USD"));
    PutOpp(Foreign("u2", "r2", "DESIGN", 100000, Day(2026, 6, 15), "USD"));
    PutOpp(Foreign("u3", "r3", "COMMITMENT", 5, Day(2026, 5, 1), "USD"));
    PutOpp(Foreign("u4", "r1", "COMMITMENT", 200000, Day(2026, 5, 20), "USD"));
    PutOpp(Foreign("j1", "r1", "USAGE", 1234567, Day(2026, 5, 20), "JPY"));
    PutOpp(Foreign("k1", "r2", "INTEREST", 1000001, Day(2026, 4, 30), "KWD"));
    PutOpp(Foreign("e1", "r3", "INTEREST", 3, Day(2026, 5, 2), "EUR"));
    PutOpp(Foreign("m1", "r2", "COMMITMENT", 50000, Day(2026, 5, 5), "CNY"));
    Opp won = Foreign("w1", "r3", "USAGE", 1000000, Day(2026, 8, 1), "JPY");
    won.status = v1::OPPORTUNITY_STATUS_WON;
    won.closed_micros = NoonMicros(2026, 5, 15);
    PutOpp(won);
    PutForeignQuota("r3", 100000, "USD");
    PutForeignQuota("r2", 500000, "CNY");
    v1::RecordOutOfFunnelSaleRequest sale =
        SaleReq("r1", 10000, Day(2026, 5, 5), "jpy-sale");
    sale.mutable_sale()->mutable_amount()->set_currency("JPY");
    v1::OutOfFunnelSale out;
    ASSERT_TRUE(IsOk(Record(sale, &out)));
  }

  static Opp Foreign(const std::string& id, const std::string& owner,
                     const std::string& stage, int64_t amount, v1::Date close,
                     const std::string& currency) {
    Opp o{id, owner, stage, amount, close};
    o.currency = currency;
    return o;
  }

  static std::vector<std::string> Breakdown(const v1::Forecast& f) {
    std::vector<std::string> out;
    for (const v1::CurrencyFigures& c : f.currencies()) {
      out.push_back(absl::StrCat(
          c.currency(), " open=", c.open_count(),
          " amount=", c.pipeline_amount().units_minor(),
          " w=", c.pipeline_weighted().units_minor(),
          " w_eur=", c.pipeline_weighted_converted().units_minor(),
          " won=", c.won_count(), " closed=", c.closed().units_minor(),
          " closed_eur=", c.closed_converted().units_minor()));
    }
    return out;
  }
  static std::vector<std::string> Missing(const v1::Forecast& f) {
    std::vector<std::string> out;
    for (const v1::MissingRate& m : f.missing_rates()) {
      out.push_back(
          absl::StrCat(m.currency(), " ", m.figure(), " n=", m.count(), " ",
                       m.amount().units_minor(), " ", m.amount().currency()));
    }
    return out;
  }
};

TEST_F(ForecastCurrencyTest, AFunnelInFiveCurrenciesToTheCent) {
  SeedCurrencies();
  const v1::Forecast g = MustGet("global");
  EXPECT_EQ(g.currency(), "EUR");
  EXPECT_EQ(g.reporting_currency(), "EUR");
  // closed 6200.00 + 62.00; weighted 555.56 + 160.00 + 0.02 + 900.00 +
  // 6123.45 + 137.50 + 0 = 7876.53; quota 900.00 (r3; r2's has no rate).
  EXPECT_EQ(Describe(g.node()),
            Fig("global", 626200, 6200, 787653, 90000, 157095, false));
  EXPECT_THAT(Rows(g), ElementsAre(Row("INTEREST", 500, 2, 275003, 13750),
                                   Row("DESIGN", 2000, 1, 80000, 16000),
                                   Row("COMMITMENT", 5000, 4, 291115, 145558),
                                   Row("USAGE", 8000, 1, 765432, 612345)));
  EXPECT_THAT(
      Breakdown(g),
      ElementsAre("CNY open=1 amount=50000 w=25000 w_eur=0 won=0 closed=0 "
                  "closed_eur=0",
                  "EUR open=1 amount=3 w=0 w_eur=0 won=0 closed=0 closed_eur=0",
                  "JPY open=1 amount=1234567 w=987654 w_eur=612345 won=1 "
                  "closed=1010000 closed_eur=626200",
                  "KWD open=1 amount=1000001 w=50000 w_eur=13750 won=0 "
                  "closed=0 closed_eur=0",
                  "USD open=4 amount=423462 w=181730 w_eur=161558 won=0 "
                  "closed=0 closed_eur=0"));
  EXPECT_THAT(Missing(g), ElementsAre("CNY pipeline_weighted n=1 50000 CNY",
                                      "CNY quota n=1 500000 CNY"));
  // The rep without foreign quotas or deals missing rates says nothing.
  EXPECT_THAT(Missing(MustGet("r1")), IsEmpty());
  // A restart rebuilds the same figures from the stored records.
  Restart();
  const v1::Forecast again = MustGet("global");
  EXPECT_TRUE(MessageDifferencer::Equals(g, again)) << again.DebugString();
}

TEST_F(ForecastCurrencyTest, ARateInsertedBetweenTwoRevaluesExactlyItsRange) {
  SeedCurrencies();
  const v1::Forecast before = MustGet("global");
  const std::string r2 = NodeLine("r2");
  const std::string r3 = NodeLine("r3");
  const std::string r1 = NodeLine("r1");
  // In force 05-15 .. 05-31 (06-01 starts the next): only u4 (05-20) moves,
  // 1800.00/900.00 → 1700.00/850.00.
  PutRate("USD", Day(2026, 5, 15), "0.85");
  const v1::Forecast after = MustGet("global");
  EXPECT_EQ(after.node().pipeline_weighted().units_minor(),
            before.node().pipeline_weighted().units_minor() - 5000);
  EXPECT_THAT(Rows(after),
              ElementsAre(Row("INTEREST", 500, 2, 275003, 13750),
                          Row("DESIGN", 2000, 1, 80000, 16000),
                          Row("COMMITMENT", 5000, 4, 281115, 140558),
                          Row("USAGE", 8000, 1, 765432, 612345)));
  // r2 (u2 06-15, k1, m1) and r3 (u3 05-01) did not move; r1 (u4) did.
  EXPECT_EQ(NodeLine("r2"), r2);
  EXPECT_EQ(NodeLine("r3"), r3);
  EXPECT_NE(NodeLine("r1"), r1);
  // A correction of the 06-01 rate moves u2 only; withdrawing it puts u2
  // back on the 05-15 rate (100000 × 0.85 × 20% = 170.00).
  PutRate("USD", Day(2026, 6, 1), "0.75", 2);
  EXPECT_EQ(MustGet("r2").node().pipeline_weighted().units_minor(),
            15000 + 13750);
  PutRate("USD", Day(2026, 6, 1), "", 3, /*withdrawn=*/true);
  EXPECT_EQ(MustGet("r2").node().pipeline_weighted().units_minor(),
            17000 + 13750);
  // The same figures after a restart.
  const v1::Forecast now = MustGet("global");
  Restart();
  EXPECT_TRUE(MessageDifferencer::Equals(now, MustGet("global")));
}

TEST_F(ForecastCurrencyTest, AMissingRateIsReportedAndFilledLater) {
  SeedCurrencies();
  const v1::Forecast before = MustGet("r2");
  EXPECT_THAT(Missing(before),
              ElementsAre("CNY pipeline_weighted n=1 50000 CNY",
                          "CNY quota n=1 500000 CNY"));
  // The gauge counts the deal and the quota.
  bool found = false;
  for (const auto& family : registry_->Collect()) {
    if (family.name == "salesops_forecast_missing_exchange_rates") {
      found = true;
      EXPECT_EQ(family.metric.at(0).gauge.value, 2);
    }
  }
  EXPECT_TRUE(found);
  // A CNY rate from 04-01 converts both: m1 500.00 CNY × 0.128 × 50% = 32.00;
  // quota 5000.00 CNY → 640.00.
  PutRate("CNY", Day(2026, 4, 1), "0.128");
  const v1::Forecast after = MustGet("r2");
  EXPECT_THAT(Missing(after), IsEmpty());
  EXPECT_EQ(after.node().pipeline_weighted().units_minor(),
            before.node().pipeline_weighted().units_minor() + 3200);
  EXPECT_EQ(after.node().quota().units_minor(), 64000);
}

TEST_F(ForecastCurrencyTest, ASnapshotKeepsTheRatesItWasTakenWith) {
  SeedCurrencies();
  clock_.Advance(absl::Hours(24 * 4));  // 05-05: week 5 has ended
  v1::CloseWeekRequest close;
  close.set_fiscal_year(2026);
  close.set_fiscal_quarter(2);
  close.set_week(5);
  v1::CloseWeekResponse closed;
  {
    auto ctx = Ctx(kAdminToken);
    ASSERT_TRUE(IsOk(stub_->CloseWeek(ctx.get(), close, &closed)));
  }
  const auto week5 = [&] {
    v1::GetProgressRequest req;
    req.set_node_id("global");
    req.set_fiscal_year(2026);
    req.set_fiscal_quarter(2);
    v1::GetProgressResponse out;
    auto ctx = Ctx(kAdminToken);
    EXPECT_TRUE(IsOk(stub_->GetProgress(ctx.get(), req, &out)));
    for (const v1::WeekProgress& w : out.weeks()) {
      if (w.week() == 5) return w.forecast().units_minor();
    }
    return int64_t{-1};
  };
  const int64_t taken = week5();
  EXPECT_EQ(taken, 626200 + 787653);
  PutRate("JPY", Day(2026, 1, 1), "0.0070", 2);  // every JPY figure moves
  EXPECT_NE(MustGet("global").node().forecast().units_minor(), taken);
  EXPECT_EQ(week5(), taken);
}

TEST_F(ForecastCurrencyTest, ADisplayCurrencyDividesByTodaysRate) {
  SeedCurrencies();
  v1::GetForecastRequest req = Req("global");
  req.set_display_currency("USD");
  v1::Forecast usd;
  ASSERT_TRUE(IsOk(Get(req, &usd)));
  EXPECT_EQ(usd.currency(), "USD");
  EXPECT_EQ(usd.reporting_currency(), "EUR");
  EXPECT_EQ(usd.display().rate(), "0.9");  // in force on 05-01
  // 6262.00 / 0.9 = 6957.777… → 6957.78; 7876.53 / 0.9 = 8751.70; the
  // forecast is their sum, the quota 900.00 / 0.9 = 1000.00.
  EXPECT_EQ(usd.node().closed().units_minor(), 695778);
  EXPECT_EQ(usd.node().pipeline_weighted().units_minor(), 875170);
  EXPECT_EQ(usd.node().forecast().units_minor(), 695778 + 875170);
  EXPECT_EQ(usd.node().quota().units_minor(), 100000);
  EXPECT_EQ(usd.node().closed().currency(), "USD");
  req.set_display_currency("GBP");
  EXPECT_TRUE(IsError(Get(req, &usd), grpc::StatusCode::FAILED_PRECONDITION,
                      "display_currency: no rate for GBP"));
  req.set_display_currency("XYZ");
  EXPECT_TRUE(IsError(Get(req, &usd), grpc::StatusCode::INVALID_ARGUMENT,
                      "display_currency: XYZ is not an active ISO 4217"));
}

// The brute-force check of issue 19: random deals in five currencies, random
// rate entries set, corrected and withdrawn on random days, random win-rate
// changes; after each round every node × quarter (figures and funnel) must
// equal a recomputation from scratch in exact 128-bit arithmetic, with its
// own rate lookup — and again after a restart.
class RandomCurrencyTest : public ForecastCurrencyTest {
 protected:
  struct Deal {
    std::string owner, stage, currency;
    int64_t amount = 0;
    absl::CivilDay day;
    bool won = false;
  };
  static constexpr const char* kCurrencies[] = {"EUR", "USD", "JPY", "KWD",
                                                "CNY"};
  static int Exp(const std::string& c) {
    return c == "JPY" ? 0 : c == "KWD" ? 3 : 2;
  }
  // round_half_even(num / den) for den > 0.
  static __int128 RoundHalfEven(__int128 num, __int128 den) {
    __int128 q = num / den;
    const __int128 r = num % den;
    const __int128 twice = 2 * (r < 0 ? -r : r);
    if (twice > den || (twice == den && q % 2 != 0)) q += num < 0 ? -1 : 1;
    return q;
  }
  // The rate (mantissa, scale) in force on `day`, by a linear search.
  std::optional<std::pair<int64_t, int>> RefRate(const std::string& c,
                                                 absl::CivilDay day) const {
    if (c == "EUR") return std::make_pair(int64_t{1}, 0);
    std::optional<std::pair<int64_t, int>> best;
    absl::CivilDay best_day;
    for (const auto& [key, value] : rates_) {
      if (key.first == c && key.second <= day &&
          (!best || key.second > best_day)) {
        best = value;
        best_day = key.second;
      }
    }
    return best;
  }
  // The deal's converted amount weighted at bp (nullopt: missing rate).
  std::optional<int64_t> Value(const Deal& d, int32_t bp) const {
    auto rate = RefRate(d.currency, d.day);
    if (!rate) return std::nullopt;
    __int128 num = static_cast<__int128>(d.amount) * rate->first * bp;
    __int128 den = 10000;
    for (int i = 0; i < rate->second; ++i) den *= 10;
    for (int i = Exp(d.currency); i < 2; ++i) num *= 10;
    for (int i = 2; i < Exp(d.currency); ++i) den *= 10;
    return static_cast<int64_t>(RoundHalfEven(num, den));
  }
  std::string Expected(const std::string& node, int q) const {
    static const std::map<std::string, std::vector<std::string>> kReps = {
        {"global", {"r1", "r2", "r3"}},
        {"a", {"r1", "r2"}},
        {"ta", {"r1", "r2"}},
        {"b", {"r3"}},
        {"tb", {"r3"}},
        {"r1", {"r1"}},
        {"r2", {"r2"}},
        {"r3", {"r3"}}};
    const std::vector<std::string>& reps = kReps.at(node);
    int64_t closed = 0, weighted = 0;
    std::map<std::string, std::array<int64_t, 3>> funnel;
    for (const auto& [id, d] : deals_) {
      if (std::find(reps.begin(), reps.end(), d.owner) == reps.end() ||
          calendar_.QuarterOf(d.day).quarter != q) {
        continue;
      }
      if (d.won) {
        closed += Value(d, 10000).value_or(0);
        continue;
      }
      const int32_t bp = bp_.at(d.stage);
      auto& row = funnel[d.stage];
      ++row[0];
      row[1] += Value(d, 10000).value_or(0);
      const int64_t w = Value(d, bp).value_or(0);
      row[2] += w;
      weighted += w;
    }
    std::string out = absl::StrCat(node, " closed=", closed, " w=", weighted);
    for (const auto& [stage, row] : funnel) {
      absl::StrAppend(&out, " ", stage, ":", row[0], "/", row[1], "/", row[2]);
    }
    return out;
  }
  std::string Seen(const std::string& node, int q) {
    const v1::Forecast f = MustGet(node, 2026, q);
    std::string out =
        absl::StrCat(node, " closed=", f.node().closed().units_minor(),
                     " w=", f.node().pipeline_weighted().units_minor());
    std::map<std::string, std::string> rows;
    for (const v1::FunnelRow& r : f.funnel()) {
      rows[r.stage_key()] = absl::StrCat(" ", r.stage_key(), ":", r.count(),
                                         "/", r.total().units_minor(), "/",
                                         r.weighted().units_minor());
    }
    for (const auto& [k, v] : rows) out += v;
    return out;
  }
  void CheckAll(int round) {
    for (const char* node :
         {"global", "a", "ta", "b", "tb", "r1", "r2", "r3"}) {
      for (int q : {2, 3}) {
        ASSERT_EQ(Seen(node, q), Expected(node, q))
            << "round " << round << " node " << node << " Q" << q;
      }
    }
  }

  std::map<std::string, Deal> deals_;
  std::map<std::pair<std::string, absl::CivilDay>, std::pair<int64_t, int>>
      rates_;
  std::map<std::string, int32_t> bp_;
  FiscalCalendar calendar_ = FiscalCalendar::Default();
};

TEST_F(RandomCurrencyTest, EveryNodeAndQuarterEqualsAnExactRecomputation) {
  BuildOrg();
  Rates model = BuyingCycle6();
  PutModel(model);
  for (const auto& [k, bp] : model) bp_[k] = bp;
  std::mt19937_64 rng(19);
  const auto pick = [&](int n) { return static_cast<int>(rng() % n); };
  const absl::CivilDay q2_start(2026, 4, 1);
  std::map<std::pair<std::string, absl::CivilDay>, int64_t> versions;
  int64_t model_version = 1;
  for (int round = 0; round < 12; ++round) {
    for (int i = 0; i < 25; ++i) {
      const int what = pick(10);
      if (what < 6) {  // a deal created or changed
        const std::string id = absl::StrCat("d", pick(60));
        Deal d{std::string("r") + std::to_string(1 + pick(3)),
               model[pick(6)].first,
               kCurrencies[pick(5)],
               1 + static_cast<int64_t>(rng() % 100'000'000),
               q2_start + pick(183),
               pick(5) == 0};
        deals_[id] = d;
        Opp o =
            Foreign(id, d.owner, d.stage, d.amount, ToProto(d.day), d.currency);
        o.version = ++versions[{id, absl::CivilDay()}];
        if (d.won) {
          o.status = v1::OPPORTUNITY_STATUS_WON;
          o.closed_micros = NoonMicros(static_cast<int>(d.day.year()),
                                       d.day.month(), d.day.day());
          o.expected = Day(2026, 12, 1);
        }
        PutOpp(o);
      } else if (what < 9) {  // a rate set, corrected or withdrawn
        const std::string c = kCurrencies[1 + pick(4)];
        const absl::CivilDay start = q2_start - 30 + pick(200);
        const int64_t version = ++versions[{c, start}];
        if (pick(4) == 0) {
          rates_.erase({c, start});
          PutRate(c, ToProto(start), "", version, /*withdrawn=*/true);
        } else {
          const int64_t mantissa = 1 + static_cast<int64_t>(rng() % 999'999);
          const int scale = pick(7);
          rates_[{c, start}] = {mantissa, scale};
          PutRate(c, ToProto(start),
                  money::FormatRate({static_cast<uint64_t>(mantissa), scale}),
                  version);
        }
      } else {  // a win rate changed
        model[pick(6)].second = pick(10001);
        for (const auto& [k, bp] : model) bp_[k] = bp;
        PutModel(model, ++model_version);
      }
    }
    CheckAll(round);
    if (round % 4 == 3) {
      Restart();
      CheckAll(round);
    }
  }
}

}  // namespace
}  // namespace salesops::forecast::service_testing
