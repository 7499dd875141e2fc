#include "services/accounts/org_tree.h"

#include <algorithm>
#include <cstddef>
#include <set>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace salesops::accounts {
namespace {

// The shape of a forest given as (id, parent id) pairs, by position.
struct Shape {
  // children[i]: positions of i's children, ordered by id ascending.
  std::vector<std::vector<size_t>> children;
  // Positions of the roots, ordered by id ascending.
  std::vector<size_t> roots;
  // Every position in pre-order (parents before children, siblings and roots
  // by id ascending). Reversed, it lists children before their parents.
  std::vector<size_t> pre_order;
};

// The FAILED_PRECONDITION naming the cycle that the nodes not `reached`
// from a root hang off: every one of them has a parent, so walking up from
// one must run into a cycle. Starts from the smallest such id.
absl::Status CycleError(const std::vector<const std::string*>& ids,
                        const std::vector<size_t>& parent,
                        const std::vector<bool>& reached,
                        absl::string_view label) {
  constexpr size_t kNone = static_cast<size_t>(-1);
  const size_t n = ids.size();
  auto by_id = [&ids](size_t a, size_t b) { return *ids[a] < *ids[b]; };
  size_t start = kNone;
  for (size_t i = 0; i < n; ++i) {
    if (!reached[i] && (start == kNone || *ids[i] < *ids[start])) {
      start = i;
    }
  }
  std::vector<size_t> walk;
  std::vector<size_t> step_of(n, kNone);
  size_t cur = start;
  while (step_of[cur] == kNone) {
    step_of[cur] = walk.size();
    walk.push_back(cur);
    cur = parent[cur];
  }
  std::vector<size_t> cycle(walk.begin() + step_of[cur], walk.end());
  std::rotate(cycle.begin(),
              std::min_element(cycle.begin(), cycle.end(), by_id), cycle.end());
  std::vector<std::string> names;
  for (size_t i : cycle) {
    names.push_back(*ids[i]);
  }
  names.push_back(*ids[cycle.front()]);
  return absl::FailedPreconditionError(
      absl::StrCat(label, " cycle: ", absl::StrJoin(names, " -> ")));
}

// Validates ids (non-empty, unique) and computes the shape. A parent id that
// is "" or not among `ids` makes a root. `list` names the input list in
// messages ("links"), `label` the kind of link ("reports-to").
absl::StatusOr<Shape> ShapeOf(const std::vector<const std::string*>& ids,
                              const std::vector<const std::string*>& parents,
                              absl::string_view list, absl::string_view label) {
  const size_t n = ids.size();
  absl::flat_hash_map<std::string, size_t> position;
  position.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    if (ids[i]->empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(list, "[", i, "].id: required"));
    }
    auto [it, inserted] = position.emplace(*ids[i], i);
    if (!inserted) {
      return absl::InvalidArgumentError(
          absl::StrCat(list, "[", i, "].id: duplicates ", list, "[", it->second,
                       "] (", *ids[i], ")"));
    }
  }
  constexpr size_t kNone = static_cast<size_t>(-1);
  std::vector<size_t> parent(n, kNone);
  Shape shape;
  shape.children.resize(n);
  for (size_t i = 0; i < n; ++i) {
    auto it = parents[i]->empty() ? position.end() : position.find(*parents[i]);
    if (it == position.end()) {
      shape.roots.push_back(i);
    } else {
      parent[i] = it->second;
      shape.children[it->second].push_back(i);
    }
  }
  auto by_id = [&ids](size_t a, size_t b) { return *ids[a] < *ids[b]; };
  std::sort(shape.roots.begin(), shape.roots.end(), by_id);
  for (std::vector<size_t>& c : shape.children) {
    std::sort(c.begin(), c.end(), by_id);
  }

  // Iterative pre-order from the roots.
  shape.pre_order.reserve(n);
  std::vector<bool> reached(n, false);
  std::vector<size_t> stack(shape.roots.rbegin(), shape.roots.rend());
  while (!stack.empty()) {
    const size_t i = stack.back();
    stack.pop_back();
    reached[i] = true;
    shape.pre_order.push_back(i);
    const std::vector<size_t>& c = shape.children[i];
    stack.insert(stack.end(), c.rbegin(), c.rend());
  }
  if (shape.pre_order.size() == n) {
    return shape;
  }

  return CycleError(ids, parent, reached, label);
}

}  // namespace

