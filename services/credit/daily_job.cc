#include "services/credit/daily_job.h"

#include <string>
#include <utility>
#include <vector>

#include "common/log/log.h"
#include "common/status/status.h"
#include "common/time/fiscal_calendar.h"
#include "services/credit/collections.h"
#include "services/credit/dunning_rules.h"
#include "services/credit/promise_rules.h"

namespace salesops::credit {

DailyJob::DailyJob(const CreditLedger* ledger, Clock* clock)
    : ledger_(ledger), clock_(clock) {}

DailyJob::~DailyJob() { Stop(); }

absl::CivilDay DailyJob::Today() const {
  return absl::ToCivilDay(clock_->Now(), ledger_->options.time_zone);
}

void DailyJob::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (runner_.joinable()) {
    runner_.join();
  }
}

void DailyJob::Start(absl::Duration period) {
  runner_ = std::thread([this, period] { Loop(period); });
}

void DailyJob::Loop(absl::Duration period) {
  std::unique_lock<std::mutex> lock(mu_);
  std::optional<absl::CivilDay> done;
  while (!stop_) {
    lock.unlock();
    RunOnce(&done);
    if (absl::StatusOr<int64_t> n = ReportMissingRates(); !n.ok()) {
      log::Error("credit: counting receivables without a rate failed",
                 {{"error", n.status().ToString()}});
    }
    lock.lock();
    cv_.wait_for(lock, absl::ToChronoSeconds(period), [this] { return stop_; });
  }
}

void DailyJob::SetMissingRatesListener(std::function<void(int64_t)> listener) {
  missing_rates_listener_ = std::move(listener);
}

absl::StatusOr<int64_t> DailyJob::ReportMissingRates() {
  ASSIGN_OR_RETURN(const int64_t n, ledger_->CountMissingRates(Today()));
  if (missing_rates_listener_) {
    missing_rates_listener_(n);
  }
  return n;
}

void DailyJob::RunOnce(std::optional<absl::CivilDay>* done) {
  const absl::CivilDay today = Today();
  if (*done == today) {
    return;
  }
  if (absl::StatusOr<v1::RunCollectionsResponse> r =
          RunDaily(SystemActor("daily-collections"));
      r.ok()) {
    *done = today;
  } else {
    log::Error("credit: daily collections run failed",
               {{"error", r.status().ToString()}});
  }
}

absl::StatusOr<v1::RunCollectionsResponse> DailyJob::RunDaily(Actor actor) {
  const absl::Time now = clock_->Now();
  const absl::CivilDay today =
      absl::ToCivilDay(now, ledger_->options.time_zone);
  v1::RunCollectionsResponse resp;
  RETURN_IF_ERROR(ledger_->db.store
                      ->Write(std::move(actor),
                              [&](WriteTxn& txn) {
                                resp.Clear();
                                return RunIn(txn, today, now, &resp);
                              })
                      .status());
  return resp;
}

absl::Status DailyJob::RunIn(WriteTxn& txn, absl::CivilDay today,
                             absl::Time now,
                             v1::RunCollectionsResponse* resp) const {
  *resp->mutable_today() = ToProto(today);
  RETURN_IF_ERROR(JudgePromises(txn, today, now, resp));
  return IssueDunning(txn, today, now, resp);
}

// Promises whose judging day has come.
absl::Status DailyJob::JudgePromises(WriteTxn& txn, absl::CivilDay today,
                                     absl::Time now,
                                     v1::RunCollectionsResponse* resp) const {
  const CreditStore& db = ledger_->db;
  ASSIGN_OR_RETURN(
      std::vector<std::string> pending,
      db.pending_promises.AllIds(txn, "", CreditStore::kAllIdsLimit));
  for (const std::string& id : pending) {
    ASSIGN_OR_RETURN(v1::Promise p, db.promises.Get(txn, id));
    if (JudgeDay(p) > today) {
      continue;
    }
    std::vector<v1::Receivable> rs;
    for (const std::string& rid : p.receivable_ids()) {
      ASSIGN_OR_RETURN(v1::Receivable r, db.receivables.Get(txn, rid));
      rs.push_back(std::move(r));
    }
    JudgedPromise judged =
        JudgeDuePromise(std::move(p), rs, today, ledger_->options);
    if (judged.escalation) {
      RETURN_IF_ERROR(ledger_->NewTask(txn, &*judged.escalation, now));
      judged.promise.set_escalation_task_id(judged.escalation->id());
    }
    RETURN_IF_ERROR(
        db.promises.Update(txn, judged.promise.id(), 0, &judged.promise));
    db.pending_promises.Delete(txn, "", judged.promise.id());
    resp->set_promises_judged(resp->promises_judged() + 1);
  }
  return absl::OkStatus();
}

// Dunning steps whose day has come: only the latest one due is issued; the
// credit hold step always places the hold.
absl::Status DailyJob::IssueDunning(WriteTxn& txn, absl::CivilDay today,
                                    absl::Time now,
                                    v1::RunCollectionsResponse* resp) const {
  const CreditStore& db = ledger_->db;
  ASSIGN_OR_RETURN(v1::DunningStrategy strategy, db.Strategy(txn));
  ASSIGN_OR_RETURN(
      std::vector<std::string> owing,
      db.owing_receivables.AllIds(txn, "", CreditStore::kAllIdsLimit));
  for (const std::string& id : owing) {
    ASSIGN_OR_RETURN(v1::Receivable r, db.receivables.Get(txn, id));
    RETURN_IF_ERROR(IssueStep(txn, std::move(r), strategy, today, now, resp));
  }
  return absl::OkStatus();
}

absl::Status DailyJob::IssueStep(WriteTxn& txn, v1::Receivable r,
                                 const v1::DunningStrategy& strategy,
                                 absl::CivilDay today, absl::Time now,
                                 v1::RunCollectionsResponse* resp) const {
  const CreditStore& db = ledger_->db;
  std::optional<v1::CreditProfile> profile;
  if (HoldDue(r, strategy, today)) {
    ASSIGN_OR_RETURN(profile, db.profiles.Find(txn, r.account_id()));
  }
  std::optional<DunningOutcome> out = DunningStepDue(
      std::move(r), strategy, today, profile, now, ledger_->options);
  if (!out) {
    return absl::OkStatus();
  }
  RETURN_IF_ERROR(ledger_->NewTask(txn, &out->dunning, now));
  resp->set_dunning_tasks(resp->dunning_tasks() + 1);
  RETURN_IF_ERROR(db.SaveReceivable(txn, &out->receivable));
  if (out->hold) {
    v1::CreditProfile& p = *out->hold;
    if (out->new_profile) {
      RETURN_IF_ERROR(db.profiles.Insert(txn, p.account_id(), &p));
    } else {
      RETURN_IF_ERROR(db.profiles.Update(txn, p.account_id(), 0, &p));
    }
    resp->set_holds_placed(resp->holds_placed() + 1);
  }
  if (out->escalation) {
    RETURN_IF_ERROR(ledger_->NewTask(txn, &*out->escalation, now));
  }
  return absl::OkStatus();
}

}  // namespace salesops::credit
