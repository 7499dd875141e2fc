// salesopsctl groups of the accounts service (SPEC.md §2): accounts,
// contacts, the customer's org chart, our sales org nodes and quotas.

#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/money/money.h"
#include "common/status/status.h"
#include "common/time/fiscal_calendar.h"
#include "tools/salesopsctl/cli.h"
#include "tools/salesopsctl/flags.h"
#include "tools/salesopsctl/output.h"

namespace salesops::ctl {
namespace {

// Deepest customer org chart printed (the server rejects cycles; this only
// bounds the recursion).
constexpr int kMaxChartDepth = 256;

absl::StatusOr<int64_t> ExpectedVersion(const Args& a) {
  return a.Int("expected-version", 0);
}

// ---- accounts ----

const std::vector<std::string> kAccountColumns = {
    "id",          "name",    "industry",           "owner_node_id",
    "tier",        "segment", "relationship_stage", "region",
    "external_id", "version"};

const std::vector<std::string> kAccountFields = {
    "name",      "industry", "size",         "ownership",  "region",
    "address",   "website",  "source",       "owner",      "tier",
    "potential", "share",    "relationship", "external-id"};

// The field each flag of `accounts update` writes (its update_mask).
const FlagPaths kAccountPaths = {{"name", "name"},
                                 {"industry", "industry"},
                                 {"size", "size_band"},
                                 {"ownership", "ownership_type"},
                                 {"region", "region"},
                                 {"address", "address"},
                                 {"website", "website"},
                                 {"source", "source_channel"},
                                 {"owner", "owner_node_id"},
                                 {"tier", "tier"},
                                 {"potential", "purchase_potential"},
                                 {"share", "share_of_wallet"},
                                 {"relationship", "relationship_stage"},
                                 {"external-id", "external_id"}};

// Sets the fields whose flags are given.
absl::Status ApplyAccountFlags(const Args& a, v1::Account* acc) {
  const std::pair<const char*, std::function<void(const std::string&)>>
      texts[] = {
          {"name", [&](const std::string& v) { acc->set_name(v); }},
          {"industry", [&](const std::string& v) { acc->set_industry(v); }},
          {"region", [&](const std::string& v) { acc->set_region(v); }},
          {"address", [&](const std::string& v) { acc->set_address(v); }},
          {"website", [&](const std::string& v) { acc->set_website(v); }},
          {"owner", [&](const std::string& v) { acc->set_owner_node_id(v); }},
          {"external-id",
           [&](const std::string& v) { acc->set_external_id(v); }},
      };
  for (const auto& [flag, set] : texts) {
    if (a.Has(flag)) {
      set(a.Get(flag));
    }
  }
  ASSIGN_OR_RETURN(const auto size, EnumFlag<v1::SizeBand>(a, "size"));
  if (size) {
    acc->set_size_band(*size);
  }
  ASSIGN_OR_RETURN(const auto own, EnumFlag<v1::OwnershipType>(a, "ownership"));
  if (own) {
    acc->set_ownership_type(*own);
  }
  ASSIGN_OR_RETURN(const auto source, EnumFlag<v1::SourceChannel>(a, "source"));
  if (source) {
    acc->set_source_channel(*source);
  }
  ASSIGN_OR_RETURN(const auto tier, EnumFlag<v1::AccountTier>(a, "tier"));
  if (tier) {
    acc->set_tier(*tier);
  }
  ASSIGN_OR_RETURN(const auto potential, EnumFlag<v1::Level>(a, "potential"));
  if (potential) {
    acc->set_purchase_potential(*potential);
  }
  ASSIGN_OR_RETURN(const auto share, EnumFlag<v1::Level>(a, "share"));
  if (share) {
    acc->set_share_of_wallet(*share);
  }
  ASSIGN_OR_RETURN(const auto rel,
                   EnumFlag<v1::RelationshipStage>(a, "relationship"));
  if (rel) {
    acc->set_relationship_stage(*rel);
  }
  return absl::OkStatus();
}

absl::Status AccountsCreate(const Args& a, Env& env) {
  RETURN_IF_ERROR(a.Required("name").status());
  v1::CreateAccountRequest req;
  RETURN_IF_ERROR(ApplyAccountFlags(a, req.mutable_account()));
  req.set_request_id(a.Get("request-id"));
  v1::Account resp;
  RETURN_IF_ERROR(Check(env.conn->accounts().CreateAccount(
      env.conn->Context().get(), req, &resp)));
  PrintOne(env, resp, kAccountColumns);
  return absl::OkStatus();
}

absl::StatusOr<v1::Account> GetAccount(Env& env, const std::string& id) {
  v1::GetAccountRequest req;
  req.set_id(id);
  v1::Account resp;
  RETURN_IF_ERROR(Check(
      env.conn->accounts().GetAccount(env.conn->Context().get(), req, &resp)));
  return resp;
}

absl::Status AccountsGet(const Args& a, Env& env) {
  ASSIGN_OR_RETURN(const std::string id, IdArg(a));
  ASSIGN_OR_RETURN(const v1::Account acc, GetAccount(env, id));
  PrintOne(env, acc, kAccountColumns);
  return absl::OkStatus();
}

absl::Status AccountsUpdate(const Args& a, Env& env) {
  ASSIGN_OR_RETURN(const std::string id, IdArg(a));
  ASSIGN_OR_RETURN(const int64_t expected, ExpectedVersion(a));
  ASSIGN_OR_RETURN(v1::Account acc, GetAccount(env, id));
  RETURN_IF_ERROR(ApplyAccountFlags(a, &acc));
  v1::UpdateAccountRequest req;
  *req.mutable_account() = acc;
  *req.mutable_update_mask() = FlagMask(a, kAccountPaths);
  // Without --expected-version, the version just read: a concurrent change
  // is not overwritten silently.
  req.set_expected_version(expected != 0 ? expected : acc.version());
  v1::Account resp;
  RETURN_IF_ERROR(Check(env.conn->accounts().UpdateAccount(
      env.conn->Context().get(), req, &resp)));
  PrintOne(env, resp, kAccountColumns);
  return absl::OkStatus();
}

absl::Status AccountsList(const Args& a, Env& env) {
  v1::ListAccountsRequest req;
  req.set_owner_node_id(a.Get("owner"));
  req.set_industry(a.Get("industry"));
  ASSIGN_OR_RETURN(const auto tier, EnumFlag<v1::AccountTier>(a, "tier"));
  if (tier) {
    req.set_tier(*tier);
  }
  ASSIGN_OR_RETURN(const auto segment,
                   EnumFlag<v1::AccountSegment>(a, "segment"));
  if (segment) {
    req.set_segment(*segment);
  }
  std::vector<v1::Account> rows;
  RETURN_IF_ERROR(Paged(
      a, env, [&](const v1::PageRequest& page) -> absl::StatusOr<std::string> {
        SetPage(page, &req);
        v1::ListAccountsResponse resp;
        RETURN_IF_ERROR(Check(env.conn->accounts().ListAccounts(
            env.conn->Context().get(), req, &resp)));
        rows.insert(rows.end(), resp.accounts().begin(), resp.accounts().end());
        return resp.next_page_token();
      }));
  PrintList(env, Pointers(rows), kAccountColumns);
  return absl::OkStatus();
}

// ---- contacts ----

const std::vector<std::string> kContactColumns = {
    "id",       "account_id", "name",          "title",  "department",
    "function", "level",      "reports_to_id", "status", "version"};

const std::vector<std::string> kContactFields = {
    "name",        "title", "department", "function",    "level",
    "reports-to",  "style", "depth",      "notes",       "birthday",
    "anniversary", "email", "phone",      "external-id", "status"};

// The field each flag of `contacts update` writes (its update_mask).
const FlagPaths kContactPaths = {{"name", "name"},
                                 {"title", "title"},
                                 {"department", "department"},
                                 {"function", "function"},
                                 {"level", "level"},
                                 {"reports-to", "reports_to_id"},
                                 {"style", "personal_style"},
                                 {"depth", "relationship_depth"},
                                 {"notes", "notes"},
                                 {"birthday", "birthday"},
                                 {"anniversary", "work_anniversary"},
                                 {"email", "email"},
                                 {"phone", "phone"},
                                 {"external-id", "external_id"},
                                 {"status", "status"}};

absl::Status ApplyContactFlags(const Args& a, v1::Contact* c) {
  const std::pair<const char*, std::function<void(const std::string&)>>
      texts[] = {
          {"name", [&](const std::string& v) { c->set_name(v); }},
          {"title", [&](const std::string& v) { c->set_title(v); }},
          {"department", [&](const std::string& v) { c->set_department(v); }},
          {"reports-to",
           [&](const std::string& v) { c->set_reports_to_id(v); }},
          {"notes", [&](const std::string& v) { c->set_notes(v); }},
          {"email", [&](const std::string& v) { c->set_email(v); }},
          {"phone", [&](const std::string& v) { c->set_phone(v); }},
          {"external-id", [&](const std::string& v) { c->set_external_id(v); }},
      };
  for (const auto& [flag, set] : texts) {
    if (a.Has(flag)) {
      set(a.Get(flag));
    }
  }
  ASSIGN_OR_RETURN(const auto function,
                   EnumFlag<v1::ContactFunction>(a, "function"));
  if (function) {
    c->set_function(*function);
  }
  ASSIGN_OR_RETURN(const auto level, EnumFlag<v1::ContactLevel>(a, "level"));
  if (level) {
    c->set_level(*level);
  }
  ASSIGN_OR_RETURN(const auto style, EnumFlag<v1::PersonalStyle>(a, "style"));
  if (style) {
    c->set_personal_style(*style);
  }
  ASSIGN_OR_RETURN(const auto depth,
                   EnumFlag<v1::RelationshipDepth>(a, "depth"));
  if (depth) {
    c->set_relationship_depth(*depth);
  }
  ASSIGN_OR_RETURN(const auto status, EnumFlag<v1::ContactStatus>(a, "status"));
  if (status) {
    c->set_status(*status);
  }
  ASSIGN_OR_RETURN(const auto birthday, a.Date("birthday"));
  if (birthday) {
    *c->mutable_birthday() = ToProto(*birthday);
  }
  ASSIGN_OR_RETURN(const auto anniversary, a.Date("anniversary"));
  if (anniversary) {
    *c->mutable_work_anniversary() = ToProto(*anniversary);
  }
  return absl::OkStatus();
}

absl::Status ContactsCreate(const Args& a, Env& env) {
  v1::CreateContactRequest req;
  ASSIGN_OR_RETURN(const std::string account, a.Required("account"));
  RETURN_IF_ERROR(a.Required("name").status());
  req.mutable_contact()->set_account_id(account);
  RETURN_IF_ERROR(ApplyContactFlags(a, req.mutable_contact()));
  req.set_request_id(a.Get("request-id"));
  v1::Contact resp;
  RETURN_IF_ERROR(Check(env.conn->accounts().CreateContact(
      env.conn->Context().get(), req, &resp)));
  PrintOne(env, resp, kContactColumns);
  return absl::OkStatus();
}

absl::StatusOr<v1::Contact> GetContact(Env& env, const std::string& id) {
  v1::GetContactRequest req;
  req.set_id(id);
  v1::Contact resp;
  RETURN_IF_ERROR(Check(
      env.conn->accounts().GetContact(env.conn->Context().get(), req, &resp)));
  return resp;
}

absl::Status ContactsGet(const Args& a, Env& env) {
  ASSIGN_OR_RETURN(const std::string id, IdArg(a));
  ASSIGN_OR_RETURN(const v1::Contact c, GetContact(env, id));
  PrintOne(env, c, kContactColumns);
  return absl::OkStatus();
}

absl::Status ContactsUpdate(const Args& a, Env& env) {
  ASSIGN_OR_RETURN(const std::string id, IdArg(a));
  ASSIGN_OR_RETURN(const int64_t expected, ExpectedVersion(a));
  ASSIGN_OR_RETURN(v1::Contact c, GetContact(env, id));
  RETURN_IF_ERROR(ApplyContactFlags(a, &c));
  v1::UpdateContactRequest req;
  *req.mutable_contact() = c;
  *req.mutable_update_mask() = FlagMask(a, kContactPaths);
  req.set_expected_version(expected != 0 ? expected : c.version());
  v1::Contact resp;
  RETURN_IF_ERROR(Check(env.conn->accounts().UpdateContact(
      env.conn->Context().get(), req, &resp)));
  PrintOne(env, resp, kContactColumns);
  return absl::OkStatus();
}

absl::Status ContactsList(const Args& a, Env& env) {
  v1::ListContactsRequest req;
  ASSIGN_OR_RETURN(const std::string account, a.Required("account"));
  req.set_account_id(account);
  ASSIGN_OR_RETURN(const auto status, EnumFlag<v1::ContactStatus>(a, "status"));
  if (status) {
    req.set_status(*status);
  }
  std::vector<v1::Contact> rows;
  RETURN_IF_ERROR(Paged(
      a, env, [&](const v1::PageRequest& page) -> absl::StatusOr<std::string> {
        SetPage(page, &req);
        v1::ListContactsResponse resp;
        RETURN_IF_ERROR(Check(env.conn->accounts().ListContacts(
            env.conn->Context().get(), req, &resp)));
        rows.insert(rows.end(), resp.contacts().begin(), resp.contacts().end());
        return resp.next_page_token();
      }));
  PrintList(env, Pointers(rows), kContactColumns);
  return absl::OkStatus();
}

// ---- the customer's org chart ----

// One row per contact, depth first; table: the name indented two spaces per
// level below its root.
void ChartRows(const v1::OrgChartNode& node, int depth, bool indent,
               std::vector<std::vector<std::string>>* rows) {
  const v1::Contact& c = node.contact();
  std::vector<std::string> row = {
      indent ? std::string(2 * depth, ' ') + c.name() : c.name(),
      c.title(),
      c.department(),
      FieldText(c, "function"),
      FieldText(c, "level"),
      FieldText(c, "status"),
      c.id()};
  if (!indent) {
    row.push_back(absl::StrCat(depth));
    row.push_back(c.reports_to_id());
  }
  rows->push_back(std::move(row));
  if (depth + 1 >= kMaxChartDepth) {
    return;
  }
  for (const v1::OrgChartNode& r : node.reports()) {
    ChartRows(r, depth + 1, indent, rows);
  }
}

absl::Status OrgChartShow(const Args& a, Env& env) {
  v1::GetOrgChartRequest req;
  ASSIGN_OR_RETURN(const std::string account, IdArg(a, "account"));
  req.set_account_id(account);
  ASSIGN_OR_RETURN(const bool include_left, a.Bool("include-left", false));
  req.set_include_left(include_left);
  v1::GetOrgChartResponse resp;
  RETURN_IF_ERROR(Check(
      env.conn->accounts().GetOrgChart(env.conn->Context().get(), req, &resp)));
  if (env.format == Format::kJson) {
    PrintOne(env, resp, {});
    return absl::OkStatus();
  }
  const bool indent = env.format == Format::kTable;
  std::vector<std::string> header = {
      "name", "title", "department", "function", "level", "status", "id"};
  if (!indent) {
    header.push_back("depth");
    header.push_back("reports_to_id");
  }
  std::vector<std::vector<std::string>> rows;
  for (const v1::OrgChartNode& root : resp.roots()) {
    ChartRows(root, 0, indent, &rows);
  }
  PrintCells(env, header, rows);
  return absl::OkStatus();
}

// ---- our sales org ----

const std::vector<std::string> kNodeColumns = {
    "id",          "parent_id", "kind", "name", "manager_principal",
    "external_id", "version"};

absl::Status OrgNodesCreate(const Args& a, Env& env) {
  v1::CreateOrgNodeRequest req;
  v1::OrgNode* n = req.mutable_node();
  ASSIGN_OR_RETURN(const std::string name, a.Required("name"));
  n->set_name(name);
  n->set_parent_id(a.Get("parent"));
  ASSIGN_OR_RETURN(const auto kind, EnumFlag<v1::OrgNodeKind>(a, "kind"));
  if (!kind) {
    return absl::InvalidArgumentError("--kind: required");
  }
  n->set_kind(*kind);
  n->set_manager_principal(a.Get("manager"));
  n->set_external_id(a.Get("external-id"));
  req.set_request_id(a.Get("request-id"));
  v1::OrgNode resp;
  RETURN_IF_ERROR(Check(env.conn->accounts().CreateOrgNode(
      env.conn->Context().get(), req, &resp)));
  PrintOne(env, resp, kNodeColumns);
  return absl::OkStatus();
}

absl::Status OrgNodesGet(const Args& a, Env& env) {
  ASSIGN_OR_RETURN(const std::string id, IdArg(a));
  v1::GetOrgNodeRequest req;
  req.set_id(id);
  v1::OrgNode resp;
  RETURN_IF_ERROR(Check(
      env.conn->accounts().GetOrgNode(env.conn->Context().get(), req, &resp)));
  PrintOne(env, resp, kNodeColumns);
  return absl::OkStatus();
}

absl::Status OrgNodesList(const Args& a, Env& env) {
  v1::ListOrgNodesRequest req;
  req.set_parent_id(a.Get("parent"));
  std::vector<v1::OrgNode> rows;
  RETURN_IF_ERROR(Paged(
      a, env, [&](const v1::PageRequest& page) -> absl::StatusOr<std::string> {
        SetPage(page, &req);
        v1::ListOrgNodesResponse resp;
        RETURN_IF_ERROR(Check(env.conn->accounts().ListOrgNodes(
            env.conn->Context().get(), req, &resp)));
        rows.insert(rows.end(), resp.nodes().begin(), resp.nodes().end());
        return resp.next_page_token();
      }));
  PrintList(env, Pointers(rows), kNodeColumns);
  return absl::OkStatus();
}

absl::Status OrgNodesMove(const Args& a, Env& env) {
  v1::MoveOrgNodeRequest req;
  ASSIGN_OR_RETURN(const std::string id, IdArg(a));
  ASSIGN_OR_RETURN(const std::string parent, a.Required("parent"));
  ASSIGN_OR_RETURN(const int64_t expected, ExpectedVersion(a));
  req.set_id(id);
  req.set_new_parent_id(parent);
  req.set_expected_version(expected);
  v1::OrgNode resp;
  RETURN_IF_ERROR(Check(
      env.conn->accounts().MoveOrgNode(env.conn->Context().get(), req, &resp)));
  PrintOne(env, resp, kNodeColumns);
  return absl::OkStatus();
}

// ---- quotas ----

struct QuarterArgs {
  std::string node;
  int32_t year = 0;
  int32_t quarter = 0;
};

absl::StatusOr<QuarterArgs> Quarter(const Args& a) {
  QuarterArgs q;
  ASSIGN_OR_RETURN(q.node, a.Required("node"));
  ASSIGN_OR_RETURN(const int64_t year, a.Int("year", 0));
  ASSIGN_OR_RETURN(const int64_t quarter, a.Int("quarter", 0));
  if (year < 1 || year > 9999) {
    return absl::InvalidArgumentError(
        "--year: required, the fiscal year (1..9999)");
  }
  if (quarter < 1 || quarter > 4) {
    return absl::InvalidArgumentError("--quarter: required, 1..4");
  }
  q.year = static_cast<int32_t>(year);
  q.quarter = static_cast<int32_t>(quarter);
  return q;
}

absl::Status QuotasSet(const Args& a, Env& env) {
  ASSIGN_OR_RETURN(const QuarterArgs q, Quarter(a));
  ASSIGN_OR_RETURN(const auto amount, a.Money("amount", Exponent(env)));
  if (!amount) {
    return absl::InvalidArgumentError("--amount: required");
  }
  ASSIGN_OR_RETURN(const int64_t expected, ExpectedVersion(a));
  v1::SetQuotaRequest req;
  req.set_node_id(q.node);
  req.set_fiscal_year(q.year);
  req.set_fiscal_quarter(q.quarter);
  *req.mutable_amount() = money::Make(*amount, env.currency);
  req.set_expected_version(expected);
  v1::Quota resp;
  RETURN_IF_ERROR(Check(
      env.conn->accounts().SetQuota(env.conn->Context().get(), req, &resp)));
  PrintOne(env, resp,
           {"node_id", "fiscal_year", "fiscal_quarter", "amount", "version"});
  return absl::OkStatus();
}

absl::Status QuotasGet(const Args& a, Env& env) {
  ASSIGN_OR_RETURN(const QuarterArgs q, Quarter(a));
  v1::GetQuotaRequest req;
  req.set_node_id(q.node);
  req.set_fiscal_year(q.year);
  req.set_fiscal_quarter(q.quarter);
  v1::GetQuotaResponse resp;
  RETURN_IF_ERROR(Check(
      env.conn->accounts().GetQuota(env.conn->Context().get(), req, &resp)));
  if (env.format == Format::kJson) {
    PrintOne(env, resp, {});
    return absl::OkStatus();
  }
  PrintCells(
      env,
      {"node_id", "fiscal_year", "fiscal_quarter", "explicit", "effective"},
      {{q.node, absl::StrCat(q.year), absl::StrCat(q.quarter),
        resp.has_explicit() ? FieldText(resp, "explicit") : "",
        FieldText(resp, "effective")}});
  return absl::OkStatus();
}

}  // namespace

void RegisterAccountsCommands(Registry& r) {
  const std::string account_flags =
      "[--industry=TEXT] [--owner=NODE] [--size=SMALL|MEDIUM|LARGE|ENTERPRISE] "
      "[--ownership=STATE_OWNED|PRIVATE|JOINT_VENTURE|LISTED|FOREIGN|OTHER] "
      "[--region=TEXT] [--address=TEXT] [--website=URL] "
      "[--source=ADVERTISING|TRADE_SHOW|REFERRAL|INBOUND|OUTBOUND|PARTNER] "
      "[--tier=PLATINUM|GOLD|SILVER|STANDARD] [--potential=HIGH|LOW] "
      "[--share=HIGH|LOW] "
      "[--relationship=NURTURING|INITIAL|MIDDLE|HIGH|STRATEGIC] "
      "[--external-id=KEY]";
  r.Add({"accounts", "create",
         "--name=TEXT " + account_flags + " [--request-id=KEY]",
         "Creates a customer account and prints it.",
         With(kAccountFields, {"request-id"}), AccountsCreate});
  r.Add({"accounts",
         "get",
         "--id=ACCOUNT",
         "Prints one account.",
         {"id"},
         AccountsGet});
  r.Add({"accounts", "list",
         "[--owner=NODE] [--industry=TEXT] [--tier=TIER] "
         "[--segment=ACQUIRE|RETAIN|MAINTAIN|DEPRIORITIZE] [--page-size=N "
         "[--page-token=T]]",
         "Lists accounts (every page unless --page-size).",
         With({"owner", "industry", "tier", "segment"}, kPageFlags),
         AccountsList});
  r.Add({"accounts", "update",
         "--id=ACCOUNT [--name=TEXT] " + account_flags +
             " [--expected-version=N]",
         "Changes the given fields of an account (the update_mask names "
         "exactly those fields; others stay) and prints it.",
         With(kAccountFields, {"id", "expected-version"}), AccountsUpdate});

  const std::string contact_flags =
      "[--title=TEXT] [--department=TEXT] "
      "[--function=PURCHASING|FINANCE|TECHNICAL|PRODUCTION|QUALITY|EXECUTIVE|"
      "SALES|OTHER] [--level=OPERATIONAL|MANAGEMENT|DECISION] "
      "[--reports-to=CONTACT] "
      "[--style=ANALYTICAL|ORGANIZED|INTERPERSONAL|IMAGINATIVE] "
      "[--depth=ACQUAINTED|ENGAGED|TRUSTED|ALLIED] [--notes=TEXT] "
      "[--birthday=YYYY-MM-DD] [--anniversary=YYYY-MM-DD] [--email=ADDR] "
      "[--phone=TEXT] [--external-id=KEY] [--status=ACTIVE|LEFT]";
  r.Add(
      {"contacts", "create",
       "--account=ACCOUNT --name=TEXT " + contact_flags + " [--request-id=KEY]",
       "Adds a contact to a customer's org chart and prints it.",
       With(kContactFields, {"account", "request-id"}), ContactsCreate});
  r.Add({"contacts",
         "get",
         "--id=CONTACT",
         "Prints one contact.",
         {"id"},
         ContactsGet});
  r.Add({"contacts", "list",
         "--account=ACCOUNT [--status=ACTIVE|LEFT] [--page-size=N "
         "[--page-token=T]]",
         "Lists the contacts of an account.",
         With({"account", "status"}, kPageFlags), ContactsList});
  r.Add({"contacts", "update",
         "--id=CONTACT [--name=TEXT] " + contact_flags +
             " [--expected-version=N]",
         "Changes the given fields of a contact (--status=LEFT when they "
         "leave; the update_mask names exactly those fields) and prints it.",
         With(kContactFields, {"id", "expected-version"}), ContactsUpdate});

  r.Add({"orgchart",
         "show",
         "--account=ACCOUNT [--include-left]",
         "Prints the customer's org chart as a tree (reports indented under "
         "their manager).",
         {"account", "include-left"},
         OrgChartShow});

  r.Add({"orgnodes",
         "create",
         "--kind=GLOBAL|REGION|AREA|TEAM|REP --name=TEXT [--parent=NODE] "
         "[--manager=PRINCIPAL] [--external-id=KEY] [--request-id=KEY]",
         "Creates a node of our sales organization and prints it.",
         {"kind", "name", "parent", "manager", "external-id", "request-id"},
         OrgNodesCreate});
  r.Add({"orgnodes",
         "get",
         "--id=NODE",
         "Prints one sales org node.",
         {"id"},
         OrgNodesGet});
  r.Add({"orgnodes", "list", "[--parent=NODE] [--page-size=N [--page-token=T]]",
         "Lists the children of a node, or every node.",
         With({"parent"}, kPageFlags), OrgNodesList});
  r.Add({"orgnodes",
         "move",
         "--id=NODE --parent=NEW_PARENT [--expected-version=N]",
         "Moves a node under another parent (a re-org) and prints it.",
         {"id", "parent", "expected-version"},
         OrgNodesMove});

  r.Add({"quotas",
         "set",
         "--node=NODE --year=YYYY --quarter=1..4 --amount=MAJOR_UNITS "
         "[--expected-version=N]",
         "Sets a node's quota for a fiscal quarter and prints it.",
         {"node", "year", "quarter", "amount", "expected-version"},
         QuotasSet});
  r.Add({"quotas",
         "get",
         "--node=NODE --year=YYYY --quarter=1..4",
         "Prints a node's explicit and effective quota for a fiscal quarter.",
         {"node", "year", "quarter"},
         QuotasGet});
}

}  // namespace salesops::ctl
