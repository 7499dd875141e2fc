#include "services/accounts/accounts_store.h"

#include "services/accounts/account_rules.h"
#include "services/accounts/quota_rules.h"

namespace salesops::accounts {
namespace {

// Tags inside Cf::kEntities.
constexpr uint8_t kAccountTag = 1;
constexpr uint8_t kContactTag = 2;
constexpr uint8_t kOrgNodeTag = 3;
constexpr uint8_t kQuotaTag = 4;
constexpr uint8_t kExchangeRateTag = 5;
// Tags inside Cf::kIndex. Never reuse a number.
constexpr uint8_t kAccountByName = 1;
constexpr uint8_t kAccountByExternalId = 2;
constexpr uint8_t kContactByExternalId = 3;
constexpr uint8_t kNodeByExternalId = 4;
constexpr uint8_t kRootNode = 5;
constexpr uint8_t kAccountsByOwner = 6;
constexpr uint8_t kContactsByAccount = 7;
constexpr uint8_t kNodesByParent = 8;

}  // namespace

const std::vector<std::string>& ColumnFamilies() {
  static const auto* names = new std::vector<std::string>{"entities", "index"};
  return *names;
}

AccountsStore::AccountsStore(Store* s)
    : store(s),
      accounts(s, Cf::kEntities, kAccountTag, kAccountKind, "account"),
      contacts(s, Cf::kEntities, kContactTag, kContactKind, "contact"),
      nodes(s, Cf::kEntities, kOrgNodeTag, kOrgNodeKind, "org node"),
      quotas(s, Cf::kEntities, kQuotaTag, kQuotaKind, "quota"),
      exchange_rates(s, Cf::kEntities, kExchangeRateTag, kExchangeRateKind,
                     "exchange rate"),
      account_by_name(Cf::kIndex, kAccountByName, "account"),
      account_by_external_id(Cf::kIndex, kAccountByExternalId, "account"),
      contact_by_external_id(Cf::kIndex, kContactByExternalId, "contact"),
      node_by_external_id(Cf::kIndex, kNodeByExternalId, "org node"),
      root_node(Cf::kIndex, kRootNode),
      accounts_by_owner(Cf::kIndex, kAccountsByOwner),
      contacts_by_account(Cf::kIndex, kContactsByAccount),
      nodes_by_parent(Cf::kIndex, kNodesByParent) {}

std::string AccountsStore::NormalizeName(std::string_view name) {
  return NormalizeAccountName(name);
}

std::string AccountsStore::QuotaId(std::string_view node_id, int32_t year,
                                   int32_t quarter) {
  return QuotaKey(node_id, year, quarter);
}

}  // namespace salesops::accounts
