#include "linkage/legal_table.h"

#include <algorithm>
#include <array>
#include <map>
#include <nlohmann/json.hpp>

namespace jlis::linkage {

namespace {

using nlohmann::json;

bool valid_item_code(const std::string& code) {
  return code.size() == 5 && std::all_of(code.begin(), code.end(), [](char c) {
           return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
         });
}

Result<std::set<BodyKind>> kinds(const json& list, const std::string& where) {
  if (!list.is_array() || list.empty()) return invalid_argument(where + " is not a non-empty list of body kinds");
  std::set<BodyKind> out;
  for (const auto& k : list) {
    if (!k.is_string()) return invalid_argument(where + " holds a non-string");
    auto kind = parse_body_kind(k.get<std::string>());
    if (!kind.ok()) return invalid_argument(where + ": " + kind.status().message());
    out.insert(*kind);
  }
  return out;
}

std::string kind_list(const std::set<BodyKind>& ks) {
  std::string out;
  for (auto k : ks) out += (out.empty() ? "" : ", ") + std::string(body_kind_name(k));
  return out;
}

Result<LegalRow> parse_row(const json& j, size_t index) {
  const std::string where = "legal table row #" + std::to_string(index + 1);
  if (!j.is_object() || !j.contains("row") || !j["row"].is_number_integer() || j["row"].get<int>() < 1)
    return invalid_argument(where + ": 'row' is not a positive integer");
  LegalRow r;
  r.row = j["row"].get<int>();
  if (j.contains("basis") && j["basis"].is_string()) r.basis = j["basis"].get<std::string>();
  const json& proc = j.value("procedure", json::object());
  if (!proc.is_object() || !proc.value("code", json()).is_string() || !proc.value("name", json()).is_string() ||
      proc["code"].get<std::string>().empty() || proc["name"].get<std::string>().empty())
    return invalid_argument(where + ": 'procedure' needs a code and a name");
  r.procedure = proc["code"].get<std::string>();
  r.procedure_name = proc["name"].get<std::string>();
  JLIS_ASSIGN_OR_RETURN(r.requesters, kinds(j.value("requesters", json()), where + ": 'requesters'"));
  JLIS_ASSIGN_OR_RETURN(r.providers, kinds(j.value("providers", json()), where + ": 'providers'"));
  const json& items = j.value("items", json());
  if (!items.is_array() || items.empty()) return invalid_argument(where + ": 'items' is not a non-empty list");
  for (const auto& i : items) {
    if (!i.is_string() || !valid_item_code(i.get<std::string>()))
      return invalid_argument(where + ": an item code is not 5 of [A-Z0-9]");
    r.items.push_back(i.get<std::string>());
  }
  return r;
}

}  // namespace

std::string_view refusal_name(Refusal refusal) {
  static constexpr std::array<std::string_view, 6> kNames = {
      "none", "unknown-procedure", "requester-not-entitled", "provider-not-in-row", "no-items", "item-not-allowed"};
  return kNames[static_cast<size_t>(refusal)];
}

Result<LegalTable> LegalTable::load(std::string_view text) {
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("rows") || !doc["rows"].is_array())
    return invalid_argument("the legal table is not a JSON object with a 'rows' list");
  LegalTable table;
  std::map<std::string, std::string> names;  // procedure code → name
  for (size_t i = 0; i < doc["rows"].size(); ++i) {
    JLIS_ASSIGN_OR_RETURN(LegalRow r, parse_row(doc["rows"][i], i));
    auto [it, fresh] = names.emplace(r.procedure, r.procedure_name);
    if (!fresh && it->second != r.procedure_name)
      return invalid_argument("legal table row #" + std::to_string(i + 1) + ": procedure " + r.procedure +
                              " has another name in an earlier row");
    for (const auto& other : table.rows_)
      if (other.procedure == r.procedure)
        for (auto p : r.providers)
          if (other.providers.count(p))
            return invalid_argument("legal table row #" + std::to_string(i + 1) + ": procedure " + r.procedure +
                                    " has two rows for provider " + std::string(body_kind_name(p)));
    table.rows_.push_back(std::move(r));
  }
  if (table.rows_.empty()) return invalid_argument("the legal table has no rows");
  return table;
}

Result<const LegalTable*> LegalTable::shipped() {
  static const Result<LegalTable> table = load(shipped_legal_table());
  if (!table.ok()) return internal_error("the shipped legal table: " + table.status().message());
  return &*table;
}

Decision LegalTable::decide(BodyKind requester, std::string_view procedure, BodyKind provider,
                            const std::vector<std::string>& items) const {
  Decision d;
  const std::string proc(procedure);
  std::vector<const LegalRow*> of_procedure, entitled;
  for (const auto& r : rows_)
    if (r.procedure == proc) of_procedure.push_back(&r);
  if (of_procedure.empty()) {
    d.refusal = Refusal::unknown_procedure;
    d.message = "procedure " + proc + " is in no row of the legal table";
    return d;
  }
  for (const auto* r : of_procedure)
    if (r->requesters.count(requester)) entitled.push_back(r);
  if (entitled.empty()) {
    d.refusal = Refusal::requester_not_entitled;
    d.row = of_procedure.front()->row;
    d.message = "row " + std::to_string(d.row) + " (" + proc + "): a " + std::string(body_kind_name(requester)) +
                " may not ask; only " + kind_list(of_procedure.front()->requesters);
    return d;
  }
  const LegalRow* row = nullptr;
  for (const auto* r : entitled)
    if (r->providers.count(provider)) row = r;
  if (!row) {
    d.refusal = Refusal::provider_not_in_row;
    d.row = entitled.front()->row;
    d.message = "row " + std::to_string(d.row) + " (" + proc + "): a " + std::string(body_kind_name(provider)) +
                " is not a provider of this procedure";
    return d;
  }
  d.row = row->row;
  if (items.empty()) {
    d.refusal = Refusal::no_items;
    d.message = "row " + std::to_string(d.row) + " (" + proc + "): no item asked for";
    return d;
  }
  for (const auto& item : items)
    if (std::find(row->items.begin(), row->items.end(), item) == row->items.end()) {
      d.refusal = Refusal::item_not_allowed;
      d.item = item;
      d.message = "row " + std::to_string(d.row) + " (" + proc + "): item " + item + " is not allowed from a " +
                  std::string(body_kind_name(provider));
      return d;
    }
  d.message = "row " + std::to_string(d.row) + " (" + proc + ") allows it";
  return d;
}

}  // namespace jlis::linkage
