// PeerConfig and PeerChannel from the --peer_* flags (flags.h), apart from
// peer.cc so that a binary which makes peer channels from its own flags (the
// web console) links PeerChannel without the services' flag definitions.

#include "absl/flags/flag.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/server/files.h"
#include "common/server/flags.h"
#include "common/server/peer.h"
#include "common/status/status.h"

namespace salesops {

absl::StatusOr<PeerConfig> PeerConfig::FromFlags(const std::string& target) {
  PeerConfig c;
  c.target = target;
  const std::string token_file = absl::GetFlag(FLAGS_peer_token_file);
  if (!token_file.empty()) {
    ASSIGN_OR_RETURN(std::string token,
                     ReadFlagFile("peer_token_file", token_file));
    c.bearer_token = std::string(absl::StripAsciiWhitespace(token));
    if (c.bearer_token.empty()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "--peer_token_file=", token_file, ": the file is empty"));
    }
  }
  c.tls_ca_file = absl::GetFlag(FLAGS_peer_tls_ca_file);
  c.tls_cert_file = absl::GetFlag(FLAGS_peer_tls_cert_file);
  c.tls_key_file = absl::GetFlag(FLAGS_peer_tls_key_file);
  c.call_timeout = absl::GetFlag(FLAGS_peer_timeout);
  c.max_message_bytes = absl::GetFlag(FLAGS_max_message_bytes);
  return c;
}

absl::StatusOr<std::unique_ptr<PeerChannel>> PeerChannel::FromFlags(
    const std::string& target) {
  ASSIGN_OR_RETURN(PeerConfig config, PeerConfig::FromFlags(target));
  return Create(std::move(config));
}

}  // namespace salesops
