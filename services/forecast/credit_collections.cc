#include "services/forecast/credit_collections.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status/status.h"

namespace salesops::forecast {

absl::Status ListAllCollections(
    v1::CreditService::StubInterface& credit,
    const std::function<std::unique_ptr<grpc::ClientContext>()>& new_context,
    std::vector<v1::OpportunityCollection>* out, uint64_t* feed_sequence,
    const ListCollectionsOptions& options) {
  v1::ListOpportunityCollectionsRequest req;
  req.mutable_page()->set_page_size(options.page_size);
  *feed_sequence = 0;
  for (int page = 0; page < options.max_pages; ++page) {
    v1::ListOpportunityCollectionsResponse resp;
    std::unique_ptr<grpc::ClientContext> ctx = new_context();
    RETURN_IF_ERROR(
        FromGrpc(credit.ListOpportunityCollections(ctx.get(), req, &resp)));
    if (page == 0) {
      *feed_sequence = resp.page().feed_sequence();
    }
    for (v1::OpportunityCollection& c : *resp.mutable_collections()) {
      out->push_back(std::move(c));
    }
    const std::string& next = resp.page().next_page_token();
    if (next.empty()) {
      return absl::OkStatus();
    }
    if (next == req.page().page_token()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "credit: ListOpportunityCollections returned the same page token "
          "twice (",
          next, ")"));
    }
    req.mutable_page()->set_page_token(next);
  }
  return absl::FailedPreconditionError(
      absl::StrCat("credit: more than ", options.max_pages,
                   " pages of opportunity collections"));
}

}  // namespace salesops::forecast
