#include "municipal/fuhyo.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "municipal/koseki_internal.h"

namespace jlis::municipal {

namespace {

using registry::EventType;

Result<std::vector<FuhyoEntry>> read_fuhyo(store::Connection& conn, const MemberRef& ref) {
  std::vector<FuhyoEntry> out;
  Status failed;
  JLIS_RETURN_IF_ERROR(conn.query(
      "SELECT address, abroad, since, until, reason, end_reason FROM municipal_koseki_fuhyo "
      "WHERE register_id = ? AND member = ? ORDER BY seq",
      {ref.register_id, int64_t{ref.member}}, [&](const store::Row& r) {
        FuhyoEntry e;
        e.address = r.text(0);
        e.abroad = r.int64(1) != 0;
        auto since = Date::parse_iso(r.text(2));
        if (!since.ok()) {
          failed = internal_error("a stored 附票 date is unreadable");
          return false;
        }
        e.since = *since;
        if (!r.is_null(3)) {
          auto until = Date::parse_iso(r.text(3));
          if (!until.ok()) {
            failed = internal_error("a stored 附票 date is unreadable");
            return false;
          }
          e.until = *until;
        }
        e.reason = r.text(4);
        e.end_reason = r.text(5);
        out.push_back(std::move(e));
        return true;
      }));
  JLIS_RETURN_IF_ERROR(failed);
  return out;
}

Status close_current(store::Connection& conn, const MemberRef& ref, Date date, const std::string& end_reason) {
  return conn
      .execute("UPDATE municipal_koseki_fuhyo SET until = ?, end_reason = ? WHERE register_id = ? AND member = ? "
               "AND until IS NULL",
               {date.to_iso(), end_reason, ref.register_id, int64_t{ref.member}})
      .status();
}

// Closes the current entry (ended by `entry.reason`) and appends `entry` as the current one.
Status append(store::Connection& conn, const MemberRef& ref, const FuhyoEntry& entry) {
  JLIS_RETURN_IF_ERROR(close_current(conn, ref, entry.since, entry.reason));
  JLIS_ASSIGN_OR_RETURN(auto max, conn.query_int64("SELECT MAX(seq) FROM municipal_koseki_fuhyo WHERE register_id = ? "
                                                   "AND member = ?",
                                                   {ref.register_id, int64_t{ref.member}}));
  return conn
      .execute("INSERT INTO municipal_koseki_fuhyo (register_id, member, seq, address, abroad, since, until, reason, "
               "end_reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
               {ref.register_id, int64_t{ref.member}, max.value_or(0) + 1, entry.address, int64_t{entry.abroad},
                entry.since.to_iso(), entry.until ? store::Value(entry.until->to_iso()) : store::Value(nullptr),
                entry.reason, entry.end_reason})
      .status();
}

std::optional<FuhyoEntry> current_of(const std::vector<FuhyoEntry>& entries) {
  for (auto it = entries.rbegin(); it != entries.rend(); ++it)
    if (!it->until) return *it;
  return std::nullopt;
}

// The current member rows linked to `code` (in open registers, not removed).
Result<std::vector<MemberRef>> linked(store::Connection& conn, const ResidentCode& code) {
  std::vector<MemberRef> out;
  JLIS_RETURN_IF_ERROR(conn.query(
      "SELECT m.register_id, m.member FROM municipal_koseki_members m JOIN municipal_koseki_registers r "
      "ON r.id = m.register_id WHERE m.resident_code = ? AND m.removed = 0 AND r.closed = 0",
      {static_cast<int64_t>(code.body())}, [&](const store::Row& r) {
        out.push_back({r.int64(0), static_cast<int>(r.int64(1))});
        return true;
      }));
  return out;
}

}  // namespace

namespace koseki_internal {

Status carry_fuhyo(store::Connection& conn, const MemberRef& from, const MemberRef& to, Date date) {
  JLIS_ASSIGN_OR_RETURN(auto entries, read_fuhyo(conn, from));
  const auto current = current_of(entries);
  if (!current) return Status::ok();
  JLIS_RETURN_IF_ERROR(close_current(conn, from, date, "除籍"));
  return append(conn, to, *current);
}

Status close_fuhyo(store::Connection& conn, const MemberRef& ref, Date date, const std::string& reason) {
  return close_current(conn, ref, date, reason);
}

}  // namespace koseki_internal

void Fuhyo::attach(registry::Registry& registry) { registry.add_listener(&Fuhyo::on_change); }

Status Fuhyo::on_change(store::Connection& conn, const registry::ChangeEvent& event,
                        const std::optional<registry::Resident>& before, const registry::Resident& after) {
  if (event.type == EventType::resident_code_change) {
    if (!before || before->resident_code == after.resident_code) return Status::ok();
    return conn
        .execute("UPDATE municipal_koseki_members SET resident_code = ? WHERE resident_code = ?",
                 {static_cast<int64_t>(after.resident_code.body()), static_cast<int64_t>(before->resident_code.body())})
        .status();
  }
  FuhyoEntry entry;
  entry.since = event.date;
  switch (event.type) {
    case EventType::birth:
      entry.reason = "出生";
      break;
    case EventType::move_in:
      entry.reason = event.from == "abroad" ? "国外転入" : "転入";
      break;
    case EventType::relocation:
      entry.reason = "転居";
      break;
    case EventType::correction:
      if (!event.address) return Status::ok();
      entry.reason = "職権修正";
      break;
    case EventType::move_out:
      // A move to another municipality shows in the 附票 when the move-in completes.
      if (event.to != "abroad") return Status::ok();
      entry.reason = "国外転出";
      entry.abroad = true;
      break;
    case EventType::death:
      break;
    default:
      return Status::ok();
  }
  JLIS_ASSIGN_OR_RETURN(auto members, linked(conn, after.resident_code));
  for (const MemberRef& ref : members) {
    if (event.type == EventType::death) {
      JLIS_RETURN_IF_ERROR(close_current(conn, ref, event.date, "死亡"));
      continue;
    }
    entry.address = entry.abroad ? (event.address_abroad.empty() ? after.address_abroad : event.address_abroad)
                                 : after.person.address;
    JLIS_RETURN_IF_ERROR(append(conn, ref, entry));
  }
  return Status::ok();
}

Result<KosekiOutcome> Fuhyo::link(store::Connection& conn, const LocalGovernmentCode& by, const LinkNotice& n) {
  JLIS_RETURN_IF_ERROR(koseki_internal::check_event_id(n.event_id));
  const registry::Resident& r = n.resident;
  const std::string fingerprint =
      nlohmann::json{{"type", "link"},
                     {"member", {n.member.register_id, n.member.member}},
                     {"resident_code", r.resident_code.str()},
                     {"since", n.since.to_iso()}}
          .dump();
  JLIS_ASSIGN_OR_RETURN(auto replay, koseki_internal::replayed(conn, by, n.event_id, fingerprint));
  if (replay) return *replay;
  JLIS_RETURN_IF_ERROR(koseki_internal::check_not_future(n.since, "the date the address was set"));
  if (r.status == registry::ResidentStatus::deceased) return conflict("the resident has died");
  auto reg = Koseki::member(conn, n.member);
  if (!reg.ok()) return reg.status();
  if (reg->municipality != by) return not_found("no such family register in this municipality");
  if (reg->closed) return conflict("the family register is closed (除籍簿)");
  const KosekiMember& m = reg->members.front();
  if (m.removed) return conflict("the member has left the family register (除籍)");
  if (m.resident_code && *m.resident_code != r.resident_code) return conflict("the member is linked to another resident");
  JLIS_ASSIGN_OR_RETURN(auto others, linked(conn, r.resident_code));
  for (const MemberRef& o : others)
    if (o != n.member) return conflict("another member is linked to this resident");
  JLIS_RETURN_IF_ERROR(conn.execute("UPDATE municipal_koseki_members SET resident_code = ? WHERE register_id = ? AND "
                                    "member = ?",
                                    {static_cast<int64_t>(r.resident_code.body()), n.member.register_id,
                                     int64_t{n.member.member}})
                           .status());
  JLIS_ASSIGN_OR_RETURN(auto entries, read_fuhyo(conn, n.member));
  if (!current_of(entries)) {
    FuhyoEntry e;
    e.abroad = r.status == registry::ResidentStatus::abroad;
    e.address = e.abroad ? r.address_abroad : r.person.address;
    e.since = n.since;
    e.reason = "記載";
    JLIS_RETURN_IF_ERROR(append(conn, n.member, e));
  }
  const KosekiOutcome outcome{n.member, false};
  JLIS_RETURN_IF_ERROR(koseki_internal::remember(conn, by, n.event_id, fingerprint, outcome));
  return outcome;
}

Result<FuhyoCopy> Fuhyo::copy(store::Connection& conn, int64_t register_id, const std::vector<int>& members) {
  JLIS_ASSIGN_OR_RETURN(KosekiRegister reg, Koseki::get(conn, register_id));
  FuhyoCopy out;
  out.register_id = reg.id;
  out.municipality = reg.municipality;
  out.honseki = reg.honseki;
  out.head_name = reg.head_name;
  for (int wanted : members)
    if (std::none_of(reg.members.begin(), reg.members.end(),
                     [&](const KosekiMember& m) { return m.ref.member == wanted; }))
      return not_found("no such member in the family register");
  for (const KosekiMember& m : reg.members) {
    if (!members.empty() && std::find(members.begin(), members.end(), m.ref.member) == members.end()) continue;
    FuhyoMember f;
    f.ref = m.ref;
    f.name = m.name;
    f.name_kana = m.name_kana;
    f.date_of_birth = m.date_of_birth;
    f.sex = m.sex;
    f.old_surname = m.old_surname;
    f.old_surname_kana = m.old_surname_kana;
    f.removed = m.removed;
    JLIS_ASSIGN_OR_RETURN(f.addresses, read_fuhyo(conn, m.ref));
    out.members.push_back(std::move(f));
  }
  return out;
}

Result<FuhyoIdentity> Fuhyo::identity(store::Connection& conn, const ResidentCode& code) {
  JLIS_ASSIGN_OR_RETURN(auto ref, Koseki::find_by_resident(conn, code));
  if (!ref) return not_found("no family-register member has this resident code");
  JLIS_ASSIGN_OR_RETURN(KosekiRegister reg, Koseki::member(conn, *ref));
  const KosekiMember& m = reg.members.front();
  FuhyoIdentity id;
  id.resident_code = code;
  id.name = m.name;
  id.name_kana = m.name_kana;
  id.date_of_birth = m.date_of_birth;
  id.sex = m.sex;
  id.old_surname = m.old_surname;
  id.old_surname_kana = m.old_surname_kana;
  id.municipality = reg.municipality;
  id.honseki = reg.honseki;
  id.head_name = reg.head_name;
  id.ref = m.ref;
  JLIS_ASSIGN_OR_RETURN(auto entries, read_fuhyo(conn, m.ref));
  std::optional<FuhyoEntry> current = current_of(entries);
  if (!current && !entries.empty()) current = entries.back();
  if (current) {
    id.address = current->address;
    id.abroad = current->abroad;
    id.address_since = current->since;
  }
  return id;
}

nlohmann::json to_json(const FuhyoIdentity& id) {
  auto or_null = [](const std::string& s) { return s.empty() ? nlohmann::json(nullptr) : nlohmann::json(s); };
  return {{"resident_code", id.resident_code.str()},
          {"name", id.name},
          {"name_kana", id.name_kana},
          {"date_of_birth", id.date_of_birth.to_iso()},
          {"sex", std::string(registry::sex_name(id.sex))},
          {"address", id.address},
          {"abroad", id.abroad},
          {"address_since", id.address_since ? nlohmann::json(id.address_since->to_iso()) : nlohmann::json(nullptr)},
          {"old_surname", or_null(id.old_surname)},
          {"old_surname_kana", or_null(id.old_surname_kana)},
          {"municipality_code", id.municipality.str()}};
}

}  // namespace jlis::municipal
