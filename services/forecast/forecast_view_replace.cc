// ForecastView: replacing a feed's copy when a follower resyncs after
// OUT_OF_RANGE (forecast_view.h "Replacing a feed's copy"; PLAN decision 4).

#include <algorithm>
#include <cstdint>
#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/status/status.h"
#include "salesops/forecast/view.pb.h"
#include "services/forecast/forecast_store.h"
#include "services/forecast/forecast_view.h"

namespace salesops::forecast {

// ---------------------------------------------------------------------------
// Replacing a feed's copy (resync)

SortedSweep ForecastView::SweepOf(Copy copy, const std::string& ns) {
  return ForecastStore::SweepOf(copy, ns);
}

SortedSweep::GoneFn ForecastView::GoneOf(Copy copy, std::vector<Op>** ops,
                                         const std::string& ns) {
  // The headquarters' copy of a global forecast holds the regions' nodes and
  // quotas too (their ids have a '/'): not its to remove.
  const bool hq_part = federated_ && ns.empty();
  return [this, copy, ops, hq_part](WriteTxn& txn,
                                    std::string_view key) -> absl::Status {
    if (copy == Copy::kQuotas) {
      std::string node;
      QuarterKey q = 0;
      RETURN_IF_ERROR(ForecastStore::QuotaOf(key, &node, &q));
      if (hq_part && node.find('/') != std::string::npos) {
        return absl::OkStatus();
      }
      ForecastStore::Delete(txn, key);
      (*ops)->push_back([node, q](Rollup& rollup) {
        rollup.SetQuota(node, q, std::nullopt);
        return absl::OkStatus();
      });
      return absl::OkStatus();
    }
    if (copy == Copy::kChanges) {
      ForecastStore::Delete(txn, key);
      return absl::OkStatus();
    }
    ASSIGN_OR_RETURN(const std::string id, ForecastStore::IdOf(key));
    if (hq_part && copy == Copy::kNodes && id.find('/') != std::string::npos) {
      return absl::OkStatus();
    }
    switch (copy) {
      case Copy::kModels:
        return RemoveModel(txn, id, *ops);
      case Copy::kOpportunities:
        return RemoveOpportunity(txn, id, *ops);
      case Copy::kCollections:
        ForecastStore::Delete(txn, key);
        return SetCollected(txn, id, 0, *ops);
      case Copy::kNodes:
        // Forgotten: out of the answers, and out of its place in the tree
        // (as a reload leaves it: at most a provisional root of what still
        // names it).
        ForecastStore::Delete(txn, key);
        (*ops)->push_back([this, id](Rollup& rollup) {
          kinds_.erase(id);
          return rollup.HasNode(id) ? rollup.SetNode(id, "") : absl::OkStatus();
        });
        return absl::OkStatus();
      default:
        return absl::OkStatus();
    }
  };
}

absl::Status ForecastView::ReplaceTxn(
    const std::string& source, bool org_or_quota,
    const std::function<absl::Status(WriteTxn&, std::vector<Op>*)>& fn) {
  std::vector<Op> ops;
  // A resync is not caught up from pre-images: its generation goes stale.
  ChangeInFlight in_flight(this);
  absl::Status written =
      records_.store()
          .Write(SystemActor(absl::StrCat("resync:", source)),
                 [&](WriteTxn& txn) -> absl::Status {
                   ops.clear();
                   touched_.clear();
                   MarkStale(txn);
                   return fn(txn, &ops);
                 })
          .status();
  if (written.ok()) {
    PublishOps(ops, org_or_quota);
  }
  return written;
}

absl::Status ForecastView::ReplaceNodes(const std::vector<v1::OrgNode>& all,
                                        const std::string& ns) {
  return ReplaceTxn(
      kAccountsSource, /*org_or_quota=*/true,
      [&](WriteTxn& txn, std::vector<Op>* ops) -> absl::Status {
        // Every move leaves its old place first, then every node takes its
        // listed one: each step then holds a subset of the listed (acyclic)
        // edges, so no SetNode meets a cycle whatever the order of the moves.
        std::vector<Op> detach;
        std::vector<Op> attach;
        std::vector<Op>* gone_ops = &detach;
        SortedSweep sweep = SweepOf(Copy::kNodes, ns);
        std::vector<std::string> keys;
        keys.reserve(all.size());
        for (const v1::OrgNode& n : all) {
          if (n.id().empty()) {
            return absl::DataLossError("accounts: a listed org node has no id");
          }
          keys.push_back(ForecastStore::KeyOf(n));
        }
        RETURN_IF_ERROR(
            sweep.Page(txn, keys, GoneOf(Copy::kNodes, &gone_ops, ns)));
        sweep.Committed();  // same transaction: Rest continues from the page
        bool done = false;
        RETURN_IF_ERROR(sweep.Rest(txn, SIZE_MAX,
                                   GoneOf(Copy::kNodes, &gone_ops, ns), &done));
        for (const v1::OrgNode& node : all) {
          ASSIGN_OR_RETURN(std::optional<NodeRecord> stored,
                           ForecastStore::FindNode(txn, node.id()));
          const NodeRecord r = RecordOf(node);
          if (stored && SameBytes(*stored, r)) {
            continue;
          }
          ForecastStore::PutNode(txn, node.id(), r);
          const bool moved = !stored || stored->parent_id() != node.parent_id();
          if (moved) {
            detach.push_back([id = node.id()](Rollup& rollup) {
              return rollup.HasNode(id) ? rollup.SetNode(id, "")
                                        : absl::OkStatus();
            });
          }
          attach.push_back([this, id = node.id(), parent = node.parent_id(),
                            kind = static_cast<int>(node.kind()),
                            moved](Rollup& rollup) -> absl::Status {
            kinds_[id] = kind;
            if (moved || !rollup.HasNode(id)) {
              return rollup.SetNode(id, parent);
            }
            return absl::OkStatus();
          });
        }
        for (std::vector<Op>* part : {&detach, &attach}) {
          for (Op& op : *part) ops->push_back(std::move(op));
        }
        return absl::OkStatus();
      });
}

absl::Status ForecastView::ReplaceModels(const std::vector<v1::StageModel>& all,
                                         const std::string& ns) {
  return ReplaceTxn(
      kPipelineSource, /*org_or_quota=*/false,
      [&](WriteTxn& txn, std::vector<Op>* ops) -> absl::Status {
        SortedSweep sweep = SweepOf(Copy::kModels, ns);
        std::vector<std::string> keys;
        for (const v1::StageModel& m : all) {
          if (m.id().empty()) {
            return absl::DataLossError(
                "pipeline: a listed stage model has no id");
          }
          keys.push_back(ForecastStore::KeyOf(m));
        }
        RETURN_IF_ERROR(sweep.Page(txn, keys, GoneOf(Copy::kModels, &ops)));
        sweep.Committed();
        bool done = false;
        RETURN_IF_ERROR(
            sweep.Rest(txn, SIZE_MAX, GoneOf(Copy::kModels, &ops), &done));
        for (const v1::StageModel& m : all) {
          RETURN_IF_ERROR(PutModel(txn, m, /*replace=*/true, ops));
        }
        return absl::OkStatus();
      });
}

absl::Status ForecastView::ReplaceQuotas(const std::vector<v1::Quota>& all,
                                         const Cursor* cursor,
                                         const std::string& ns) {
  // In the copy's key order, then page by page.
  std::vector<std::pair<std::string, const v1::Quota*>> sorted;
  sorted.reserve(all.size());
  for (const v1::Quota& q : all) {
    if (q.node_id().empty()) {
      return absl::DataLossError("accounts: a listed quota has no node_id");
    }
    sorted.emplace_back(ForecastStore::KeyOf(q), &q);
  }
  std::sort(sorted.begin(), sorted.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  SortedSweep sweep = SweepOf(Copy::kQuotas, ns);
  for (size_t next = 0; next < sorted.size(); next += kReplaceBatch) {
    const size_t end = std::min(sorted.size(), next + kReplaceBatch);
    RETURN_IF_ERROR(ReplaceTxn(
        kAccountsSource, /*org_or_quota=*/true,
        [&](WriteTxn& txn, std::vector<Op>* ops) -> absl::Status {
          std::vector<std::string> keys;
          for (size_t i = next; i < end; ++i) keys.push_back(sorted[i].first);
          RETURN_IF_ERROR(
              sweep.Page(txn, keys, GoneOf(Copy::kQuotas, &ops, ns)));
          for (size_t i = next; i < end; ++i) {
            RETURN_IF_ERROR(PutQuota(txn, *sorted[i].second, true, ops));
          }
          return absl::OkStatus();
        }));
    sweep.Committed();
  }
  return FinishReplace(Copy::kQuotas, sweep, cursor, ns);
}

absl::Status ForecastView::ReplaceOpportunityPage(
    SortedSweep& sweep, const std::vector<v1::Opportunity>& page) {
  RETURN_IF_ERROR(ReplaceTxn(
      kPipelineSource, /*org_or_quota=*/false,
      [&](WriteTxn& txn, std::vector<Op>* ops) -> absl::Status {
        std::vector<std::string> keys;
        keys.reserve(page.size());
        for (const v1::Opportunity& o : page) {
          if (o.id().empty()) {
            return absl::DataLossError(
                "pipeline: a listed opportunity has no id");
          }
          keys.push_back(ForecastStore::KeyOf(o));
        }
        RETURN_IF_ERROR(
            sweep.Page(txn, keys, GoneOf(Copy::kOpportunities, &ops)));
        for (const v1::Opportunity& o : page) {
          RETURN_IF_ERROR(PutOpportunity(txn, o, /*replace=*/true, ops));
        }
        return absl::OkStatus();
      }));
  sweep.Committed();
  return absl::OkStatus();
}

absl::Status ForecastView::ReplaceChangePage(
    SortedSweep& sweep, const std::vector<v1::OpportunityChange>& page) {
  RETURN_IF_ERROR(ReplaceTxn(
      kPipelineSource, /*org_or_quota=*/false,
      [&](WriteTxn& txn, std::vector<Op>* ops) -> absl::Status {
        std::vector<std::string> keys;
        keys.reserve(page.size());
        for (const v1::OpportunityChange& c : page) {
          if (c.opportunity_id().empty()) {
            return absl::DataLossError(
                "pipeline: a listed change has no opportunity_id");
          }
          keys.push_back(ForecastStore::KeyOf(c));
        }
        std::map<std::string, std::string> stored;
        RETURN_IF_ERROR(
            sweep.Page(txn, keys, GoneOf(Copy::kChanges, &ops), &stored));
        for (size_t i = 0; i < page.size(); ++i) {
          const ChangeRecord r = RecordOf(page[i]);
          auto it = stored.find(keys[i]);
          if (it == stored.end() || it->second != r.SerializeAsString()) {
            ForecastStore::PutChange(txn, keys[i], r);
          }
        }
        return absl::OkStatus();
      }));
  sweep.Committed();
  return absl::OkStatus();
}

absl::Status ForecastView::ReplaceCollectionPage(
    SortedSweep& sweep, const std::vector<v1::OpportunityCollection>& page) {
  RETURN_IF_ERROR(ReplaceTxn(
      kCreditSource, /*org_or_quota=*/false,
      [&](WriteTxn& txn, std::vector<Op>* ops) -> absl::Status {
        std::vector<std::string> keys;
        keys.reserve(page.size());
        for (const v1::OpportunityCollection& c : page) {
          if (c.opportunity_id().empty()) {
            return absl::DataLossError(
                "credit: a listed collection has no opportunity_id");
          }
          keys.push_back(ForecastStore::KeyOf(c));
        }
        RETURN_IF_ERROR(
            sweep.Page(txn, keys, GoneOf(Copy::kCollections, &ops)));
        for (const v1::OpportunityCollection& c : page) {
          RETURN_IF_ERROR(PutCollection(txn, c, /*replace=*/true, ops));
        }
        return absl::OkStatus();
      }));
  sweep.Committed();
  return absl::OkStatus();
}

absl::Status ForecastView::FinishReplace(Copy copy, SortedSweep& sweep,
                                         const Cursor* cursor,
                                         const std::string& ns) {
  const bool org = copy == Copy::kNodes || copy == Copy::kQuotas;
  const std::string source = org                          ? kAccountsSource
                             : copy == Copy::kCollections ? kCreditSource
                                                          : kPipelineSource;
  bool done = false;
  while (!done) {
    RETURN_IF_ERROR(ReplaceTxn(
        source, org, [&](WriteTxn& txn, std::vector<Op>* ops) -> absl::Status {
          RETURN_IF_ERROR(
              sweep.Rest(txn, kReplaceBatch, GoneOf(copy, &ops, ns), &done));
          if (done && cursor != nullptr) {
            txn.PutCursor(cursor->source, cursor->sequence);
          }
          return absl::OkStatus();
        }));
    sweep.Committed();
  }
  return absl::OkStatus();
}

absl::Status ForecastView::ReplaceCollections(
    const std::vector<v1::OpportunityCollection>& collections,
    const Cursor& cursor, const std::string& ns) {
  // The newest version of each opportunity's collection, by id.
  std::map<std::string, const v1::OpportunityCollection*> next;
  for (const v1::OpportunityCollection& c : collections) {
    if (c.opportunity_id().empty()) {
      return absl::DataLossError(
          "credit: a listed collection has no opportunity_id");
    }
    auto [it, inserted] = next.emplace(c.opportunity_id(), &c);
    if (!inserted && it->second->version() < c.version()) {
      it->second = &c;
    }
  }
  SortedSweep sweep = SweepOf(Copy::kCollections, ns);
  std::vector<v1::OpportunityCollection> page;
  for (auto it = next.begin(); it != next.end();) {
    page.clear();
    for (; it != next.end() && page.size() < kReplaceBatch; ++it) {
      page.push_back(*it->second);
    }
    RETURN_IF_ERROR(ReplaceCollectionPage(sweep, page));
  }
  RETURN_IF_ERROR(FinishReplace(Copy::kCollections, sweep, &cursor, ns));
  log::Info("forecast view: collections replaced from credit",
            {{"source", cursor.source},
             {"collections", static_cast<int64_t>(next.size())},
             {"cursor", static_cast<int64_t>(cursor.sequence)}});
  return absl::OkStatus();
}

}  // namespace salesops::forecast
