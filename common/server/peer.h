#pragma once

// Channels to the other services of the suite (ARCHITECTURE.md §5 "Peer
// clients"): one channel per peer, a deadline on every call, transparent
// retries of UNAVAILABLE with backoff, the service's bearer token on every
// call, optional TLS/mTLS. Service code calls peers through a small interface
// of its own (so tests can fake the peer) whose real implementation holds a
// PeerChannel.
//
//   auto accounts = PeerChannel::FromFlags(absl::GetFlag(FLAGS_accounts_addr));
//   auto stub = v1::AccountsService::NewStub((*accounts)->channel());
//   auto ctx = (*accounts)->NewContext();  // deadline + authorization
//   grpc::Status s = stub->GetAccount(ctx.get(), request, &response);

#include <grpcpp/grpcpp.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace salesops {

struct PeerConfig {
  // "HOST:PORT" of the peer.
  std::string target;
  // Sent as "authorization: Bearer <token>" on every call; "" sends none (peers
  // on --auth=none).
  std::string bearer_token;
  // TLS: verify the peer's certificate against this CA bundle (PEM); "" =
  // plaintext.
  std::string tls_ca_file;
  // mTLS: our client certificate and key (PEM), both or neither; needs
  // tls_ca_file.
  std::string tls_cert_file;
  std::string tls_key_file;
  // Name expected in the peer's certificate when it differs from the target's
  // host.
  std::string tls_server_name;
  // Deadline of a call made with NewContext().
  absl::Duration call_timeout = absl::Seconds(5);
  // Attempts of a call answered UNAVAILABLE (2..5), with backoff 100 ms
  // doubling to 1 s.
  int max_attempts = 4;
  int max_message_bytes = 16 * 1024 * 1024;

  // target plus the --peer_* flags (token file, TLS files, timeout).
  static absl::StatusOr<PeerConfig> FromFlags(const std::string& target);
};

class PeerChannel {
 public:
  // Checks the config (target present, TLS files readable, cert and key paired)
  // and creates the channel; it connects lazily on the first call.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<PeerChannel>> Create(
      PeerConfig config);
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<PeerChannel>> FromFlags(
      const std::string& target);

  std::shared_ptr<grpc::Channel> channel() const { return channel_; }
  const PeerConfig& config() const { return config_; }

  // A context for one call: deadline now + `timeout` (default
  // config().call_timeout), the bearer token and, when this thread has a
  // current trace (trace.h), its `traceparent` (our span as the parent) and
  // `tracestate`.
  std::unique_ptr<grpc::ClientContext> NewContext(
      std::optional<absl::Duration> timeout = std::nullopt) const;
  // The same settings on a caller-owned context (for streams the caller keeps,
  // such as a feed Watch, pass absl::InfiniteDuration() to set no deadline).
  void Prepare(grpc::ClientContext* context, absl::Duration timeout) const;

 private:
  PeerChannel() = default;
  PeerConfig config_;
  std::shared_ptr<grpc::Channel> channel_;
};

// Lists every page of a peer's List RPC (a follower's resync after
// OUT_OF_RANGE): `call(ctx, request, &response)` is the stub method, `visit`
// takes each page's response. Pages of 1000; at most `max_pages`.
// `*first_sequence` is the feed sequence of the first page (where a follower
// resumes: later events are applied again, idempotently). A failed call is
// UNAVAILABLE naming `peer_name`.
template <typename Req, typename Resp, typename Call, typename Visit>
[[nodiscard]] absl::Status ListAllPages(const PeerChannel& peer,
                                        std::string_view peer_name, Req req,
                                        const Call& call, const Visit& visit,
                                        uint64_t* first_sequence,
                                        int max_pages = 10'000) {
  req.set_page_size(1000);
  for (int pages = 0; pages < max_pages; ++pages) {
    Resp resp;
    auto ctx = peer.NewContext();
    grpc::Status s = call(ctx.get(), req, &resp);
    if (!s.ok()) {
      return absl::UnavailableError(absl::StrCat(
          std::string(peer_name), " unavailable: ", s.error_message()));
    }
    if (pages == 0 && first_sequence != nullptr) {
      *first_sequence = resp.feed_sequence();
    }
    visit(resp);
    if (resp.next_page_token().empty()) {
      return absl::OkStatus();
    }
    req.set_page_token(resp.next_page_token());
  }
  return absl::FailedPreconditionError(absl::StrCat(
      std::string(peer_name), ": more than ", max_pages, " pages to list"));
}

}  // namespace salesops
