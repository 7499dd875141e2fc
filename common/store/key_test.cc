#include "common/store/key.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <tuple>
#include <vector>

namespace salesops {
namespace {

using Tuple = std::tuple<uint8_t, int64_t, std::string, uint64_t, std::string>;

std::string Encode(const Tuple& t) {
  return KeyBuilder(std::get<0>(t))
      .I64(std::get<1>(t))
      .Str(std::get<2>(t))
      .U64(std::get<3>(t))
      .Str(std::get<4>(t))
      .key();
}

// Strings drawn from a tiny alphabet that includes the bytes the escaping
// treats specially, so prefixes, equal strings and embedded NULs are common.
std::string RandomString(std::mt19937_64& rng) {
  static const char kAlphabet[] = {'\0', '\x01', 'a', 'b', '\xfe', '\xff'};
  std::string s;
  const int len = static_cast<int>(rng() % 5);
  for (int i = 0; i < len; ++i) {
    s.push_back(kAlphabet[rng() % sizeof(kAlphabet)]);
  }
  return s;
}

int64_t RandomI64(std::mt19937_64& rng) {
  switch (rng() % 4) {
    case 0:
      return static_cast<int64_t>(rng());
    case 1:
      return static_cast<int64_t>(rng() % 5) - 2;
    case 2:
      return rng() % 2 ? INT64_MAX : INT64_MIN;
    default:
      return static_cast<int64_t>(rng() % 1000) * (rng() % 2 ? 1 : -1);
  }
}

TEST(KeyCodec, ByteOrderEqualsTupleOrderRandomized) {
  std::mt19937_64 rng(20261123);
  std::vector<Tuple> tuples;
  for (int i = 0; i < 3000; ++i) {
    tuples.emplace_back(static_cast<uint8_t>(rng() % 3), RandomI64(rng),
                        RandomString(rng), rng() % 2 ? rng() : rng() % 4,
                        RandomString(rng));
  }
  for (size_t i = 0; i + 1 < tuples.size(); ++i) {
    for (size_t j = i + 1; j < std::min(tuples.size(), i + 40); ++j) {
      const Tuple& a = tuples[i];
      const Tuple& b = tuples[j];
      const std::string ka = Encode(a);
      const std::string kb = Encode(b);
      // std::string compares as unsigned bytes only through
      // char_traits<char>::compare, which uses memcmp: unsigned.
      EXPECT_EQ(a < b, ka < kb) << i << " vs " << j;
      EXPECT_EQ(a == b, ka == kb);
    }
  }
}

TEST(KeyCodec, RoundTrips) {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 2000; ++i) {
    Tuple t(static_cast<uint8_t>(rng()), RandomI64(rng), RandomString(rng),
            rng(), RandomString(rng));
    const uint32_t u32 = static_cast<uint32_t>(rng());
    const std::string key = KeyBuilder(std::get<0>(t))
                                .I64(std::get<1>(t))
                                .Str(std::get<2>(t))
                                .U64(std::get<3>(t))
                                .Str(std::get<4>(t))
                                .U32(u32)
                                .key();
    KeyReader reader(key);
    Tuple back;
    uint32_t u32_back = 0;
    ASSERT_TRUE(reader.Tag(&std::get<0>(back)));
    ASSERT_TRUE(reader.I64(&std::get<1>(back)));
    ASSERT_TRUE(reader.Str(&std::get<2>(back)));
    ASSERT_TRUE(reader.U64(&std::get<3>(back)));
    ASSERT_TRUE(reader.Str(&std::get<4>(back)));
    ASSERT_TRUE(reader.U32(&u32_back));
    EXPECT_TRUE(reader.Done());
    EXPECT_EQ(back, t);
    EXPECT_EQ(u32_back, u32);
  }
}

TEST(KeyCodec, StringSortsBeforeItsExtensionsAndPrefixScansWork) {
  const std::string ab = KeyBuilder(1).Str("ab").key();
  const std::string ab0 = KeyBuilder(1).Str(std::string("ab\0", 3)).key();
  const std::string abc = KeyBuilder(1).Str("abc").key();
  const std::string b = KeyBuilder(1).Str("b").key();
  const std::string aa = KeyBuilder(1).Str("aa").key();
  EXPECT_LT(ab, ab0);
  EXPECT_LT(ab0, abc);
  EXPECT_LT(aa, b);  // a length prefix would get this wrong
  // Keys under the component prefix ("ab", then anything) sort inside [prefix,
  // successor).
  const std::string prefix = KeyBuilder(1).Str("ab").key();
  const std::string under = KeyBuilder(1).Str("ab").U64(5).key();
  EXPECT_EQ(under.rfind(prefix, 0), 0u);
  EXPECT_LT(under, PrefixSuccessor(prefix));
  EXPECT_GE(abc, PrefixSuccessor(prefix));
}

TEST(KeyCodec, MalformedInputFailsInsteadOfReadingGarbage) {
  // KeyReader views its input: the bytes live in named strings.
  const std::string short_bytes("\x01\x02", 2);
  KeyReader short_u64(short_bytes);
  uint64_t v;
  EXPECT_FALSE(short_u64.U64(&v));
  EXPECT_FALSE(short_u64.Done());
  const std::string unterminated_bytes("ab\0", 3);
  KeyReader unterminated(unterminated_bytes);
  std::string s;
  EXPECT_FALSE(unterminated.Str(&s));
  const std::string bad_escape_bytes("a\0\x05", 3);
  KeyReader bad_escape(bad_escape_bytes);
  EXPECT_FALSE(bad_escape.Str(&s));
  const std::string trailing_bytes = KeyBuilder(3).U32(1).key() + "x";
  KeyReader trailing(trailing_bytes);
  uint8_t tag;
  uint32_t u;
  EXPECT_TRUE(trailing.Tag(&tag));
  EXPECT_TRUE(trailing.U32(&u));
  EXPECT_FALSE(trailing.Done());
}

TEST(KeyCodec, PrefixSuccessor) {
  EXPECT_EQ(PrefixSuccessor("ab"), "ac");
  EXPECT_EQ(PrefixSuccessor(std::string("a\xff", 2)), "b");
  EXPECT_EQ(PrefixSuccessor(std::string("\xff\xff", 2)), "");
}

}  // namespace
}  // namespace salesops
