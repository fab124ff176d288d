#include "municipal/koseki_json.h"

#include <array>
#include <set>

#include <nlohmann/json.hpp>

#include "common/enum_names.h"

namespace jlis::municipal {
namespace {

using nlohmann::json;

constexpr std::array<std::string_view, 10> kNoticeTypes = {"open_register", "birth",    "marriage", "divorce",
                                                           "adoption",      "death",    "transfer", "branch",
                                                           "old_surname",   "link"};
constexpr std::array<std::string_view, 10> kEntryKinds = {"birth",       "marriage", "divorce",  "adoption", "death",
                                                          "branch",      "old_surname", "made", "transfer", "closed"};

// Bounds of the text fields, in characters (UTF-8: at most 4 bytes each, as Koseki counts them).
constexpr size_t kMaxShortText = 20;     // 届出人, 続柄
constexpr size_t kMaxReasonLength = 100;  // 編製事由
constexpr size_t kMaxMembers = 100;

// The fields of one JSON object, read by name; every name asked for (present or not) is allowed, and
// finish() refuses any other.
class Fields {
 public:
  Fields(const json& j, std::string where) : j_(j), where_(std::move(where)) {}

  Result<std::optional<std::string>> optional_text(const std::string& key, size_t max_chars) {
    const json* v = find(key);
    if (!v) return std::optional<std::string>();
    if (!v->is_string()) return invalid_argument(name(key) + " must be a string");
    std::string s = v->get<std::string>();
    if (s.size() > max_chars * 4) return invalid_argument(name(key) + " is longer than " + std::to_string(max_chars) + " characters");
    return std::optional<std::string>(std::move(s));
  }
  Result<std::string> text(const std::string& key, size_t max_chars) {
    JLIS_ASSIGN_OR_RETURN(auto s, optional_text(key, max_chars));
    if (!s) return invalid_argument(name(key) + " is required");
    return std::move(*s);
  }
  Result<std::optional<Date>> optional_date(const std::string& key) {
    JLIS_ASSIGN_OR_RETURN(auto s, optional_text(key, 10));
    if (!s) return std::optional<Date>();
    auto d = Date::parse_iso(*s);
    if (!d.ok()) return invalid_argument(name(key) + " must be a date YYYY-MM-DD");
    return std::optional<Date>(*d);
  }
  Result<Date> date(const std::string& key) {
    JLIS_ASSIGN_OR_RETURN(auto d, optional_date(key));
    if (!d) return invalid_argument(name(key) + " is required");
    return *d;
  }
  Result<registry::Sex> sex(const std::string& key) {
    JLIS_ASSIGN_OR_RETURN(std::string s, text(key, 6));
    auto sex = registry::parse_sex(s);
    if (!sex.ok()) return invalid_argument(name(key) + " must be male or female");
    return *sex;
  }
  Result<std::optional<LocalGovernmentCode>> optional_municipality(const std::string& key) {
    JLIS_ASSIGN_OR_RETURN(auto s, optional_text(key, 6));
    if (!s) return std::optional<LocalGovernmentCode>();
    auto code = LocalGovernmentCode::parse(*s);
    if (!code.ok()) return invalid_argument(name(key) + " must be a municipality code: 6 digits with a valid check digit");
    return std::optional<LocalGovernmentCode>(*code);
  }
  Result<LocalGovernmentCode> municipality(const std::string& key) {
    JLIS_ASSIGN_OR_RETURN(auto code, optional_municipality(key));
    if (!code) return invalid_argument(name(key) + " is required");
    return *code;
  }
  Result<std::optional<ResidentCode>> optional_resident(const std::string& key) {
    JLIS_ASSIGN_OR_RETURN(auto s, optional_text(key, 11));
    if (!s) return std::optional<ResidentCode>();
    auto code = ResidentCode::parse(*s);
    if (!code.ok()) return invalid_argument(name(key) + " must be a resident code: 11 digits with a valid check digit");
    return std::optional<ResidentCode>(*code);
  }
  Result<ResidentCode> resident(const std::string& key) {
    JLIS_ASSIGN_OR_RETURN(auto code, optional_resident(key));
    if (!code) return invalid_argument(name(key) + " is required");
    return *code;
  }
  Result<int64_t> id(const std::string& key) {
    const json* v = find(key);
    if (!v) return invalid_argument(name(key) + " is required");
    if (!v->is_number_integer() || v->get<int64_t>() < 1) return invalid_argument(name(key) + " must be a positive integer");
    return v->get<int64_t>();
  }
  Result<bool> boolean(const std::string& key) {
    const json* v = find(key);
    if (!v) return invalid_argument(name(key) + " is required");
    if (!v->is_boolean()) return invalid_argument(name(key) + " must be true or false");
    return v->get<bool>();
  }
  Result<MemberRef> member(const std::string& key) {
    const json* v = find(key);
    if (!v) return invalid_argument(name(key) + " is required");
    if (!v->is_object()) return invalid_argument(name(key) + " must be an object {register_id, member}");
    Fields f(*v, name(key));
    MemberRef ref;
    JLIS_ASSIGN_OR_RETURN(ref.register_id, f.id("register_id"));
    JLIS_ASSIGN_OR_RETURN(int64_t m, f.id("member"));
    if (m > 100000) return invalid_argument(f.name("member") + " is out of range");
    ref.member = static_cast<int>(m);
    JLIS_RETURN_IF_ERROR(f.finish());
    return ref;
  }
  // The array at `key`, of `min`..`max` elements (nullptr when absent and min is 0).
  Result<const json*> array(const std::string& key, size_t min, size_t max) {
    const json* v = find(key);
    if (!v && min == 0) return v;
    if (!v || !v->is_array() || v->size() < min || v->size() > max)
      return invalid_argument(name(key) + " must be an array of " + std::to_string(min) + " to " + std::to_string(max) +
                              " elements");
    return v;
  }
  // The object at `key`, or nullptr when absent.
  Result<const json*> object(const std::string& key) {
    const json* v = find(key);
    if (v && !v->is_object()) return invalid_argument(name(key) + " must be an object");
    return v;
  }

