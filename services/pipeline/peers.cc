#include "services/pipeline/peers.h"

#include <functional>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/org/org_listing.h"
#include "common/server/peer.h"
#include "common/status/status.h"
#include "common/trace/trace.h"
#include "salesops/v1/accounts.grpc.pb.h"
#include "salesops/v1/credit.grpc.pb.h"

namespace salesops::pipeline {
namespace {

// A peer's answer as we report it: NOT_FOUND and the caller's own mistakes
// pass through; everything that means "could not ask" becomes UNAVAILABLE
// naming the peer (`peer_name`: "accounts", "credit"), so handlers can say
// "retry" and write nothing.
absl::Status FromPeer(const grpc::Status& s, const char* peer_name) {
  if (s.ok()) {
    return absl::OkStatus();
  }
  switch (s.error_code()) {
    case grpc::StatusCode::NOT_FOUND:
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::PERMISSION_DENIED:
      return FromGrpc(s);
    default:
      return absl::UnavailableError(
          absl::StrCat(peer_name, " service unavailable: ", s.error_message()));
  }
}

constexpr char kAccounts[] = "accounts";
constexpr char kCredit[] = "credit";

// One call of a callback (async) stub: the context, request and response live
// until gRPC runs the callback, which hands the answer to `done`.
template <typename Req, typename Resp>
struct AsyncCall {
  std::unique_ptr<grpc::ClientContext> ctx;
  Req req;
  Resp resp;
};

// Starts `start(ctx, &req, &resp, callback)` (a stub's async() method) for
// `req` and answers `done` from gRPC's callback thread.
template <typename Resp, typename Req, typename Start>
void CallAsync(const PeerChannel& peer, const char* peer_name, Req req,
               const Start& start, Done<Resp> done) {
  auto call = std::make_shared<AsyncCall<Req, Resp>>();
  call->ctx = peer.NewContext();
  call->req = std::move(req);
  // The callback runs on a gRPC thread: the caller's trace goes with it, so
  // the write it leads to carries that trace (trace.h).
  start(call->ctx.get(), &call->req, &call->resp,
        [call, peer_name,
         done = trace::Bind(std::move(done))](grpc::Status s) mutable {
          if (absl::Status st = FromPeer(s, peer_name); !st.ok()) {
            done(st);
            return;
          }
          done(std::move(call->resp));
        });
}

class GrpcAccountsClient final : public AccountsClient {
 public:
  explicit GrpcAccountsClient(const PeerChannel* peer)
      : peer_(peer), stub_(v1::AccountsService::NewStub(peer->channel())) {}

  absl::StatusOr<v1::Account> GetAccount(const std::string& id) override {
    v1::GetAccountRequest req;
    req.set_id(id);
    v1::Account resp;
    auto ctx = peer_->NewContext();
    RETURN_IF_ERROR(
        FromPeer(stub_->GetAccount(ctx.get(), req, &resp), kAccounts));
    return resp;
  }
  absl::StatusOr<v1::OrgNode> GetOrgNode(const std::string& id) override {
    v1::GetOrgNodeRequest req;
    req.set_id(id);
    v1::OrgNode resp;
    auto ctx = peer_->NewContext();
    RETURN_IF_ERROR(
        FromPeer(stub_->GetOrgNode(ctx.get(), req, &resp), kAccounts));
    return resp;
  }
  void GetAccountAsync(const std::string& id, Done<v1::Account> done) override {
    v1::GetAccountRequest req;
    req.set_id(id);
    CallAsync<v1::Account>(
        *peer_, kAccounts, std::move(req),
        [this](grpc::ClientContext* ctx, const v1::GetAccountRequest* r,
               v1::Account* resp, std::function<void(grpc::Status)> cb) {
          stub_->async()->GetAccount(ctx, r, resp, std::move(cb));
        },
        std::move(done));
  }
  void GetOrgNodeAsync(const std::string& id, Done<v1::OrgNode> done) override {
    v1::GetOrgNodeRequest req;
    req.set_id(id);
    CallAsync<v1::OrgNode>(
        *peer_, kAccounts, std::move(req),
        [this](grpc::ClientContext* ctx, const v1::GetOrgNodeRequest* r,
               v1::OrgNode* resp, std::function<void(grpc::Status)> cb) {
          stub_->async()->GetOrgNode(ctx, r, resp, std::move(cb));
        },
        std::move(done));
  }
  absl::StatusOr<v1::Contact> GetContact(const std::string& id) override {
    v1::GetContactRequest req;
    req.set_id(id);
    v1::Contact resp;
    auto ctx = peer_->NewContext();
    RETURN_IF_ERROR(
        FromPeer(stub_->GetContact(ctx.get(), req, &resp), kAccounts));
    return resp;
  }
  absl::Status ListAllOrgNodes(std::vector<v1::OrgNode>* nodes,
                               uint64_t* feed_sequence) override {
    return salesops::ListAllOrgNodes(*peer_, nodes, feed_sequence);
  }

