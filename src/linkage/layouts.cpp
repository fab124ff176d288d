#include "linkage/layouts.h"

#include <algorithm>
#include <array>
#include <nlohmann/json.hpp>

#include "common/enum_names.h"
#include "common/text.h"

namespace jlis::linkage {

namespace {

using nlohmann::json;

constexpr std::array<std::string_view, 4> kTypeNames = {"string", "integer", "date", "code"};

bool is_string(const json& j, const char* key) { return j.contains(key) && j[key].is_string(); }

Result<LayoutItem> parse_item(const json& j, const std::string& where) {
  if (!j.is_object() || !is_string(j, "code") || !is_string(j, "name") || !is_string(j, "type") ||
      !j.contains("max_length") || !j["max_length"].is_number_integer() || j["max_length"].get<int>() < 1)
    return invalid_argument(where + ": an item needs a code, a name, a type and a positive max_length");
  LayoutItem item;
  item.code = j["code"].get<std::string>();
  const std::string w = where + " item " + item.code;
  if (item.code.size() != 5 || item.code.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != std::string::npos)
    return invalid_argument(w + ": an item code is 5 of [A-Z0-9]");
  item.name = j["name"].get<std::string>();
  auto type = parse_enum_name<ItemType>(kTypeNames, j["type"].get<std::string>(), w + ": the type");
  if (!type.ok()) return type.status();
  item.type = *type;
  item.max_length = j["max_length"].get<int>();
  if (j.contains("codes")) {
    if (item.type != ItemType::code) return invalid_argument(w + ": a code list on an item that is not of type code");
    if (!j["codes"].is_object()) return invalid_argument(w + ": the code list is not an object");
    for (const auto& [value, meaning] : j["codes"].items()) {
      if (!meaning.is_string() || value.empty() || utf8_length(value) > static_cast<size_t>(item.max_length))
        return invalid_argument(w + ": code '" + value + "' is empty, too long or has no meaning");
      item.codes[value] = meaning.get<std::string>();
    }
  }
  if (item.type == ItemType::code && item.codes.empty()) return invalid_argument(w + ": a code item without codes");
  return item;
}

Result<ProcedureLayout> parse_procedure(const json& j, const LayoutVersion& v, const std::string& where) {
  if (!j.is_object() || !is_string(j, "procedure") || !is_string(j, "name") || !j.contains("items") ||
      !j["items"].is_array() || j["items"].empty())
    return invalid_argument(where + ": a procedure layout needs a procedure, a name and items");
  ProcedureLayout p{j["procedure"].get<std::string>(), j["name"].get<std::string>(), {}, {}};
  const std::string w = where + " procedure " + p.procedure;
  for (const auto& i : j["items"]) {
    if (!i.is_string() || !v.items.count(i.get<std::string>()))
      return invalid_argument(w + ": an item that is not in the version");
    p.items.push_back(i.get<std::string>());
  }
  for (const auto& i : j.value("required", json::array())) {
    if (!i.is_string() || std::find(p.items.begin(), p.items.end(), i.get<std::string>()) == p.items.end())
      return invalid_argument(w + ": a required item that is not in its layout");
    p.required.insert(i.get<std::string>());
  }
  return p;
}

Result<LayoutVersion> parse_version(const json& j, size_t index) {
  std::string where = "layout version #" + std::to_string(index + 1);
  if (!j.is_object() || !is_string(j, "version") || !is_string(j, "effective_from") || !is_string(j, "revision") ||
      !j.contains("items") || !j["items"].is_array() || !j.contains("procedures") || !j["procedures"].is_array())
    return invalid_argument(where + ": a version needs a version, an effective_from, a revision, items and procedures");
  LayoutVersion v;
  v.version = j["version"].get<std::string>();
  where = "layout version " + v.version;
  v.revision = j["revision"].get<std::string>();
  if (v.revision != "yearly" && v.revision != "interim")
    return invalid_argument(where + ": the revision is 'yearly' or 'interim'");
  auto from = Date::parse_iso(j["effective_from"].get<std::string>());
  if (!from.ok()) return invalid_argument(where + ": effective_from is not YYYY-MM-DD");
  v.effective_from = *from;
  for (const auto& i : j["items"]) {
    JLIS_ASSIGN_OR_RETURN(LayoutItem item, parse_item(i, where));
    if (v.items.count(item.code)) return invalid_argument(where + ": item " + item.code + " twice");
    v.items[item.code] = std::move(item);
  }
  for (const auto& p : j["procedures"]) {
    JLIS_ASSIGN_OR_RETURN(ProcedureLayout layout, parse_procedure(p, v, where));
    if (v.procedures.count(layout.procedure))
      return invalid_argument(where + ": procedure " + layout.procedure + " twice");
    v.procedures[layout.procedure] = std::move(layout);
  }
  return v;
}

bool all_digits(const std::string& s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos;
}

Validation fail(LayoutRule rule, const std::string& item, const LayoutVersion& v, const std::string& what) {
  return {rule, item, "layout " + v.version + ": " + (item.empty() ? "" : "item " + item + " ") + what};
}

}  // namespace

std::string_view layout_rule_name(LayoutRule rule) {
  static constexpr std::array<std::string_view, 7> kNames = {"none",     "unknown-procedure", "unknown-item",
                                                             "wrong-type", "too-long",        "not-in-code-list",
                                                             "missing-required"};
  return kNames[static_cast<size_t>(rule)];
}

Result<DataLayouts> DataLayouts::load(std::string_view text) {
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("versions") || !doc["versions"].is_array() ||
      doc["versions"].empty())
    return invalid_argument("the layouts are not a JSON object with a non-empty 'versions' list");
  DataLayouts out;
  for (size_t i = 0; i < doc["versions"].size(); ++i) {
    JLIS_ASSIGN_OR_RETURN(LayoutVersion v, parse_version(doc["versions"][i], i));
    for (const auto& earlier : out.versions_)
      if (earlier.version == v.version) return invalid_argument("layout version " + v.version + " twice");
    if (!out.versions_.empty()) {
      LayoutVersion& before = out.versions_.back();
      if (v.effective_from <= before.effective_from)
        return invalid_argument("layout version " + v.version + " takes effect no later than " + before.version);
      before.effective_until = v.effective_from.add_days(-1);
    }
    out.versions_.push_back(std::move(v));
  }
  return out;
}

