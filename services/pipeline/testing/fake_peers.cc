#include "services/pipeline/testing/fake_peers.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace salesops::pipeline::fakes {

FakeAccounts::~FakeAccounts() {
  std::vector<std::thread> threads;
  {
    std::lock_guard<std::mutex> lock(mu_);
    threads.swap(threads_);
  }
  for (std::thread& t : threads) {
    t.join();
  }
}

void FakeAccounts::SetAnswerLater(bool later) {
  std::lock_guard<std::mutex> lock(mu_);
  later_ = later;
}

void FakeAccounts::Answer(std::function<void()> answer) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (later_) {
      threads_.emplace_back(std::move(answer));
      return;
    }
  }
  answer();
}

void FakeAccounts::GetAccountAsync(const std::string& id,
                                   Done<v1::Account> done) {
  Answer([this, id, done = std::move(done)] { done(GetAccount(id)); });
}

void FakeAccounts::GetOrgNodeAsync(const std::string& id,
                                   Done<v1::OrgNode> done) {
  Answer([this, id, done = std::move(done)] { done(GetOrgNode(id)); });
}

void FakeAccounts::AddAccount(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  v1::Account a;
  a.set_id(id);
  a.set_name(absl::StrCat("Account ", id));
  a.set_version(1);
  accounts_[id] = a;
}

void FakeAccounts::PutNode(const v1::OrgNode& n) {
  std::lock_guard<std::mutex> lock(mu_);
  nodes_[n.id()] = n;
}

void FakeAccounts::AddContact(const std::string& id,
                              const std::string& account_id) {
  std::lock_guard<std::mutex> lock(mu_);
  v1::Contact c;
  c.set_id(id);
  c.set_account_id(account_id);
  c.set_name(absl::StrCat("Contact ", id));
  c.set_version(1);
  contacts_[id] = c;
}

void FakeAccounts::SetUnavailable(bool down) {
  std::lock_guard<std::mutex> lock(mu_);
  unavailable_ = down;
}

void FakeAccounts::SetDownPrefix(std::string prefix) {
  std::lock_guard<std::mutex> lock(mu_);
  down_prefix_ = std::move(prefix);
}

int FakeAccounts::calls() const {
  std::lock_guard<std::mutex> lock(mu_);
  return calls_;
}

absl::Status FakeAccounts::Down(const std::string& id) const {
  if (unavailable_ ||
      (!down_prefix_.empty() && absl::StartsWith(id, down_prefix_))) {
    return absl::UnavailableError("accounts service unavailable (fake)");
  }
  return absl::OkStatus();
}

template <typename Msg>
absl::StatusOr<Msg> FakeAccounts::Lookup(
    const std::map<std::string, Msg>& table, const std::string& id,
    const char* what) {
  std::lock_guard<std::mutex> lock(mu_);
  ++calls_;
  if (absl::Status down = Down(id); !down.ok()) {
    return down;
  }
  auto it = table.find(id);
  if (it == table.end()) {
    return absl::NotFoundError(absl::StrCat(what, " ", id, " not found"));
  }
  return it->second;
}

absl::StatusOr<v1::Account> FakeAccounts::GetAccount(const std::string& id) {
  return Lookup(accounts_, id, "account");
}

absl::StatusOr<v1::OrgNode> FakeAccounts::GetOrgNode(const std::string& id) {
  return Lookup(nodes_, id, "org node");
}

absl::StatusOr<v1::Contact> FakeAccounts::GetContact(const std::string& id) {
  return Lookup(contacts_, id, "contact");
}

absl::Status FakeAccounts::ListAllOrgNodes(std::vector<v1::OrgNode>* nodes,
                                           uint64_t* feed_sequence) {
  std::lock_guard<std::mutex> lock(mu_);
  ++calls_;
  if (unavailable_) {
    return absl::UnavailableError("accounts service unavailable (fake)");
  }
  for (const auto& [id, n] : nodes_) {
    nodes->push_back(n);
  }
  *feed_sequence = 0;
  return absl::OkStatus();
}

void FakeCredit::Script(CreditDecision decision,
                        std::vector<std::string> reasons) {
  std::lock_guard<std::mutex> lock(mu_);
  answer_ = CreditAnswer{decision, std::move(reasons)};
  error_ = absl::OkStatus();
}

void FakeCredit::ScriptFor(const std::string& account_id, CreditAnswer answer) {
  std::lock_guard<std::mutex> lock(mu_);
  by_account_[account_id] = std::move(answer);
}

void FakeCredit::ScriptError(absl::Status error) {
  std::lock_guard<std::mutex> lock(mu_);
  error_ = std::move(error);
}

void FakeCredit::SetDownPrefix(std::string prefix) {
  std::lock_guard<std::mutex> lock(mu_);
  down_prefix_ = std::move(prefix);
}

void FakeCredit::DuringCheck(std::function<void()> hook) {
  std::lock_guard<std::mutex> lock(mu_);
  hook_ = std::move(hook);
}

int FakeCredit::calls() const {
  std::lock_guard<std::mutex> lock(mu_);
  return calls_;
}

FakeCredit::Call FakeCredit::last() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_;
}

absl::StatusOr<CreditAnswer> FakeCredit::CheckCredit(
    const std::string& account_id, const v1::Money& amount,
    const std::string& opportunity_id) {
  std::function<void()> hook;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++calls_;
    last_ = Call{account_id, amount.units_minor(), amount.currency(),
                 opportunity_id};
    hook = std::move(hook_);
    hook_ = nullptr;  // runs once
  }
  if (hook) {
    hook();
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (!down_prefix_.empty() && absl::StartsWith(account_id, down_prefix_)) {
    return absl::UnavailableError("credit service unavailable (fake)");
  }
  if (!error_.ok()) {
    return error_;
  }
  if (auto it = by_account_.find(account_id); it != by_account_.end()) {
    return it->second;
  }
  return answer_;
}

absl::Status FakeCredit::ListAllOpportunityCollections(
    std::vector<v1::OpportunityCollection>*, uint64_t* feed_sequence) {
  *feed_sequence = 0;
  return absl::OkStatus();
}

}  // namespace salesops::pipeline::fakes
