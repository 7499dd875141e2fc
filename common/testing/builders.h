#pragma once

// Proto builders shared by every test (services' unit tests, tests/ end-to-end
// suites, fuzz targets): one definition each instead of a copy per file.
// Header-only; needs the accounts proto (salesops_accounts_proto, which brings
// common.proto).

#include <cstdint>
#include <string>
#include <utility>

#include "salesops/v1/accounts.pb.h"
#include "salesops/v1/common.pb.h"

namespace salesops::testing {

// An amount in minor units of `currency`.
inline v1::Money Money(int64_t minor, std::string currency) {
  v1::Money m;
  m.set_units_minor(minor);
  m.set_currency(std::move(currency));
  return m;
}

// An amount in euro cents: the demo's and the tests' currency.
inline v1::Money Eur(int64_t minor) { return Money(minor, "EUR"); }

inline v1::Date Day(int year, int month, int day) {
  v1::Date d;
  d.set_year(year);
  d.set_month(month);
  d.set_day(day);
  return d;
}

// An org node as accounts would publish it: named after its id unless
// `name` is given, version 1 unless `version` is.
inline v1::OrgNode OrgNodeProto(const std::string& id,
                                const std::string& parent, v1::OrgNodeKind kind,
                                std::string name = "", int64_t version = 1) {
  v1::OrgNode n;
  n.set_id(id);
  n.set_parent_id(parent);
  n.set_kind(kind);
  n.set_name(name.empty() ? id : std::move(name));
  n.set_version(version);
  return n;
}

}  // namespace salesops::testing
