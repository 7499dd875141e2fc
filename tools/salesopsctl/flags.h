#pragma once

// Helpers shared by the command groups of salesopsctl (the *_commands.cc
// files): reading command flags (entity ids, enums by short name, money,
// bounded integers), printing money, and walking the pages of a List RPC.
// Dates go to the API with salesops::ToProto (common/time/fiscal_calendar.h).

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/field_mask.pb.h"
#include "google/protobuf/generated_enum_reflection.h"
#include "google/protobuf/message.h"
#include "salesops/v1/common.pb.h"
#include "tools/salesopsctl/cli.h"

namespace salesops::ctl {

// ---- flags ----

// The entity id: --<flag>, or the word after the verb
// (`salesopsctl accounts get acc_1`). INVALID_ARGUMENT "--<flag>: required"
// when neither is given.
[[nodiscard]] absl::StatusOr<std::string> IdArg(const Args& a,
                                                const std::string& flag = "id");

// The update_mask an `… update` command sends (AIP-134, docs/API.md
// "Partial updates"): the field path of each {flag, path} pair whose flag
// `a` gives, in the order of `paths`. Only those fields change.
using FlagPaths = std::vector<std::pair<std::string, std::string>>;
google::protobuf::FieldMask FlagMask(const Args& a, const FlagPaths& paths);

// `a` followed by `b` (flag lists of Command).
std::vector<std::string> With(std::vector<std::string> a,
                              const std::vector<std::string>& b);

// A whole-number flag in min..max; absent → fallback. INVALID_ARGUMENT
// "--<name>: must be MIN..MAX" otherwise.
[[nodiscard]] absl::StatusOr<int> IntFlag(const Args& args,
                                          const std::string& name,
                                          int64_t fallback, int64_t min,
                                          int64_t max);

// A Money flag in major units of the instance currency (env.currency).
// Absent → nullopt, or with `required` INVALID_ARGUMENT "--<name>: required".
[[nodiscard]] absl::StatusOr<std::optional<v1::Money>> MoneyFlag(
    const Args& args, const std::string& name, const Env& env, bool required);

// ---- enums by short name ----
//
// The short name of an enum value is its name without the prefix that the
// enum's type name gives it in upper snake case: OPPORTUNITY_STATUS_OPEN of
// OpportunityStatus → OPEN.

// "OrgNodeKind" → "ORG_NODE_KIND_", the prefix of every value's name.
std::string EnumPrefix(const google::protobuf::EnumDescriptor* d);

// The value's name without EnumPrefix (the whole name when it lacks it).
std::string EnumShortName(const google::protobuf::EnumValueDescriptor* v);

// The value of `d` named `text`: its short or full name, case-insensitive,
// '-' for '_'; never the 0 (UNSPECIFIED) value. nullptr when none matches,
// and then `*choices` (when not null) lists the short names ("A, B, C").
const google::protobuf::EnumValueDescriptor* ParseEnum(
    const google::protobuf::EnumDescriptor* d, const std::string& text,
    std::string* choices = nullptr);

// Enum flag --<flag> parsed with ParseEnum: absent → nullptr; unknown →
// INVALID_ARGUMENT "--<flag>: must be one of A, B; got <text>".
[[nodiscard]] absl::StatusOr<const google::protobuf::EnumValueDescriptor*>
EnumFlagValue(const Args& a, const std::string& flag,
              const google::protobuf::EnumDescriptor* d);

// The same for the enum type E ("--kind=rep" → ORG_NODE_KIND_REP); absent →
// nullopt.
template <typename E>
[[nodiscard]] absl::StatusOr<std::optional<E>> EnumFlag(
    const Args& a, const std::string& flag) {
  absl::StatusOr<const google::protobuf::EnumValueDescriptor*> v =
      EnumFlagValue(a, flag, google::protobuf::GetEnumDescriptor<E>());
  if (!v.ok()) {
    return v.status();
  }
  if (*v == nullptr) {
    return std::optional<E>();
  }
  return std::optional<E>(static_cast<E>((*v)->number()));
}

// ---- dates and money ----

// Today in the local time zone.
absl::CivilDay Today();

// Decimals of the instance currency (env.currency).
int Exponent(const Env& env);

// A Money's decimal text in its own currency (the instance's when unset).
std::string MoneyText(const v1::Money& m, const Env& env);

// Basis points as a percentage with two decimals: 7296 → "72.96%".
std::string Percent(int64_t bp);

// Unix microseconds as UTC "2026-11-29T19:30:00Z" ("" for 0).
std::string TimeText(int64_t micros);

// ---- output ----

// The line between two tables of one command (CRLF in csv).
void Blank(Env& env);

// Pointers to the messages of a container (a vector or a repeated field), for
// PrintList.
template <typename C>
std::vector<const google::protobuf::Message*> Pointers(const C& rows) {
  std::vector<const google::protobuf::Message*> out;
  out.reserve(rows.size());
  for (const auto& r : rows) {
    out.push_back(&r);
  }
  return out;
}

// ---- paging ----

// Rows asked for in one page (the servers' maximum) and the most pages a full
// listing follows by default.
inline constexpr int kPageSize = 1000;
inline constexpr int kMaxPages = 10000;

// The flags every list command with --page-size takes (see Paged).
extern const std::vector<std::string> kPageFlags;

// One call of a List RPC: asks for `page` and returns the next page token
// ("" after the last page).
using PageFetch =
    std::function<absl::StatusOr<std::string>(const v1::PageRequest&)>;

// Sets `page` as the AIP-158 top-level page_size and page_token of the List
// request `req` (the nested `page` of v0.1.0 is deprecated).
template <typename Req>
void SetPage(const v1::PageRequest& page, Req* req) {
  req->set_page_size(page.page_size());
  req->set_page_token(page.page_token());
}

// Follows next_page_token from `first_token` with pages of kPageSize: OK when
// `fetch` returns "" (the listing ended), `fetch`'s error as is, and
// `at_limit` after `max_pages` calls that all returned a token (OK to accept
// the listing read so far).
[[nodiscard]] absl::Status AllPages(const PageFetch& fetch, int max_pages,
                                    absl::Status at_limit,
                                    const std::string& first_token = "");

// A list command's paging (kPageFlags): every page from --page-token (at most
// kMaxPages, else RESOURCE_EXHAUSTED "more than N pages; use --page-size"),
// or with --page-size=1..kPageSize only that one page, telling on stderr how
// to get the next ("next page: --page-token=T").
[[nodiscard]] absl::Status Paged(const Args& a, Env& env,
                                 const PageFetch& fetch);

}  // namespace salesops::ctl
