#include "municipal/household.h"

#include <algorithm>
#include <array>
#include <set>

#include <nlohmann/json.hpp>

#include "common/digest.h"
#include "common/enum_names.h"
#include "common/text.h"
#include "store/migrations.h"
#include "municipal/resident_key.h"

namespace jlis::municipal {
namespace {

using internal::resident_key;
using internal::resident_of_key;
using nlohmann::json;
using store::Connection;
using store::Params;
using store::Row;

const std::vector<store::Migration> kHouseholdMigrations = {{1, R"(
  CREATE TABLE municipal_households (
    id BIGINT PRIMARY KEY,
    municipality_code TEXT NOT NULL, head BIGINT NOT NULL,
    formed_on TEXT NOT NULL, dissolved_on TEXT);
  CREATE INDEX municipal_households_head ON municipal_households (head);
  CREATE TABLE municipal_household_members (
    resident_code BIGINT PRIMARY KEY,
    household_id BIGINT NOT NULL, position BIGINT NOT NULL, relationship TEXT NOT NULL,
    became_resident_on TEXT NOT NULL, address_set_on TEXT NOT NULL, notified_on TEXT NOT NULL,
    previous_address TEXT NOT NULL);
  CREATE INDEX municipal_household_members_household ON municipal_household_members (household_id, position);
  CREATE TABLE municipal_household_events (
    seq {{id}},
    municipality_code TEXT NOT NULL, event_id TEXT NOT NULL, request_hash TEXT NOT NULL,
    type TEXT NOT NULL, event_date TEXT NOT NULL, recorded_at TEXT NOT NULL,
    event_json TEXT NOT NULL, household_ids TEXT NOT NULL,
    UNIQUE (municipality_code, event_id));
)"}};

constexpr std::array kRelationships = {
    "世帯主", "妻", "夫", "子", "父", "母", "孫", "兄", "姉", "弟", "妹", "祖父", "祖母", "子の妻", "子の夫",
    "妻の父", "妻の母", "夫の父", "夫の母", "伯父", "伯母", "叔父", "叔母", "甥", "姪", "縁故者", "同居人",
    "妻（未届）", "夫（未届）"};

constexpr std::array<std::string_view, 3> kEventTypes = {"change_head", "separate", "merge"};
std::string_view event_type_name(HouseholdEventType t) { return kEventTypes[static_cast<size_t>(t)]; }


struct Member {
  int64_t household_id = 0;
  HouseholdMember m;
};

constexpr const char* kMemberColumns =
    "resident_code, household_id, relationship, became_resident_on, address_set_on, notified_on, previous_address";

Member read_member(const Row& r) {
  Member out;
  out.m.resident_code = resident_of_key(r.int64(0));
  out.household_id = r.int64(1);
  out.m.relationship = r.text(2);
  out.m.became_resident_on = Date::parse_iso(r.text(3)).value();
  out.m.address_set_on = Date::parse_iso(r.text(4)).value();
  out.m.notified_on = Date::parse_iso(r.text(5)).value();
  out.m.previous_address = r.text(6);
  return out;
}

Result<std::optional<Member>> load_member(Connection& conn, const ResidentCode& code) {
  std::optional<Member> found;
  JLIS_RETURN_IF_ERROR(conn.query(std::string("SELECT ") + kMemberColumns +
                                      " FROM municipal_household_members WHERE resident_code = ?",
                                  {resident_key(code)}, [&](const Row& r) {
                                    found = read_member(r);
                                    return false;
                                  }));
  return found;
}

Result<Household> load_household(Connection& conn, int64_t id) {
  std::optional<Household> h;
  JLIS_RETURN_IF_ERROR(conn.query(
      "SELECT id, municipality_code, head, formed_on FROM municipal_households WHERE id = ?", {id},
      [&](const Row& r) {
        h.emplace();
        h->id = r.int64(0);
        h->municipality_code = LocalGovernmentCode::parse(r.text(1)).value();
        h->head = resident_of_key(r.int64(2));
        h->formed_on = Date::parse_iso(r.text(3)).value();
        return false;
      }));
  if (!h) return internal_error("household " + std::to_string(id) + " is missing");
  JLIS_RETURN_IF_ERROR(conn.query(std::string("SELECT ") + kMemberColumns +
                                      " FROM municipal_household_members WHERE household_id = ? ORDER BY position",
                                  {id}, [&](const Row& r) {
                                    h->members.push_back(read_member(r).m);
                                    return true;
                                  }));
  // The head first, the others in the order they joined.
  std::stable_partition(h->members.begin(), h->members.end(),
                        [&](const HouseholdMember& m) { return m.resident_code == h->head; });
  return *h;
}

// Adds `m` to the household at `position`; by default after its last member.
Status insert_member(Connection& conn, int64_t household_id, const HouseholdMember& m,
                     std::optional<int64_t> position = {}) {
  if (!position) {
    JLIS_ASSIGN_OR_RETURN(auto last, conn.query_int64(
        "SELECT MAX(position) FROM municipal_household_members WHERE household_id = ?", {household_id}));
    position = last.value_or(0) + 1;
  }
  return conn
      .execute("INSERT INTO municipal_household_members (resident_code, household_id, position, relationship, "
               "became_resident_on, address_set_on, notified_on, previous_address) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
               {resident_key(m.resident_code), household_id, *position, m.relationship,
                m.became_resident_on.to_iso(), m.address_set_on.to_iso(), m.notified_on.to_iso(), m.previous_address})
      .status();
}

// A new household headed by `head` (whose member row the caller writes).
Result<int64_t> create_household(Connection& conn, const LocalGovernmentCode& municipality, const ResidentCode& head,
                                 Date formed_on) {
  // The single writer numbers households.
  JLIS_ASSIGN_OR_RETURN(auto last, conn.query_int64("SELECT MAX(id) FROM municipal_households"));
  const int64_t id = last.value_or(0) + 1;
  JLIS_RETURN_IF_ERROR(conn.execute("INSERT INTO municipal_households (id, municipality_code, head, formed_on) "
                                    "VALUES (?, ?, ?, ?)",
                                    {id, municipality.str(), resident_key(head), formed_on.to_iso()})
                           .status());
  return id;
}

Status set_relationship(Connection& conn, const ResidentCode& code, const std::string& relationship) {
  return conn
      .execute("UPDATE municipal_household_members SET relationship = ? WHERE resident_code = ?",
               {relationship, resident_key(code)})
      .status();
}

Status move_member(Connection& conn, const ResidentCode& code, int64_t household_id, const std::string& relationship) {
  JLIS_ASSIGN_OR_RETURN(auto last, conn.query_int64(
      "SELECT MAX(position) FROM municipal_household_members WHERE household_id = ?", {household_id}));
  return conn
      .execute("UPDATE municipal_household_members SET household_id = ?, position = ?, relationship = ? "
               "WHERE resident_code = ?",
               {household_id, last.value_or(0) + 1, relationship, resident_key(code)})
      .status();
}

Status set_head(Connection& conn, int64_t household_id, const ResidentCode& head) {
  JLIS_RETURN_IF_ERROR(conn.execute("UPDATE municipal_households SET head = ? WHERE id = ?", {resident_key(head), household_id})
                           .status());
  return set_relationship(conn, head, std::string(kHead));
}

Status dissolve(Connection& conn, int64_t household_id, Date on) {
  return conn
      .execute("UPDATE municipal_households SET dissolved_on = ? WHERE id = ?", {on.to_iso(), household_id})
      .status();
}

// The id of the household `head` heads in `municipality`, if any: one lookup, for placing a member.
Result<std::optional<int64_t>> household_headed_by(Connection& conn, const ResidentCode& head,
                                                   const LocalGovernmentCode& municipality) {
  return conn.query_int64(
      "SELECT h.id FROM municipal_household_members m JOIN municipal_households h ON h.id = m.household_id "
      "WHERE m.resident_code = ? AND h.head = ? AND h.municipality_code = ?",
      {resident_key(head), resident_key(head), municipality.str()});
}

// The household `head` heads in `municipality`, if any.
Result<std::optional<Household>> headed_by(Connection& conn, const ResidentCode& head,
                                           const LocalGovernmentCode& municipality) {
  JLIS_ASSIGN_OR_RETURN(auto id, household_headed_by(conn, head, municipality));
  if (!id) return std::optional<Household>();
  JLIS_ASSIGN_OR_RETURN(Household h, load_household(conn, *id));
  return std::optional<Household>(std::move(h));
}

}  // namespace

bool known_relationship(std::string_view relationship) {
  return std::find(kRelationships.begin(), kRelationships.end(), relationship) != kRelationships.end();
}

std::string relationship_after_succession(std::string_view successor, std::string_view member,
                                          bool member_older_than_successor, registry::Sex member_sex) {
  const bool female = member_sex == registry::Sex::female;
  if (member == "縁故者" || member == "同居人") return std::string(member);
  if (successor == "妻" || successor == "夫") {  // the spouse takes over: the children stay children
    const bool wife = successor == "妻";
    if (member == "子" || member == "孫" || member == "子の妻" || member == "子の夫") return std::string(member);
    if (member == "父") return wife ? "夫の父" : "妻の父";
    if (member == "母") return wife ? "夫の母" : "妻の母";
    if (member == (wife ? "妻の父" : "夫の父")) return "父";
    if (member == (wife ? "妻の母" : "夫の母")) return "母";
  } else if (successor == "子") {  // a child takes over: the parent and the siblings
    if (member == "妻" || member == "夫") return female ? "母" : "父";
    if (member == "子") return member_older_than_successor ? (female ? "姉" : "兄") : (female ? "妹" : "弟");
    if (member == "父" || member == "母") return female ? "祖母" : "祖父";
  }
  return "縁故者";
}

json to_json(const Household& h) {
  json members = json::array();
  for (const HouseholdMember& m : h.members)
    members.push_back({{"resident_code", m.resident_code.str()},
                       {"relationship", m.relationship},
                       {"became_resident_on", m.became_resident_on.to_iso()},
                       {"address_set_on", m.address_set_on.to_iso()},
                       {"notified_on", m.notified_on.to_iso()},
                       {"previous_address", m.previous_address}});
  return {{"household_id", std::to_string(h.id)},
          {"municipality_code", h.municipality_code.str()},
          {"head", h.head.str()},
          {"formed_on", h.formed_on.to_iso()},
          {"members", std::move(members)}};
}

json to_json(const HouseholdEvent& e) {
  json j = {{"event_id", e.event_id}, {"type", event_type_name(e.type)}, {"date", e.date.to_iso()},
            {"head", e.head.str()}};
  if (e.new_head) j["new_head"] = e.new_head->str();
  if (e.from_head) j["from_head"] = e.from_head->str();
  if (!e.members.empty()) {
    j["members"] = json::array();
    for (const auto& m : e.members) j["members"].push_back(m.str());
  }
  j["relationships"] = e.relationships;
  return j;
}

Result<HouseholdEvent> household_event_from_json(const json& j) {
  if (!j.is_object()) return invalid_argument("a household event must be a JSON object");
  auto text = [&](const char* key, bool required) -> Result<std::optional<std::string>> {
    if (!j.contains(key)) {
      if (required) return invalid_argument(std::string(key) + " is required");
      return std::optional<std::string>();
    }
    if (!j[key].is_string()) return invalid_argument(std::string(key) + " must be a string");
    return std::optional<std::string>(j[key].get<std::string>());
  };
  auto resident = [&](const std::string& value, const std::string& what) -> Result<ResidentCode> {
    auto rc = ResidentCode::parse(value);
    if (!rc.ok()) return invalid_argument(what + " is not a valid 11-digit resident code");
    return *rc;
  };
  HouseholdEvent e;
  JLIS_ASSIGN_OR_RETURN(auto id, text("event_id", true));
  e.event_id = *id;
  if (e.event_id.empty() || e.event_id.size() > registry::kMaxEventIdLength)
    return invalid_argument("event_id must have 1 to " + std::to_string(registry::kMaxEventIdLength) + " characters");
  JLIS_ASSIGN_OR_RETURN(auto type, text("type", true));
  JLIS_ASSIGN_OR_RETURN(e.type, parse_enum_name<HouseholdEventType>(kEventTypes, *type, "type"));
  JLIS_ASSIGN_OR_RETURN(auto date, text("date", true));
  auto d = Date::parse_iso(*date);
  if (!d.ok()) return invalid_argument("date must be YYYY-MM-DD");
  e.date = *d;
  JLIS_ASSIGN_OR_RETURN(auto head, text("head", true));
  JLIS_ASSIGN_OR_RETURN(e.head, resident(*head, "head"));

  const std::set<std::string> allowed[] = {{"new_head", "relationships"},
                                           {"new_head", "members", "relationships"},
                                           {"from_head", "relationships"}};
  for (auto& [k, v] : j.items()) {
    (void)v;
    if (k == "event_id" || k == "type" || k == "date" || k == "head") continue;
    if (!allowed[static_cast<int>(e.type)].count(k))
      return invalid_argument("field '" + k + "' does not belong to a " + *type + " event");
  }
  if (e.type != HouseholdEventType::merge) {
    JLIS_ASSIGN_OR_RETURN(auto nh, text("new_head", true));
    JLIS_ASSIGN_OR_RETURN(e.new_head, resident(*nh, "new_head"));
  } else {
    JLIS_ASSIGN_OR_RETURN(auto fh, text("from_head", true));
    JLIS_ASSIGN_OR_RETURN(e.from_head, resident(*fh, "from_head"));
  }
  if (e.type == HouseholdEventType::separate) {
    if (!j.contains("members") || !j["members"].is_array() || j["members"].empty() || j["members"].size() > 100)
      return invalid_argument("members must be an array of 1 to 100 resident codes");
    for (const auto& m : j["members"]) {
      if (!m.is_string()) return invalid_argument("members must be resident codes");
      JLIS_ASSIGN_OR_RETURN(auto rc, resident(m.get<std::string>(), "a member"));
      e.members.push_back(rc);
    }
  }
  if (!j.contains("relationships") || !j["relationships"].is_object() || j["relationships"].size() > 100)
    return invalid_argument("relationships must be an object of resident code to 続柄");
  for (auto& [k, v] : j["relationships"].items()) {
    JLIS_RETURN_IF_ERROR(resident(k, "a key of relationships").status());
    if (!v.is_string() || !known_relationship(v.get<std::string>()) || v.get<std::string>() == kHead)
      return invalid_argument("relationships of " + k + " is not a 続柄 the register writes");
    e.relationships[k] = v.get<std::string>();
  }
  return e;
}

Status Households::migrate(Connection& conn) { return store::migrate(conn, "municipal_household", kHouseholdMigrations); }

Households::Households(store::Pool& pool, store::Writer& writer, registry::Registry& registry,
                       std::function<Date()> today)
    : pool_(pool), writer_(writer), registry_(registry), today_(std::move(today)) {}

Date Households::today() const { return today_ ? today_() : Date::today(); }

void Households::attach() {
  // Placing a member finds the head's household through the member's row, never by head: a bulk
  // load builds this index after its rows (migration 1's statement).
  registry_.defer_in_bulk_load(
      {{"municipal_households_head", "CREATE INDEX municipal_households_head ON municipal_households (head)"}});
  registry_.add_listener([this](Connection& conn, const registry::ChangeEvent& event,
                                const std::optional<registry::Resident>& before, const registry::Resident& after) {
    return on_change(conn, event, before, after);
  });
}

namespace {

// Takes `code` out of its household; a head who leaves others behind hands it to the spouse, else
// to the eldest member.
Status leave(Connection& conn, registry::Registry& registry, const ResidentCode& code, Date on) {
  JLIS_ASSIGN_OR_RETURN(auto member, load_member(conn, code));
  if (!member) return Status::ok();
  JLIS_RETURN_IF_ERROR(
      conn.execute("DELETE FROM municipal_household_members WHERE resident_code = ?", {resident_key(code)}).status());
  JLIS_ASSIGN_OR_RETURN(Household h, load_household(conn, member->household_id));
  if (h.head != code) return Status::ok();
  if (h.members.empty()) return dissolve(conn, h.id, on);

  struct Candidate {
    const HouseholdMember* member;
    registry::Resident resident;
  };
  std::vector<Candidate> others;
  for (const HouseholdMember& m : h.members) {
    JLIS_ASSIGN_OR_RETURN(auto r, registry.get(conn, m.resident_code));
    others.push_back({&m, std::move(r)});
  }
  auto successor = std::find_if(others.begin(), others.end(), [](const Candidate& c) {
    return c.member->relationship == "妻" || c.member->relationship == "夫";
  });
  if (successor == others.end())
    successor = std::min_element(others.begin(), others.end(), [](const Candidate& a, const Candidate& b) {
      return a.resident.person.date_of_birth < b.resident.person.date_of_birth;
    });
  const std::string successor_was = successor->member->relationship;
  for (const Candidate& c : others) {
    if (&c == &*successor) continue;
    const bool older = c.resident.person.date_of_birth < successor->resident.person.date_of_birth;
    JLIS_RETURN_IF_ERROR(set_relationship(
        conn, c.member->resident_code,
        relationship_after_succession(successor_was, c.member->relationship, older, c.resident.person.sex)));
  }
  return set_head(conn, h.id, successor->member->resident_code);
}

// Places `member` as the event's placement says: in the household `placement.head` heads (same
// municipality), else as the head of a new one.
Status place(Connection& conn, const LocalGovernmentCode& municipality, HouseholdMember member,
             const std::optional<registry::HouseholdPlacement>& placement, Date on) {
  if (placement && placement->head) {
    if (!known_relationship(placement->relationship) || placement->relationship == kHead)
      return invalid_argument("household.relationship '" + placement->relationship +
                              "' is not a 続柄 of a member the register writes");
    JLIS_ASSIGN_OR_RETURN(auto id, household_headed_by(conn, *placement->head, municipality));
    if (!id) return conflict("household.head does not head a household of this municipality");
    member.relationship = placement->relationship;
    return insert_member(conn, *id, member);
  }
  if (placement && !placement->relationship.empty() && placement->relationship != kHead)
    return invalid_argument("a person placed without household.head heads their own household: relationship 世帯主");
  JLIS_ASSIGN_OR_RETURN(int64_t id, create_household(conn, municipality, member.resident_code, on));
  member.relationship = std::string(kHead);
  return insert_member(conn, id, member, 1);  // a new household's first member
}

}  // namespace

Status Households::on_change(Connection& conn, const registry::ChangeEvent& event,
                             const std::optional<registry::Resident>& before, const registry::Resident& after) {
  using registry::EventType;
  const ResidentCode& code = after.resident_code;
  switch (event.type) {
    case EventType::birth:
    case EventType::move_in: {
      // A record left by an earlier stay (a first registration's code was never anyone's).
      if (before) JLIS_RETURN_IF_ERROR(leave(conn, registry_, code, event.date));
      std::string previous;
      if (before) previous = before->status == registry::ResidentStatus::abroad ? before->address_abroad
                                                                                : before->person.address;
      return place(conn, after.municipality_code, {code, "", event.date, event.date, today(), previous},
                   event.household, event.date);
    }
    case EventType::relocation: {
      JLIS_ASSIGN_OR_RETURN(auto member, load_member(conn, code));
      HouseholdMember moved{code, "", member ? member->m.became_resident_on : event.date, event.date, today(),
                            before ? before->person.address : ""};
      if (member) {
        JLIS_ASSIGN_OR_RETURN(Household h, load_household(conn, member->household_id));
        const bool is_head = h.head == code;
        const bool stays = event.household ? (event.household->head ? *event.household->head == h.head && !is_head
                                                                    : is_head)
                                           : is_head;
        if (stays) {
          if (event.household && event.household->head) {
            if (!known_relationship(event.household->relationship) || event.household->relationship == kHead)
              return invalid_argument("household.relationship '" + event.household->relationship +
                                      "' is not a 続柄 of a member the register writes");
            JLIS_RETURN_IF_ERROR(set_relationship(conn, code, event.household->relationship));
          }
          return conn
              .execute("UPDATE municipal_household_members SET address_set_on = ?, notified_on = ?, "
                       "previous_address = ? WHERE resident_code = ?",
                       {moved.address_set_on.to_iso(), moved.notified_on.to_iso(), moved.previous_address, resident_key(code)})
              .status();
        }
        JLIS_RETURN_IF_ERROR(leave(conn, registry_, code, event.date));
      }
      return place(conn, after.municipality_code, moved, event.household, event.date);
    }
    case EventType::move_out:
    case EventType::death:
      return leave(conn, registry_, code, event.date);
    case EventType::resident_code_change:
      if (!before) return Status::ok();
      JLIS_RETURN_IF_ERROR(conn.execute("UPDATE municipal_household_members SET resident_code = ? WHERE resident_code = ?",
                                        {resident_key(code), resident_key(before->resident_code)})
                               .status());
      return conn
          .execute("UPDATE municipal_households SET head = ? WHERE head = ?", {resident_key(code), resident_key(before->resident_code)})
          .status();
    default:
      return Status::ok();
  }
}

Result<Household> Households::of(Connection& conn, const ResidentCode& resident) {
  JLIS_ASSIGN_OR_RETURN(auto member, load_member(conn, resident));
  if (!member) return registry::unknown_resident();
  return load_household(conn, member->household_id);
}

Result<Household> Households::of(const ResidentCode& resident, const LocalGovernmentCode& municipality) {
  JLIS_ASSIGN_OR_RETURN(auto conn, pool_.acquire());
  auto h = of(*conn, resident);
  if (h.ok() && h->municipality_code != municipality) return registry::unknown_resident();
  return h;
}

namespace {

// The checks and changes of one notice, on the writer's connection; answers the households touched.
Result<std::vector<int64_t>> apply_notice(Connection& conn, const LocalGovernmentCode& municipality,
                                          const HouseholdEvent& e) {
  JLIS_ASSIGN_OR_RETURN(auto found, headed_by(conn, e.head, municipality));
  if (!found) return registry::unknown_resident();
  const Household& h = *found;
  auto is_member = [](const Household& of, const ResidentCode& code) {
    return std::any_of(of.members.begin(), of.members.end(),
                       [&](const HouseholdMember& m) { return m.resident_code == code; });
  };
  // `relationships` must name exactly `who`.
  auto covers = [&](const std::vector<ResidentCode>& who) -> Status {
    std::set<std::string> want;
    for (const auto& c : who) want.insert(c.str());
    std::set<std::string> given;
    for (const auto& [k, v] : e.relationships) given.insert(k);
    if (want != given) return invalid_argument("relationships must give the 続柄 of exactly the members concerned");
    return Status::ok();
  };
  switch (e.type) {
    case HouseholdEventType::change_head: {
      if (!is_member(h, *e.new_head) || *e.new_head == h.head)
        return conflict("new_head is not another member of the household");
      std::vector<ResidentCode> others;
      for (const auto& m : h.members)
        if (m.resident_code != *e.new_head) others.push_back(m.resident_code);
      JLIS_RETURN_IF_ERROR(covers(others));
      for (const auto& c : others) JLIS_RETURN_IF_ERROR(set_relationship(conn, c, e.relationships.at(c.str())));
      JLIS_RETURN_IF_ERROR(set_head(conn, h.id, *e.new_head));
      return std::vector<int64_t>{h.id};
    }
    case HouseholdEventType::separate: {
      std::set<ResidentCode> leaving(e.members.begin(), e.members.end());
      for (const auto& c : leaving)
        if (!is_member(h, c) || c == h.head) return conflict("members must be members of the household other than its head");
      if (!leaving.count(*e.new_head)) return invalid_argument("new_head must be one of members");
      std::vector<ResidentCode> others;
      for (const auto& c : leaving)
        if (c != *e.new_head) others.push_back(c);
      JLIS_RETURN_IF_ERROR(covers(others));
      JLIS_ASSIGN_OR_RETURN(int64_t id, create_household(conn, municipality, *e.new_head, e.date));
      JLIS_RETURN_IF_ERROR(move_member(conn, *e.new_head, id, std::string(kHead)));
      for (const auto& m : h.members)  // in the order they were in
        if (leaving.count(m.resident_code) && m.resident_code != *e.new_head)
          JLIS_RETURN_IF_ERROR(move_member(conn, m.resident_code, id, e.relationships.at(m.resident_code.str())));
      return std::vector<int64_t>{h.id, id};
    }
    case HouseholdEventType::merge: {
      JLIS_ASSIGN_OR_RETURN(auto from, headed_by(conn, *e.from_head, municipality));
      if (!from || from->id == h.id) return conflict("from_head does not head another household of this municipality");
      std::vector<ResidentCode> joining;
      for (const auto& m : from->members) joining.push_back(m.resident_code);
      JLIS_RETURN_IF_ERROR(covers(joining));
      for (const auto& c : joining) JLIS_RETURN_IF_ERROR(move_member(conn, c, h.id, e.relationships.at(c.str())));
      JLIS_RETURN_IF_ERROR(dissolve(conn, from->id, e.date));
      return std::vector<int64_t>{h.id};
    }
  }
  return internal_error("unknown household event type");
}

}  // namespace

Result<std::vector<Household>> Households::submit(const LocalGovernmentCode& municipality, const HouseholdEvent& event) {
  if (event.date > today()) return invalid_argument("date is in the future");
  const std::string event_json = to_json(event).dump();
  const std::string hash = sha256_hex(event_json);
  return store::run_for<std::vector<Household>>(writer_, [&](Connection& conn) -> Result<std::vector<Household>> {
    std::optional<std::pair<std::string, std::string>> earlier;
    JLIS_RETURN_IF_ERROR(conn.query(
        "SELECT request_hash, household_ids FROM municipal_household_events WHERE municipality_code = ? AND event_id = ?",
        {municipality.str(), event.event_id}, [&](const Row& r) {
          earlier.emplace(r.text(0), r.text(1));
          return false;
        }));
    std::vector<int64_t> ids;
    if (earlier) {
      if (earlier->first != hash) return conflict("event_id " + event.event_id + " was used for another notice");
      for (const auto& id : json::parse(earlier->second)) ids.push_back(id.get<int64_t>());
    } else {
      JLIS_ASSIGN_OR_RETURN(ids, apply_notice(conn, municipality, event));
      JLIS_RETURN_IF_ERROR(
          conn.execute("INSERT INTO municipal_household_events (municipality_code, event_id, request_hash, type, "
                       "event_date, recorded_at, event_json, household_ids) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                       {municipality.str(), event.event_id, hash, std::string(event_type_name(event.type)),
                        event.date.to_iso(), today().to_iso(), event_json, json(ids).dump()})
              .status());
    }
    std::vector<Household> out;
    for (int64_t id : ids) {
      JLIS_ASSIGN_OR_RETURN(Household h, load_household(conn, id));
      out.push_back(std::move(h));
    }
    return out;
  });
}

Result<int64_t> Households::adopt_unplaced() {
  std::set<int64_t> placed;
  {
    JLIS_ASSIGN_OR_RETURN(auto conn, pool_.acquire());
    JLIS_RETURN_IF_ERROR(conn->query("SELECT resident_code FROM municipal_household_members", {}, [&](const Row& r) {
      placed.insert(r.int64(0));
      return true;
    }));
  }
  std::vector<registry::Resident> unplaced;
  JLIS_RETURN_IF_ERROR(registry_.for_each_resident(std::nullopt, [&](const registry::Resident& r) {
    if (!placed.count(resident_key(r.resident_code))) unplaced.push_back(r);
  }));
  int64_t adopted = 0;
  constexpr size_t kBatch = 1000;
  for (size_t first = 0; first < unplaced.size(); first += kBatch) {
    std::vector<store::Writer::Job> jobs;
    for (size_t i = first; i < std::min(unplaced.size(), first + kBatch); ++i) {
      const registry::Resident& r = unplaced[i];
      // Dated from the history: the last event that placed the resident in the municipality, and the
      // last that set the address.
      JLIS_ASSIGN_OR_RETURN(auto history, registry_.history(r.resident_code));
      HouseholdMember m{r.resident_code, std::string(kHead), today(), today(), today(), ""};
      for (const registry::HistoryEntry& h : history) {
        if (h.municipality != r.municipality_code) continue;
        if (h.type == registry::EventType::birth || h.type == registry::EventType::move_in) {
          m.became_resident_on = m.address_set_on = m.notified_on = h.date;
        } else if (h.type == registry::EventType::relocation) {
          m.address_set_on = m.notified_on = h.date;
        }
      }
      jobs.push_back([m, municipality = r.municipality_code](Connection& conn) -> Status {
        JLIS_ASSIGN_OR_RETURN(auto existing, load_member(conn, m.resident_code));
        if (existing) return Status::ok();  // placed meanwhile by an event
        JLIS_ASSIGN_OR_RETURN(int64_t id, create_household(conn, municipality, m.resident_code, m.became_resident_on));
        return insert_member(conn, id, m, 1);
      });
    }
    for (const Status& s : writer_.run_all(std::move(jobs))) JLIS_RETURN_IF_ERROR(s);
    adopted += static_cast<int64_t>(std::min(kBatch, unplaced.size() - first));
  }
  return adopted;
}

}  // namespace jlis::municipal
