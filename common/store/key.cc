#include "common/store/key.h"

namespace salesops {

KeyBuilder& KeyBuilder::U64(uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) {
    key_.push_back(static_cast<char>((v >> shift) & 0xff));
  }
  return *this;
}

KeyBuilder& KeyBuilder::U32(uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) {
    key_.push_back(static_cast<char>((v >> shift) & 0xff));
  }
  return *this;
}

KeyBuilder& KeyBuilder::I64(int64_t v) {
  return U64(static_cast<uint64_t>(v) ^ (uint64_t{1} << 63));
}

KeyBuilder& KeyBuilder::Str(std::string_view s) {
  key_.reserve(key_.size() + s.size() + 2);
  for (char c : s) {
    key_.push_back(c);
    if (c == '\0') {
      key_.push_back('\xff');
    }
  }
  key_.push_back('\0');
  key_.push_back('\x01');
  return *this;
}

bool KeyReader::Tag(uint8_t* tag) {
  if (!ok_ || rest_.empty()) {
    return ok_ = false;
  }
  *tag = static_cast<uint8_t>(rest_[0]);
  rest_.remove_prefix(1);
  return true;
}

bool KeyReader::U64(uint64_t* v) {
  if (!ok_ || rest_.size() < 8) {
    return ok_ = false;
  }
  uint64_t out = 0;
  for (int i = 0; i < 8; ++i) {
    out = (out << 8) | static_cast<uint8_t>(rest_[i]);
  }
  rest_.remove_prefix(8);
  *v = out;
  return true;
}

bool KeyReader::U32(uint32_t* v) {
  if (!ok_ || rest_.size() < 4) {
    return ok_ = false;
  }
  uint32_t out = 0;
  for (int i = 0; i < 4; ++i) {
    out = (out << 8) | static_cast<uint8_t>(rest_[i]);
  }
  rest_.remove_prefix(4);
  *v = out;
  return true;
}

bool KeyReader::I64(int64_t* v) {
  uint64_t u = 0;
  if (!U64(&u)) {
    return false;
  }
  *v = static_cast<int64_t>(u ^ (uint64_t{1} << 63));
  return true;
}

bool KeyReader::Str(std::string* s) {
  if (!ok_) {
    return false;
  }
  std::string out;
  size_t i = 0;
  while (true) {
    if (i >= rest_.size()) {
      return ok_ = false;
    }
    char c = rest_[i];
    if (c != '\0') {
      out.push_back(c);
      ++i;
      continue;
    }
    if (i + 1 >= rest_.size()) {
      return ok_ = false;
    }
    char next = rest_[i + 1];
    if (next == '\xff') {
      out.push_back('\0');
      i += 2;
    } else if (next == '\x01') {
      i += 2;
      break;
    } else {
      return ok_ = false;
    }
  }
  rest_.remove_prefix(i);
  *s = std::move(out);
  return true;
}

std::string PrefixSuccessor(std::string_view prefix) {
  std::string out(prefix);
  while (!out.empty()) {
    if (static_cast<uint8_t>(out.back()) != 0xff) {
      out.back() = static_cast<char>(static_cast<uint8_t>(out.back()) + 1);
      return out;
    }
    out.pop_back();
  }
  return out;
}

}  // namespace salesops
