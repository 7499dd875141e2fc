// AIP-158 paging (issue 18), tested on ListAccounts (every List handler reads
// its page through the same helpers, common/store/listing.h): top-level
// page_size/page_token/next_page_token/feed_sequence; a page_size above the
// maximum is capped, not refused; a negative one is INVALID_ARGUMENT naming
// page_size; the deprecated nested `page` of v0.1.0 clients is still honored
// when the top-level fields are unset, and responses fill both.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "services/accounts/accounts_test_fixture.h"

// The nested PageRequest/PageResponse are deprecated; this test uses them on
// purpose, as a v0.1.0 client does.
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

namespace salesops::accounts {
namespace {

TEST_F(AccountsAccountTest, OversizedPageSizeIsCappedAtTheMaximum) {
  constexpr int kAccounts = 1003;  // more than one capped page
  for (int i = 0; i < kAccounts; ++i) {
    ASSERT_FALSE(
        MustCreateAccount(Acct(absl::StrCat("Capped ", i))).id().empty())
        << i;
  }
  v1::ListAccountsRequest req;
  req.set_page_size(5000);
  v1::ListAccountsResponse first;
  ASSERT_TRUE(IsOk(Call(&Stub::ListAccounts, req, &first)));
  EXPECT_EQ(first.accounts_size(), 1000);  // capped, not refused
  ASSERT_FALSE(first.next_page_token().empty());
  EXPECT_GT(first.feed_sequence(), 0u);
  // The rest follows from the token.
  req.set_page_token(first.next_page_token());
  v1::ListAccountsResponse second;
  ASSERT_TRUE(IsOk(Call(&Stub::ListAccounts, req, &second)));
  EXPECT_EQ(second.accounts_size(), kAccounts - 1000);
  EXPECT_TRUE(second.next_page_token().empty());
  std::set<std::string> ids;
  for (const auto* page : {&first, &second}) {
    for (const v1::Account& a : page->accounts()) {
      ids.insert(a.id());
    }
  }
  EXPECT_EQ(ids.size(), static_cast<size_t>(kAccounts));

  // The same cap through the deprecated nested field.
  v1::ListAccountsRequest old;
  old.mutable_page()->set_page_size(5000);
  v1::ListAccountsResponse old_first;
  ASSERT_TRUE(IsOk(Call(&Stub::ListAccounts, old, &old_first)));
  EXPECT_EQ(old_first.accounts_size(), 1000);
  EXPECT_FALSE(old_first.page().next_page_token().empty());
}

TEST_F(AccountsAccountTest, NegativePageSizeIsRefusedNamingTheField) {
  v1::ListAccountsRequest req;
  v1::ListAccountsResponse resp;
  req.set_page_size(-1);
  EXPECT_TRUE(IsError(Call(&Stub::ListAccounts, req, &resp),
                      grpc::StatusCode::INVALID_ARGUMENT, "page_size"));
  v1::ListAccountsRequest old;
  old.mutable_page()->set_page_size(-5);
  EXPECT_TRUE(IsError(Call(&Stub::ListAccounts, old, &resp),
                      grpc::StatusCode::INVALID_ARGUMENT, "page_size"));
  req.set_page_size(2);
  req.set_page_token("!!not a token!!");
  EXPECT_TRUE(IsError(Call(&Stub::ListAccounts, req, &resp),
                      grpc::StatusCode::INVALID_ARGUMENT, "page_token"));
}

TEST_F(AccountsAccountTest, NestedV010PagingIsStillHonored) {
  std::set<std::string> created;
  for (int i = 0; i < 5; ++i) {
    created.insert(MustCreateAccount(Acct(absl::StrCat("Old ", i))).id());
  }
  // A v0.1.0 client: only the nested page, and it reads the nested response.
  v1::ListAccountsRequest req;
  req.mutable_page()->set_page_size(2);
  std::set<std::string> seen;
  int pages = 0;
  for (; pages < 10; ++pages) {
    v1::ListAccountsResponse resp;
    ASSERT_TRUE(IsOk(Call(&Stub::ListAccounts, req, &resp)));
    EXPECT_LE(resp.accounts_size(), 2);
    for (const v1::Account& a : resp.accounts()) {
      seen.insert(a.id());
    }
    // Both the nested and the top-level fields are filled, alike.
    EXPECT_EQ(resp.page().next_page_token(), resp.next_page_token());
    EXPECT_EQ(resp.page().feed_sequence(), resp.feed_sequence());
    EXPECT_GT(resp.page().feed_sequence(), 0u);
    if (resp.page().next_page_token().empty()) {
      break;
    }
    req.mutable_page()->set_page_token(resp.page().next_page_token());
  }
  EXPECT_EQ(pages, 2);  // pages 0, 1, 2: 2 + 2 + 1
  EXPECT_EQ(seen, created);

  // Top-level fields win over the nested ones when set.
  v1::ListAccountsRequest both;
  both.mutable_page()->set_page_size(1);
  both.set_page_size(4);
  v1::ListAccountsResponse resp;
  ASSERT_TRUE(IsOk(Call(&Stub::ListAccounts, both, &resp)));
  EXPECT_EQ(resp.accounts_size(), 4);
}

}  // namespace
}  // namespace salesops::accounts
