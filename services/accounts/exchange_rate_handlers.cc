// Dated exchange rates: the I/O around exchange_rate_rules (see handlers.h).
// Each change is written with its "accounts.ExchangeRate" feed event and its
// audit record in one transaction (Table::Insert/Update), as quotas are.

#include <optional>
#include <string>
#include <vector>

#include "common/status/status.h"
#include "common/store/listing.h"
#include "services/accounts/exchange_rate_rules.h"
#include "services/accounts/handlers.h"

namespace salesops::accounts::handlers {
namespace {

// Entries read per store scan of a listing.
constexpr size_t kListChunk = 64;

// The first id a listing of `currency` ("" = all) examines after `after`.
std::string ListStart(const std::string& currency, const std::string& after) {
  if (currency.empty()) {
    return after;
  }
  // "<CUR>/" sorts before every id of that currency and after the others'.
  const std::string floor = currency + "/";
  return after < floor ? floor : after;
}

}  // namespace

absl::Status SetExchangeRate(Env env, const Principal& who,
                             const v1::SetExchangeRateRequest& req,
                             v1::ExchangeRate* resp) {
  ASSIGN_OR_RETURN(const ExchangeRateInput in,
                   CheckSetExchangeRate(req, env.currency));
  AccountsStore& db = env.db;
  const std::string id = ExchangeRateId(in.currency, in.start);
  return db.store
      ->Write(ActorFor(who, "SetExchangeRate"),
              [&](WriteTxn& txn) -> absl::Status {
                ASSIGN_OR_RETURN(std::optional<v1::ExchangeRate> stored,
                                 db.exchange_rates.Find(txn, id));
                ASSIGN_OR_RETURN(
                    ExchangeRateChange change,
                    accounts::SetExchangeRate(stored, req, in, env.currency,
                                              who.name, txn.now()));
                v1::ExchangeRate& e = change.rate;
                if (!change.unchanged) {
                  RETURN_IF_ERROR(
                      change.insert ? db.exchange_rates.Insert(txn, id, &e)
                                    : db.exchange_rates.Update(
                                          txn, id, req.expected_version(), &e));
                }
                *resp = std::move(e);
                return absl::OkStatus();
              })
      .status();
}

// AIP-158 pages in id order (currency, then start date), bounded by
// page_size and MaxPageBytes() like common/store/listing.h's FillPage.
absl::Status ListExchangeRates(Env env, const v1::ListExchangeRatesRequest& req,
                               v1::ListExchangeRatesResponse* resp) {
  RETURN_IF_ERROR(CheckListExchangeRates(req));
  ASSIGN_OR_RETURN(const Page page,
                   ReadPage(req.page_size(), req.page_token()));
  AccountsStore& db = env.db;
  resp->set_feed_sequence(db.store->last_sequence());
  std::string after = ListStart(req.currency(), page.after);
  size_t bytes = 0;
  while (true) {
    std::vector<v1::ExchangeRate> chunk;
    bool more = false;
    RETURN_IF_ERROR(db.exchange_rates.List(after, kListChunk, &chunk, &more));
    for (v1::ExchangeRate& e : chunk) {
      if (!req.currency().empty() && e.currency() != req.currency()) {
        return absl::OkStatus();  // past the filtered currency
      }
      if (resp->rates_size() >= page.size || bytes >= MaxPageBytes()) {
        resp->set_next_page_token(EncodePageToken(after));
        return absl::OkStatus();
      }
      after =
          ExchangeRateId(e.currency(), absl::CivilDay(e.start_date().year(),
                                                      e.start_date().month(),
                                                      e.start_date().day()));
      bytes += e.ByteSizeLong();
      *resp->add_rates() = std::move(e);
    }
    if (!more) {
      return absl::OkStatus();
    }
  }
}

}  // namespace salesops::accounts::handlers
