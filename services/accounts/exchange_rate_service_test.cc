// gRPC-level tests of the dated exchange rates (SetExchangeRate,
// ListExchangeRates; issue 19) and of quotas in several currencies: through
// the generated stub over a real store, with the feed and audit records they
// write.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "services/accounts/accounts_test_fixture.h"

namespace salesops::accounts {
namespace {

using AccountsExchangeRateTest = AccountsServiceTest;

constexpr char kRepToken[] = "rep-token";
constexpr char kManagerToken[] = "manager-token";

v1::SetExchangeRateRequest RateReq(const std::string& currency, int year,
                                   int month, const std::string& rate) {
  v1::SetExchangeRateRequest req;
  req.set_currency(currency);
  req.mutable_start_date()->set_year(year);
  req.mutable_start_date()->set_month(month);
  req.mutable_start_date()->set_day(1);
  req.set_rate(rate);
  return req;
}

class RateTest : public AccountsServiceTest {
 protected:
  grpc::Status Set(const v1::SetExchangeRateRequest& req, v1::ExchangeRate* out,
                   const std::string& token = kFinanceToken) {
    return Call(&Stub::SetExchangeRate, req, out, token);
  }
  v1::ExchangeRate MustSet(const v1::SetExchangeRateRequest& req) {
    v1::ExchangeRate out;
    EXPECT_TRUE(IsOk(Set(req, &out))) << req.ShortDebugString();
    return out;
  }
  // "<CUR>/<YYYY-MM-DD>=<rate>" of every listed entry, page by page.
  std::vector<std::string> ListAll(const std::string& currency, int page_size,
                                   int* pages,
                                   const std::string& token = kAdminToken) {
    v1::ListExchangeRatesRequest req;
    req.set_currency(currency);
    req.set_page_size(page_size);
    std::vector<std::string> all;
    *pages = 0;
    for (int guard = 0; guard < 100; ++guard) {
      v1::ListExchangeRatesResponse resp;
      grpc::Status s = Call(&Stub::ListExchangeRates, req, &resp, token);
      EXPECT_TRUE(IsOk(s));
      if (!s.ok()) {
        break;
      }
      ++*pages;
      for (const v1::ExchangeRate& e : resp.rates()) {
        all.push_back(absl::StrCat(e.currency(), "/", e.start_date().year(),
                                   "-", e.start_date().month(), "=",
                                   e.withdrawn() ? "withdrawn" : e.rate()));
      }
      if (resp.next_page_token().empty()) {
        break;
      }
      req.set_page_token(resp.next_page_token());
    }
    return all;
  }
};

TEST_F(RateTest, SetCorrectAndReSetKeepHistoryAndVersions) {
  clock_.Set(absl::FromUnixSeconds(1'780'000'000));
  const uint64_t before = store_->last_sequence();
  v1::SetExchangeRateRequest req = RateReq("USD", 2026, 1, "0.9200");
  req.set_note("ECB reference");
  v1::ExchangeRate first = MustSet(req);
  EXPECT_EQ(first.currency(), "USD");
  EXPECT_EQ(first.rate(), "0.92");
  EXPECT_EQ(first.reporting_currency(), "EUR");
  EXPECT_EQ(first.version(), 1);
  EXPECT_EQ(first.updated_by(), "finance");
  EXPECT_EQ(first.updated_micros(), 1'780'000'000'000'000);
  EXPECT_EQ(first.note(), "ECB reference");
  EXPECT_EQ(store_->last_sequence(), before + 1);

  // The same value again: the stored entity, no version, no event.
  v1::ExchangeRate same;
  ASSERT_TRUE(IsOk(Set(req, &same)));
  EXPECT_EQ(same.SerializeAsString(), first.SerializeAsString());
  EXPECT_EQ(store_->last_sequence(), before + 1);

  // A correction by ADMIN, expecting version 1.
  clock_.Advance(absl::Seconds(5));
  v1::SetExchangeRateRequest fix = RateReq("USD", 2026, 1, "0.93");
  fix.set_expected_version(1);
  fix.set_note("typo");
  v1::ExchangeRate fixed;
  ASSERT_TRUE(IsOk(Set(fix, &fixed, kAdminToken)));
  EXPECT_EQ(fixed.version(), 2);
  EXPECT_EQ(fixed.rate(), "0.93");
  EXPECT_EQ(fixed.updated_by(), "admin");
  ASSERT_EQ(fixed.history_size(), 1);
  EXPECT_EQ(fixed.history(0).rate(), "0.92");
  EXPECT_EQ(fixed.history(0).version(), 1);
  EXPECT_EQ(fixed.history(0).updated_by(), "finance");
  EXPECT_EQ(fixed.history(0).note(), "ECB reference");

  // A stale expected_version: ABORTED, nothing written.
  v1::ExchangeRate out;
  EXPECT_TRUE(IsError(Set(fix, &out), grpc::StatusCode::ABORTED,
                      "stored version is 2"));
  v1::SetExchangeRateRequest fresh = RateReq("CNY", 2026, 1, "0.13");
  fresh.set_expected_version(3);
  EXPECT_TRUE(IsError(Set(fresh, &out), grpc::StatusCode::ABORTED));
  EXPECT_EQ(store_->last_sequence(), before + 2);
}

TEST_F(RateTest, WithdrawKeepsTheEntryAndEveryChangeIsAudited) {
  MustSet(RateReq("USD", 2026, 1, "0.92"));
  v1::SetExchangeRateRequest fix = RateReq("USD", 2026, 1, "0.93");
  v1::ExchangeRate out;
  ASSERT_TRUE(IsOk(Set(fix, &out, kAdminToken)));

  // Withdrawn: kept with its history, no rate.
  v1::SetExchangeRateRequest withdraw = RateReq("USD", 2026, 1, "");
  withdraw.set_withdrawn(true);
  withdraw.set_note("entered for the wrong month");
  v1::ExchangeRate gone;
  ASSERT_TRUE(IsOk(Set(withdraw, &gone)));
  EXPECT_TRUE(gone.withdrawn());
  EXPECT_EQ(gone.rate(), "");
  EXPECT_EQ(gone.version(), 3);
  ASSERT_EQ(gone.history_size(), 2);
  EXPECT_EQ(gone.history(1).rate(), "0.93");
  withdraw.set_currency("JPY");
  EXPECT_TRUE(IsError(Set(withdraw, &out), grpc::StatusCode::NOT_FOUND,
                      "nothing to withdraw"));

  // Audited: who, which RPC, the versions.
  std::vector<v1::AuditRecord> audit;
  std::string last;
  bool more = false;
  ASSERT_TRUE(store_
                  ->ReadAudit("USD/2026-01-01", kExchangeRateKind, "", 10,
                              &audit, &last, &more)
                  .ok());
  ASSERT_EQ(audit.size(), 3u);
  EXPECT_EQ(audit[0].actor(), "finance");
  EXPECT_EQ(audit[0].method(), "SetExchangeRate");
  EXPECT_EQ(audit[1].actor(), "admin");
  EXPECT_EQ(audit[1].before_version(), 1);
  EXPECT_EQ(audit[1].after_version(), 2);
}

TEST_F(RateTest, BadInputsAreNamed) {
  v1::ExchangeRate out;
  const auto bad = [&](const v1::SetExchangeRateRequest& req,
                       const std::string& part) {
    return IsError(Set(req, &out), grpc::StatusCode::INVALID_ARGUMENT, part);
  };
  EXPECT_TRUE(bad(RateReq("EUR", 2026, 1, "1"),
                  "currency: must differ from the reporting currency EUR"));
  EXPECT_TRUE(bad(RateReq("", 2026, 1, "1"), "currency: required"));
  EXPECT_TRUE(bad(RateReq("usd", 2026, 1, "1"), "currency: must be 3"));
  EXPECT_TRUE(bad(RateReq("DEM", 2026, 1, "1"), "DEM is not an active"));
  EXPECT_TRUE(bad(RateReq("USD", 2026, 13, "1"), "start_date"));
  EXPECT_TRUE(bad(RateReq("USD", 2026, 1, ""), "rate: required"));
  EXPECT_TRUE(bad(RateReq("USD", 2026, 1, "0"), "rate"));
  EXPECT_TRUE(bad(RateReq("USD", 2026, 1, "1.5e2"), "rate"));
  EXPECT_TRUE(bad(RateReq("USD", 2026, 1, "-0.9"), "rate"));
  v1::SetExchangeRateRequest withdrawn = RateReq("USD", 2026, 1, "0.9");
  withdrawn.set_withdrawn(true);
  EXPECT_TRUE(bad(withdrawn, "rate: must be empty when withdrawn"));
  v1::SetExchangeRateRequest note = RateReq("USD", 2026, 1, "0.9");
  note.set_note(std::string(513, 'n'));
  EXPECT_TRUE(bad(note, "note: at most 512 characters (got 513)"));
  v1::ListExchangeRatesRequest list;
  list.set_page_size(-1);
  v1::ListExchangeRatesResponse resp;
  EXPECT_TRUE(IsError(Call(&Stub::ListExchangeRates, list, &resp),
                      grpc::StatusCode::INVALID_ARGUMENT, "page_size"));
  list.set_page_size(0);
  list.set_currency("eur");
  EXPECT_TRUE(IsError(Call(&Stub::ListExchangeRates, list, &resp),
                      grpc::StatusCode::INVALID_ARGUMENT, "currency"));
  EXPECT_EQ(store_->last_sequence(), 0u);
}

TEST_F(RateTest, FinanceAndAdminSetEveryRoleLists) {
  AddPrincipals({{kRepToken, {"rep", Role::kRep, ""}},
                 {kManagerToken, {"manager", Role::kManager, ""}}});
  v1::ExchangeRate out;
  for (const char* token : {kRepToken, kManagerToken, kServiceToken}) {
    SCOPED_TRACE(token);
    EXPECT_TRUE(IsError(Set(RateReq("USD", 2026, 1, "0.9"), &out, token),
                        grpc::StatusCode::PERMISSION_DENIED));
  }
  EXPECT_EQ(store_->last_sequence(), 0u);
  ASSERT_TRUE(IsOk(Set(RateReq("USD", 2026, 1, "0.9"), &out, kFinanceToken)));
  ASSERT_TRUE(IsOk(Set(RateReq("CNY", 2026, 1, "0.13"), &out, kAdminToken)));
  for (const char* token :
       {kRepToken, kManagerToken, kServiceToken, kFinanceToken, kAdminToken}) {
    SCOPED_TRACE(token);
    int pages = 0;
    EXPECT_THAT(ListAll("", 10, &pages, token),
                ElementsAre("CNY/2026-1=0.13", "USD/2026-1=0.9"));
  }
}

TEST_F(RateTest, ListIsByCurrencyThenStartFilteredAndPaged) {
  // Written out of order.
  for (const auto& [cur, month, rate] :
       std::vector<std::tuple<std::string, int, std::string>>{
           {"USD", 7, "0.95"},
           {"KWD", 1, "3.0125"},
           {"CNY", 7, "0.125"},
           {"JPY", 1, "0.0061"},
           {"USD", 1, "0.92"},
           {"CNY", 1, "0.13"}}) {
    MustSet(RateReq(cur, 2026, month, rate));
  }
  v1::SetExchangeRateRequest withdraw = RateReq("JPY", 2026, 1, "");
  withdraw.set_withdrawn(true);
  MustSet(withdraw);
  const std::vector<std::string> want = {
      "CNY/2026-1=0.13",   "CNY/2026-7=0.125", "JPY/2026-1=withdrawn",
      "KWD/2026-1=3.0125", "USD/2026-1=0.92",  "USD/2026-7=0.95"};
  int pages = 0;
  EXPECT_THAT(ListAll("", 0, &pages), ElementsAreArray(want));
  EXPECT_EQ(pages, 1);
  EXPECT_THAT(ListAll("", 4, &pages), ElementsAreArray(want));
  EXPECT_EQ(pages, 2);
  EXPECT_THAT(ListAll("", 1, &pages), ElementsAreArray(want));
  EXPECT_EQ(pages, 6);
  EXPECT_THAT(ListAll("CNY", 1, &pages),
              ElementsAre("CNY/2026-1=0.13", "CNY/2026-7=0.125"));
  EXPECT_LE(pages, 3);
  EXPECT_THAT(ListAll("USD", 100, &pages),
              ElementsAre("USD/2026-1=0.92", "USD/2026-7=0.95"));
  EXPECT_THAT(ListAll("GBP", 100, &pages), ElementsAre());
  v1::ListExchangeRatesResponse resp;
  ASSERT_TRUE(IsOk(Call(&Stub::ListExchangeRates, {}, &resp)));
  EXPECT_EQ(resp.feed_sequence(), store_->last_sequence());
}

TEST_F(RateTest, EachChangeIsAnExchangeRateEvent) {
  MustSet(RateReq("USD", 2026, 1, "0.92"));
  v1::ExchangeRate fixed = MustSet(RateReq("USD", 2026, 1, "0.925"));
  MustSet(RateReq("USD", 2026, 1, "0.925"));  // no-op: no event
  auto ctx = Ctx(kServiceToken);
  v1::WatchRequest watch;
  watch.add_kinds(kExchangeRateKind);
  auto reader = feed_stub_->Watch(ctx.get(), watch);
  v1::Event ev;
  std::vector<v1::ExchangeRate> seen;
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(reader->Read(&ev)) << "event " << i;
    EXPECT_EQ(ev.kind(), "accounts.ExchangeRate");
    EXPECT_EQ(ev.entity_id(), "USD/2026-01-01");
    v1::ExchangeRate e;
    ASSERT_TRUE(ev.payload().UnpackTo(&e));
    seen.push_back(e);
  }
  ctx->TryCancel();
  reader->Finish();
  EXPECT_EQ(seen[0].version(), 1);
  EXPECT_EQ(seen[0].rate(), "0.92");
  EXPECT_EQ(seen[1].SerializeAsString(), fixed.SerializeAsString());
  EXPECT_EQ(store_->last_sequence(), 2u);
}

// Quotas take any active currency; the effective quota sums one currency
// only, and mixed ones point at the forecast.
TEST_F(AccountsQuotaTest, QuotasInSeveralCurrencies) {
  Org org = BuildOrg();
  v1::Money usd = Eur(10000);
  usd.set_currency("USD");
  v1::Money jpy = Eur(700);
  jpy.set_currency("JPY");
  v1::Money dem = Eur(1);
  dem.set_currency("DEM");
  v1::Quota q;
  EXPECT_TRUE(IsError(SetQuota(org.r1.id(), 1, dem, &q),
                      grpc::StatusCode::INVALID_ARGUMENT,
                      "amount.currency: DEM is not an active ISO 4217"));
  ASSERT_TRUE(IsOk(SetQuota(org.r1.id(), 1, usd, &q)));
  EXPECT_EQ(q.amount().currency(), "USD");
  ASSERT_TRUE(IsOk(SetQuota(org.r2.id(), 1, usd, &q)));
  ASSERT_TRUE(IsOk(SetQuota(org.r3.id(), 1, jpy, &q)));

  v1::GetQuotaRequest req;
  req.set_node_id(org.t.id());
  req.set_fiscal_year(kYear);
  req.set_fiscal_quarter(1);
  v1::GetQuotaResponse resp;
  ASSERT_TRUE(IsOk(Call(&Stub::GetQuota, req, &resp)));
  EXPECT_EQ(resp.effective().units_minor(), 20000);
  EXPECT_EQ(resp.effective().currency(), "USD");
  req.set_node_id(org.root.id());
  EXPECT_TRUE(IsError(Call(&Stub::GetQuota, req, &resp),
                      grpc::StatusCode::FAILED_PRECONDITION,
                      "several currencies (JPY, USD)"));
  EXPECT_TRUE(IsError(Call(&Stub::GetQuota, req, &resp),
                      grpc::StatusCode::FAILED_PRECONDITION, "GetForecast"));
  // A region's explicit quota stops the sum below it.
  ASSERT_TRUE(IsOk(SetQuota(org.b.id(), 1, usd, &q)));
  ASSERT_TRUE(IsOk(Call(&Stub::GetQuota, req, &resp)));
  EXPECT_EQ(resp.effective().units_minor(), 30000);
  EXPECT_EQ(resp.effective().currency(), "USD");
}

}  // namespace
}  // namespace salesops::accounts