  Status finish() const {
    for (auto it = j_.begin(); it != j_.end(); ++it)
      if (!asked_.count(it.key())) return invalid_argument("unknown field " + name(it.key()));
    return Status::ok();
  }
  std::string name(const std::string& key) const { return where_.empty() ? key : where_ + "." + key; }

 private:
  const json* find(const std::string& key) {
    asked_.insert(key);
    auto it = j_.find(key);
    return it == j_.end() ? nullptr : &*it;
  }

  const json& j_;
  std::string where_;
  std::set<std::string> asked_;
};

Result<KosekiEntry> birth_entry_from(const json& j, const std::string& where) {
  if (!j.is_object()) return invalid_argument(where + " must be an object");
  Fields f(j, where);
  KosekiEntry e{KosekiEntryKind::birth};
  JLIS_ASSIGN_OR_RETURN(e.date, f.date("date"));
  JLIS_ASSIGN_OR_RETURN(e.notified_on, f.optional_date("notified_on"));
  JLIS_ASSIGN_OR_RETURN(auto notifier, f.optional_text("notifier", kMaxShortText));
  JLIS_ASSIGN_OR_RETURN(auto place, f.optional_text("place", kMaxKosekiPlaceLength));
  e.notifier = notifier.value_or("");
  e.place = place.value_or("");
  JLIS_RETURN_IF_ERROR(f.finish());
  return e;
}

Result<InitialMember> initial_member_from(const json& j, const std::string& where) {
  if (!j.is_object()) return invalid_argument(where + " must be an object");
  Fields f(j, where);
  InitialMember m;
  JLIS_ASSIGN_OR_RETURN(m.name, f.text("name", kMaxKosekiNameLength));
  JLIS_ASSIGN_OR_RETURN(m.name_kana, f.text("name_kana", kMaxKosekiKanaLength));
  JLIS_ASSIGN_OR_RETURN(m.date_of_birth, f.date("date_of_birth"));
  JLIS_ASSIGN_OR_RETURN(m.sex, f.sex("sex"));
  JLIS_ASSIGN_OR_RETURN(auto father, f.optional_text("father", kMaxKosekiNameLength));
  JLIS_ASSIGN_OR_RETURN(auto mother, f.optional_text("mother", kMaxKosekiNameLength));
  m.father = father.value_or("");
  m.mother = mother.value_or("");
  JLIS_ASSIGN_OR_RETURN(m.relationship, f.text("relationship", kMaxShortText));
  JLIS_ASSIGN_OR_RETURN(m.resident_code, f.optional_resident("resident_code"));
  JLIS_ASSIGN_OR_RETURN(const json* birth, f.object("birth"));
  if (birth) {
    JLIS_ASSIGN_OR_RETURN(m.birth, birth_entry_from(*birth, f.name("birth")));
  }
  JLIS_RETURN_IF_ERROR(f.finish());
  return m;
}

// 新本籍: the municipality and the 本籍 in it, both or (when `optional`) neither.
Status new_honseki(Fields& f, bool optional, std::optional<LocalGovernmentCode>& municipality, std::string& honseki) {
  JLIS_ASSIGN_OR_RETURN(municipality, f.optional_municipality("municipality"));
  JLIS_ASSIGN_OR_RETURN(auto place, f.optional_text("honseki", kMaxHonsekiLength));
  if (municipality.has_value() != place.has_value())
    return invalid_argument("municipality and honseki go together");
  if (!optional && !municipality) return invalid_argument("municipality and honseki are required");
  honseki = place.value_or("");
  return Status::ok();
}

Result<KosekiNotice> notice_of_type(Fields& f, size_t type, std::string event_id) {
  switch (type) {
    case 0: {
      OpenRegister n;
      n.event_id = std::move(event_id);
      JLIS_ASSIGN_OR_RETURN(n.date, f.date("date"));
      JLIS_ASSIGN_OR_RETURN(n.reason, f.text("reason", kMaxReasonLength));
      JLIS_ASSIGN_OR_RETURN(n.honseki, f.text("honseki", kMaxHonsekiLength));
      JLIS_ASSIGN_OR_RETURN(const json* members, f.array("members", 1, kMaxMembers));
      for (size_t i = 0; i < members->size(); ++i) {
        JLIS_ASSIGN_OR_RETURN(InitialMember m, initial_member_from((*members)[i], "members[" + std::to_string(i) + "]"));
        n.members.push_back(std::move(m));
      }
      return KosekiNotice(std::move(n));
    }
    case 1: {
      BirthNotice n;
      n.event_id = std::move(event_id);
      JLIS_ASSIGN_OR_RETURN(n.register_id, f.id("register_id"));
      JLIS_ASSIGN_OR_RETURN(n.name, f.text("name", kMaxKosekiNameLength));
      JLIS_ASSIGN_OR_RETURN(n.name_kana, f.text("name_kana", kMaxKosekiKanaLength));
      JLIS_ASSIGN_OR_RETURN(n.date_of_birth, f.date("date_of_birth"));
      JLIS_ASSIGN_OR_RETURN(n.sex, f.sex("sex"));
      JLIS_ASSIGN_OR_RETURN(n.place, f.text("place", kMaxKosekiPlaceLength));
      JLIS_ASSIGN_OR_RETURN(auto father, f.optional_text("father", kMaxKosekiNameLength));
      JLIS_ASSIGN_OR_RETURN(auto mother, f.optional_text("mother", kMaxKosekiNameLength));
      n.father = father.value_or("");
      n.mother = mother.value_or("");
      JLIS_ASSIGN_OR_RETURN(n.notified_on, f.date("notified_on"));
      JLIS_ASSIGN_OR_RETURN(n.notifier, f.text("notifier", kMaxShortText));
      JLIS_ASSIGN_OR_RETURN(n.resident_code, f.optional_resident("resident_code"));
      return KosekiNotice(std::move(n));
    }
    case 2: {
      MarriageNotice n;
      n.event_id = std::move(event_id);
      JLIS_ASSIGN_OR_RETURN(n.date, f.date("date"));
      JLIS_ASSIGN_OR_RETURN(n.husband, f.member("husband"));
      JLIS_ASSIGN_OR_RETURN(n.wife, f.member("wife"));
      JLIS_ASSIGN_OR_RETURN(n.husbands_surname, f.boolean("husbands_surname"));
      std::optional<LocalGovernmentCode> municipality;
      JLIS_RETURN_IF_ERROR(new_honseki(f, true, municipality, n.honseki));
      if (municipality) n.municipality = *municipality;
      return KosekiNotice(std::move(n));
    }
    case 3: {
      DivorceNotice n;
      n.event_id = std::move(event_id);
      JLIS_ASSIGN_OR_RETURN(n.date, f.date("date"));
      JLIS_ASSIGN_OR_RETURN(n.spouse, f.member("spouse"));
      JLIS_RETURN_IF_ERROR(new_honseki(f, true, n.municipality, n.honseki));
      return KosekiNotice(std::move(n));
    }
    case 4: {
      AdoptionNotice n;
      n.event_id = std::move(event_id);
      JLIS_ASSIGN_OR_RETURN(n.date, f.date("date"));
      JLIS_ASSIGN_OR_RETURN(n.adoptee, f.member("adoptee"));
      JLIS_ASSIGN_OR_RETURN(n.register_id, f.id("register_id"));
      JLIS_ASSIGN_OR_RETURN(const json* adopters, f.array("adopters", 1, 2));
      for (const json& a : *adopters) {
        if (!a.is_string() || a.get<std::string>().size() > kMaxKosekiNameLength * 4)
          return invalid_argument("adopters must be names (strings of at most " +
                                  std::to_string(kMaxKosekiNameLength) + " characters)");
        n.adopters.push_back(a.get<std::string>());
      }
      return KosekiNotice(std::move(n));
    }
    case 5: {
      DeathNotice n;
      n.event_id = std::move(event_id);
      JLIS_ASSIGN_OR_RETURN(n.member, f.member("member"));
      JLIS_ASSIGN_OR_RETURN(n.date, f.date("date"));
      JLIS_ASSIGN_OR_RETURN(n.place, f.text("place", kMaxKosekiPlaceLength));
      JLIS_ASSIGN_OR_RETURN(n.notified_on, f.date("notified_on"));
      JLIS_ASSIGN_OR_RETURN(n.notifier, f.text("notifier", kMaxShortText));
      return KosekiNotice(std::move(n));
    }
    case 6: {
      TransferNotice n;
      n.event_id = std::move(event_id);
      JLIS_ASSIGN_OR_RETURN(n.register_id, f.id("register_id"));
      JLIS_ASSIGN_OR_RETURN(n.date, f.date("date"));
      std::optional<LocalGovernmentCode> municipality;
      JLIS_RETURN_IF_ERROR(new_honseki(f, false, municipality, n.honseki));
      n.municipality = *municipality;
      return KosekiNotice(std::move(n));
    }
    case 7: {
      BranchNotice n;
      n.event_id = std::move(event_id);
      JLIS_ASSIGN_OR_RETURN(n.member, f.member("member"));
      JLIS_ASSIGN_OR_RETURN(n.date, f.date("date"));
      std::optional<LocalGovernmentCode> municipality;
      JLIS_RETURN_IF_ERROR(new_honseki(f, false, municipality, n.honseki));
      n.municipality = *municipality;
      return KosekiNotice(std::move(n));
    }
    case 8: {
      OldSurnameNotice n;
      n.event_id = std::move(event_id);
      JLIS_ASSIGN_OR_RETURN(n.member, f.member("member"));
      JLIS_ASSIGN_OR_RETURN(n.date, f.date("date"));
      JLIS_ASSIGN_OR_RETURN(n.old_surname, f.text("old_surname", kMaxKosekiNameLength));
      JLIS_ASSIGN_OR_RETURN(n.old_surname_kana, f.text("old_surname_kana", kMaxKosekiKanaLength));
      return KosekiNotice(std::move(n));
    }
    default: {
      KosekiLinkRequest n;
      n.event_id = std::move(event_id);
      JLIS_ASSIGN_OR_RETURN(n.member, f.member("member"));
      JLIS_ASSIGN_OR_RETURN(n.resident_code, f.resident("resident_code"));
      JLIS_ASSIGN_OR_RETURN(n.since, f.date("since"));
      return KosekiNotice(std::move(n));
    }
  }
}

json entry_json(const KosekiEntry& e) {
  return {{"kind", kEntryKinds[static_cast<size_t>(e.kind)]},
          {"date", e.date.to_iso()},
          {"notified_on", e.notified_on ? json(e.notified_on->to_iso()) : json(nullptr)},
          {"notifier", e.notifier},
          {"place", e.place},
          {"counterpart", e.counterpart},
          {"other_register", e.other_register}};
}

json entries_json(const std::vector<KosekiEntry>& entries) {
  json out = json::array();
  for (const KosekiEntry& e : entries) out.push_back(entry_json(e));
  return out;
}

}  // namespace

Result<KosekiNotice> koseki_notice_from_json(const json& j) {
  if (!j.is_object()) return invalid_argument("a family-register notice must be a JSON object");
  Fields f(j, "");
  JLIS_ASSIGN_OR_RETURN(std::string event_id, f.text("event_id", registry::kMaxEventIdLength));
  if (event_id.empty() || event_id.size() > registry::kMaxEventIdLength)
    return invalid_argument("event_id must have 1 to " + std::to_string(registry::kMaxEventIdLength) + " characters");
  JLIS_ASSIGN_OR_RETURN(std::string type_name, f.text("type", 20));
  JLIS_ASSIGN_OR_RETURN(size_t type, parse_enum_name<size_t>(kNoticeTypes, type_name, "type"));
  JLIS_ASSIGN_OR_RETURN(KosekiNotice notice, notice_of_type(f, type, std::move(event_id)));
  JLIS_RETURN_IF_ERROR(f.finish());
  return notice;
}

json to_json(const KosekiRegister& reg) {
  json members = json::array();
  for (const KosekiMember& m : reg.members) {
    members.push_back(
        {{"member", m.ref.member},
         {"name", m.name},
         {"name_kana", m.name_kana},
         {"date_of_birth", m.date_of_birth.to_iso()},
         {"sex", std::string(registry::sex_name(m.sex))},
         {"father", m.father},
         {"mother", m.mother},
         {"adoptive_father", m.adoptive_father},
         {"adoptive_mother", m.adoptive_mother},
         {"relationship", m.relationship},
         {"resident_code", m.resident_code ? json(m.resident_code->str()) : json(nullptr)},
         {"removed", m.removed},
         {"old_surname", m.old_surname},
         {"old_surname_kana", m.old_surname_kana},
         {"came_from", m.came_from ? json{{"register_id", m.came_from->register_id}, {"member", m.came_from->member}}
                                   : json(nullptr)},
         {"entries", entries_json(m.entries)}});
  }
  return {{"register_id", reg.id},
          {"municipality_code", reg.municipality.str()},
          {"honseki", reg.honseki},
          {"head_name", reg.head_name},
          {"closed", reg.closed},
          {"successor", reg.successor ? json(*reg.successor) : json(nullptr)},
          {"entries", entries_json(reg.entries)},
          {"members", std::move(members)}};
}

}  // namespace jlis::municipal
