#include "tools/salesopsctl/output.h"

#include <algorithm>
#include <ostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/money/money.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/util/json_util.h"
#include "salesops/v1/common.pb.h"
#include "tools/salesopsctl/flags.h"

namespace salesops::ctl {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::EnumValueDescriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

// OPPORTUNITY_STATUS_OPEN → OPEN (flags.h).
std::string EnumText(const EnumValueDescriptor* v) { return EnumShortName(v); }

std::string MessageText(const Message& m) {
  const Descriptor* d = m.GetDescriptor();
  if (d->full_name() == "salesops.v1.Money") {
    const auto& money = static_cast<const v1::Money&>(m);
    return money::Format(money.units_minor(),
                         money::CurrencyExponent(money.currency()));
  }
  if (d->full_name() == "salesops.v1.Date") {
    const auto& date = static_cast<const v1::Date&>(m);
    if (date.year() == 0) {
      return "";
    }
    return absl::StrFormat("%04d-%02d-%02d", date.year(), date.month(),
                           date.day());
  }
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(m, &json, options);
  return json;
}

std::string ScalarText(const Message& m, const FieldDescriptor* f, int index) {
  const Reflection* r = m.GetReflection();
  const bool rep = f->is_repeated();
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      return absl::StrCat(rep ? r->GetRepeatedInt32(m, f, index)
                              : r->GetInt32(m, f));
    case FieldDescriptor::CPPTYPE_INT64:
      return absl::StrCat(rep ? r->GetRepeatedInt64(m, f, index)
                              : r->GetInt64(m, f));
    case FieldDescriptor::CPPTYPE_UINT32:
      return absl::StrCat(rep ? r->GetRepeatedUInt32(m, f, index)
                              : r->GetUInt32(m, f));
    case FieldDescriptor::CPPTYPE_UINT64:
      return absl::StrCat(rep ? r->GetRepeatedUInt64(m, f, index)
                              : r->GetUInt64(m, f));
    case FieldDescriptor::CPPTYPE_DOUBLE:
      return absl::StrCat(rep ? r->GetRepeatedDouble(m, f, index)
                              : r->GetDouble(m, f));
    case FieldDescriptor::CPPTYPE_FLOAT:
      return absl::StrCat(rep ? r->GetRepeatedFloat(m, f, index)
                              : r->GetFloat(m, f));
    case FieldDescriptor::CPPTYPE_BOOL:
      return (rep ? r->GetRepeatedBool(m, f, index) : r->GetBool(m, f))
                 ? "true"
                 : "false";
    case FieldDescriptor::CPPTYPE_ENUM:
      return EnumText(rep ? r->GetRepeatedEnum(m, f, index) : r->GetEnum(m, f));
    case FieldDescriptor::CPPTYPE_STRING:
      return rep ? r->GetRepeatedString(m, f, index) : r->GetString(m, f);
    case FieldDescriptor::CPPTYPE_MESSAGE:
      if (!rep && !r->HasField(m, f)) {
        return "";
      }
      return MessageText(rep ? r->GetRepeatedMessage(m, f, index)
                             : r->GetMessage(m, f));
  }
  return "";
}

std::string Json(const Message& m) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.add_whitespace = true;
  (void)google::protobuf::util::MessageToJsonString(m, &json, options);
  return json;
}

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
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
        if (static_cast<unsigned char>(c) < 0x20) {
          out += absl::StrFormat("\\u%04x", c);
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

}  // namespace

std::string FieldText(const Message& m, const std::string& path) {
  const Message* cur = &m;
  size_t start = 0;
  while (true) {
    const size_t dot = path.find('.', start);
    const std::string name = path.substr(start, dot - start);
    const FieldDescriptor* f = cur->GetDescriptor()->FindFieldByName(name);
    if (f == nullptr) {
      return "";
    }
    const Reflection* r = cur->GetReflection();
    if (dot == std::string::npos || f->is_repeated()) {
      if (!f->is_repeated()) {
        return ScalarText(*cur, f, 0);
      }
      std::vector<std::string> parts;
      for (int i = 0; i < r->FieldSize(*cur, f); ++i) {
        parts.push_back(ScalarText(*cur, f, i));
      }
      return absl::StrJoin(parts, ";");
    }
    if (f->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) {
      return "";
    }
    cur = &r->GetMessage(*cur, f);
    start = dot + 1;
  }
}

std::string CsvField(const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) {
    return text;
  }
  std::string out = "\"";
  for (char c : text) {
    out += c;
    if (c == '"') {
      out += '"';
    }
  }
  return out + "\"";
}

void PrintCells(Env& env, const std::vector<std::string>& header,
                const std::vector<std::vector<std::string>>& rows) {
  std::ostream& out = *env.out;
  switch (env.format) {
    case Format::kJson: {
      out << "[";
      for (size_t i = 0; i < rows.size(); ++i) {
        out << (i == 0 ? "\n  {" : ",\n  {");
        for (size_t c = 0; c < header.size(); ++c) {
          out << (c == 0 ? "" : ", ") << JsonString(header[c]) << ": "
              << JsonString(c < rows[i].size() ? rows[i][c] : "");
        }
        out << "}";
      }
      out << (rows.empty() ? "]\n" : "\n]\n");
      return;
    }
    case Format::kCsv: {
      std::vector<std::string> line;
      for (const std::string& h : header) {
        line.push_back(CsvField(h));
      }
      out << absl::StrJoin(line, ",") << "\r\n";
      for (const auto& row : rows) {
        line.clear();
        for (const std::string& cell : row) {
          line.push_back(CsvField(cell));
        }
        out << absl::StrJoin(line, ",") << "\r\n";
      }
      return;
    }
    case Format::kTable: {
      std::vector<size_t> width(header.size());
      for (size_t c = 0; c < header.size(); ++c) {
        width[c] = header[c].size();
        for (const auto& row : rows) {
          if (c < row.size()) {
            width[c] = std::max(width[c], row[c].size());
          }
        }
      }
      auto print = [&](const std::vector<std::string>& row) {
        std::string line;
        for (size_t c = 0; c < header.size(); ++c) {
          const std::string cell = c < row.size() ? row[c] : "";
          line += cell;
          if (c + 1 < header.size()) {
            line += std::string(width[c] - cell.size() + 2, ' ');
          }
        }
        out << line << "\n";
      };
      print(header);
      for (const auto& row : rows) {
        print(row);
      }
      return;
    }
  }
}

void PrintList(Env& env, const std::vector<const Message*>& rows,
               const std::vector<std::string>& columns) {
  if (env.format == Format::kJson) {
    std::ostream& out = *env.out;
    out << "[";
    for (size_t i = 0; i < rows.size(); ++i) {
      out << (i == 0 ? "\n" : ",\n") << Json(*rows[i]);
    }
    out << (rows.empty() ? "]\n" : "\n]\n");
    return;
  }
  std::vector<std::vector<std::string>> cells;
  for (const Message* m : rows) {
    std::vector<std::string> row;
    for (const std::string& c : columns) {
      row.push_back(FieldText(*m, c));
    }
    cells.push_back(std::move(row));
  }
  PrintCells(env, columns, cells);
}

void PrintOne(Env& env, const Message& m,
              const std::vector<std::string>& columns) {
  if (env.format == Format::kJson) {
    *env.out << Json(m) << "\n";
    return;
  }
  PrintList(env, {&m}, columns);
}

}  // namespace salesops::ctl
