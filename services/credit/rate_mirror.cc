#include "services/credit/rate_mirror.h"

#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/status/macros.h"
#include "common/store/key.h"
#include "common/store/store.h"
#include "common/time/fiscal_calendar.h"

namespace salesops::credit {
namespace {

// Tags in credit's "mirror" family: 1 and 2 the OrgMirror's, 10 and 11
// credit_store.cc's.
constexpr uint8_t kRateTag = 12;

std::string RateKey(const v1::ExchangeRate& r) {
  return KeyBuilder(kRateTag)
      .Str(r.currency())
      .U32(static_cast<uint32_t>(r.start_date().year()))
      .U32(static_cast<uint32_t>(r.start_date().month()))
      .U32(static_cast<uint32_t>(r.start_date().day()))
      .key();
}

// What is kept of an entry: everything but its history.
v1::ExchangeRate Kept(const v1::ExchangeRate& r) {
  v1::ExchangeRate kept = r;
  kept.clear_history();
  return kept;
}

absl::Status DeleteRates(WriteTxn& txn, CfRef cf) {
  const std::string prefix = KeyBuilder(kRateTag).key();
  std::vector<std::string> keys;
  RETURN_IF_ERROR(txn.Scan(cf, prefix, PrefixSuccessor(prefix),
                           [&](std::string_view key, std::string_view) {
                             keys.emplace_back(key);
                             return true;
                           }));
  for (const std::string& key : keys) {
    txn.Delete(cf, key);
  }
  return absl::OkStatus();
}

}  // namespace

RateMirror::RateMirror(Store* store, CfRef cf, std::string reporting_currency)
    : store_(store),
      cf_(cf),
      reporting_(std::move(reporting_currency)),
      table_(reporting_) {}

absl::Status RateMirror::Check(const v1::ExchangeRate& r) const {
  if (r.currency().empty()) {
    return absl::DataLossError("accounts.ExchangeRate: no currency");
  }
  RETURN_IF_ERROR(FromProto(r.start_date(), "start_date").status());
  if (!r.withdrawn()) {
    RETURN_IF_ERROR(money::ParseRate(r.rate(), "rate").status());
  }
  return absl::OkStatus();
}

void RateMirror::Remember(money::RateTable& table,
                          const v1::ExchangeRate& r) const {
  const absl::CivilDay start = FromProto(r.start_date(), "start_date").value();
  if (!r.reporting_currency().empty() && r.reporting_currency() != reporting_) {
    log::Error(
        "credit: an exchange rate to another reporting currency is not "
        "used (accounts and credit disagree on --currency)",
        {{"currency", r.currency()},
         {"theirs", r.reporting_currency()},
         {"ours", reporting_}});
    table.Set(r.currency(), start, std::nullopt);
    return;
  }
  if (r.withdrawn()) {
    table.Set(r.currency(), start, std::nullopt);
    return;
  }
  table.Set(r.currency(), start, money::ParseRate(r.rate(), "rate").value());
}

absl::Status RateMirror::Load() {
  const std::string prefix = KeyBuilder(kRateTag).key();
  money::RateTable loaded(reporting_);
  absl::Status bad;
  RETURN_IF_ERROR(store_->Scan(
      cf_, prefix, PrefixSuccessor(prefix),
      [&](std::string_view, std::string_view value) {
        v1::ExchangeRate r;
        if (!r.ParseFromArray(value.data(), static_cast<int>(value.size())) ||
            !Check(r).ok()) {
          bad = absl::DataLossError("store: corrupt exchange rate mirror");
          return false;
        }
        Remember(loaded, r);
        return true;
      }));
  RETURN_IF_ERROR(bad);
  std::lock_guard<std::mutex> lock(mu_);
  table_ = std::move(loaded);
  return absl::OkStatus();
}

absl::Status RateMirror::Apply(const v1::Event& event, WriteTxn& txn) {
  if (event.kind() != kExchangeRateKind) {
    return absl::OkStatus();
  }
  v1::ExchangeRate r;
  if (!event.payload().UnpackTo(&r)) {
    return absl::DataLossError(absl::StrCat(
        "accounts feed event ", event.sequence(), ": not an ExchangeRate"));
  }
  if (absl::Status s = Check(r); !s.ok()) {
    return absl::DataLossError(absl::StrCat(
        "accounts feed event ", event.sequence(), ": ", s.message()));
  }
  // Judged against the store: memory may already hold a version whose batch
  // rolled back and is being applied again.
  ASSIGN_OR_RETURN(std::optional<std::string> stored, txn.Get(cf_, RateKey(r)));
  if (stored.has_value()) {
    v1::ExchangeRate old;
    if (!old.ParseFromString(*stored)) {
      return absl::DataLossError("store: corrupt exchange rate mirror");
    }
    if (old.version() >= r.version()) {
      return absl::OkStatus();
    }
  }
  txn.Put(cf_, RateKey(r), Kept(r).SerializeAsString());
  std::lock_guard<std::mutex> lock(mu_);
  Remember(table_, r);
  return absl::OkStatus();
}

absl::Status RateMirror::Replace(const std::vector<v1::ExchangeRate>& rates,
                                 const std::string& source) {
  money::RateTable replaced(reporting_);
  for (const v1::ExchangeRate& r : rates) {
    if (absl::Status s = Check(r); !s.ok()) {
      return absl::DataLossError(
          absl::StrCat(source, ": a listed exchange rate: ", s.message()));
    }
    Remember(replaced, r);
  }
  RETURN_IF_ERROR(store_
                      ->Write(SystemActor(absl::StrCat("resync:", source)),
                              [&](WriteTxn& txn) -> absl::Status {
                                RETURN_IF_ERROR(DeleteRates(txn, cf_));
                                for (const v1::ExchangeRate& r : rates) {
                                  txn.Put(cf_, RateKey(r),
                                          Kept(r).SerializeAsString());
                                }
                                return absl::OkStatus();
                              })
                      .status());
  std::lock_guard<std::mutex> lock(mu_);
  table_ = std::move(replaced);
  return absl::OkStatus();
}

money::RateTable RateMirror::Snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  return table_;
}

}  // namespace salesops::credit
