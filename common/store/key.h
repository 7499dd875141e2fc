#pragma once

// Sortable key codec. A key is a tag byte (which table or index it belongs to)
// followed by components; the byte order of encoded keys equals the order of
// the component tuples:
//   U64/U32   big-endian fixed width
//   I64       big-endian with the sign bit flipped (negative < positive)
//   Str       bytes with 0x00 escaped as 0x00 0xFF, terminated by 0x00 0x01, so
//   that a string
//             sorts before its extensions ("ab" < "ab\0" < "abc") and prefixes
//             of complete components are usable for range scans.
// Strings are escaped rather than length-prefixed (ARCHITECTURE.md §3 said
// length-prefixed): a length prefix would sort "b" before "aa" and break tuple
// order; see docs/DECISIONS.md.

#include <cstdint>
#include <string>
#include <string_view>

namespace salesops {

class KeyBuilder {
 public:
  explicit KeyBuilder(uint8_t tag) { key_.push_back(static_cast<char>(tag)); }

  KeyBuilder& U64(uint64_t v);
  KeyBuilder& U32(uint32_t v);
  KeyBuilder& I64(int64_t v);
  KeyBuilder& Str(std::string_view s);

  const std::string& key() const& { return key_; }
  std::string key() && { return std::move(key_); }

 private:
  std::string key_;
};

// Decodes components in the order they were built; views `key`, which must
// outlive the reader; each call returns false (and
// leaves the reader failed) when the bytes do not hold that component.
class KeyReader {
 public:
  explicit KeyReader(std::string_view key) : rest_(key) {}

  bool Tag(uint8_t* tag);
  bool U64(uint64_t* v);
  bool U32(uint32_t* v);
  bool I64(int64_t* v);
  bool Str(std::string* s);
  // True when every byte was consumed and no read failed.
  bool Done() const { return ok_ && rest_.empty(); }

 private:
  std::string_view rest_;
  bool ok_ = true;
};

// The smallest key greater than every key starting with `prefix` ("" when none
// exists), for use as an exclusive upper bound of a prefix scan.
std::string PrefixSuccessor(std::string_view prefix);

}  // namespace salesops
