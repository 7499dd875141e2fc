#include "common/server/bounds.h"

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/descriptor.pb.h"
#include "google/protobuf/unknown_field_set.h"
#include "gtest/gtest.h"
#include "salesops/testing/bounds_fixture.pb.h"
#include "salesops/v1/accounts.pb.h"
#include "salesops/v1/audit.pb.h"
#include "salesops/v1/credit.pb.h"
#include "salesops/v1/feed.pb.h"
#include "salesops/v1/forecast.pb.h"
#include "salesops/v1/options.pb.h"
#include "salesops/v1/pipeline.pb.h"

namespace salesops {
namespace {

using ::google::protobuf::Descriptor;
using ::google::protobuf::FieldDescriptor;
using ::google::protobuf::FileDescriptor;
using ::salesops::testing::BoundsLeaf;
using ::salesops::testing::BoundsRoot;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::SizeIs;

std::string Repeat(const std::string& s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) {
    out += s;
  }
  return out;
}

TEST(BoundsTest, WithinBoundsIsClean) {
  BoundsRoot root;
  BoundsLeaf* leaf = root.mutable_leaf();
  leaf->set_text(Repeat("a", 256));
  leaf->set_short_text("abcde");
  leaf->set_blob(std::string(1024, '\xff'));
  leaf->set_small_blob("abcd");
  leaf->add_tags("abcd");
  leaf->add_tags("");
  leaf->add_tags("wxyz");
  leaf->add_numbers(1);
  leaf->add_numbers(2);
  for (int i = 0; i < 100; ++i) {
    leaf->add_many("m");
  }
  *root.add_leaves() = *leaf;
  (*root.mutable_by_name())["k"] = *leaf;
  root.set_picked("abc");
  EXPECT_THAT(BoundViolations(root), IsEmpty());
  EXPECT_THAT(BoundViolations(BoundsRoot()), IsEmpty());
}

TEST(BoundsTest, DefaultStringBoundCountsCodePoints) {
  BoundsLeaf leaf;
  // 256 two-byte and 256 four-byte code points are within the default.
  leaf.set_text(Repeat("é", 256));
  EXPECT_THAT(BoundViolations(leaf), IsEmpty());
  leaf.set_text(Repeat("😀", 256));
  EXPECT_THAT(BoundViolations(leaf), IsEmpty());
  leaf.set_text(Repeat("😀", 257));
  EXPECT_THAT(BoundViolations(leaf),
              ElementsAre("text: at most 256 characters (got 257)"));
  leaf.set_text(Repeat("a", 5000));
  EXPECT_THAT(BoundViolations(leaf),
              ElementsAre("text: at most 256 characters (got 5000)"));
}

TEST(BoundsTest, ExplicitBoundsOfEveryKind) {
  BoundsLeaf leaf;
  leaf.set_short_text("abcdéf");
  leaf.set_blob(std::string(1025, 'b'));
  leaf.set_small_blob("12345");
  leaf.set_nothing("x");
  EXPECT_THAT(BoundViolations(leaf),
              ElementsAre("short_text: at most 5 characters (got 6)",
                          "blob: at most 1024 bytes (got 1025)",
                          "small_blob: at most 4 bytes (got 5)",
                          "nothing: at most 0 characters (got 1)"));
}

TEST(BoundsTest, RepeatedFieldsBoundItemsAndElements) {
  BoundsLeaf leaf;
  for (const char* t : {"a", "b", "c", "d"}) {
    leaf.add_tags(t);
  }
  for (int i = 0; i < 3; ++i) {
    leaf.add_numbers(i);
  }
  for (int i = 0; i < 101; ++i) {
    leaf.add_many(Repeat("x", 1000));  // not examined: too many items
  }
  leaf.add_blobs("ab");
  leaf.add_blobs("abc");
  EXPECT_THAT(BoundViolations(leaf),
              ElementsAre("tags: at most 3 items (got 4)",
                          "numbers: at most 2 items (got 3)",
                          "blobs[1]: at most 2 bytes (got 3)",
                          "many: at most 100 items (got 101)"));

  BoundsLeaf elements;
  elements.add_tags("ok");
  elements.add_tags("toolong");
  elements.add_many("fine");
  elements.add_many(Repeat("y", 257));
  EXPECT_THAT(BoundViolations(elements),
              ElementsAre("tags[1]: at most 4 characters (got 7)",
                          "many[1]: at most 256 characters (got 257)"));
}

TEST(BoundsTest, PathsThroughMessagesListsMapsAndOneofs) {
  BoundsRoot root;
  root.mutable_leaf()->set_short_text("123456");
  root.add_leaves();
  root.add_leaves();
  root.add_leaves()->add_tags("12345");
  (*root.mutable_by_name())["key"].set_small_blob("12345");
  root.set_picked("abcd");
  EXPECT_THAT(
      BoundViolations(root),
      ElementsAre("leaf.short_text: at most 5 characters (got 6)",
                  "leaves[2].tags[0]: at most 4 characters (got 5)",
                  "by_name[0].value.small_blob: at most 4 bytes (got 5)",
                  "picked: at most 3 characters (got 4)"));

  BoundsRoot crowded;
  for (int i = 0; i < 4; ++i) {
    crowded.add_leaves()->set_short_text("far too long, not examined");
  }
  for (const char* k : {"a", "b", "c"}) {
    (*crowded.mutable_by_name())[k];
  }
  EXPECT_THAT(BoundViolations(crowded),
              ElementsAre("leaves: at most 3 items (got 4)",
                          "by_name: at most 2 items (got 3)"));
}

TEST(BoundsTest, DepthIsBounded) {
  BoundsRoot root;
  BoundsRoot* at = &root;
  for (int i = 0; i < 40; ++i) {
    at = at->mutable_child();
  }
  at->set_picked("far too long");  // never reached
  const std::vector<std::string> v = BoundViolations(root);
  ASSERT_THAT(v, SizeIs(1));
  EXPECT_EQ(v[0], absl::StrCat(Repeat("child.", kMaxBoundsDepth - 1),
                               "child: nested deeper than ", kMaxBoundsDepth,
                               " messages"));

  BoundsRoot shallow;
  BoundsRoot* c = &shallow;
  for (int i = 0; i < kMaxBoundsDepth - 1; ++i) {
    c = c->mutable_child();
  }
  c->set_picked("abcd");
  EXPECT_THAT(
      BoundViolations(shallow),
      ElementsAre(absl::StrCat(Repeat("child.", kMaxBoundsDepth - 1),
                               "picked: at most 3 characters (got 4)")));
}

TEST(BoundsTest, ReportsAtMostMaxReported) {
  BoundsRoot root;
  for (int i = 0; i < 3; ++i) {
    BoundsLeaf* leaf = root.add_leaves();
    for (int j = 0; j < 3; ++j) {
      leaf->add_tags("12345");
    }
    leaf->set_short_text("123456");
    leaf->set_text(Repeat("t", 300));
  }
  EXPECT_THAT(BoundViolations(root), SizeIs(15));
  EXPECT_THAT(BoundViolations(root, 4), SizeIs(4));
  EXPECT_THAT(BoundViolations(root, 0), IsEmpty());
  EXPECT_EQ(BoundViolations(root, 1).front(),
            "leaves[0].text: at most 256 characters (got 300)");
}

TEST(BoundsTest, RealRequestsNameTheirFields) {
  v1::CreateOpportunityRequest create;
  for (int i = 0; i < 4; ++i) {
    create.mutable_opportunity()->add_competitors()->set_name("Rival");
  }
  create.mutable_opportunity()->mutable_competitors(3)->set_strengths(
      std::string(5000, 's'));
  EXPECT_THAT(BoundViolations(create),
              ElementsAre("opportunity.competitors[3].strengths: at most 2000 "
                          "characters (got 5000)"));

  v1::ListOpportunitiesRequest list;
  for (int i = 0; i < 5000; ++i) {
    list.add_owner_ids("org_x");
  }
  EXPECT_THAT(BoundViolations(list),
              ElementsAre("owner_ids: at most 1000 items (got 5000)"));

  v1::SetQuotaRequest quota;
  quota.mutable_amount()->set_currency(std::string(17, 'E'));
  EXPECT_THAT(BoundViolations(quota),
              ElementsAre("amount.currency: at most 16 characters (got 17)"));
}

TEST(BoundsTest, CodePoints) {
  EXPECT_EQ(CodePoints(""), 0u);
  EXPECT_EQ(CodePoints("abc"), 3u);
  EXPECT_EQ(CodePoints("é"), 1u);
  EXPECT_EQ(CodePoints("€😀a"), 3u);
}

// Appends an unknown varint field 999 to `m`'s unknown fields.
void AddUnknown(google::protobuf::Message* m) {
  m->GetReflection()->MutableUnknownFields(m)->AddVarint(999, 42);
}

bool HasUnknown(const google::protobuf::Message& m) {
  return !m.GetReflection()->GetUnknownFields(m).empty();
}

TEST(BoundsTest, DiscardUnknownFieldsRecurses) {
  BoundsRoot root;
  root.mutable_leaf()->set_text("keep");
  root.add_leaves()->set_text("keep too");
  (*root.mutable_by_name())["k"].set_text("and this");
  root.mutable_child()->mutable_leaf()->set_short_text("deep");
  AddUnknown(&root);
  AddUnknown(root.mutable_leaf());
  AddUnknown(root.mutable_leaves(0));
  AddUnknown(&(*root.mutable_by_name())["k"]);
  AddUnknown(root.mutable_child()->mutable_leaf());
  BoundsRoot expected = root;
  // Parsed, as a server receives it: the map entry's unknown field travels.
  BoundsRoot parsed;
  ASSERT_TRUE(parsed.ParseFromString(root.SerializeAsString()));
  ASSERT_TRUE(HasUnknown(parsed.leaves(0)));

  DiscardUnknownFieldsRecursively(&parsed);
  EXPECT_FALSE(HasUnknown(parsed));
  EXPECT_FALSE(HasUnknown(parsed.leaf()));
  EXPECT_FALSE(HasUnknown(parsed.leaves(0)));
  EXPECT_FALSE(HasUnknown(parsed.by_name().at("k")));
  EXPECT_FALSE(HasUnknown(parsed.child().leaf()));
  expected.DiscardUnknownFields();
  EXPECT_EQ(parsed.leaf().text(), "keep");
  EXPECT_EQ(parsed.by_name().at("k").text(), "and this");
  EXPECT_EQ(parsed.child().leaf().short_text(), "deep");
  EXPECT_EQ(parsed.ByteSizeLong(), expected.ByteSizeLong());
}

TEST(EdgeRejectionTest, RecordFindForget) {
  const auto* a = reinterpret_cast<const grpc::ServerContextBase*>(0x1000);
  const auto* b = reinterpret_cast<const grpc::ServerContextBase*>(0x2000);
  EXPECT_TRUE(EdgeRejection(a).ok());
  RecordEdgeRejection(a, absl::OkStatus());  // ignored
  EXPECT_TRUE(EdgeRejection(a).ok());
  RecordEdgeRejection(a, absl::InvalidArgumentError("x: too long"));
  EXPECT_EQ(EdgeRejection(a), absl::InvalidArgumentError("x: too long"));
  EXPECT_TRUE(EdgeRejection(b).ok());
  RecordEdgeRejection(a, absl::InvalidArgumentError("y: too long"));
  EXPECT_EQ(EdgeRejection(a).message(), "y: too long");
  ForgetEdgeRejection(b);  // nothing recorded: no-op
  ForgetEdgeRejection(a);
  EXPECT_TRUE(EdgeRejection(a).ok());
  ForgetEdgeRejection(a);
}

// ---- The contract stays bounded: every explicit bound of the public API is
// within sane limits, and the documents state the defaults the code uses.

constexpr uint32_t kSaneMaxLength = 100'000;
constexpr uint32_t kSaneMaxBytes = 1 << 20;
constexpr uint32_t kSaneMaxItems = 10'000;

void CheckMessage(const Descriptor* d, int* fields_seen) {
  for (int i = 0; i < d->nested_type_count(); ++i) {
    CheckMessage(d->nested_type(i), fields_seen);
  }
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    const google::protobuf::FieldOptions& o = f->options();
    SCOPED_TRACE(f->full_name());
    ++*fields_seen;
    if (o.HasExtension(v1::max_length)) {
      EXPECT_EQ(f->type(), FieldDescriptor::TYPE_STRING);
      EXPECT_GE(o.GetExtension(v1::max_length), 1u);
      EXPECT_LE(o.GetExtension(v1::max_length), kSaneMaxLength);
    }
    if (o.HasExtension(v1::max_bytes)) {
      EXPECT_EQ(f->type(), FieldDescriptor::TYPE_BYTES);
      EXPECT_GE(o.GetExtension(v1::max_bytes), 1u);
      EXPECT_LE(o.GetExtension(v1::max_bytes), kSaneMaxBytes);
    }
    if (o.HasExtension(v1::max_items)) {
      EXPECT_TRUE(f->is_repeated());
      EXPECT_GE(o.GetExtension(v1::max_items), 1u);
      EXPECT_LE(o.GetExtension(v1::max_items), kSaneMaxItems);
    }
  }
}