absl::StatusOr<std::vector<ChartNode>> BuildForest(
    std::vector<ContactLink> links) {
  std::vector<const std::string*> ids;
  std::vector<const std::string*> parents;
  ids.reserve(links.size());
  parents.reserve(links.size());
  for (const ContactLink& link : links) {
    ids.push_back(&link.id);
    parents.push_back(&link.reports_to_id);
  }
  absl::StatusOr<Shape> shape = ShapeOf(ids, parents, "links", "reports-to");
  if (!shape.ok()) {
    return shape.status();
  }
  // Children before parents: each node takes its finished reports by move.
  std::vector<ChartNode> built(links.size());
  for (auto it = shape->pre_order.rbegin(); it != shape->pre_order.rend();
       ++it) {
    ChartNode& node = built[*it];
    node.id = std::move(links[*it].id);
    const std::vector<size_t>& c = shape->children[*it];
    node.reports.reserve(c.size());
    for (size_t child : c) {
      node.reports.push_back(std::move(built[child]));
    }
  }
  std::vector<ChartNode> forest;
  forest.reserve(shape->roots.size());
  for (size_t root : shape->roots) {
    forest.push_back(std::move(built[root]));
  }
  return forest;
}

absl::Status CheckNoCycle(
    const std::function<std::optional<std::string>(const std::string&)>&
        parent_of,
    const std::string& node, const std::string& new_parent,
    std::string_view field) {
  const absl::string_view f(field.data(), field.size());
  if (new_parent.empty()) {
    return absl::OkStatus();
  }
  std::set<std::string> seen;
  std::string cur = new_parent;
  // At step s, `cur` is the s-th ancestor of new_parent (0 = itself).
  for (int step = 0;; ++step) {
    if (cur == node) {
      return absl::InvalidArgumentError(
          absl::StrCat(f, ": ", new_parent, " is ", node,
                       " itself or reports to it (cycle)"));
    }
    if (step > kMaxTreeDepth) {
      return absl::FailedPreconditionError(absl::StrCat(
          f, ": the hierarchy above ", new_parent,
          " is too deep or corrupt (more than ", kMaxTreeDepth, " levels)"));
    }
    if (!seen.insert(cur).second) {
      return absl::FailedPreconditionError(absl::StrCat(
          f, ": the hierarchy above ", new_parent, " is too deep or corrupt (",
          cur, " is its own ancestor)"));
    }
    std::optional<std::string> parent = parent_of(cur);
    if (!parent.has_value()) {
      if (step == 0) {
        return absl::InvalidArgumentError(
            absl::StrCat(f, ": ", new_parent, " does not exist"));
      }
      return absl::OkStatus();
    }
    if (parent->empty()) {
      return absl::OkStatus();
    }
    cur = *std::move(parent);
  }
}

absl::StatusOr<std::map<std::string, int64_t>> EffectiveQuotas(
    const std::vector<QuotaNode>& nodes) {
  std::vector<const std::string*> ids;
  std::vector<const std::string*> parents;
  ids.reserve(nodes.size());
  parents.reserve(nodes.size());
  for (const QuotaNode& node : nodes) {
    ids.push_back(&node.id);
    parents.push_back(&node.parent_id);
  }
  absl::StatusOr<Shape> shape = ShapeOf(ids, parents, "nodes", "parent");
  if (!shape.ok()) {
    return shape.status();
  }
  for (size_t i = 0; i < nodes.size(); ++i) {
    const std::optional<int64_t>& q = nodes[i].explicit_quota_minor;
    if (q.has_value() && *q < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "nodes[", i, "].explicit_quota_minor: must be >= 0, got ", *q));
    }
  }
  std::vector<int64_t> effective(nodes.size(), 0);
  for (auto it = shape->pre_order.rbegin(); it != shape->pre_order.rend();
       ++it) {
    const size_t i = *it;
    if (nodes[i].explicit_quota_minor.has_value()) {
      effective[i] = *nodes[i].explicit_quota_minor;
      continue;
    }
    int64_t sum = 0;
    for (size_t child : shape->children[i]) {
      if (__builtin_add_overflow(sum, effective[child], &sum)) {
        return absl::OutOfRangeError(
            absl::StrCat("nodes[", i, "]: effective quota of ", nodes[i].id,
                         " (the sum of its children's) overflows int64"));
      }
    }
    effective[i] = sum;
  }
  std::map<std::string, int64_t> result;
  for (size_t i = 0; i < nodes.size(); ++i) {
    result.emplace(nodes[i].id, effective[i]);
  }
  return result;
}

absl::StatusOr<int64_t> EffectiveQuota(const std::vector<QuotaNode>& nodes,
                                       const std::string& id) {
  absl::StatusOr<std::map<std::string, int64_t>> all = EffectiveQuotas(nodes);
  if (!all.ok()) {
    return all.status();
  }
  auto it = all->find(id);
  if (it == all->end()) {
    return absl::NotFoundError(absl::StrCat("id: no org node ", id));
  }
  return it->second;
}

}  // namespace salesops::accounts
