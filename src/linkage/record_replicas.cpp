#include "linkage/record_replicas.h"

#include <spdlog/spdlog.h>

#include <map>

#include "common/clock.h"
#include "common/text.h"
#include "linkage/bodies.h"
#include "municipal/tax.h"

namespace jlis::linkage {

using store::Connection;
using store::Row;

namespace {

// The items the records provide (the header's list): a sweep sets exactly these.
const std::vector<std::string> kRecordItems = {"RS001", "RS002", "RS003", "RS004", "TX001",
                                               "TX002", "TX003", "TX004", "TX005", "TX006"};
const std::vector<std::string> kRegisterItems = {"RS001", "RS002", "RS003", "RS004"};

// 続柄 as the layout's RS002 code.
std::string relationship_code(std::string_view relationship) {
  static const std::map<std::string_view, std::string> codes = {
      {municipal::kHead, "01"}, {"妻", "02"}, {"夫", "03"}, {"子", "04"}, {"父", "05"}, {"母", "06"}, {"孫", "07"},
      {"兄", "08"},             {"姉", "08"}, {"弟", "08"}, {"妹", "08"}, {"同居人", "10"}};
  auto it = codes.find(relationship);
  return it == codes.end() ? "99" : it->second;
}

}  // namespace

Result<ItemValues> RecordReplicas::derive(Connection& conn, const registry::Resident& resident) {
  ItemValues items;
  if (resident.status == registry::ResidentStatus::resident) {
    auto household = households_.of(conn, resident.resident_code);
    if (household.ok()) {
      items["RS001"] = std::to_string(household->members.size());
      for (const municipal::HouseholdMember& m : household->members) {
        if (m.resident_code != resident.resident_code) continue;
        items["RS002"] = relationship_code(m.relationship);
        items["RS003"] = m.became_resident_on.to_iso();
      }
      JLIS_ASSIGN_OR_RETURN(registry::Resident head, registry_.get(conn, household->head));
      if (utf8_length(head.person.name) <= 40) items["RS004"] = head.person.name;
    } else if (household.status().code() != Code::not_found) {
      return household.status();
    }
  }
  JLIS_ASSIGN_OR_RETURN(auto records, municipal::TaxRecords::list(conn, resident.resident_code));
  items["TX004"] = "3";  // 未申告 until an assessment of this municipality says otherwise
  for (const municipal::TaxRecord& r : records) {  // newest fiscal year first
    if (r.municipality_code != resident.municipality_code) continue;
    const municipal::TaxAssessment& a = r.assessment;
    items["TX001"] = std::to_string(a.taxable_income);
    items["TX002"] = std::to_string(a.income_levy_municipal);
    items["TX003"] = std::to_string(a.income_levy_prefectural);
    items["TX004"] = a.total > 0 ? "1" : "2";
    items["TX005"] = std::to_string(a.total_income);
    items["TX006"] = std::to_string(a.forest_environment_tax);
    break;
  }
  return items;
}

Result<SweepStep> RecordReplicas::sweep(const std::string& cursor, int batch, Date today) {
  JLIS_ASSIGN_OR_RETURN(const LayoutVersion* version, layouts_.version_in_force(today));
  const std::string now = now_iso8601();
  SweepStep step;
  JLIS_RETURN_IF_ERROR(writer_.run([&](Connection& conn) -> Status {
    step = {};
    std::vector<std::pair<std::string, std::string>> persons;  // person id, resident code
    JLIS_RETURN_IF_ERROR(conn.query("SELECT person_id, resident_code FROM linkage_persons WHERE person_id > ? "
                                    "ORDER BY person_id LIMIT ?",
                                    {cursor, int64_t{batch}}, [&](const Row& r) {
                                      persons.emplace_back(r.text(0), r.text(1));
                                      return true;
                                    }));
    for (const auto& [person, code] : persons) {
      ++step.persons;
      JLIS_ASSIGN_OR_RETURN(ResidentCode resident_code, ResidentCode::parse(code));
      JLIS_ASSIGN_OR_RETURN(registry::Resident resident, registry_.get(conn, resident_code));
      // The body is the local government: a designated city for the residents of its wards.
      const Municipality* government = registry_.reference().local_government_of(resident.municipality_code);
      const std::string holder =
          "municipality-" + (government ? government->code : resident.municipality_code).str();
      bool changed = false;
      // A municipality the person left keeps nothing of the register's items.
      JLIS_ASSIGN_OR_RETURN(auto providers, Replicas::providers_of(conn, person));
      for (const std::string& provider : providers) {
        if (provider == holder || !provider.starts_with("municipality-")) continue;
        JLIS_ASSIGN_OR_RETURN(bool withdrew,
                              Replicas::replace_owned(conn, provider, person, {}, kRegisterItems, version->version, now));
        changed |= withdrew;
      }
      auto body = Bodies::active(conn, holder);
      if (body.ok()) {
        JLIS_ASSIGN_OR_RETURN(ItemValues items, derive(conn, resident));
        const Validation v = DataLayouts::validate_items(*version, items);
        if (!v.ok()) {
          // The records hold what the layout cannot carry: left as it was, said in the log.
          spdlog::warn("linkage: the records of a person do not fit layout {}: {}", version->version, v.message);
        } else {
          JLIS_ASSIGN_OR_RETURN(bool refreshed, Replicas::replace_owned(conn, holder, person, items, kRecordItems,
                                                                        version->version, now));
          changed |= refreshed;
        }
      } else if (body.status().code() != Code::not_found && body.status().code() != Code::permission_denied) {
        return body.status();
      }
      step.refreshed += changed;
    }
    step.cursor = static_cast<int>(persons.size()) == batch ? persons.back().first : "";
    return Status::ok();
  }));
  return step;
}

ReplicaRefresher::ReplicaRefresher(RecordReplicas& replicas, std::chrono::milliseconds pause)
    : loop_(
          [this, &replicas, pause] {
            auto step = replicas.sweep(cursor_, 500, Date::today());
            if (!step.ok())
              spdlog::warn("linkage: the replicas' sweep failed (tried again in {} ms): {}", pause.count(),
                           step.status().message());
            cursor_ = step.ok() ? step->cursor : "";
            return !cursor_.empty();  // the pass goes on; after its last batch, the pause
          },
          pause, true) {}

}  // namespace jlis::linkage
