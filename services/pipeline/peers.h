#pragma once

// The pipeline service's synchronous peers (SPEC.md §6), behind small
// interfaces so tests can fake them (ARCHITECTURE.md §5 "Peer clients").
//
// Errors the handlers rely on: NOT_FOUND when the peer says the entity does not
// exist; UNAVAILABLE (with the peer's message) when the peer cannot be reached
// or timed out — the handler then writes nothing and the caller retries. The
// peer's own verdicts on the request (INVALID_ARGUMENT, PERMISSION_DENIED) pass
// through; every other failure is UNAVAILABLE "<peer> service unavailable:
// <peer's message>".

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "salesops/v1/accounts.pb.h"
#include "salesops/v1/common.pb.h"
#include "salesops/v1/credit.pb.h"
#include "services/pipeline/opportunity_rules.h"  // CreditAnswer

namespace salesops {
class PeerChannel;  // common/server/peer.h
}  // namespace salesops

namespace salesops::pipeline {

template <typename T>
using Done = std::function<void(absl::StatusOr<T>)>;

class AccountsClient {
 public:
  virtual ~AccountsClient() = default;
  // The same answers without holding the caller's thread: `done` runs once,
  // on a thread of the client's (or, by default and in fakes, at once on the
  // caller's thread, after the synchronous call).
  virtual void GetAccountAsync(const std::string& id, Done<v1::Account> done) {
    done(GetAccount(id));
  }
  virtual void GetOrgNodeAsync(const std::string& id, Done<v1::OrgNode> done) {
    done(GetOrgNode(id));
  }

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

class CreditClient {
 public:
  virtual ~CreditClient() = default;
  // credit.CheckCredit(account, amount) for a move into a
  // requires_credit_check stage of opportunity `opportunity_id`.
  [[nodiscard]] virtual absl::StatusOr<CreditAnswer> CheckCredit(
      const std::string& account_id, const v1::Money& amount,
      const std::string& opportunity_id) = 0;
  // Every opportunity's collection state
  // (credit.ListOpportunityCollections, all pages, in opportunity id order),
  // with the credit feed sequence at which the listing began (for a feed
  // resync).
  [[nodiscard]] virtual absl::Status ListAllOpportunityCollections(
      std::vector<v1::OpportunityCollection>* collections,
      uint64_t* feed_sequence) = 0;
};

// Calls salesops.v1.CreditService over `peer` (not owned). CheckCredit maps
// CREDIT_DECISION_APPROVE/REVIEW/BLOCK and the reasons; an answer without a
// decision is UNAVAILABLE like a peer that cannot be asked. Errors name the
// credit service ("credit service unavailable: ...").
std::unique_ptr<CreditClient> NewGrpcCreditClient(const PeerChannel* peer);

// Used when no --credit_addr is given: every check answers REVIEW with the
// reason "credit service not configured", so moves pass and are marked
// credit_review_pending. Listing collections is FAILED_PRECONDITION (nothing
// follows credit's feed then).
std::unique_ptr<CreditClient> NewUnconfiguredCreditClient();

}  // namespace salesops::pipeline
