// The frame of salesopsctl: argument parsing, output formats, exit codes.

#include "tools/salesopsctl/cli.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

#include "common/testing/builders.h"
#include "tools/salesopsctl/output.h"

namespace salesops::ctl {
namespace {

using ::testing::HasSubstr;

TEST(ArgsTest, FlagsValuesAndTypes) {
  const char* argv[] = {"salesopsctl",     "opportunities",      "create",
                        "--amount=1234.5", "--close=2026-12-31", "--force",
                        "--owner=a,b",     "--owner=c",          "--count=12"};
  absl::StatusOr<Args> a = Args::Parse(9, argv);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->positional(),
            (std::vector<std::string>{"opportunities", "create"}));
  EXPECT_EQ(*a->Money("amount", 2).value(), 123450);
  EXPECT_EQ(*a->Date("close").value(), absl::CivilDay(2026, 12, 31));
  EXPECT_TRUE(a->Bool("force", false).value());
  EXPECT_EQ(a->List("owner"), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(a->Int("count", 0).value(), 12);
  EXPECT_EQ(a->Int("missing", 7).value(), 7);
  EXPECT_FALSE(a->Money("missing", 2).value().has_value());
  EXPECT_EQ(a->Required("missing").status().message(), "--missing: required");
  EXPECT_TRUE(
      a->CheckKnown({"amount", "close", "force", "owner", "count"}).ok());
  EXPECT_EQ(a->CheckKnown({"amount"}).message(),
            "--close: unknown flag for this command");
}

TEST(ArgsTest, BadValuesNameTheFlag) {
  Args a = Args::FromMap({{"amount", "12.345"},
                          {"close", "2026-02-30"},
                          {"n", "x"},
                          {"b", "maybe"}});
  EXPECT_THAT(std::string(a.Money("amount", 2).status().message()),
              HasSubstr("--amount: "));
  EXPECT_THAT(std::string(a.Date("close").status().message()),
              HasSubstr("--close: not a date"));
  EXPECT_EQ(a.Int("n", 0).status().message(), "--n: not a whole number: x");
  EXPECT_THAT(std::string(a.Bool("b", false).status().message()),
              HasSubstr("--b: must be true or false"));
  const char* argv[] = {"salesopsctl", "--=x"};
  EXPECT_FALSE(Args::Parse(2, argv).ok());
}

using ::salesops::testing::Eur;

TEST(OutputTest, TableJsonAndCsv) {
  v1::Money a = Eur(364800000);
  v1::Money b = Eur(-5);
  std::ostringstream out;
  Env env;
  env.out = &out;
  env.format = Format::kTable;
  PrintList(env, {&a, &b}, {"units_minor", "currency"});
  EXPECT_EQ(out.str(),
            "units_minor  currency\n"
            "364800000    EUR\n"
            "-5           EUR\n");
  out.str("");
  env.format = Format::kCsv;
  PrintCells(env, {"name", "note"}, {{"Acme, Inc.", "say \"hi\""}});
  EXPECT_EQ(out.str(), "name,note\r\n\"Acme, Inc.\",\"say \"\"hi\"\"\"\r\n");
  out.str("");
  env.format = Format::kJson;
  PrintCells(env, {"k"}, {{"v\n"}});
  EXPECT_EQ(out.str(), "[\n  {\"k\": \"v\\n\"}\n]\n");
  out.str("");
  PrintOne(env, a, {});
  EXPECT_THAT(out.str(), HasSubstr("\"units_minor\": \"364800000\""));
}

TEST(OutputTest, FieldTextFormatsMoneyDatesEnumsAndPaths) {
  v1::PageResponse page;
  page.set_next_page_token("t");
  EXPECT_EQ(FieldText(page, "next_page_token"), "t");
  EXPECT_EQ(FieldText(page, "no_such_field"), "");
  v1::AccountAging aging;
  aging.set_account_id("acc_1");
  *aging.mutable_buckets()->mutable_days_31_60() = Eur(123456);
  EXPECT_EQ(FieldText(aging, "buckets.days_31_60"), "1234.56");
  EXPECT_EQ(FieldText(aging, "buckets.over_180"), "");
  v1::Receivable r;
  r.set_state(v1::RECEIVABLE_STATE_PARTIALLY_PAID);
  r.mutable_due_date()->set_year(2026);
  r.mutable_due_date()->set_month(3);
  r.mutable_due_date()->set_day(9);
  EXPECT_EQ(FieldText(r, "state"), "PARTIALLY_PAID");
  EXPECT_EQ(FieldText(r, "due_date"), "2026-03-09");
}

TEST(MainTest, UsageAndUnknownCommandsExitTwo) {
  std::ostringstream out, err;
  const char* none[] = {"salesopsctl"};
  EXPECT_EQ(Main(1, none, out, err), 2);
  const char* unknown[] = {"salesopsctl", "nothing", "here"};
  EXPECT_EQ(Main(3, unknown, out, err), 2);
  EXPECT_THAT(err.str(), HasSubstr("unknown command \"nothing here\""));
  const char* help[] = {"salesopsctl", "--help"};
  EXPECT_EQ(Main(2, help, out, err), 0);
  EXPECT_THAT(out.str(), HasSubstr("usage: salesopsctl"));
}

}  // namespace
}  // namespace salesops::ctl
