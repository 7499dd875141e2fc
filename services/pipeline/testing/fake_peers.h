#pragma once

// In-memory fakes of the pipeline service's peers (peers.h), shared by its
// tests and by fuzz/pipeline_fuzz.cc. Thread-safe; they answer at once (the
// asynchronous calls run `done` on the caller's thread unless
// FakeAccounts::SetAnswerLater).

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "services/pipeline/peers.h"

namespace salesops::pipeline::fakes {

// The accounts service as the pipeline sees it: accounts, org nodes and
// contacts by id. `SetUnavailable(true)` makes every call UNAVAILABLE; so do
// ids starting with the prefix of `SetDownPrefix` ("" = none).
class FakeAccounts final : public AccountsClient {
 public:
  ~FakeAccounts() override;  // joins the answering threads
  void AddAccount(const std::string& id);
  void PutNode(const v1::OrgNode& n);
  void AddContact(const std::string& id, const std::string& account_id);
  void SetUnavailable(bool down);
  void SetDownPrefix(std::string prefix);
  // Calls answered so far (every method).
  int calls() const;
  // With `later`, the asynchronous calls answer from a thread of the fake's
  // own, as the gRPC client answers from gRPC's.
  void SetAnswerLater(bool later);

  absl::StatusOr<v1::Account> GetAccount(const std::string& id) override;
  absl::StatusOr<v1::OrgNode> GetOrgNode(const std::string& id) override;
  absl::StatusOr<v1::Contact> GetContact(const std::string& id) override;
  absl::Status ListAllOrgNodes(std::vector<v1::OrgNode>* nodes,
                               uint64_t* feed_sequence) override;
  void GetAccountAsync(const std::string& id, Done<v1::Account> done) override;
  void GetOrgNodeAsync(const std::string& id, Done<v1::OrgNode> done) override;

 private:
  // Runs `answer` now, or on a new thread when answering later.
  void Answer(std::function<void()> answer);

  template <typename Msg>
  absl::StatusOr<Msg> Lookup(const std::map<std::string, Msg>& table,
                             const std::string& id, const char* what);
  absl::Status Down(const std::string& id) const;  // mu_ held

  mutable std::mutex mu_;
  bool unavailable_ = false;
  bool later_ = false;
  std::vector<std::thread> threads_;
  std::string down_prefix_;
  int calls_ = 0;
  std::map<std::string, v1::Account> accounts_;
  std::map<std::string, v1::OrgNode> nodes_;
  std::map<std::string, v1::Contact> contacts_;
};

// credit.CheckCredit answering what was scripted: per account
// (`ScriptFor`), else the default (APPROVE unless `Script` says otherwise),
// or an error (`ScriptError`, or an account id starting with the prefix of
// `SetDownPrefix`). Remembers every call and can run a hook once while
// "thinking", to change the opportunity during the check. Lists no
// collections.
class FakeCredit final : public CreditClient {
 public:
  struct Call {
    std::string account_id;
    int64_t amount_minor = 0;
    std::string currency;
    std::string opportunity_id;
  };

  void Script(CreditDecision decision, std::vector<std::string> reasons = {});
  void ScriptFor(const std::string& account_id, CreditAnswer answer);
  void ScriptError(absl::Status error);
  void SetDownPrefix(std::string prefix);
  void DuringCheck(std::function<void()> hook);
  int calls() const;
  Call last() const;

  absl::StatusOr<CreditAnswer> CheckCredit(
      const std::string& account_id, const v1::Money& amount,
      const std::string& opportunity_id) override;
  absl::Status ListAllOpportunityCollections(
      std::vector<v1::OpportunityCollection>*,
      uint64_t* feed_sequence) override;

 private:
  mutable std::mutex mu_;
  CreditAnswer answer_{CreditDecision::kApprove, {}};
  std::map<std::string, CreditAnswer> by_account_;
  absl::Status error_;
  std::string down_prefix_;
  std::function<void()> hook_;
  int calls_ = 0;
  Call last_;
};

}  // namespace salesops::pipeline::fakes
