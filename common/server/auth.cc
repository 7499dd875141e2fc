#include "common/server/auth.h"

#include <grpcpp/server_context.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "common/log/log.h"
#include "common/server/bounds.h"
#include "common/status/errors.h"

namespace salesops {
namespace {

absl::string_view ToAbsl(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}

std::optional<Role> ParseRole(absl::string_view name) {
  for (Role r : AllRoles()) {
    if (ToAbsl(RoleName(r)) == name) {
      return r;
    }
  }
  return std::nullopt;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  return -1;
}

// 64 lowercase hex digits → 32 bytes.
bool DecodeDigest(absl::string_view hex, unsigned char out[32]) {
  if (hex.size() != 64) {
    return false;
  }
  for (size_t i = 0; i < 32; ++i) {
    const int hi = HexValue(hex[2 * i]);
    const int lo = HexValue(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      return false;
    }
    out[i] = static_cast<unsigned char>(hi * 16 + lo);
  }
  return true;
}

bool Sha256(absl::string_view data, unsigned char out[32]) {
  unsigned int len = 0;
  return EVP_Digest(data.data(), data.size(), out, &len, EVP_sha256(),
                    nullptr) == 1 &&
         len == 32;
}

}  // namespace

std::string Authenticator::Sha256Hex(std::string_view token) {
  unsigned char digest[32];
  if (!Sha256(ToAbsl(token), digest)) {
    return "";
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(64);
  for (unsigned char b : digest) {
    hex.push_back(kHex[b >> 4]);
    hex.push_back(kHex[b & 0xf]);
  }
  return hex;
}

namespace {

// A tokens file others may write, or everybody may read, is refused: anyone
// who can write it can make themselves ADMIN, and token digests of short or
// guessable tokens can be brute-forced offline. Group-read is allowed for
// Kubernetes secret volumes (defaultMode 0440, group = the pod's fsGroup).
absl::Status CheckTokensFileMode(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot read tokens file ", path, ": ", std::strerror(errno)));
  }
  const unsigned mode = st.st_mode & 07777;
  if ((mode & 0022) != 0 || (mode & 0004) != 0) {
    char octal[8];
    std::snprintf(octal, sizeof(octal), "%04o", mode);
    return absl::FailedPreconditionError(absl::StrCat(
        "tokens file ", path, " has mode ", octal,
        ": it must not be writable by group or others nor readable by others "
        "(chmod 0600, or 0640/0440 for a group such as a Kubernetes fsGroup)"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<Authenticator>> Authenticator::FromTokensFile(
    const std::string& path) {
  if (absl::Status s = CheckTokensFileMode(path); !s.ok()) {
    return s;
  }
  std::ifstream in(path);
  if (!in) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot read tokens file ", path, ": ", std::strerror(errno)));
  }
  std::unique_ptr<Authenticator> auth(new Authenticator());
  std::map<std::string, int> line_of_hash;
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    const absl::string_view text = absl::StripAsciiWhitespace(line);
    if (text.empty() || text.front() == '#') {
      continue;
    }
    auto bad = [&](absl::string_view why) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ":", line_no, ": ", why,
                       " (expected '<sha256 hex> <name> <ROLE> [<org node "
                       "id>]')"));
    };
    std::vector<absl::string_view> fields =
        absl::StrSplit(text, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    if (fields.size() < 3 || fields.size() > 4) {
      return bad(absl::StrCat("has ", fields.size(), " fields"));
    }
    Entry entry;
    if (!DecodeDigest(fields[0], entry.digest)) {
      return bad(
          "the first field is not a SHA-256 digest in 64 lowercase hex "
          "digits");
    }
    std::optional<Role> role = ParseRole(fields[2]);
    if (!role.has_value()) {
      return bad(absl::StrCat("unknown role \"", fields[2],
                              "\"; roles are ADMIN, MANAGER, REP, FINANCE, "
                              "SERVICE"));
    }
    // Names are copied into entities (changed_by) and audit records, which
    // keep within their own bounds.
    if (fields[1].size() > 128 ||
        (fields.size() == 4 && fields[3].size() > 128)) {
      return bad("a principal name or org node id is longer than 128 bytes");
    }
    entry.principal.name = std::string(fields[1]);
    entry.principal.role = *role;
    if (fields.size() == 4) {
      entry.principal.org_node_id = std::string(fields[3]);
    } else if (*role == Role::kManager || *role == Role::kRep) {
      return bad(absl::StrCat("role ", fields[2],
                              " needs an org node id (its data scope)"));
    }
    auto [it, inserted] = line_of_hash.emplace(std::string(fields[0]), line_no);
    if (!inserted) {
      return bad(
          absl::StrCat("the token hash already appears on line ", it->second));
    }
    auth->entries_.push_back(std::move(entry));
  }
  if (in.bad()) {
    return absl::FailedPreconditionError(
        absl::StrCat("error reading tokens file ", path));
  }
  if (auth->entries_.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "tokens file ", path, " defines no principals; nobody could call"));
  }
  return auth;
}

