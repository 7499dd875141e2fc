#pragma once

// Trees of ids for the accounts service (SPEC.md §2.2, §2.3): the customer's
// contact org chart (a reports-to forest per account), the cycle check used by
// every write that re-parents something (a contact's reports_to, MoveOrgNode),
// and the effective quotas of our sales hierarchy.
//
// Pure logic: no storage, no protobuf. All functions are deterministic; every
// list they return is ordered by id ascending (ids are time-ordered, so this is
// creation order). No function recurses on the depth of a tree, so deep chains
// are fine (destroying a ChartNode does recurse, as nested vectors do).

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace salesops::accounts {

// The most ancestors CheckNoCycle walks before it gives up. Real hierarchies
// are a handful of levels deep (global → region → area → team → rep); a longer
// walk means corrupt data.
inline constexpr int kMaxTreeDepth = 10000;

// ---------------------------------------------------------------------------
// Contact org chart (SPEC.md §2.2).

// One contact's reports-to link.
struct ContactLink {
  std::string id;             // the contact's id; non-empty, unique in a call
  std::string reports_to_id;  // the manager's contact id; "" = a root
};

// A contact with its direct reports.
struct ChartNode {
  std::string id;
  std::vector<ChartNode> reports;  // ordered by id ascending
};

// Builds the org-chart forest of `links` (the contacts of one account).
//   * Roots, and each node's reports, are ordered by id ascending.
//   * A contact whose reports_to_id is "" is a root. So is one whose
//     reports_to_id names an id that is not in `links` (its manager was not
//     given, e.g. the caller filtered it out): the chart shows what it has
//     rather than failing.
//   * Empty `links` → an empty forest.
// Errors:
//   INVALID_ARGUMENT "links[3].id: required" (empty id),
//   INVALID_ARGUMENT "links[3].id: duplicates links[1] (c-7)";
//   FAILED_PRECONDITION "reports-to cycle: c-2 -> c-5 -> c-2" when the links
//     contain a cycle (a contact reporting to itself is "c-2 -> c-2"). Writes
//     prevent cycles (CheckNoCycle), so this only happens with corrupt data.
//     The cycle reported is the one reached from the smallest id not under a
//     root, written from its smallest id in reports-to order.
[[nodiscard]] absl::StatusOr<std::vector<ChartNode>> BuildForest(
    std::vector<ContactLink> links);

// Checks that making `new_parent` the parent (manager, parent org node) of
// `node` creates no cycle. Walks up from `new_parent` through `parent_of`,
// which returns a node's parent id, "" for a root, or nullopt for an id it
// does not know.
//   * new_parent == "" (make `node` a root) → OK without calling parent_of.
//   * `node` reached (new_parent is node itself or one of its descendants) →
//     INVALID_ARGUMENT "<field>: <new_parent> is <node> itself or reports to
//     it (cycle)".
//   * parent_of(new_parent) == nullopt → INVALID_ARGUMENT "<field>:
//     <new_parent> does not exist". (Callers that want NOT_FOUND check
//     existence first.) An unknown id higher up ends the walk like a root,
//     the way BuildForest treats a dangling link.
//   * An existing cycle above new_parent that does not contain `node`, or more
//     than kMaxTreeDepth steps → FAILED_PRECONDITION "<field>: the hierarchy
//     above <new_parent> is too deep or corrupt (...)", so corrupt data cannot
//     loop forever.
// Calls parent_of at most kMaxTreeDepth + 1 times.
[[nodiscard]] absl::Status CheckNoCycle(
    const std::function<std::optional<std::string>(const std::string&)>&
        parent_of,
    const std::string& node, const std::string& new_parent,
    std::string_view field);

// ---------------------------------------------------------------------------
// Sales hierarchy effective quotas (SPEC.md §2.3).

// One org node with its explicit quota for one fiscal quarter.
struct QuotaNode {
  std::string id;         // non-empty, unique in a call
  std::string parent_id;  // "" = root
  // Minor units of the quota's currency, >= 0 (callers sum only quotas of one
  // currency: quota_rules.h AnswerQuota); nullopt = no explicit quota.
  std::optional<int64_t> explicit_quota_minor;
};

// The effective quota (minor units) of every node, keyed by id:
//   * its explicit quota if set (even if its children's quotas add up to
//     something else: the explicit value wins),
//   * else the sum of its children's effective quotas,
//   * so 0 for a leaf without an explicit quota.
// A parent_id not among `nodes` makes the node a root of the computation, so a
// caller may pass a subtree. Computed bottom-up without recursion.
// Errors:
//   INVALID_ARGUMENT "nodes[2].id: required" / "nodes[2].id: duplicates
//     nodes[0] (n-1)" / "nodes[2].explicit_quota_minor: must be >= 0, got -5";
//   FAILED_PRECONDITION "parent cycle: n-2 -> n-3 -> n-2" (format as in
//     BuildForest);
//   OUT_OF_RANGE "nodes[4]: effective quota of n-4 (the sum of its
//     children's) overflows int64".
[[nodiscard]] absl::StatusOr<std::map<std::string, int64_t>> EffectiveQuotas(
    const std::vector<QuotaNode>& nodes);

// The effective quota of `id` (see EffectiveQuotas, whose errors it returns);
// NOT_FOUND "id: no org node <id>" when `id` is not in `nodes`.
[[nodiscard]] absl::StatusOr<int64_t> EffectiveQuota(
    const std::vector<QuotaNode>& nodes, const std::string& id);

}  // namespace salesops::accounts
