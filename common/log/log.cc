#include "common/log/log.h"

#include <atomic>
#include <cmath>
#include <cstdio>
#include <mutex>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace salesops::log {
namespace {

std::atomic<int> g_min_level{static_cast<int>(Level::kInfo)};
std::mutex g_write_mu;
// This thread's innermost ScopedFields; null when none.
thread_local const ScopedFields* t_scoped = nullptr;

const char* LevelName(Level l) {
  switch (l) {
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarn:
      return "warn";
    case Level::kError:
      return "error";
  }
  return "info";
}

}  // namespace

Value::Value(double v)
    : json_(std::isfinite(v) ? absl::StrFormat("%.17g", v)
                             : std::string("null")) {}

std::string Value::Quote(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out.push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          out += absl::StrFormat("\\u%04x", c);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out.push_back('"');
  return out;
}

ScopedFields::ScopedFields(Fields fields) : previous_(t_scoped) {
  for (const auto& [key, value] : fields) {
    rendered_.push_back(',');
    rendered_ += Value::Quote(key);
    rendered_.push_back(':');
    rendered_ += value.json();
  }
  t_scoped = this;
}

ScopedFields::ScopedFields(std::string_view key1, const std::string* value1,
                           std::string_view key2, const std::string* value2)
    : previous_(t_scoped), keys_{key1, key2}, values_{value1, value2} {
  t_scoped = this;
}

ScopedFields::~ScopedFields() { t_scoped = previous_; }

void ScopedFields::AppendTo(std::string* line) const {
  *line += rendered_;
  for (int i = 0; i < 2; ++i) {
    if (values_[i] != nullptr) {
      line->push_back(',');
      *line += Value::Quote(keys_[i]);
      line->push_back(':');
      *line += Value::Quote(*values_[i]);
    }
  }
}

void SetMinLevel(Level level) { g_min_level.store(static_cast<int>(level)); }

std::string Format(Level level, std::string_view msg, Fields fields,
                   int64_t unix_micros) {
  std::string line = "{\"ts\":";
  line += Value::Quote(absl::FormatTime("%Y-%m-%d%ET%H:%M:%E6SZ",
                                        absl::FromUnixMicros(unix_micros),
                                        absl::UTCTimeZone()));
  line += ",\"level\":\"";
  line += LevelName(level);
  line += "\",\"msg\":";
  line += Value::Quote(msg);
  for (const auto& [key, value] : fields) {
    line.push_back(',');
    line += Value::Quote(key);
    line.push_back(':');
    line += value.json();
  }
  if (t_scoped != nullptr) {
    t_scoped->AppendTo(&line);
  }
  line.push_back('}');
  return line;
}

void Write(Level level, std::string_view msg, Fields fields) {
  if (static_cast<int>(level) < g_min_level.load(std::memory_order_relaxed)) {
    return;
  }
  std::string line =
      Format(level, msg, fields, absl::ToUnixMicros(absl::Now()));
  line.push_back('\n');
  std::lock_guard<std::mutex> lock(g_write_mu);
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace salesops::log
