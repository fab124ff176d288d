#include "registry/resident.h"

#include "common/enum_names.h"
#include "common/text.h"

#include <nlohmann/json.hpp>

#include <array>
#include <set>

namespace jlis::registry {
namespace {

using nlohmann::json;

constexpr std::array<std::string_view, 2> kSex = {"male", "female"};
constexpr std::array<std::string_view, 4> kStatus = {"resident", "moved_out", "abroad", "deceased"};
constexpr std::array<std::string_view, 9> kEventTypes = {
    "birth", "move_in", "move_out", "relocation", "death", "name_change", "correction", "resident_code_change",
    "my_number_reissue"};


// Reads an optional string field, failing when present but not a string.
Result<std::optional<std::string>> opt_string(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::optional<std::string>();
  if (!it->is_string()) return invalid_argument(std::string(key) + " must be a string");
  return std::optional<std::string>(it->get<std::string>());
}

Result<std::string> req_string(const json& j, const char* key) {
  JLIS_ASSIGN_OR_RETURN(auto v, opt_string(j, key));
  if (!v || v->empty()) return invalid_argument(std::string(key) + " is required");
  return *v;
}

Result<Date> req_date(const json& j, const char* key) {
  JLIS_ASSIGN_OR_RETURN(auto text, req_string(j, key));
  auto d = Date::parse_iso(text);
  if (!d.ok()) return invalid_argument(std::string(key) + " must be a date YYYY-MM-DD");
  return *d;
}

Result<Person> person_from_json(const json& j) {
  if (!j.is_object()) return invalid_argument("person must be an object");
  for (auto& [k, v] : j.items()) {
    (void)v;
    static const std::set<std::string> known = {"name", "name_kana", "date_of_birth", "sex", "address"};
    if (!known.count(k)) return invalid_argument("person has an unknown field '" + k + "'");
  }
  Person p;
  JLIS_ASSIGN_OR_RETURN(p.name, req_string(j, "name"));
  JLIS_ASSIGN_OR_RETURN(p.name_kana, req_string(j, "name_kana"));
  JLIS_ASSIGN_OR_RETURN(p.date_of_birth, req_date(j, "date_of_birth"));
  JLIS_ASSIGN_OR_RETURN(auto sex, req_string(j, "sex"));
  JLIS_ASSIGN_OR_RETURN(p.sex, parse_sex(sex));
  JLIS_ASSIGN_OR_RETURN(p.address, req_string(j, "address"));
  return p;
}

json person_json(const Person& p) {
  return {{"name", p.name}, {"name_kana", p.name_kana}, {"date_of_birth", p.date_of_birth.to_iso()},
          {"sex", sex_name(p.sex)}, {"address", p.address}};
}

}  // namespace

std::string_view sex_name(Sex sex) { return kSex[static_cast<int>(sex)]; }
Result<Sex> parse_sex(std::string_view text) { return parse_enum_name<Sex>(kSex, text, "sex"); }
std::string_view status_name(ResidentStatus s) { return kStatus[static_cast<int>(s)]; }
Result<ResidentStatus> parse_status(std::string_view text) {
  return parse_enum_name<ResidentStatus>(kStatus, text, "status");
}
std::string_view event_type_name(EventType t) { return kEventTypes[static_cast<int>(t)]; }
Result<EventType> parse_event_type(std::string_view text) {
  return parse_enum_name<EventType>(kEventTypes, text, "type");
}

json to_json(const Resident& r) {
  json j = person_json(r.person);
  j["resident_code"] = r.resident_code.str();
  j["my_number"] = r.my_number ? json(r.my_number->str()) : json(nullptr);
  j["municipality_code"] = r.municipality_code.str();
  j["status"] = status_name(r.status);
  if (r.moving_to) j["moving_to"] = r.moving_to->str();
  if (!r.address_abroad.empty()) j["address_abroad"] = r.address_abroad;
  return j;
}

namespace {

Result<Resident> resident_from_json_object(const json& j) {
  Resident r;
  JLIS_ASSIGN_OR_RETURN(r.person, [&]() -> Result<Person> {
    json p = json::object();
    for (const char* k : {"name", "name_kana", "date_of_birth", "sex", "address"}) p[k] = j.at(k);
    return person_from_json(p);
  }());
  JLIS_ASSIGN_OR_RETURN(r.resident_code, ResidentCode::parse(j.at("resident_code").get<std::string>()));
  if (j.at("my_number").is_string()) {
    JLIS_ASSIGN_OR_RETURN(r.my_number, MyNumber::parse(j.at("my_number").get<std::string>()));
  }
  JLIS_ASSIGN_OR_RETURN(r.municipality_code,
                        LocalGovernmentCode::parse(j.at("municipality_code").get<std::string>()));
  JLIS_ASSIGN_OR_RETURN(r.status, parse_status(j.at("status").get<std::string>()));
  if (j.contains("moving_to")) {
    JLIS_ASSIGN_OR_RETURN(r.moving_to, LocalGovernmentCode::parse(j.at("moving_to").get<std::string>()));
  }
  r.address_abroad = j.value("address_abroad", "");
  return r;
}

}  // namespace

Result<Resident> resident_from_json(const json& j) {
  // A missing field or one of the wrong JSON type is an invalid resident, not an exception.
  try {
    return resident_from_json_object(j);
  } catch (const json::exception& e) {
    return invalid_argument(std::string("a resident must have its fields as strings: ") + e.what());
  }
}

json to_json(const ChangeEvent& e) {
  json j = {{"event_id", e.event_id}, {"type", event_type_name(e.type)}, {"date", e.date.to_iso()}};
  if (e.person) j["person"] = person_json(*e.person);
  if (e.resident_code) j["resident_code"] = e.resident_code->str();
  if (!e.from.empty()) j["from"] = e.from;
  if (!e.to.empty()) j["to"] = e.to;
  if (e.address) j["address"] = *e.address;
  if (!e.address_abroad.empty()) j["address_abroad"] = e.address_abroad;
  if (e.name) j["name"] = *e.name;
  if (e.name_kana) j["name_kana"] = *e.name_kana;
  if (e.date_of_birth) j["date_of_birth"] = e.date_of_birth->to_iso();
  if (e.sex) j["sex"] = sex_name(*e.sex);
  if (!e.reason.empty()) j["reason"] = e.reason;
  if (e.household) {
    json h = {{"relationship", e.household->relationship}};
    if (e.household->head) h["head"] = e.household->head->str();
    j["household"] = std::move(h);
  }
  return j;
}

namespace {

// {"head": resident code (optional), "relationship": text}.
Result<HouseholdPlacement> household_from_json(const json& j) {
  if (!j.is_object()) return invalid_argument("household must be an object of head and relationship");
  for (auto& [k, v] : j.items()) {
    (void)v;
    if (k != "head" && k != "relationship") return invalid_argument("field '" + k + "' does not belong to household");
  }
  HouseholdPlacement h;
  JLIS_ASSIGN_OR_RETURN(auto head, opt_string(j, "head"));
  if (head) {
    auto rc = ResidentCode::parse(*head);
    if (!rc.ok()) return invalid_argument("household.head is not a valid 11-digit resident code");
    h.head = *rc;
  }
  JLIS_ASSIGN_OR_RETURN(auto relationship, opt_string(j, "relationship"));
  h.relationship = relationship.value_or("");
  if (utf8_length(h.relationship) > kMaxRelationshipLength)
    return invalid_argument("household.relationship is longer than " + std::to_string(kMaxRelationshipLength) + " characters");
  if (h.head && h.relationship.empty()) return invalid_argument("household.relationship is required with household.head");
  return h;
}

}  // namespace

Result<ChangeEvent> event_from_json(const json& j) {
  if (!j.is_object()) return invalid_argument("an event must be a JSON object");
  ChangeEvent e;
  JLIS_ASSIGN_OR_RETURN(e.event_id, req_string(j, "event_id"));
  if (e.event_id.size() > kMaxEventIdLength)
    return invalid_argument("event_id is longer than " + std::to_string(kMaxEventIdLength) + " characters");
  JLIS_ASSIGN_OR_RETURN(auto type, req_string(j, "type"));
  JLIS_ASSIGN_OR_RETURN(e.type, parse_event_type(type));
  JLIS_ASSIGN_OR_RETURN(e.date, req_date(j, "date"));

  // The fields each type may carry, besides event_id, type and date.
  static const std::array<std::set<std::string>, 9> allowed = {{
      {"person", "household"},                                              // birth
      {"person", "resident_code", "from", "address", "name", "name_kana", "date_of_birth", "sex", "household"},  // move_in
      {"resident_code", "to", "address_abroad"},                            // move_out
      {"resident_code", "address", "household"},                            // relocation
      {"resident_code"},                                                    // death
      {"resident_code", "name", "name_kana"},                               // name_change
      {"resident_code", "name", "name_kana", "date_of_birth", "sex", "address"},  // correction
      {"resident_code"},                                                    // resident_code_change
      {"resident_code", "reason"},                                          // my_number_reissue
  }};
  for (auto& [k, v] : j.items()) {
    (void)v;
    if (k == "event_id" || k == "type" || k == "date") continue;
    if (!allowed[static_cast<int>(e.type)].count(k))
      return invalid_argument("field '" + k + "' does not belong to a " + type + " event");
  }

  if (j.contains("person")) {
    JLIS_ASSIGN_OR_RETURN(e.person, person_from_json(j["person"]));
  }
  JLIS_ASSIGN_OR_RETURN(auto code, opt_string(j, "resident_code"));
  if (code) {
    auto rc = ResidentCode::parse(*code);
    if (!rc.ok()) return invalid_argument("resident_code is not a valid 11-digit resident code");
    e.resident_code = *rc;
  }
  JLIS_ASSIGN_OR_RETURN(auto from, opt_string(j, "from"));
  JLIS_ASSIGN_OR_RETURN(auto to, opt_string(j, "to"));
  e.from = from.value_or("");
  e.to = to.value_or("");
  JLIS_ASSIGN_OR_RETURN(e.address, opt_string(j, "address"));
  JLIS_ASSIGN_OR_RETURN(auto abroad, opt_string(j, "address_abroad"));
  e.address_abroad = abroad.value_or("");
  JLIS_ASSIGN_OR_RETURN(e.name, opt_string(j, "name"));
  JLIS_ASSIGN_OR_RETURN(e.name_kana, opt_string(j, "name_kana"));
  if (j.contains("date_of_birth")) {
    JLIS_ASSIGN_OR_RETURN(e.date_of_birth, req_date(j, "date_of_birth"));
  }
  JLIS_ASSIGN_OR_RETURN(auto reason, opt_string(j, "reason"));
  e.reason = reason.value_or("");
  JLIS_ASSIGN_OR_RETURN(auto sex, opt_string(j, "sex"));
  if (sex) {
    JLIS_ASSIGN_OR_RETURN(e.sex, parse_sex(*sex));
  }
  if (j.contains("household")) {
    JLIS_ASSIGN_OR_RETURN(e.household, household_from_json(j["household"]));
  }

  // Required fields per type.
  auto need = [&](bool present, const char* what) -> Status {
    return present ? Status::ok() : invalid_argument(std::string(what) + " is required for a " + type + " event");
  };
  switch (e.type) {
    case EventType::birth:
      JLIS_RETURN_IF_ERROR(need(e.person.has_value(), "person"));
      return e;
    case EventType::move_in:
      JLIS_RETURN_IF_ERROR(need(!e.from.empty(), "from"));
      if (e.from == "abroad") {
        if (e.person.has_value() == e.resident_code.has_value())
          return invalid_argument("a move_in from abroad needs either person (first registration) or "
                                  "resident_code (a returning resident)");
        if (e.resident_code) JLIS_RETURN_IF_ERROR(need(e.address.has_value(), "address"));
        if (e.person && (e.address || e.name || e.name_kana || e.date_of_birth || e.sex))
          return invalid_argument("a first registration carries its basic four in person");
      } else {
        if (!LocalGovernmentCode::parse(e.from).ok())
          return invalid_argument("from must be \"abroad\" or a 6-digit municipality code");
        JLIS_RETURN_IF_ERROR(need(e.resident_code.has_value(), "resident_code"));
        JLIS_RETURN_IF_ERROR(need(e.address.has_value(), "address"));
        if (e.person) return invalid_argument("person belongs only to a first registration from abroad");
      }
      if (e.resident_code) {  // a known resident moves: the basic four identify them
        JLIS_RETURN_IF_ERROR(need(e.name.has_value() || e.name_kana.has_value(), "name or name_kana"));
        JLIS_RETURN_IF_ERROR(need(e.date_of_birth.has_value(), "date_of_birth"));
        JLIS_RETURN_IF_ERROR(need(e.sex.has_value(), "sex"));
      }
      return e;
    case EventType::move_out:
      JLIS_RETURN_IF_ERROR(need(e.resident_code.has_value(), "resident_code"));
      JLIS_RETURN_IF_ERROR(need(!e.to.empty(), "to"));
      if (e.to == "abroad") {
        JLIS_RETURN_IF_ERROR(need(!e.address_abroad.empty(), "address_abroad"));
      } else {
        if (!LocalGovernmentCode::parse(e.to).ok())
          return invalid_argument("to must be \"abroad\" or a 6-digit municipality code");
        if (!e.address_abroad.empty()) return invalid_argument("address_abroad belongs only to a move abroad");
      }
      return e;
    case EventType::relocation:
      JLIS_RETURN_IF_ERROR(need(e.resident_code.has_value(), "resident_code"));
      JLIS_RETURN_IF_ERROR(need(e.address.has_value(), "address"));
      return e;
    case EventType::death:
      JLIS_RETURN_IF_ERROR(need(e.resident_code.has_value(), "resident_code"));
      return e;
    case EventType::name_change:
      JLIS_RETURN_IF_ERROR(need(e.resident_code.has_value(), "resident_code"));
      JLIS_RETURN_IF_ERROR(need(e.name.has_value(), "name"));
      JLIS_RETURN_IF_ERROR(need(e.name_kana.has_value(), "name_kana"));
      return e;
    case EventType::correction:
      JLIS_RETURN_IF_ERROR(need(e.resident_code.has_value(), "resident_code"));
      if (!e.name && !e.name_kana && !e.date_of_birth && !e.sex && !e.address)
        return invalid_argument("a correction needs at least one of name, name_kana, date_of_birth, sex, address");
      return e;
    case EventType::resident_code_change:
      JLIS_RETURN_IF_ERROR(need(e.resident_code.has_value(), "resident_code"));
      return e;
    case EventType::my_number_reissue:
      JLIS_RETURN_IF_ERROR(need(e.resident_code.has_value(), "resident_code"));
      JLIS_RETURN_IF_ERROR(need(!e.reason.empty(), "reason"));
      if (e.reason != "leak")
        return invalid_argument("reason must be \"leak\": a My Number is changed only when it has leaked");
      return e;
  }
  return e;
}

}  // namespace jlis::registry
