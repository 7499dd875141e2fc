#pragma once

// The accounts service's tables and indexes in its own RocksDB (ARCHITECTURE.md
// §3). Column families: "entities" (accounts, contacts, org nodes, quotas,
// exchange rates, one tag each) and "index" (secondary indexes, written in the
// same transaction as their entity).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/store/store.h"
#include "common/store/table.h"
#include "salesops/v1/accounts.pb.h"

namespace salesops::accounts {

enum class Cf { kEntities = 0, kIndex = 1 };
const std::vector<std::string>& ColumnFamilies();

// Feed event kinds.
inline constexpr char kAccountKind[] = "accounts.Account";
inline constexpr char kContactKind[] = "accounts.Contact";
inline constexpr char kOrgNodeKind[] = "accounts.OrgNode";
inline constexpr char kQuotaKind[] = "accounts.Quota";
inline constexpr char kExchangeRateKind[] = "accounts.ExchangeRate";

struct AccountsStore {
  explicit AccountsStore(Store* store);

  Store* store;
  Table<v1::Account> accounts;
  Table<v1::Contact> contacts;
  Table<v1::OrgNode> nodes;
  Table<v1::Quota> quotas;  // id = QuotaId(node, year, quarter)
  // id = ExchangeRateId(currency, start) ("USD/2026-01-01"): by currency,
  // then start date.
  Table<v1::ExchangeRate> exchange_rates;

  UniqueIndex account_by_name;  // NormalizeName(name) → account id
  UniqueIndex account_by_external_id;
  UniqueIndex contact_by_external_id;
  UniqueIndex node_by_external_id;
  UniqueIndex root_node;  // "" → the id of the one root org node
  MultiIndex accounts_by_owner;
  MultiIndex contacts_by_account;
  MultiIndex nodes_by_parent;  // parent id ("" for the root) → child ids

  // Names compare case-insensitively after trimming: "  Acme " == "ACME".
  static std::string NormalizeName(std::string_view name);
  // "<node id>/<year>/Q<quarter>": sorts a node's quotas by period.
  static std::string QuotaId(std::string_view node_id, int32_t year,
                             int32_t quarter);
};

}  // namespace salesops::accounts
