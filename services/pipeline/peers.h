#pragma once

// The pipeline service's synchronous peers (SPEC.md §6), behind small
// interfaces so tests can fake them (ARCHITECTURE.md §5 "Peer clients").
//
// Errors the handlers rely on: NOT_FOUND when the peer says the entity does not
// exist; UNAVAILABLE (with the peer's message) when the peer cannot be reached
// or timed out — the handler then writes nothing and the caller retries.

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/server/peer.h"
#include "salesops/v1/accounts.pb.h"
#include "salesops/v1/common.pb.h"

namespace salesops::pipeline {

class AccountsClient {
 public:
  virtual ~AccountsClient() = default;
  [[nodiscard]] virtual absl::StatusOr<v1::Account> GetAccount(
      const std::string& id) = 0;
  [[nodiscard]] virtual absl::StatusOr<v1::OrgNode> GetOrgNode(
      const std::string& id) = 0;
  [[nodiscard]] virtual absl::StatusOr<v1::Contact> GetContact(
      const std::string& id) = 0;
  // Every org node, with the accounts feed sequence at which the listing
  // began (for a feed resync).
  [[nodiscard]] virtual absl::Status ListAllOrgNodes(
      std::vector<v1::OrgNode>* nodes, uint64_t* feed_sequence) = 0;
};

// Calls salesops.v1.AccountsService over `peer` (not owned).
std::unique_ptr<AccountsClient> NewGrpcAccountsClient(const PeerChannel* peer);

enum class CreditDecision { kApprove, kReview, kBlock };

struct CreditAnswer {
  CreditDecision decision = CreditDecision::kReview;
  std::vector<std::string> reasons;
};

class CreditClient {
 public:
  virtual ~CreditClient() = default;
  // credit.CheckCredit(account, amount) for a move into a
  // requires_credit_check stage of opportunity `opportunity_id`.
  [[nodiscard]] virtual absl::StatusOr<CreditAnswer> CheckCredit(
      const std::string& account_id, const v1::Money& amount,
      const std::string& opportunity_id) = 0;
};

// Used when no --credit_addr is given: every check answers REVIEW with the
// reason "credit service not configured", so moves pass and are marked
// credit_review_pending.
std::unique_ptr<CreditClient> NewUnconfiguredCreditClient();

}  // namespace salesops::pipeline