 private:
  const PeerChannel* peer_;
  std::unique_ptr<v1::AccountsService::Stub> stub_;
};

class GrpcCreditClient final : public CreditClient {
 public:
  explicit GrpcCreditClient(const PeerChannel* peer)
      : peer_(peer), stub_(v1::CreditService::NewStub(peer->channel())) {}

  absl::StatusOr<CreditAnswer> CheckCredit(
      const std::string& account_id, const v1::Money& amount,
      const std::string& opportunity_id) override {
    v1::CheckCreditRequest req;
    req.set_account_id(account_id);
    *req.mutable_amount() = amount;
    req.set_opportunity_id(opportunity_id);
    v1::CreditCheck resp;
    auto ctx = peer_->NewContext();
    RETURN_IF_ERROR(
        FromPeer(stub_->CheckCredit(ctx.get(), req, &resp), kCredit));
    CreditAnswer answer;
    switch (resp.decision()) {
      case v1::CREDIT_DECISION_APPROVE:
        answer.decision = CreditDecision::kApprove;
        break;
      case v1::CREDIT_DECISION_REVIEW:
        answer.decision = CreditDecision::kReview;
        break;
      case v1::CREDIT_DECISION_BLOCK:
        answer.decision = CreditDecision::kBlock;
        break;
      default:
        // Not an answer we can act on: the move must neither pass nor be
        // refused on it, so it is treated like a peer that could not be asked.
        return absl::UnavailableError(absl::StrCat(
            "credit service unavailable: CheckCredit answered decision ",
            static_cast<int>(resp.decision()), " for account ", account_id));
    }
    answer.reasons.assign(resp.reasons().begin(), resp.reasons().end());
    return answer;
  }

  absl::Status ListAllOpportunityCollections(
      std::vector<v1::OpportunityCollection>* collections,
      uint64_t* feed_sequence) override {
    v1::ListOpportunityCollectionsRequest req;
    req.set_page_size(1000);
    *feed_sequence = 0;
    // Bounded: each page advances the token; 10,000 pages = 10M collections.
    for (int pages = 0; pages < 10'000; ++pages) {
      v1::ListOpportunityCollectionsResponse resp;
      auto ctx = peer_->NewContext();
      RETURN_IF_ERROR(FromPeer(
          stub_->ListOpportunityCollections(ctx.get(), req, &resp), kCredit));
      if (pages == 0) {
        *feed_sequence = resp.feed_sequence();
      }
      for (v1::OpportunityCollection& c : *resp.mutable_collections()) {
        collections->push_back(std::move(c));
      }
      if (resp.next_page_token().empty()) {
        return absl::OkStatus();
      }
      req.set_page_token(resp.next_page_token());
    }
    return absl::FailedPreconditionError(
        "credit: more than 10,000 pages of opportunity collections");
  }

 private:
  const PeerChannel* peer_;
  std::unique_ptr<v1::CreditService::Stub> stub_;
};

class UnconfiguredCreditClient final : public CreditClient {
 public:
  absl::StatusOr<CreditAnswer> CheckCredit(const std::string&, const v1::Money&,
                                           const std::string&) override {
    return CreditAnswer{CreditDecision::kReview,
                        {"credit service not configured"}};
  }
  absl::Status ListAllOpportunityCollections(
      std::vector<v1::OpportunityCollection>*, uint64_t*) override {
    return absl::FailedPreconditionError(
        "credit service not configured (--credit_addr is empty)");
  }
};

}  // namespace

std::unique_ptr<AccountsClient> NewGrpcAccountsClient(const PeerChannel* peer) {
  return std::make_unique<GrpcAccountsClient>(peer);
}

std::unique_ptr<CreditClient> NewGrpcCreditClient(const PeerChannel* peer) {
  return std::make_unique<GrpcCreditClient>(peer);
}

std::unique_ptr<CreditClient> NewUnconfiguredCreditClient() {
  return std::make_unique<UnconfiguredCreditClient>();
}

}  // namespace salesops::pipeline
