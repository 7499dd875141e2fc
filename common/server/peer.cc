#include "common/server/peer.h"

#include "absl/strings/str_cat.h"
#include "common/server/files.h"
#include "common/status/status.h"
#include "common/trace/trace.h"

namespace salesops {

absl::StatusOr<std::unique_ptr<PeerChannel>> PeerChannel::Create(
    PeerConfig config) {
  if (config.target.empty()) {
    return absl::InvalidArgumentError("peer address: required (HOST:PORT)");
  }
  if (config.max_attempts < 2 || config.max_attempts > 5) {
    return absl::InvalidArgumentError(
        "peer max_attempts: must be 2..5 (gRPC's limit is 5)");
  }
  if (config.call_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--peer_timeout: must be > 0");
  }
  if (config.tls_cert_file.empty() != config.tls_key_file.empty()) {
    return absl::InvalidArgumentError(
        "--peer_tls_cert_file and --peer_tls_key_file: give both or neither");
  }
  if (!config.tls_cert_file.empty() && config.tls_ca_file.empty()) {
    return absl::InvalidArgumentError(
        "--peer_tls_ca_file: required with a client certificate (mTLS needs "
        "TLS)");
  }

  std::shared_ptr<grpc::ChannelCredentials> creds =
      grpc::InsecureChannelCredentials();
  if (!config.tls_ca_file.empty()) {
    grpc::SslCredentialsOptions ssl;
    ASSIGN_OR_RETURN(ssl.pem_root_certs,
                     ReadFlagFile("peer_tls_ca_file", config.tls_ca_file));
    if (!config.tls_cert_file.empty()) {
      ASSIGN_OR_RETURN(ssl.pem_cert_chain, ReadFlagFile("peer_tls_cert_file",
                                                        config.tls_cert_file));
      ASSIGN_OR_RETURN(ssl.pem_private_key,
                       ReadFlagFile("peer_tls_key_file", config.tls_key_file));
    }
    creds = grpc::SslCredentials(ssl);
  }

  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(config.max_message_bytes);
  args.SetMaxSendMessageSize(config.max_message_bytes);
  // Keepalive within what our servers permit (a ping every 10 s at most, see
  // server.h), so idle feed streams notice a dead peer without being closed for
  // too many pings.
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 30'000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10'000);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  // Reconnect quickly after a peer restarts (gRPC's default backoff grows to
  // 120 s).
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 2'000);
  args.SetInt(GRPC_ARG_ENABLE_RETRIES, 1);
  if (!config.tls_server_name.empty()) {
    args.SetSslTargetNameOverride(config.tls_server_name);
  }
  // Every method: retry UNAVAILABLE (peer restarting, draining, unreachable).
  // Writes are safe to retry because creates carry request_id and updates
  // expected_version.
  args.SetServiceConfigJSON(absl::StrCat(
      R"({"methodConfig":[{"name":[{}],"retryPolicy":{"maxAttempts":)",
      config.max_attempts,
      R"(,"initialBackoff":"0.1s","maxBackoff":"1s","backoffMultiplier":2,)",
      R"("retryableStatusCodes":["UNAVAILABLE"]}}]})"));

  std::unique_ptr<PeerChannel> peer(new PeerChannel());
  peer->channel_ = grpc::CreateCustomChannel(config.target, creds, args);
  peer->config_ = std::move(config);
  return peer;
}

void PeerChannel::Prepare(grpc::ClientContext* context,
                          absl::Duration timeout) const {
  if (timeout != absl::InfiniteDuration()) {
    context->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  }
  if (!config_.bearer_token.empty()) {
    context->AddMetadata("authorization", "Bearer " + config_.bearer_token);
  }
  // The trace goes on: the callee's span is a child of ours (trace.h).
  if (const trace::TraceContext* trace = trace::Current()) {
    context->AddMetadata(trace::kTraceparent, trace->Traceparent());
    if (!trace->tracestate.empty()) {
      context->AddMetadata(trace::kTracestate, trace->tracestate);
    }
  }
}

std::unique_ptr<grpc::ClientContext> PeerChannel::NewContext(
    std::optional<absl::Duration> timeout) const {
  auto context = std::make_unique<grpc::ClientContext>();
  Prepare(context.get(), timeout.value_or(config_.call_timeout));
  return context;
}

}  // namespace salesops
