#include "tools/salesopsctl/flags.h"

#include <ostream>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/money/money.h"
#include "common/status/status.h"

namespace salesops::ctl {

using google::protobuf::EnumDescriptor;
using google::protobuf::EnumValueDescriptor;

const std::vector<std::string> kPageFlags = {"page-size", "page-token"};

absl::StatusOr<std::string> IdArg(const Args& a, const std::string& flag) {
  if (!a.Get(flag).empty()) {
    return a.Get(flag);
  }
  if (a.positional().size() > 2 && !a.positional()[2].empty()) {
    return a.positional()[2];
  }
  return absl::InvalidArgumentError(absl::StrCat("--", flag, ": required"));
}

google::protobuf::FieldMask FlagMask(const Args& a, const FlagPaths& paths) {
  google::protobuf::FieldMask mask;
  for (const auto& [flag, path] : paths) {
    if (a.Has(flag)) {
      mask.add_paths(path);
    }
  }
  return mask;
}

std::vector<std::string> With(std::vector<std::string> a,
                              const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

absl::StatusOr<int> IntFlag(const Args& args, const std::string& name,
                            int64_t fallback, int64_t min, int64_t max) {
  ASSIGN_OR_RETURN(const int64_t v, args.Int(name, fallback));
  if (v < min || v > max) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", name, ": must be ", min, "..", max));
  }
  return static_cast<int>(v);
}

absl::StatusOr<std::optional<v1::Money>> MoneyFlag(const Args& args,
                                                   const std::string& name,
                                                   const Env& env,
                                                   bool required) {
  ASSIGN_OR_RETURN(const std::optional<int64_t> v,
                   args.Money(name, Exponent(env)));
  if (!v.has_value()) {
    if (required) {
      return absl::InvalidArgumentError(absl::StrCat("--", name, ": required"));
    }
    return std::optional<v1::Money>();
  }
  return std::optional<v1::Money>(money::Make(*v, env.currency));
}

std::string EnumPrefix(const EnumDescriptor* d) {
  std::string prefix;
  for (char c : d->name()) {
    if (absl::ascii_isupper(static_cast<unsigned char>(c)) && !prefix.empty()) {
      prefix += '_';
    }
    prefix += absl::ascii_toupper(static_cast<unsigned char>(c));
  }
  return prefix + "_";
}

std::string EnumShortName(const EnumValueDescriptor* v) {
  const std::string prefix = EnumPrefix(v->type());
  const std::string& name = v->name();
  return name.rfind(prefix, 0) == 0 ? name.substr(prefix.size()) : name;
}

const EnumValueDescriptor* ParseEnum(const EnumDescriptor* d,
                                     const std::string& text,
                                     std::string* choices) {
  std::string want = absl::AsciiStrToUpper(text);
  for (char& c : want) {
    if (c == '-') {
      c = '_';
    }
  }
  std::vector<std::string> names;
  for (int i = 0; i < d->value_count(); ++i) {
    const EnumValueDescriptor* v = d->value(i);
    if (v->number() == 0) {
      continue;
    }
    const std::string short_name = EnumShortName(v);
    if (want == v->name() || want == short_name) {
      return v;
    }
    names.push_back(short_name);
  }
  if (choices != nullptr) {
    *choices = absl::StrJoin(names, ", ");
  }
  return nullptr;
}

absl::StatusOr<const EnumValueDescriptor*> EnumFlagValue(
    const Args& a, const std::string& flag, const EnumDescriptor* d) {
  if (!a.Has(flag)) {
    return nullptr;
  }
  std::string choices;
  const EnumValueDescriptor* v = ParseEnum(d, a.Get(flag), &choices);
  if (v == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--", flag, ": must be one of ", choices, "; got ", a.Get(flag)));
  }
  return v;
}

absl::CivilDay Today() {
  return absl::ToCivilDay(absl::Now(), absl::LocalTimeZone());
}

int Exponent(const Env& env) { return money::CurrencyExponent(env.currency); }

std::string MoneyText(const v1::Money& m, const Env& env) {
  const int exponent = m.currency().empty()
                           ? Exponent(env)
                           : money::CurrencyExponent(m.currency());
  return money::Format(m.units_minor(), exponent);
}

std::string TimeText(int64_t micros) {
  if (micros == 0) {
    return "";
  }
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixMicros(micros),
                          absl::UTCTimeZone());
}

std::string Percent(int64_t bp) { return money::Format(bp, 2) + "%"; }

void Blank(Env& env) {
  *env.out << (env.format == Format::kCsv ? "\r\n" : "\n");
}

absl::Status AllPages(const PageFetch& fetch, int max_pages,
                      absl::Status at_limit, const std::string& first_token) {
  v1::PageRequest page;
  page.set_page_size(kPageSize);
  page.set_page_token(first_token);
  for (int i = 0; i < max_pages; ++i) {
    ASSIGN_OR_RETURN(const std::string next, fetch(page));
    if (next.empty()) {
      return absl::OkStatus();
    }
    page.set_page_token(next);
  }
  return at_limit;
}

absl::Status Paged(const Args& a, Env& env, const PageFetch& fetch) {
  if (!a.Has("page-size")) {
    return AllPages(fetch, kMaxPages,
                    absl::ResourceExhaustedError(absl::StrCat(
                        "more than ", kMaxPages, " pages; use --page-size")),
                    a.Get("page-token"));
  }
  ASSIGN_OR_RETURN(const int64_t size, a.Int("page-size", 0));
  if (size < 1 || size > kPageSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("--page-size: must be 1..", kPageSize));
  }
  v1::PageRequest page;
  page.set_page_size(static_cast<int32_t>(size));
  page.set_page_token(a.Get("page-token"));
  ASSIGN_OR_RETURN(const std::string next, fetch(page));
  if (!next.empty()) {
    *env.err << "next page: --page-token=" << next << "\n";
  }
  return absl::OkStatus();
}

}  // namespace salesops::ctl
