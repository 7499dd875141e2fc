#pragma once

// The daily collections work of SPEC.md §5.3 (RunCollections, and a thread
// of its own): promises whose judging day has come are judged (a broken one
// gets an escalation task); receivables whose dunning step days have come get
// the latest step due (dunning_rules.h), at CREDIT_HOLD the account's hold.
// The work depends only on the day: the runner does it once per day (and
// again after a failure), not on every tick.

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/store/actor.h"
#include "common/store/store.h"
#include "common/time/clock.h"
#include "salesops/v1/credit.pb.h"
#include "services/credit/credit_ledger.h"

namespace salesops::credit {

class DailyJob {
 public:
  // Not owned; outlive the job.
  DailyJob(const CreditLedger* ledger, Clock* clock);
  ~DailyJob();  // Stop()
  DailyJob(const DailyJob&) = delete;
  DailyJob& operator=(const DailyJob&) = delete;

  // The daily collections work for the clock's today, in one transaction.
  [[nodiscard]] absl::StatusOr<v1::RunCollectionsResponse> RunDaily(
      Actor actor);
  // Runs RunDaily now and then every `period` on a thread of its own, until
  // Stop (at the latest the destructor).
  void Start(absl::Duration period);
  // Stops and joins the runner; call before the store closes. Idempotent.
  void Stop();

  // Issue 19 (D40): after each tick the runner counts the open receivables
  // whose currency has no exchange rate for today and hands the count to
  // `listener` (main.cc: the gauge salesops_credit_missing_exchange_rates).
  // Set before Start.
  void SetMissingRatesListener(std::function<void(int64_t)> listener);
  // Counts them now (and reports to the listener, when set).
  [[nodiscard]] absl::StatusOr<int64_t> ReportMissingRates();

 private:
  absl::CivilDay Today() const;
  // The runner's loop.
  void Loop(absl::Duration period);
  // Once a day: RunDaily unless `done` is today already.
  void RunOnce(std::optional<absl::CivilDay>* done);
  [[nodiscard]] absl::Status RunIn(WriteTxn& txn, absl::CivilDay today,
                                   absl::Time now,
                                   v1::RunCollectionsResponse* resp) const;
  [[nodiscard]] absl::Status JudgePromises(
      WriteTxn& txn, absl::CivilDay today, absl::Time now,
      v1::RunCollectionsResponse* resp) const;
  [[nodiscard]] absl::Status IssueDunning(
      WriteTxn& txn, absl::CivilDay today, absl::Time now,
      v1::RunCollectionsResponse* resp) const;
  [[nodiscard]] absl::Status IssueStep(WriteTxn& txn, v1::Receivable r,
                                       const v1::DunningStrategy& strategy,
                                       absl::CivilDay today, absl::Time now,
                                       v1::RunCollectionsResponse* resp) const;

  const CreditLedger* ledger_;
  Clock* clock_;
  std::function<void(int64_t)> missing_rates_listener_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread runner_;
};

}  // namespace salesops::credit
