#include "municipal/koseki.h"

#include <algorithm>
#include <array>
#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "municipal/koseki_internal.h"
#include "store/migrations.h"

namespace jlis::municipal {

using registry::Sex;

std::string_view entry_kind_name(KosekiEntryKind kind) {
  switch (kind) {
    case KosekiEntryKind::birth: return "出生";
    case KosekiEntryKind::marriage: return "婚姻";
    case KosekiEntryKind::divorce: return "離婚";
    case KosekiEntryKind::adoption: return "養子縁組";
    case KosekiEntryKind::death: return "死亡";
    case KosekiEntryKind::branch: return "分籍";
    case KosekiEntryKind::old_surname: return "旧氏";
    case KosekiEntryKind::made: return "編製";
    case KosekiEntryKind::transfer: return "転籍";
    case KosekiEntryKind::closed: return "消除";
  }
  return "";
}

namespace {

constexpr KosekiEntryKind kAllKinds[] = {
    KosekiEntryKind::birth,  KosekiEntryKind::marriage, KosekiEntryKind::divorce,     KosekiEntryKind::adoption,
    KosekiEntryKind::death,  KosekiEntryKind::branch,   KosekiEntryKind::old_surname,
    KosekiEntryKind::made,   KosekiEntryKind::transfer, KosekiEntryKind::closed};

Result<KosekiEntryKind> parse_kind(const std::string& name) {
  for (KosekiEntryKind k : kAllKinds)
    if (entry_kind_name(k) == name) return k;
  return internal_error("a stored 身分事項 has an unknown kind");
}

const std::vector<store::Migration> kKosekiMigrations = {{1, R"(
  -- Registers (戸籍). Ids are numbered by the single writer (MAX + 1): portable, and a closed
  -- register (除籍簿) is never deleted, so an id is never reused.
  CREATE TABLE municipal_koseki_registers (
    id BIGINT PRIMARY KEY, municipality_code TEXT NOT NULL, honseki TEXT NOT NULL,
    head_name TEXT NOT NULL, closed BIGINT NOT NULL, successor_id BIGINT, recorded_at TEXT NOT NULL);
  CREATE INDEX municipal_koseki_registers_place ON municipal_koseki_registers (municipality_code, honseki);
  -- Members in register order; a removed member (除籍) stays. came_from_*: the row in the register
  -- they came from (復籍 returns there; 旧氏 must be a surname of that chain).
  CREATE TABLE municipal_koseki_members (
    register_id BIGINT NOT NULL, member BIGINT NOT NULL, name TEXT NOT NULL, name_kana TEXT NOT NULL,
    date_of_birth TEXT NOT NULL, sex TEXT NOT NULL, father TEXT NOT NULL, mother TEXT NOT NULL,
    adoptive_father TEXT NOT NULL, adoptive_mother TEXT NOT NULL, relationship TEXT NOT NULL,
    resident_code BIGINT, removed BIGINT NOT NULL, old_surname TEXT NOT NULL, old_surname_kana TEXT NOT NULL,
    came_from_register BIGINT, came_from_member BIGINT,
    PRIMARY KEY (register_id, member));
  CREATE INDEX municipal_koseki_members_resident ON municipal_koseki_members (resident_code);
  -- 身分事項 (member > 0) and the register's own entries (member 0), in the order recorded.
  CREATE TABLE municipal_koseki_entries (
    register_id BIGINT NOT NULL, member BIGINT NOT NULL, seq BIGINT NOT NULL, kind TEXT NOT NULL,
    event_date TEXT NOT NULL, notified_on TEXT, notifier TEXT NOT NULL, place TEXT NOT NULL,
    counterpart TEXT NOT NULL, other_register TEXT NOT NULL,
    PRIMARY KEY (register_id, member, seq));
  -- The idempotency record of every notice: its key, its canonical content and its outcome.
  CREATE TABLE municipal_koseki_notices (
    municipality_code TEXT NOT NULL, event_id TEXT NOT NULL, notice_json TEXT NOT NULL,
    register_id BIGINT NOT NULL, member BIGINT NOT NULL, recorded_at TEXT NOT NULL,
    PRIMARY KEY (municipality_code, event_id));
  -- The 附票: each member's addresses, oldest first.
  CREATE TABLE municipal_koseki_fuhyo (
    register_id BIGINT NOT NULL, member BIGINT NOT NULL, seq BIGINT NOT NULL, address TEXT NOT NULL,
    abroad BIGINT NOT NULL, since TEXT NOT NULL, until TEXT, reason TEXT NOT NULL, end_reason TEXT NOT NULL,
    PRIMARY KEY (register_id, member, seq));
)"}};

// ---- names and checks -----------------------------------------------------------------------

constexpr std::string_view kWideSpace = "\xE3\x80\x80";  // U+3000

// Splits "氏　名" (full-width or ASCII space) into surname and given name.
std::optional<std::pair<std::string, std::string>> split_name(const std::string& name) {
  size_t at = name.find(kWideSpace);
  size_t len = kWideSpace.size();
  if (at == std::string::npos) {
    at = name.find(' ');
    len = 1;
  }
  if (at == std::string::npos || at == 0 || at + len >= name.size()) return std::nullopt;
  return std::make_pair(name.substr(0, at), name.substr(at + len));
}
std::string surname_of(const std::string& name) {
  auto parts = split_name(name);
  return parts ? parts->first : name;
}
std::string with_surname(const std::string& name, const std::string& surname) {
  auto parts = split_name(name);
  return surname + std::string(kWideSpace) + (parts ? parts->second : name);
}

Status check_name(const std::string& name, const std::string& kana, const char* whose) {
  if (name.empty() || name.size() > kMaxKosekiNameLength * 4)
    return invalid_argument(std::string(whose) + " name is empty or too long");
  if (!split_name(name)) return invalid_argument(std::string(whose) + " name lacks the space between surname and given name");
  if (kana.empty() || kana.size() > kMaxKosekiKanaLength * 4 || !split_name(kana))
    return invalid_argument(std::string(whose) + " furigana is empty, too long or lacks the space");
  return Status::ok();
}
Status check_text(const std::string& text, size_t max_chars, const char* what, bool required) {
  if (required && text.empty()) return invalid_argument(std::string(what) + " is empty");
  if (text.size() > max_chars * 4) return invalid_argument(std::string(what) + " is too long");
  return Status::ok();
}

Status unknown_register() { return not_found("no such family register in this municipality"); }
Status unknown_member() { return not_found("no such member in the family register"); }

// ---- stored form ----------------------------------------------------------------------------

std::string sex_text(Sex s) { return std::string(registry::sex_name(s)); }
store::Value optional_code(const std::optional<ResidentCode>& c) {
  if (!c) return nullptr;
  return static_cast<int64_t>(c->body());
}

nlohmann::json j(Date d) { return d.to_iso(); }
nlohmann::json j(const MemberRef& r) { return nlohmann::json::array({r.register_id, r.member}); }
nlohmann::json j(const std::optional<ResidentCode>& c) { return c ? nlohmann::json(c->str()) : nlohmann::json(); }
nlohmann::json j(const KosekiEntry& e) {
  return {{"kind", entry_kind_name(e.kind)}, {"date", j(e.date)},
          {"notified_on", e.notified_on ? j(*e.notified_on) : nlohmann::json()},
          {"notifier", e.notifier}, {"place", e.place}, {"counterpart", e.counterpart},
          {"other_register", e.other_register}};
}

Result<Date> stored_date(const std::string& text) {
  auto d = Date::parse_iso(text);
  if (!d.ok()) return internal_error("a stored family-register date is unreadable");
  return *d;
}

struct Loaded {
  KosekiRegister reg;
  std::string surname;  // the register's 氏 (the head's surname)
  const KosekiMember* find(int member) const {
    for (const KosekiMember& m : reg.members)
      if (m.ref.member == member) return &m;
    return nullptr;
  }
  std::string description() const { return reg.honseki + std::string(kWideSpace) + reg.head_name; }
};

Result<std::optional<Loaded>> load(store::Connection& conn, int64_t id) {
  std::optional<Loaded> out;
  Status failed;
  JLIS_RETURN_IF_ERROR(conn.query(
      "SELECT municipality_code, honseki, head_name, closed, successor_id FROM municipal_koseki_registers WHERE id = ?",
      {id}, [&](const store::Row& r) {
        Loaded l;
        l.reg.id = id;
        auto code = LocalGovernmentCode::parse(r.text(0));
        if (!code.ok()) {
          failed = internal_error("a stored register's municipality is unreadable");
          return false;
        }
        l.reg.municipality = *code;
        l.reg.honseki = r.text(1);
        l.reg.head_name = r.text(2);
        l.reg.closed = r.int64(3) != 0;
        if (!r.is_null(4)) l.reg.successor = r.int64(4);
        l.surname = surname_of(l.reg.head_name);
        out = std::move(l);
        return false;
      }));
  JLIS_RETURN_IF_ERROR(failed);
  if (!out) return out;
  KosekiRegister& reg = out->reg;
  JLIS_RETURN_IF_ERROR(conn.query(
      "SELECT member, name, name_kana, date_of_birth, sex, father, mother, adoptive_father, adoptive_mother, "
      "relationship, resident_code, removed, old_surname, old_surname_kana, came_from_register, came_from_member "
      "FROM municipal_koseki_members WHERE register_id = ? ORDER BY member",
      {id}, [&](const store::Row& r) {
        KosekiMember m;
        m.ref = {id, static_cast<int>(r.int64(0))};
        m.name = r.text(1);
        m.name_kana = r.text(2);
        auto dob = stored_date(r.text(3));
        auto sex = registry::parse_sex(r.text(4));
        if (!dob.ok() || !sex.ok()) {
          failed = internal_error("a stored register member is unreadable");
          return false;
        }
        m.date_of_birth = *dob;
        m.sex = *sex;
        m.father = r.text(5);
        m.mother = r.text(6);
        m.adoptive_father = r.text(7);
        m.adoptive_mother = r.text(8);
        m.relationship = r.text(9);
        if (!r.is_null(10)) m.resident_code = ResidentCode::from_body(static_cast<uint64_t>(r.int64(10)));
        m.removed = r.int64(11) != 0;
        m.old_surname = r.text(12);
        m.old_surname_kana = r.text(13);
        if (!r.is_null(14)) m.came_from = MemberRef{r.int64(14), static_cast<int>(r.int64(15))};
        reg.members.push_back(std::move(m));
        return true;
      }));
  JLIS_RETURN_IF_ERROR(failed);
  JLIS_RETURN_IF_ERROR(conn.query(
      "SELECT member, kind, event_date, notified_on, notifier, place, counterpart, other_register "
      "FROM municipal_koseki_entries WHERE register_id = ? ORDER BY member, seq",
      {id}, [&](const store::Row& r) {
        KosekiEntry e;
        auto kind = parse_kind(r.text(1));
        auto date = stored_date(r.text(2));
        if (!kind.ok() || !date.ok()) {
          failed = internal_error("a stored 身分事項 is unreadable");
          return false;
        }
        e.kind = *kind;
        e.date = *date;
        if (!r.is_null(3)) {
          auto n = stored_date(r.text(3));
          if (!n.ok()) {
            failed = n.status();
            return false;
          }
          e.notified_on = *n;
        }
        e.notifier = r.text(4);
        e.place = r.text(5);
        e.counterpart = r.text(6);
        e.other_register = r.text(7);
        const int member = static_cast<int>(r.int64(0));
        if (member == 0) {
          reg.entries.push_back(std::move(e));
        } else {
          for (KosekiMember& m : reg.members)
            if (m.ref.member == member) m.entries.push_back(e);
        }
        return true;
      }));
  JLIS_RETURN_IF_ERROR(failed);
  return out;
}

// The register `id` as `by` may act on it: not_found when unknown or another municipality's.
Result<Loaded> load_held(store::Connection& conn, int64_t id, const LocalGovernmentCode& by) {
  JLIS_ASSIGN_OR_RETURN(auto loaded, load(conn, id));
  if (!loaded || loaded->reg.municipality != by) return unknown_register();
  return std::move(*loaded);
}
// Any register (a marriage's other party may be registered elsewhere); not_found when unknown.
Result<Loaded> load_any(store::Connection& conn, int64_t id) {
  JLIS_ASSIGN_OR_RETURN(auto loaded, load(conn, id));
  if (!loaded) return unknown_register();
  return std::move(*loaded);
}
// A current member: not_found when not in the register, conflict when removed or the register closed.
Result<const KosekiMember*> current_member(const Loaded& l, int member) {
  const KosekiMember* m = l.find(member);
  if (!m) return unknown_member();
  if (l.reg.closed) return conflict("the family register is closed (除籍簿)");
  if (m->removed) return conflict("the member has left the family register (除籍)");
  return m;
}
bool is_spouse(const KosekiMember& m) { return m.relationship == "妻" || m.relationship == "夫"; }
// Married now: a current 妻/夫 whose head (the other spouse) is current, or a current head with a
// current 妻/夫. A widow or widower stays 妻/夫 in the register but is free to marry.
bool is_married(const Loaded& l, const KosekiMember& m) {
  if (m.removed) return false;
  const KosekiMember* head = l.find(1);
  if (!head || head->removed) return false;
  if (is_spouse(m)) return true;
  if (m.ref.member != 1) return false;
  return std::any_of(l.reg.members.begin(), l.reg.members.end(),
                     [](const KosekiMember& o) { return !o.removed && is_spouse(o); });
}

// conflict when a current member (in an open register) already has the resident code.
Status check_code_free(store::Connection& conn, const std::optional<ResidentCode>& code) {
  if (!code) return Status::ok();
  JLIS_ASSIGN_OR_RETURN(auto n, conn.query_int64("SELECT COUNT(*) FROM municipal_koseki_members m JOIN "
                                                 "municipal_koseki_registers r ON r.id = m.register_id WHERE "
                                                 "m.resident_code = ? AND m.removed = 0 AND r.closed = 0",
                                                 {static_cast<int64_t>(code->body())}));
  if (n.value_or(0) > 0) return conflict("another member of a family register has this resident code");
  return Status::ok();
}

// ---- writes ---------------------------------------------------------------------------------

Result<int64_t> next_register_id(store::Connection& conn) {
  JLIS_ASSIGN_OR_RETURN(auto max, conn.query_int64("SELECT MAX(id) FROM municipal_koseki_registers"));
  return max.value_or(0) + 1;
}

Result<int64_t> new_register(store::Connection& conn, const LocalGovernmentCode& municipality,
                             const std::string& honseki, const std::string& head_name) {
  JLIS_ASSIGN_OR_RETURN(const int64_t id, next_register_id(conn));
  JLIS_RETURN_IF_ERROR(conn.execute("INSERT INTO municipal_koseki_registers (id, municipality_code, honseki, "
                                    "head_name, closed, successor_id, recorded_at) VALUES (?, ?, ?, ?, 0, NULL, ?)",
                                    {id, municipality.str(), honseki, head_name, now_iso8601()})
                           .status());
  return id;
}

Status add_entry(store::Connection& conn, int64_t register_id, int member, const KosekiEntry& e) {
  JLIS_ASSIGN_OR_RETURN(auto max, conn.query_int64("SELECT MAX(seq) FROM municipal_koseki_entries WHERE register_id = ? "
                                                   "AND member = ?",
                                                   {register_id, int64_t{member}}));
  return conn
      .execute("INSERT INTO municipal_koseki_entries (register_id, member, seq, kind, event_date, notified_on, "
               "notifier, place, counterpart, other_register) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
               {register_id, int64_t{member}, max.value_or(0) + 1, std::string(entry_kind_name(e.kind)),
                e.date.to_iso(), e.notified_on ? store::Value(e.notified_on->to_iso()) : store::Value(nullptr),
                e.notifier, e.place, e.counterpart, e.other_register})
      .status();
}

// Appends `m` (its ref.register_id) with its entries; answers its place.
Result<int> add_member(store::Connection& conn, int64_t register_id, const KosekiMember& m) {
  JLIS_ASSIGN_OR_RETURN(auto max, conn.query_int64("SELECT MAX(member) FROM municipal_koseki_members WHERE register_id = ?",
                                                   {register_id}));
  const int member = static_cast<int>(max.value_or(0) + 1);
  JLIS_RETURN_IF_ERROR(
      conn.execute("INSERT INTO municipal_koseki_members (register_id, member, name, name_kana, date_of_birth, sex, "
                   "father, mother, adoptive_father, adoptive_mother, relationship, resident_code, removed, "
                   "old_surname, old_surname_kana, came_from_register, came_from_member) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?)",
                   {register_id, int64_t{member}, m.name, m.name_kana, m.date_of_birth.to_iso(), sex_text(m.sex),
                    m.father, m.mother, m.adoptive_father, m.adoptive_mother, m.relationship,
                    optional_code(m.resident_code), m.old_surname, m.old_surname_kana,
                    m.came_from ? store::Value(m.came_from->register_id) : store::Value(nullptr),
                    m.came_from ? store::Value(int64_t{m.came_from->member}) : store::Value(nullptr)})
          .status());
  for (const KosekiEntry& e : m.entries) JLIS_RETURN_IF_ERROR(add_entry(conn, register_id, member, e));
  return member;
}

Status close_register(store::Connection& conn, int64_t id, const KosekiEntry& why, std::optional<int64_t> successor) {
  JLIS_RETURN_IF_ERROR(conn.execute("UPDATE municipal_koseki_registers SET closed = 1, successor_id = ? WHERE id = ?",
                                    {successor ? store::Value(*successor) : store::Value(nullptr), id})
                           .status());
  return add_entry(conn, id, 0, why);
}

// Removes (除籍) a member with the entry saying why; closes the register (消除) when no current
// member is left.
Status remove_member(store::Connection& conn, const MemberRef& ref, const KosekiEntry& why, Date date) {
  JLIS_RETURN_IF_ERROR(conn.execute("UPDATE municipal_koseki_members SET removed = 1 WHERE register_id = ? AND member = ?",
                                    {ref.register_id, int64_t{ref.member}})
                           .status());
  JLIS_RETURN_IF_ERROR(add_entry(conn, ref.register_id, ref.member, why));
  JLIS_ASSIGN_OR_RETURN(auto left, conn.query_int64("SELECT COUNT(*) FROM municipal_koseki_members WHERE register_id = ? "
                                                    "AND removed = 0",
                                                    {ref.register_id}));
  if (left.value_or(0) == 0) {
    KosekiEntry closed{KosekiEntryKind::closed, date};
    closed.counterpart = "全員除籍";
    return close_register(conn, ref.register_id, closed, std::nullopt);
  }
  return Status::ok();
}

// The facts a member takes to a new register (重要な身分事項の移記).
std::vector<KosekiEntry> carried_entries(const KosekiMember& m) {
  std::vector<KosekiEntry> out;
  for (const KosekiEntry& e : m.entries)
    if (e.kind == KosekiEntryKind::birth || e.kind == KosekiEntryKind::adoption ||
        e.kind == KosekiEntryKind::old_surname)
      out.push_back(e);
  return out;
}

// A copy of `m` for another register: not removed, coming from `m`.
KosekiMember moved(const KosekiMember& m) {
  KosekiMember c = m;
  c.removed = false;
  c.came_from = m.ref;
  c.entries = carried_entries(m);
  return c;
}

// ---- 続柄 -----------------------------------------------------------------------------------

std::string birth_order_relationship(int order, Sex sex) {
  static constexpr std::array<const char*, 10> kOrdinals = {"長", "二", "三", "四", "五", "六", "七", "八", "九", "十"};
  std::string prefix;
  if (order <= 10) {
    prefix = kOrdinals[static_cast<size_t>(order - 1)];
  } else {
    prefix = std::to_string(order);
  }
  return prefix + (sex == Sex::male ? "男" : "女");
}
bool is_child_relationship(const std::string& r) {
  return r.size() >= 3 && (r.ends_with("男") || r.ends_with("女")) && r != "養女";
}

// ---- the common frame of a notice -------------------------------------------------------------

// Runs `apply` unless the notice was applied before (answers its outcome, replay), then records it.
template <class Apply>
Result<KosekiOutcome> keyed(store::Connection& conn, const LocalGovernmentCode& by, const std::string& event_id,
                            const nlohmann::json& content, Apply&& apply) {
  JLIS_RETURN_IF_ERROR(koseki_internal::check_event_id(event_id));
  const std::string fingerprint = content.dump();
  JLIS_ASSIGN_OR_RETURN(auto before, koseki_internal::replayed(conn, by, event_id, fingerprint));
  if (before) return *before;
  JLIS_ASSIGN_OR_RETURN(KosekiOutcome outcome, apply());
  JLIS_RETURN_IF_ERROR(koseki_internal::remember(conn, by, event_id, fingerprint, outcome));
  return outcome;
}

Status check_place(const LocalGovernmentCode& municipality, const std::string& honseki) {
  (void)municipality;
  return check_text(honseki, kMaxHonsekiLength, "the 本籍", true);
}

}  // namespace

// ---- shared with fuhyo.cpp ------------------------------------------------------------------

namespace koseki_internal {

Status check_event_id(const std::string& event_id) {
  if (event_id.empty() || event_id.size() > registry::kMaxEventIdLength)
    return invalid_argument("event_id is empty or too long");
  return Status::ok();
}

Status check_not_future(Date d, const char* what) {
  if (d > Date::today()) return invalid_argument(std::string(what) + " is in the future");
  return Status::ok();
}

Result<std::optional<KosekiOutcome>> replayed(store::Connection& conn, const LocalGovernmentCode& by,
                                              const std::string& event_id, const std::string& fingerprint) {
  std::optional<KosekiOutcome> out;
  bool different = false;
  JLIS_RETURN_IF_ERROR(conn.query(
      "SELECT notice_json, register_id, member FROM municipal_koseki_notices WHERE municipality_code = ? AND event_id = ?",
      {by.str(), event_id}, [&](const store::Row& r) {
        if (r.text(0) != fingerprint) {
          different = true;
        } else {
          out = KosekiOutcome{{r.int64(1), static_cast<int>(r.int64(2))}, true};
        }
        return false;
      }));
  if (different) return conflict("event_id " + event_id + " was used for a different notice");
  return out;
}

Status remember(store::Connection& conn, const LocalGovernmentCode& by, const std::string& event_id,
                const std::string& fingerprint, const KosekiOutcome& outcome) {
  return conn
      .execute("INSERT INTO municipal_koseki_notices (municipality_code, event_id, notice_json, register_id, member, "
               "recorded_at) VALUES (?, ?, ?, ?, ?, ?)",
               {by.str(), event_id, fingerprint, outcome.ref.register_id, int64_t{outcome.ref.member}, now_iso8601()})
      .status();
}

}  // namespace koseki_internal

using koseki_internal::check_not_future;

Status Koseki::migrate(store::Connection& conn) { return store::migrate(conn, "municipal_koseki", kKosekiMigrations); }

// ---- notices --------------------------------------------------------------------------------

Result<KosekiOutcome> Koseki::open_register(store::Connection& conn, const LocalGovernmentCode& by,
                                            const OpenRegister& n) {
  nlohmann::json members = nlohmann::json::array();
  for (const InitialMember& m : n.members)
    members.push_back({m.name, m.name_kana, j(m.date_of_birth), sex_text(m.sex), m.father, m.mother, m.relationship,
                       j(m.resident_code), m.birth ? j(*m.birth) : nlohmann::json()});
  const nlohmann::json content = {{"type", "open_register"}, {"date", j(n.date)}, {"reason", n.reason},
                                  {"honseki", n.honseki}, {"members", members}};
  return keyed(conn, by, n.event_id, content, [&]() -> Result<KosekiOutcome> {
    JLIS_RETURN_IF_ERROR(check_not_future(n.date, "the date the register was made"));
    JLIS_RETURN_IF_ERROR(check_place(by, n.honseki));
    JLIS_RETURN_IF_ERROR(check_text(n.reason, 100, "the reason", true));
    if (n.members.empty() || n.members.size() > 100) return invalid_argument("a register has 1 to 100 members");
    for (const InitialMember& m : n.members) {
      JLIS_RETURN_IF_ERROR(check_name(m.name, m.name_kana, "a member's"));
      JLIS_RETURN_IF_ERROR(check_not_future(m.date_of_birth, "a date of birth"));
      JLIS_RETURN_IF_ERROR(check_text(m.relationship, 10, "a member's relationship (続柄)", true));
      JLIS_RETURN_IF_ERROR(check_code_free(conn, m.resident_code));
      for (const InitialMember& o : n.members)
        if (&o != &m && o.resident_code && o.resident_code == m.resident_code)
          return invalid_argument("two members have the same resident code");
    }
    JLIS_ASSIGN_OR_RETURN(const int64_t id, new_register(conn, by, n.honseki, n.members.front().name));
    KosekiEntry made{KosekiEntryKind::made, n.date};
    made.counterpart = n.reason;
    JLIS_RETURN_IF_ERROR(add_entry(conn, id, 0, made));
    for (const InitialMember& im : n.members) {
      KosekiMember m;
      m.name = im.name;
      m.name_kana = im.name_kana;
      m.date_of_birth = im.date_of_birth;
      m.sex = im.sex;
      m.father = im.father;
      m.mother = im.mother;
      m.relationship = im.relationship;
      m.resident_code = im.resident_code;
      if (im.birth) {
        KosekiEntry b = *im.birth;
        b.kind = KosekiEntryKind::birth;
        m.entries.push_back(b);
      }
      JLIS_RETURN_IF_ERROR(add_member(conn, id, m).status());
    }
    return KosekiOutcome{{id, 1}, false};
  });
}

Result<KosekiOutcome> Koseki::birth(store::Connection& conn, const LocalGovernmentCode& by, const BirthNotice& n) {
  const nlohmann::json content = {{"type", "birth"},         {"register", n.register_id}, {"name", n.name},
                                  {"name_kana", n.name_kana}, {"date_of_birth", j(n.date_of_birth)},
                                  {"sex", sex_text(n.sex)},   {"place", n.place},          {"father", n.father},
                                  {"mother", n.mother},       {"notified_on", j(n.notified_on)},
                                  {"notifier", n.notifier},   {"resident_code", j(n.resident_code)}};
  return keyed(conn, by, n.event_id, content, [&]() -> Result<KosekiOutcome> {
    JLIS_RETURN_IF_ERROR(check_name(n.name, n.name_kana, "the child's"));
    JLIS_RETURN_IF_ERROR(check_not_future(n.date_of_birth, "the date of birth"));
    JLIS_RETURN_IF_ERROR(check_not_future(n.notified_on, "the date of the notice"));
    if (n.notified_on < n.date_of_birth) return invalid_argument("the notice is dated before the birth");
    JLIS_RETURN_IF_ERROR(check_text(n.place, kMaxKosekiPlaceLength, "the place of birth", true));
    JLIS_RETURN_IF_ERROR(check_text(n.notifier, 20, "the notifier", true));
    JLIS_RETURN_IF_ERROR(check_text(n.father, kMaxKosekiNameLength, "the father's name", false));
    JLIS_RETURN_IF_ERROR(check_text(n.mother, kMaxKosekiNameLength, "the mother's name", false));
    if (n.father.empty() && n.mother.empty()) return invalid_argument("a birth names the father or the mother");
    JLIS_ASSIGN_OR_RETURN(Loaded l, load_held(conn, n.register_id, by));
    if (l.reg.closed) return conflict("the family register is closed (除籍簿)");
    bool parent_here = false;
    for (const KosekiMember& m : l.reg.members)
      if (!m.removed && ((!n.father.empty() && m.name == n.father && m.sex == Sex::male) ||
                         (!n.mother.empty() && m.name == n.mother && m.sex == Sex::female)))
        parent_here = true;
    if (!parent_here) return not_found("neither parent is a member of the family register");
    for (const KosekiMember& m : l.reg.members)
      if ((m.name == n.father || m.name == n.mother) && m.date_of_birth >= n.date_of_birth)
        return invalid_argument("a parent is not born before the child");
    if (surname_of(n.name) != l.surname) return invalid_argument("the child's surname is not the register's (氏)");
    JLIS_RETURN_IF_ERROR(check_code_free(conn, n.resident_code));
    int order = 1;
    for (const KosekiMember& m : l.reg.members)
      if (is_child_relationship(m.relationship) && m.father == n.father && m.mother == n.mother && m.sex == n.sex &&
          m.date_of_birth <= n.date_of_birth)
        ++order;
    KosekiMember child;
    child.name = n.name;
    child.name_kana = n.name_kana;
    child.date_of_birth = n.date_of_birth;
    child.sex = n.sex;
    child.father = n.father;
    child.mother = n.mother;
    child.relationship = birth_order_relationship(order, n.sex);
    child.resident_code = n.resident_code;
    KosekiEntry e{KosekiEntryKind::birth, n.date_of_birth};
    e.notified_on = n.notified_on;
    e.notifier = n.notifier;
    e.place = n.place;
    child.entries.push_back(e);
    JLIS_ASSIGN_OR_RETURN(const int member, add_member(conn, l.reg.id, child));
    return KosekiOutcome{{l.reg.id, member}, false};
  });
}

Result<KosekiOutcome> Koseki::marriage(store::Connection& conn, const LocalGovernmentCode& by,
                                       const MarriageNotice& n) {
  const nlohmann::json content = {{"type", "marriage"},          {"date", j(n.date)},
                                  {"husband", j(n.husband)},      {"wife", j(n.wife)},
                                  {"husbands_surname", n.husbands_surname}, {"municipality", n.municipality.str()},
                                  {"honseki", n.honseki}};
  return keyed(conn, by, n.event_id, content, [&]() -> Result<KosekiOutcome> {
    JLIS_RETURN_IF_ERROR(check_not_future(n.date, "the date of marriage"));
    if (n.husband.register_id == n.wife.register_id && n.husband.member == n.wife.member)
      return invalid_argument("a person does not marry themselves");
    JLIS_ASSIGN_OR_RETURN(Loaded hl, load_any(conn, n.husband.register_id));
    JLIS_ASSIGN_OR_RETURN(Loaded wl, load_any(conn, n.wife.register_id));
    if (hl.reg.municipality != by && wl.reg.municipality != by) return unknown_register();
    JLIS_ASSIGN_OR_RETURN(const KosekiMember* h, current_member(hl, n.husband.member));
    JLIS_ASSIGN_OR_RETURN(const KosekiMember* w, current_member(wl, n.wife.member));
    if (h->sex != Sex::male || w->sex != Sex::female) return invalid_argument("the husband is male and the wife female");
    for (const KosekiMember* p : {h, w}) {
      if (p->date_of_birth > n.date || age_on(p->date_of_birth, n.date) < 18)
        return invalid_argument("both must be 18 or older on the day of marriage");
    }
    if (is_married(hl, *h) || is_married(wl, *w)) return conflict("one of them is married");
    const bool h_bears = n.husbands_surname;
    const Loaded& bl = h_bears ? hl : wl;
    const Loaded& ol = h_bears ? wl : hl;
    const KosekiMember& bearer = h_bears ? *h : *w;
    const KosekiMember& other = h_bears ? *w : *h;
    const bool join = bearer.ref.member == 1;  // the bearer heads a register: the other joins it
    if (!join) JLIS_RETURN_IF_ERROR(check_place(n.municipality, n.honseki));

    int64_t target = bl.reg.id;
    std::string target_description = bl.description();
    if (!join) {
      JLIS_ASSIGN_OR_RETURN(target, new_register(conn, n.municipality, n.honseki, bearer.name));
      target_description = n.honseki + std::string(kWideSpace) + bearer.name;
      KosekiEntry made{KosekiEntryKind::made, n.date};
      made.counterpart = "婚姻";
      JLIS_RETURN_IF_ERROR(add_entry(conn, target, 0, made));
    }
    const std::string other_new_name = with_surname(other.name, bl.surname);
    const std::string other_new_kana = with_surname(other.name_kana, surname_of(bearer.name_kana));
    KosekiEntry left{KosekiEntryKind::marriage, n.date};
    left.notified_on = n.date;
    left.other_register = target_description;
    int bearer_member = bearer.ref.member;
    if (join) {
      KosekiEntry e = left;
      e.counterpart = other_new_name;
      e.other_register = ol.description();
      JLIS_RETURN_IF_ERROR(add_entry(conn, target, bearer.ref.member, e));
    } else {
      KosekiEntry out = left;
      out.counterpart = other.name;
      JLIS_RETURN_IF_ERROR(remove_member(conn, bearer.ref, out, n.date));
      KosekiMember b = moved(bearer);
      KosekiEntry e = left;
      e.counterpart = other_new_name;
      e.other_register = bl.description();
      b.entries.push_back(e);
      JLIS_ASSIGN_OR_RETURN(bearer_member, add_member(conn, target, b));
      JLIS_RETURN_IF_ERROR(koseki_internal::carry_fuhyo(conn, bearer.ref, {target, bearer_member}, n.date));
    }
    KosekiEntry out = left;
    out.counterpart = bearer.name;
    JLIS_RETURN_IF_ERROR(remove_member(conn, other.ref, out, n.date));
    KosekiMember o = moved(other);
    o.name = other_new_name;
    o.name_kana = other_new_kana;
    o.relationship = other.sex == Sex::female ? "妻" : "夫";
    KosekiEntry e = left;
    e.counterpart = bearer.name;
    e.other_register = ol.description();
    o.entries.push_back(e);
    JLIS_ASSIGN_OR_RETURN(const int other_member, add_member(conn, target, o));
    JLIS_RETURN_IF_ERROR(koseki_internal::carry_fuhyo(conn, other.ref, {target, other_member}, n.date));
    return KosekiOutcome{{target, bearer_member}, false};
  });
}

Result<KosekiOutcome> Koseki::divorce(store::Connection& conn, const LocalGovernmentCode& by, const DivorceNotice& n) {
  const nlohmann::json content = {{"type", "divorce"}, {"date", j(n.date)}, {"spouse", j(n.spouse)},
                                  {"municipality", n.municipality ? n.municipality->str() : ""},
                                  {"honseki", n.honseki}};
  return keyed(conn, by, n.event_id, content, [&]() -> Result<KosekiOutcome> {
    JLIS_RETURN_IF_ERROR(check_not_future(n.date, "the date of divorce"));
    JLIS_ASSIGN_OR_RETURN(Loaded l, load_held(conn, n.spouse.register_id, by));
    JLIS_ASSIGN_OR_RETURN(const KosekiMember* s, current_member(l, n.spouse.member));
    if (!is_spouse(*s)) return conflict("the member is not the spouse who took the name (妻 or 夫) in this register");
    const KosekiMember* head = l.find(1);
    if (!head || head->removed) return conflict("the head of the register has left it");
    if (n.date < s->date_of_birth) return invalid_argument("the divorce is dated before the birth");
    if (n.municipality.has_value() != !n.honseki.empty())
      return invalid_argument("a new 本籍 names both the municipality and the place");
    // Where the spouse goes: back to the register they came from (復籍), or a new one.
    std::optional<Loaded> former;
    const KosekiMember* former_row = nullptr;
    if (s->came_from) {
      JLIS_ASSIGN_OR_RETURN(auto f, load(conn, s->came_from->register_id));
      if (f) {
        former = std::move(*f);
        former_row = former->find(s->came_from->member);
      }
    }
    const bool return_home = !n.municipality && former && former_row && !former->reg.closed;
    if (!return_home && !n.municipality)
      return conflict("the former register is closed or unknown: the divorce names a new 本籍");
    if (n.municipality) JLIS_RETURN_IF_ERROR(check_place(*n.municipality, n.honseki));
    KosekiMember back = moved(*s);
    if (former_row) {
      back.name = former_row->name;
      back.name_kana = former_row->name_kana;
      back.relationship = former_row->relationship;
    } else {
      back.relationship = "";  // the former register is not in the system: the 続柄 to the parents is not known
    }
    int64_t target = 0;
    std::string target_description;
    if (return_home) {
      target = former->reg.id;
      target_description = former->description();
    } else {
      JLIS_ASSIGN_OR_RETURN(target, new_register(conn, *n.municipality, n.honseki, back.name));
      target_description = n.honseki + std::string(kWideSpace) + back.name;
      KosekiEntry made{KosekiEntryKind::made, n.date};
      made.counterpart = "離婚";
      JLIS_RETURN_IF_ERROR(add_entry(conn, target, 0, made));
    }
    KosekiEntry e{KosekiEntryKind::divorce, n.date};
    e.notified_on = n.date;
    KosekiEntry head_entry = e;
    head_entry.counterpart = s->name;
    JLIS_RETURN_IF_ERROR(add_entry(conn, l.reg.id, 1, head_entry));
    KosekiEntry out = e;
    out.counterpart = head->name;
    out.other_register = target_description;
    JLIS_RETURN_IF_ERROR(remove_member(conn, s->ref, out, n.date));
    KosekiEntry in = e;
    in.counterpart = head->name;
    in.other_register = l.description();
    back.entries.push_back(in);
    JLIS_ASSIGN_OR_RETURN(const int member, add_member(conn, target, back));
    JLIS_RETURN_IF_ERROR(koseki_internal::carry_fuhyo(conn, s->ref, {target, member}, n.date));
    return KosekiOutcome{{target, member}, false};
  });
}

Result<KosekiOutcome> Koseki::adoption(store::Connection& conn, const LocalGovernmentCode& by,
                                       const AdoptionNotice& n) {
  const nlohmann::json content = {{"type", "adoption"}, {"date", j(n.date)}, {"adoptee", j(n.adoptee)},
                                  {"register", n.register_id}, {"adopters", n.adopters}};
  return keyed(conn, by, n.event_id, content, [&]() -> Result<KosekiOutcome> {
    JLIS_RETURN_IF_ERROR(check_not_future(n.date, "the date of adoption"));
    if (n.adopters.empty() || n.adopters.size() > 2) return invalid_argument("an adoption names one or two adopters");
    if (n.adoptee.register_id == n.register_id) return conflict("the adoptee is already in the adopters' register");
    JLIS_ASSIGN_OR_RETURN(Loaded al, load_held(conn, n.register_id, by));
    if (al.reg.closed) return conflict("the family register is closed (除籍簿)");
    JLIS_ASSIGN_OR_RETURN(Loaded fl, load_any(conn, n.adoptee.register_id));
    JLIS_ASSIGN_OR_RETURN(const KosekiMember* a, current_member(fl, n.adoptee.member));
    if (a->ref.member == 1 || is_spouse(*a)) return conflict("a head of a register or a spouse is not adopted here");
    if (a->date_of_birth > n.date) return invalid_argument("the adoption is dated before the adoptee's birth");
    KosekiMember in = moved(*a);
    std::string adopter_names;
    for (const std::string& name : n.adopters) {
      const KosekiMember* found = nullptr;
      for (const KosekiMember& m : al.reg.members)
        if (!m.removed && m.name == name) found = &m;
      if (!found) return not_found("an adopter is not a member of the family register");
      if (age_on(found->date_of_birth, n.date) < 20) return invalid_argument("an adopter is under 20");
      if (found->date_of_birth >= a->date_of_birth) return invalid_argument("an adopter is not older than the adoptee");
      (found->sex == Sex::male ? in.adoptive_father : in.adoptive_mother) = name;
      adopter_names += (adopter_names.empty() ? "" : "・") + name;
    }
    in.name = with_surname(a->name, al.surname);
    JLIS_ASSIGN_OR_RETURN(Loaded head_check, load_any(conn, n.register_id));
    const KosekiMember* head = head_check.find(1);
    in.name_kana = with_surname(a->name_kana, head ? surname_of(head->name_kana) : surname_of(a->name_kana));
    in.relationship = a->sex == Sex::male ? "養子" : "養女";
    KosekiEntry e{KosekiEntryKind::adoption, n.date};
    e.notified_on = n.date;
    e.counterpart = adopter_names;
    KosekiEntry out = e;
    out.other_register = al.description();
    JLIS_RETURN_IF_ERROR(remove_member(conn, a->ref, out, n.date));
    KosekiEntry entered = e;
    entered.other_register = fl.description();
    in.entries.push_back(entered);
    JLIS_ASSIGN_OR_RETURN(const int member, add_member(conn, al.reg.id, in));
    JLIS_RETURN_IF_ERROR(koseki_internal::carry_fuhyo(conn, a->ref, {al.reg.id, member}, n.date));
    return KosekiOutcome{{al.reg.id, member}, false};
  });
}

Result<KosekiOutcome> Koseki::death(store::Connection& conn, const LocalGovernmentCode& by, const DeathNotice& n) {
  const nlohmann::json content = {{"type", "death"},     {"member", j(n.member)},         {"date", j(n.date)},
                                  {"place", n.place},     {"notified_on", j(n.notified_on)}, {"notifier", n.notifier}};
  return keyed(conn, by, n.event_id, content, [&]() -> Result<KosekiOutcome> {
    JLIS_RETURN_IF_ERROR(check_not_future(n.date, "the date of death"));
    JLIS_RETURN_IF_ERROR(check_not_future(n.notified_on, "the date of the notice"));
    if (n.notified_on < n.date) return invalid_argument("the notice is dated before the death");
    JLIS_RETURN_IF_ERROR(check_text(n.place, kMaxKosekiPlaceLength, "the place of death", true));
    JLIS_RETURN_IF_ERROR(check_text(n.notifier, 20, "the notifier", true));
    JLIS_ASSIGN_OR_RETURN(Loaded l, load_held(conn, n.member.register_id, by));
    JLIS_ASSIGN_OR_RETURN(const KosekiMember* m, current_member(l, n.member.member));
    if (n.date < m->date_of_birth) return invalid_argument("the death is dated before the birth");
    KosekiEntry e{KosekiEntryKind::death, n.date};
    e.notified_on = n.notified_on;
    e.notifier = n.notifier;
    e.place = n.place;
    JLIS_RETURN_IF_ERROR(remove_member(conn, m->ref, e, n.date));
    JLIS_RETURN_IF_ERROR(koseki_internal::close_fuhyo(conn, m->ref, n.date, "死亡"));
    return KosekiOutcome{m->ref, false};
  });
}

Result<KosekiOutcome> Koseki::transfer(store::Connection& conn, const LocalGovernmentCode& by,
                                       const TransferNotice& n) {
  const nlohmann::json content = {{"type", "transfer"}, {"register", n.register_id}, {"date", j(n.date)},
                                  {"municipality", n.municipality.str()}, {"honseki", n.honseki}};
  return keyed(conn, by, n.event_id, content, [&]() -> Result<KosekiOutcome> {
    JLIS_RETURN_IF_ERROR(check_not_future(n.date, "the date of the transfer"));
    JLIS_RETURN_IF_ERROR(check_place(n.municipality, n.honseki));
    JLIS_ASSIGN_OR_RETURN(Loaded l, load_held(conn, n.register_id, by));
    if (l.reg.closed) return conflict("the family register is closed (除籍簿)");
    if (n.municipality == l.reg.municipality) {
      if (n.honseki == l.reg.honseki) return invalid_argument("the new 本籍 is the present one");
      KosekiEntry e{KosekiEntryKind::transfer, n.date};
      e.notified_on = n.date;
      e.other_register = l.reg.honseki;  // 従前本籍
      JLIS_RETURN_IF_ERROR(
          conn.execute("UPDATE municipal_koseki_registers SET honseki = ? WHERE id = ?", {n.honseki, l.reg.id}).status());
      JLIS_RETURN_IF_ERROR(add_entry(conn, l.reg.id, 0, e));
      return KosekiOutcome{{l.reg.id, 0}, false};
    }
    // To another municipality: it holds a new register of the current members; the old is closed.
    JLIS_ASSIGN_OR_RETURN(const int64_t id, new_register(conn, n.municipality, n.honseki, l.reg.head_name));
    KosekiEntry made{KosekiEntryKind::transfer, n.date};
    made.notified_on = n.date;
    made.other_register = l.reg.honseki;  // 従前本籍
    JLIS_RETURN_IF_ERROR(add_entry(conn, id, 0, made));
    for (const KosekiMember& m : l.reg.members) {
      if (m.removed) continue;
      KosekiMember c = moved(m);
      // The carried 身分事項 include the marriage that made the couple (婚姻 is important to carry).
      for (const KosekiEntry& e : m.entries)
        if (e.kind == KosekiEntryKind::marriage) c.entries.push_back(e);
      JLIS_ASSIGN_OR_RETURN(const int member, add_member(conn, id, c));
      JLIS_RETURN_IF_ERROR(koseki_internal::carry_fuhyo(conn, m.ref, {id, member}, n.date));
    }
    KosekiEntry closed{KosekiEntryKind::transfer, n.date};
    closed.notified_on = n.date;
    closed.other_register = n.honseki;  // 新本籍
    JLIS_RETURN_IF_ERROR(close_register(conn, l.reg.id, closed, id));
    return KosekiOutcome{{id, 0}, false};
  });
}

Result<KosekiOutcome> Koseki::branch(store::Connection& conn, const LocalGovernmentCode& by, const BranchNotice& n) {
  const nlohmann::json content = {{"type", "branch"}, {"member", j(n.member)}, {"date", j(n.date)},
                                  {"municipality", n.municipality.str()}, {"honseki", n.honseki}};
  return keyed(conn, by, n.event_id, content, [&]() -> Result<KosekiOutcome> {
    JLIS_RETURN_IF_ERROR(check_not_future(n.date, "the date of 分籍"));
    JLIS_RETURN_IF_ERROR(check_place(n.municipality, n.honseki));
    JLIS_ASSIGN_OR_RETURN(Loaded l, load_held(conn, n.member.register_id, by));
    JLIS_ASSIGN_OR_RETURN(const KosekiMember* m, current_member(l, n.member.member));
    if (m->ref.member == 1 || is_spouse(*m)) return conflict("the head of a register or a spouse cannot 分籍");
    if (age_on(m->date_of_birth, n.date) < 18) return invalid_argument("分籍 is for adults (18 or older)");
    JLIS_ASSIGN_OR_RETURN(const int64_t id, new_register(conn, n.municipality, n.honseki, m->name));
    KosekiEntry made{KosekiEntryKind::made, n.date};
    made.counterpart = "分籍";
    JLIS_RETURN_IF_ERROR(add_entry(conn, id, 0, made));
    KosekiEntry e{KosekiEntryKind::branch, n.date};
    e.notified_on = n.date;
    KosekiEntry out = e;
    out.other_register = n.honseki + std::string(kWideSpace) + m->name;
    JLIS_RETURN_IF_ERROR(remove_member(conn, m->ref, out, n.date));
    KosekiMember c = moved(*m);
    KosekiEntry in = e;
    in.other_register = l.description();
    c.entries.push_back(in);
    JLIS_ASSIGN_OR_RETURN(const int member, add_member(conn, id, c));
    JLIS_RETURN_IF_ERROR(koseki_internal::carry_fuhyo(conn, m->ref, {id, member}, n.date));
    return KosekiOutcome{{id, member}, false};
  });
}

Result<KosekiOutcome> Koseki::record_old_surname(store::Connection& conn, const LocalGovernmentCode& by,
                                                 const OldSurnameNotice& n) {
  const nlohmann::json content = {{"type", "old_surname"}, {"member", j(n.member)}, {"date", j(n.date)},
                                  {"old_surname", n.old_surname}, {"old_surname_kana", n.old_surname_kana}};
  return keyed(conn, by, n.event_id, content, [&]() -> Result<KosekiOutcome> {
    JLIS_RETURN_IF_ERROR(check_not_future(n.date, "the date of the request"));
    JLIS_RETURN_IF_ERROR(check_text(n.old_surname, 50, "the former surname", true));
    JLIS_RETURN_IF_ERROR(check_text(n.old_surname_kana, 100, "the former surname's furigana", true));
    JLIS_ASSIGN_OR_RETURN(Loaded l, load_held(conn, n.member.register_id, by));
    JLIS_ASSIGN_OR_RETURN(const KosekiMember* m, current_member(l, n.member.member));
    if (n.old_surname == surname_of(m->name)) return invalid_argument("the former surname is the present one");
    // It must be a surname the member bore in a register they came from.
    bool bore = false;
    std::optional<MemberRef> at = m->came_from;
    for (int hops = 0; at && hops < 50 && !bore; ++hops) {
      JLIS_ASSIGN_OR_RETURN(auto r, load(conn, at->register_id));
      const KosekiMember* row = r ? r->find(at->member) : nullptr;
      if (!row) break;
      bore = surname_of(row->name) == n.old_surname && surname_of(row->name_kana) == n.old_surname_kana;
      at = row->came_from;
    }
    if (!bore) return invalid_argument("the member never bore that surname (with that furigana) in a family register");
    JLIS_RETURN_IF_ERROR(conn.execute("UPDATE municipal_koseki_members SET old_surname = ?, old_surname_kana = ? "
                                      "WHERE register_id = ? AND member = ?",
                                      {n.old_surname, n.old_surname_kana, m->ref.register_id, int64_t{m->ref.member}})
                             .status());
    KosekiEntry e{KosekiEntryKind::old_surname, n.date};
    e.notified_on = n.date;
    e.counterpart = n.old_surname + "（" + n.old_surname_kana + "）";
    JLIS_RETURN_IF_ERROR(add_entry(conn, m->ref.register_id, m->ref.member, e));
    return KosekiOutcome{m->ref, false};
  });
}

// ---- queries --------------------------------------------------------------------------------

Result<KosekiRegister> Koseki::get(store::Connection& conn, int64_t register_id) {
  JLIS_ASSIGN_OR_RETURN(Loaded l, load_any(conn, register_id));
  return std::move(l.reg);
}

Result<KosekiRegister> Koseki::member(store::Connection& conn, const MemberRef& ref) {
  JLIS_ASSIGN_OR_RETURN(KosekiRegister reg, get(conn, ref.register_id));
  std::vector<KosekiMember> one;
  for (KosekiMember& m : reg.members)
    if (m.ref.member == ref.member) one.push_back(std::move(m));
  if (one.empty()) return unknown_member();
  reg.members = std::move(one);
  return reg;
}

Result<std::optional<int64_t>> Koseki::find(store::Connection& conn, const LocalGovernmentCode& municipality,
                                            const std::string& honseki) {
  return conn.query_int64("SELECT id FROM municipal_koseki_registers WHERE municipality_code = ? AND honseki = ? "
                          "AND closed = 0 ORDER BY id LIMIT 1",
                          {municipality.str(), honseki});
}

Result<std::optional<MemberRef>> Koseki::find_by_resident(store::Connection& conn, const ResidentCode& code) {
  std::optional<MemberRef> out;
  JLIS_RETURN_IF_ERROR(conn.query(
      "SELECT m.register_id, m.member FROM municipal_koseki_members m JOIN municipal_koseki_registers r "
      "ON r.id = m.register_id WHERE m.resident_code = ? AND m.removed = 0 AND r.closed = 0 ORDER BY m.register_id DESC",
      {static_cast<int64_t>(code.body())}, [&](const store::Row& r) {
        out = MemberRef{r.int64(0), static_cast<int>(r.int64(1))};
        return false;
      }));
  return out;
}

}  // namespace jlis::municipal