Result<const DataLayouts*> DataLayouts::shipped() {
  static const Result<DataLayouts> layouts = load(shipped_layouts());
  if (!layouts.ok()) return internal_error("the shipped layouts: " + layouts.status().message());
  return &*layouts;
}

Result<const LayoutVersion*> DataLayouts::version_in_force(Date day) const {
  const LayoutVersion* found = nullptr;
  for (const auto& v : versions_)
    if (v.effective_from <= day) found = &v;
  if (!found) return not_found("no data standard layout is in force on " + day.to_iso());
  return found;
}

Result<const LayoutVersion*> DataLayouts::version(std::string_view id) const {
  for (const auto& v : versions_)
    if (v.version == id) return &v;
  return not_found("no data standard layout version " + std::string(id));
}

namespace {
// The value's type, length and code-list rules (none when it keeps them).
std::optional<Validation> check_value(const LayoutVersion& v, const LayoutItem& item, const std::string& value) {
  const std::string& code = item.code;
  const size_t limit = static_cast<size_t>(item.max_length);
  switch (item.type) {
    case ItemType::string:
      if (utf8_length(value) > limit)
        return fail(LayoutRule::too_long, code, v, "is longer than " + std::to_string(limit) + " characters");
      break;
    case ItemType::integer:
      if (!all_digits(value)) return fail(LayoutRule::wrong_type, code, v, "is not an integer (digits only)");
      if (value.size() > limit)
        return fail(LayoutRule::too_long, code, v, "has more than " + std::to_string(limit) + " digits");
      break;
    case ItemType::date:
      if (!Date::parse_iso(value).ok()) return fail(LayoutRule::wrong_type, code, v, "is not a date (YYYY-MM-DD)");
      break;
    case ItemType::code:
      if (value.empty()) return fail(LayoutRule::wrong_type, code, v, "is not a code (empty)");
      if (utf8_length(value) > limit)
        return fail(LayoutRule::too_long, code, v, "is longer than " + std::to_string(limit) + " characters");
      if (!item.codes.count(value)) return fail(LayoutRule::not_in_code_list, code, v, "has no code '" + value + "'");
      break;
  }
  return std::nullopt;
}
}  // namespace

Validation DataLayouts::validate_items(const LayoutVersion& v, const std::map<std::string, std::string>& values) {
  for (const auto& [code, value] : values) {
    auto item = v.items.find(code);
    if (item == v.items.end()) return fail(LayoutRule::unknown_item, code, v, "is not an item of this version");
    if (auto failed = check_value(v, item->second, value)) return *failed;
  }
  return {LayoutRule::none, "", "layout " + v.version + ": valid items"};
}

Validation DataLayouts::validate(const LayoutVersion& v, std::string_view procedure,
                                 const std::map<std::string, std::string>& values) {
  auto p = v.procedures.find(std::string(procedure));
  if (p == v.procedures.end())
    return fail(LayoutRule::unknown_procedure, "", v, "has no layout for procedure " + std::string(procedure));
  const ProcedureLayout& layout = p->second;
  for (const auto& [code, value] : values) {
    if (std::find(layout.items.begin(), layout.items.end(), code) == layout.items.end())
      return fail(LayoutRule::unknown_item, code, v, "is not in the layout of " + layout.procedure);
    if (auto failed = check_value(v, v.items.at(code), value)) return *failed;
  }
  for (const auto& code : layout.items)
    if (layout.required.count(code)) {
      auto it = values.find(code);
      if (it == values.end() || it->second.empty())
        return fail(LayoutRule::missing_required, code, v, "is required by the layout of " + layout.procedure);
    }
  return {LayoutRule::none, "", "layout " + v.version + ": valid for " + layout.procedure};
}

}  // namespace jlis::linkage