TEST(BoundsContractTest, EveryExplicitBoundIsSane) {
  static_assert(kDefaultMaxLength <= kSaneMaxLength);
  static_assert(kDefaultMaxBytes <= kSaneMaxBytes);
  static_assert(kDefaultMaxItems <= kSaneMaxItems);
  int fields = 0;
  for (const FileDescriptor* file :
       {v1::Money::descriptor()->file(), v1::Account::descriptor()->file(),
        v1::Opportunity::descriptor()->file(),
        v1::Forecast::descriptor()->file(),
        v1::Receivable::descriptor()->file(),
        v1::AuditRecord::descriptor()->file(),
        v1::Event::descriptor()->file()}) {
    SCOPED_TRACE(file->name());
    EXPECT_EQ(file->package(), "salesops.v1");
    for (int i = 0; i < file->message_type_count(); ++i) {
      CheckMessage(file->message_type(i), &fields);
    }
  }
  EXPECT_GT(fields, 500);  // the seven files were really walked
}

std::string ReadSource(const std::string& relative) {
  std::ifstream in(std::string(SALESOPS_SOURCE_DIR) + "/" + relative);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(BoundsContractTest, DocumentsStateTheDefaultsInForce) {
  const std::string options = ReadSource("proto/salesops/v1/options.proto");
  const std::string api = ReadSource("docs/API.md");
  ASSERT_FALSE(options.empty());
  ASSERT_FALSE(api.empty());
  for (const std::string& line :
       {absl::StrCat("string            ", kDefaultMaxLength,
                     " Unicode code points"),
        absl::StrCat("bytes             ", kDefaultMaxBytes, " bytes"),
        absl::StrCat("repeated (any)    ", kDefaultMaxItems, " items")}) {
    EXPECT_NE(options.find(line), std::string::npos) << line;
  }
  for (const std::string& row :
       {absl::StrCat("| `string` | ", kDefaultMaxLength,
                     " Unicode code points |"),
        absl::StrCat("| `bytes` | ", kDefaultMaxBytes, " bytes |"),
        absl::StrCat("| `repeated` | ", kDefaultMaxItems, " items |")}) {
    EXPECT_NE(api.find(row), std::string::npos) << row;
  }
}

}  // namespace
}  // namespace salesops
