#pragma once

// Authentication and role checks (ARCHITECTURE.md §5, SPEC §8 "Security").
//
// Callers send "authorization: Bearer <token>". The server never stores tokens,
// only their SHA-256, in the tokens file; a token maps to a Principal. Handlers
// call Authorize with the roles a method allows, first thing:
//
//   ASSIGN_OR_RETURN(Principal who,
//                    auth.Authorize(*ctx, {Role::kAdmin, Role::kManager}));
//
// Health and reflection are served without authentication (probes and tooling
// need them and they reveal no data).
//
// Field bounds (bounds.h): Authenticate and Authorize are also where the edge
// answers a request that broke a field bound. The metrics interceptor records
// an INVALID_ARGUMENT for the call before the handler runs; once the caller is
// authenticated (Authorize: and its role is allowed), that INVALID_ARGUMENT is
// returned instead of the principal. So every handler that authenticates first
// thing rejects an out-of-bounds request before reading it, and a caller
// without a valid token (or with a role the method refuses) gets
// UNAUTHENTICATED (PERMISSION_DENIED) and learns nothing about the request's
// shape.

#include <initializer_list>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "common/server/principal.h"

namespace grpc {
class ServerContextBase;
}  // namespace grpc

namespace salesops {

class Authenticator {
 public:
  // Tokens file: one principal per line, '#' comments and blank lines ignored:
  //   <sha256 of the token, 64 lowercase hex> <principal name> <ROLE>
  //       [<org node id>]
  // e.g. produced by `printf %s "$TOKEN" | sha256sum`. Fields are separated by
  // spaces or tabs. A hash may appear once. Errors name the file and line
  // ("F:12: ..."): INVALID_ARGUMENT for a bad line, FAILED_PRECONDITION for an
  // unreadable file or one without principals. The file holds secrets'
  // digests: one that others may write (mode & 0022) or that everybody may
  // read (mode & 0004) is FAILED_PRECONDITION naming the file and its mode
  // (e.g. "0644"); owner-only 0600/0400 is right, and group-readable 0640/0440
  // is accepted (a Kubernetes secret volume with defaultMode 0440). The mode
  // is that of the file a symlink points to.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Authenticator>>
  FromTokensFile(const std::string& path);
  // For tests: keys are SHA-256 hex digests of tokens (see Sha256Hex); keys
  // that are not 64 lowercase hex digits never match.
  static std::unique_ptr<Authenticator> FromPrincipals(
      std::map<std::string /*sha256 hex*/, Principal>);
  // --auth=none: every caller is {"anonymous", kAdmin, ""}.
  static std::unique_ptr<Authenticator> None();

  // Reads "authorization: Bearer <token>"; UNAUTHENTICATED when missing,
  // malformed or unknown. The token is compared by its SHA-256 digest, in
  // constant time per known principal. Then the edge's INVALID_ARGUMENT for
  // this call, if one was recorded (bounds.h).
  [[nodiscard]] absl::StatusOr<Principal> Authenticate(
      const grpc::ServerContextBase& ctx) const;
  // Authenticates, then PERMISSION_DENIED unless the principal's role is one
  // of `allowed` (message names the method's allowed roles and the caller's
  // role), then the edge's INVALID_ARGUMENT for this call, if one was recorded
  // (bounds.h).
  [[nodiscard]] absl::StatusOr<Principal> Authorize(
      const grpc::ServerContextBase& ctx,
      std::initializer_list<Role> allowed) const {
    return Authorize(ctx,
                     absl::Span<const Role>(allowed.begin(), allowed.size()));
  }
  [[nodiscard]] absl::StatusOr<Principal> Authorize(
      const grpc::ServerContextBase& ctx, absl::Span<const Role> allowed) const;

  // Lowercase hex SHA-256 of `token` (64 characters).
  static std::string Sha256Hex(std::string_view token);

  // True for None().
  bool disabled() const { return disabled_; }

 private:
  struct Entry {
    unsigned char digest[32];
    Principal principal;
  };

  Authenticator() = default;

  // Authenticate without the edge's verdict.
  [[nodiscard]] absl::StatusOr<Principal> Identify(
      const grpc::ServerContextBase& ctx) const;

  bool disabled_ = false;
  std::vector<Entry> entries_;
};

}  // namespace salesops
