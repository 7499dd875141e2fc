// The demo dataset's dated exchange rates (rates.h LoadDemoRates): two
// entries per currency, from 2026-01-01 and from 2026-07-01, to the reporting
// currency of the demo instance, so a forecast over deals in several
// currencies has a rate for every close date from 2026 on. The values are
// round illustrations, not market data.

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status/status.h"
#include "tools/salesopsctl/flags.h"
#include "tools/salesopsctl/rates.h"

namespace salesops::ctl {
namespace {

struct DemoRate {
  const char* currency;
  const char* january;  // in force from 2026-01-01
  const char* july;     // in force from 2026-07-01
};

// By reporting currency: the demo's EUR, and the CNY and USD of the
// regional and global instances of issue 19's federation.
const std::map<std::string, std::vector<DemoRate>>& DemoRates() {
  static const auto* rates = new std::map<std::string, std::vector<DemoRate>>{
      {"EUR",
       {{"USD", "0.92", "0.9"},
        {"CNY", "0.128", "0.125"},
        {"JPY", "0.0061", "0.0059"},
        {"KWD", "2.99", "2.93"}}},
      {"CNY",
       {{"EUR", "7.8125", "8"},
        {"USD", "7.19", "7.2"},
        {"JPY", "0.0477", "0.0472"},
        {"KWD", "23.36", "23.44"}}},
      {"USD",
       {{"EUR", "1.087", "1.111"},
        {"CNY", "0.139", "0.1389"},
        {"JPY", "0.00663", "0.00656"},
        {"KWD", "3.25", "3.256"}}},
  };
  return *rates;
}

// "<CUR>/<YYYY-MM-DD>" of every stored entry (withdrawn ones too).
absl::StatusOr<std::set<std::string>> StoredEntries(Env& env) {
  std::set<std::string> have;
  v1::ListExchangeRatesRequest req;
  req.set_page_size(kPageSize);
  for (int page = 0; page < kMaxPages; ++page) {
    v1::ListExchangeRatesResponse resp;
    RETURN_IF_ERROR(Check(env.conn->accounts().ListExchangeRates(
        env.conn->Context().get(), req, &resp)));
    for (const v1::ExchangeRate& e : resp.rates()) {
      have.insert(absl::StrCat(e.currency(), "/", e.start_date().year(), "-",
                               e.start_date().month()));
    }
    if (resp.next_page_token().empty()) {
      return have;
    }
    req.set_page_token(resp.next_page_token());
  }
  return absl::ResourceExhaustedError("more than the demo's pages of rates");
}

}  // namespace

absl::StatusOr<int> LoadDemoRates(Env& env, bool verbose) {
  std::ostream& log = env.format == Format::kTable ? *env.out : *env.err;
  auto it = DemoRates().find(env.currency);
  if (it == DemoRates().end()) {
    log << "demo: no demo exchange rates to " << env.currency
        << " (there are for EUR, CNY and USD)\n";
    return 0;
  }
  ASSIGN_OR_RETURN(const std::set<std::string> have, StoredEntries(env));
  int created = 0;
  for (const DemoRate& r : it->second) {
    for (const auto& [month, rate] :
         {std::pair<int, const char*>{1, r.january}, {7, r.july}}) {
      if (have.count(absl::StrCat(r.currency, "/2026-", month)) > 0) {
        continue;  // set by an earlier run (or corrected since): kept
      }
      v1::SetExchangeRateRequest req;
      req.set_currency(r.currency);
      req.mutable_start_date()->set_year(2026);
      req.mutable_start_date()->set_month(month);
      req.mutable_start_date()->set_day(1);
      req.set_rate(rate);
      req.set_note("salesopsctl demo (illustrative, not market data)");
      v1::ExchangeRate resp;
      RETURN_IF_ERROR(Check(env.conn->accounts().SetExchangeRate(
          env.conn->Context().get(), req, &resp)));
      ++created;
      if (verbose) {
        log << "  created exchange rate " << r.currency << " from 2026-"
            << (month == 1 ? "01" : "07") << "-01: " << rate << " "
            << env.currency << "\n";
      }
    }
  }
  return created;
}

}  // namespace salesops::ctl