std::unique_ptr<Authenticator> Authenticator::FromPrincipals(
    std::map<std::string, Principal> principals) {
  std::unique_ptr<Authenticator> auth(new Authenticator());
  for (auto& [hex, principal] : principals) {
    Entry entry;
    if (!DecodeDigest(hex, entry.digest)) {
      log::Warn("ignoring principal with a malformed token hash",
                {{"principal", principal.name}});
      continue;
    }
    entry.principal = std::move(principal);
    auth->entries_.push_back(std::move(entry));
  }
  return auth;
}

std::unique_ptr<Authenticator> Authenticator::None() {
  std::unique_ptr<Authenticator> auth(new Authenticator());
  auth->disabled_ = true;
  return auth;
}

absl::StatusOr<Principal> Authenticator::Authenticate(
    const grpc::ServerContextBase& ctx) const {
  absl::StatusOr<Principal> principal = Identify(ctx);
  if (!principal.ok()) {
    return principal;
  }
  if (absl::Status edge = EdgeRejection(&ctx); !edge.ok()) {
    return edge;
  }
  return principal;
}

absl::StatusOr<Principal> Authenticator::Identify(
    const grpc::ServerContextBase& ctx) const {
  if (disabled_) {
    return Principal{"anonymous", Role::kAdmin, ""};
  }
  const auto& metadata = ctx.client_metadata();
  auto range = metadata.equal_range("authorization");
  if (range.first == range.second) {
    return absl::UnauthenticatedError(
        "missing \"authorization: Bearer <token>\" metadata");
  }
  if (std::next(range.first) != range.second) {
    return absl::UnauthenticatedError(
        "more than one \"authorization\" metadata entry");
  }
  const absl::string_view value(range.first->second.data(),
                                range.first->second.size());
  constexpr absl::string_view kScheme = "bearer ";
  if (value.size() <= kScheme.size() ||
      !absl::EqualsIgnoreCase(value.substr(0, kScheme.size()), kScheme)) {
    return absl::UnauthenticatedError(
        "\"authorization\" metadata is not \"Bearer <token>\"");
  }
  const absl::string_view token =
      absl::StripAsciiWhitespace(value.substr(kScheme.size()));
  if (token.empty()) {
    return absl::UnauthenticatedError("empty bearer token");
  }
  unsigned char digest[32];
  if (!Sha256(token, digest)) {
    return absl::InternalError("SHA-256 failed");
  }
  // Compare with every entry, without stopping early, so the time taken does
  // not depend on which (if any) principal the token belongs to.
  const Entry* match = nullptr;
  for (const Entry& e : entries_) {
    const bool equal = CRYPTO_memcmp(e.digest, digest, sizeof(digest)) == 0;
    if (equal && match == nullptr) {
      match = &e;
    }
  }
  if (match == nullptr) {
    return absl::UnauthenticatedError("unknown bearer token");
  }
  return match->principal;
}

absl::StatusOr<Principal> Authenticator::Authorize(
    const grpc::ServerContextBase& ctx, absl::Span<const Role> allowed) const {
  absl::StatusOr<Principal> principal = Identify(ctx);
  if (!principal.ok()) {
    return principal;
  }
  for (Role r : allowed) {
    if (r == principal->role) {
      if (absl::Status edge = EdgeRejection(&ctx); !edge.ok()) {
        return edge;
      }
      return principal;
    }
  }
  std::vector<absl::string_view> names;
  for (Role r : allowed) {
    names.push_back(ToAbsl(RoleName(r)));
  }
  return WithReason(
      absl::PermissionDeniedError(absl::StrCat(
          "this method allows roles ",
          names.empty() ? "(none)" : absl::StrJoin(names, ", "), "; caller \"",
          principal->name, "\" has role ", ToAbsl(RoleName(principal->role)))),
      "ROLE_NOT_ALLOWED");
}

}  // namespace salesops
