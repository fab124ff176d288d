// The basic-four search body (registry.h: search_query_from_json).
#include <nlohmann/json.hpp>

#include "registry/registry.h"

namespace jlis::registry {

using nlohmann::json;

Result<SearchQuery> search_query_from_json(const json& j) {
  if (!j.is_object()) return invalid_argument("the search must be a JSON object");
  SearchQuery q;
  for (auto& [k, v] : j.items()) {
    if (k == "purpose") continue;
    if (k == "limit") {
      if (!v.is_number_integer() || v.get<int64_t>() < 1 || v.get<int64_t>() > 100)
        return invalid_argument("limit must be an integer between 1 and 100");
      q.limit = static_cast<int>(v.get<int64_t>());
      continue;
    }
    if (!v.is_string()) return invalid_argument(k + " must be a string");
    const std::string s = v.get<std::string>();
    if (k == "name") q.name = s;
    else if (k == "name_kana") q.name_kana = s;
    else if (k == "address") q.address = s;
    else if (k == "date_of_birth") {
      auto d = Date::parse_iso(s);
      if (!d.ok()) return invalid_argument("date_of_birth must be a date YYYY-MM-DD");
      q.date_of_birth = *d;
    } else if (k == "sex") {
      JLIS_ASSIGN_OR_RETURN(q.sex, parse_sex(s));
    } else {
      return invalid_argument("unknown search field '" + k + "'");
    }
  }
  return q;
}

}  // namespace jlis::registry
