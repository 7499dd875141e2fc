#pragma once

// The key-account analysis RPCs (SPEC.md §2.4) as pure answers: request
// messages in, response messages out, over key_accounts.h. No gRPC, no store.

#include <string>

#include "absl/status/status.h"
#include "common/server/principal.h"
#include "salesops/v1/accounts.pb.h"

namespace salesops::accounts {

[[nodiscard]] absl::Status AnswerScoreIndustries(
    const v1::ScoreIndustriesRequest& req, v1::ScoreIndustriesResponse* resp);

// Amounts are in `currency`; top_share_bp 0 means 8000 (80 %).
[[nodiscard]] absl::Status AnswerParetoView(const v1::GetParetoViewRequest& req,
                                            const std::string& currency,
                                            v1::GetParetoViewResponse* resp);

// Every role may classify; applying the tiers is for ADMIN and MANAGER
// (PERMISSION_DENIED worded like the role gate's).
[[nodiscard]] absl::Status CheckClassifyCaller(
    const v1::ClassifyAccountsRequest& req, const Principal& who);

// Scores and ranks the scorecards into tiers (default shares unless the
// request sets one); the caller applies them when req.apply.
[[nodiscard]] absl::Status AnswerClassifyAccounts(
    const v1::ClassifyAccountsRequest& req, const std::string& currency,
    v1::ClassifyAccountsResponse* resp);

}  // namespace salesops::accounts
