#pragma once

// What pipeline follows (ARCHITECTURE.md §4), one follower per source
// service (common/feed/feed_follower.h), registered with
// ServiceRuntime::AddFollower by main:
//
// accounts → pipeline: org nodes into the OrgMirror (role scopes). Resync
// lists every org node and REPLACES the mirror's copy, the cursor stored with
// it.
//
// credit → pipeline: a full collection closes a closes_on_collection
// opportunity WON, in the same transaction as the cursor (SPEC §6);
// PipelineServiceImpl::ApplyCreditEvent and ResyncCredit hold the rule.

#include <string>
#include <vector>

#include "common/feed/feed_follower.h"
#include "common/org/org_mirror.h"
#include "services/pipeline/peers.h"
#include "services/pipeline/pipeline_service.h"

namespace salesops::pipeline {

class OrgFollower final : public FeedFollower {
 public:
  // Not owned; outlive the follower.
  OrgFollower(OrgMirror* org, AccountsClient* accounts)
      : org_(org), accounts_(accounts) {}

  std::string source() const override { return "accounts"; }
  std::vector<std::string> kinds() const override {
    return {"accounts.OrgNode"};
  }
  [[nodiscard]] absl::Status Apply(const v1::Event& event,
                                   WriteTxn& txn) override {
    return org_->Apply(event, txn);
  }
  [[nodiscard]] absl::Status Resync() override;

 private:
  OrgMirror* org_;
  AccountsClient* accounts_;
};

class CreditFollower final : public FeedFollower {
 public:
  // Not owned; outlives the follower.
  explicit CreditFollower(PipelineServiceImpl* service) : service_(service) {}

  std::string source() const override { return kCreditSource; }
  std::vector<std::string> kinds() const override {
    return {kOpportunityCollectionKind};
  }
  [[nodiscard]] absl::Status Apply(const v1::Event& event,
                                   WriteTxn& txn) override {
    return service_->ApplyCreditEvent(event, txn);
  }
  [[nodiscard]] absl::Status Resync() override {
    return service_->ResyncCredit();
  }

 private:
  PipelineServiceImpl* service_;
};

}  // namespace salesops::pipeline
