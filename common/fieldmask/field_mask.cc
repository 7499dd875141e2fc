#include "common/fieldmask/field_mask.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/status/violations.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/util/field_mask_util.h"

namespace salesops::fieldmask {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::FieldMask;
using google::protobuf::Message;
using google::protobuf::util::FieldMaskUtil;

bool IsWritable(const EntityRules& rules, std::string_view field) {
  return std::find(rules.writable.begin(), rules.writable.end(), field) !=
         rules.writable.end();
}

const std::string* ImmutableRule(const EntityRules& rules,
                                 std::string_view field) {
  for (const auto& [name, rule] : rules.immutable) {
    if (name == field) {
      return &rule;
    }
  }
  return nullptr;
}

// The rule `path` breaks, or "" when it may be written.
std::string PathRule(const Descriptor& type, const std::string& path,
                     const EntityRules& rules) {
  if (!FieldMaskUtil::GetFieldDescriptors(&type, path, nullptr)) {
    const FieldDescriptor* top =
        type.FindFieldByName(path.substr(0, path.find('.')));
    if (top != nullptr && path.find('.') != std::string::npos &&
        (top->is_repeated() ||
         top->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE)) {
      return absl::StrCat("'", path, "' goes inside '", top->name(),
                          "', which is not a singular message field; name '",
                          top->name(), "' to replace it whole");
    }
    return absl::StrCat("'", path, "' is not a field of ", type.full_name());
  }
  const std::string top = path.substr(0, path.find('.'));
  if (IsWritable(rules, top)) {
    return "";
  }
  if (const std::string* rule = ImmutableRule(rules, top)) {
    return absl::StrCat("'", path, "' is immutable: ", *rule);
  }
  return absl::StrCat("'", path, "' is output only");
}

bool Populated(const Message& m, const FieldDescriptor& f) {
  const auto* r = m.GetReflection();
  return f.is_repeated() ? r->FieldSize(m, &f) > 0 : r->HasField(m, &f);
}

FieldMask ImpliedMask(const Message& in, const EntityRules& rules) {
  FieldMask out;
  const Descriptor& type = *in.GetDescriptor();
  for (int i = 0; i < type.field_count(); ++i) {
    const FieldDescriptor& f = *type.field(i);
    if (IsWritable(rules, f.name()) && Populated(in, f)) {
      out.add_paths(f.name());
    }
  }
  return out;
}

FieldMask AllWritable(const Descriptor& type, const EntityRules& rules) {
  FieldMask out;
  for (int i = 0; i < type.field_count(); ++i) {
    if (IsWritable(rules, type.field(i)->name())) {
      out.add_paths(type.field(i)->name());
    }
  }
  return out;
}

}  // namespace

std::string MaskPathField(int i) {
  return absl::StrCat("update_mask.paths[", i, "]");
}

bool ResolvedMask::Covers(std::string_view field) const {
  for (const std::string& p : paths.paths()) {
    if (p == field || (p.size() > field.size() && p[field.size()] == '.' &&
                       p.compare(0, field.size(), field) == 0)) {
      return true;
    }
  }
  return false;
}

absl::StatusOr<ResolvedMask> Resolve(const FieldMask& mask, const Message& in,
                                     const EntityRules& rules) {
  const Descriptor& type = *in.GetDescriptor();
  ResolvedMask out;
  if (mask.paths().empty()) {
    out.paths = ImpliedMask(in, rules);
    return out;
  }
  Violations v;
  bool star = false;
  for (int i = 0; i < mask.paths_size(); ++i) {
    const std::string& path = mask.paths(i);
    if (path == "*") {
      star = true;
      if (mask.paths_size() > 1) {
        v.Add(MaskPathField(i),
              "'*' (every writable field) must be the only path");
      }
      continue;
    }
    if (std::string rule = PathRule(type, path, rules); !rule.empty()) {
      v.Add(MaskPathField(i), std::move(rule));
    }
  }
  if (!v.empty()) {
    return v.status();
  }
  if (star) {
    out.kind = MaskKind::kAll;
    out.paths = AllWritable(type, rules);
    return out;
  }
  out.kind = MaskKind::kExplicit;
  FieldMaskUtil::ToCanonicalForm(mask, &out.paths);
  return out;
}

void Apply(const Message& in, const ResolvedMask& mask, Message* target) {
  FieldMaskUtil::MergeOptions options;
  options.set_replace_message_fields(true);
  options.set_replace_repeated_fields(true);
  FieldMaskUtil::MergeMessageTo(in, mask.paths, options, target);
}

}  // namespace salesops::fieldmask
