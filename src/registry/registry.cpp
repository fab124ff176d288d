#include "registry/registry.h"

#include <openssl/rand.h>

#include <future>

#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "common/digest.h"
#include "common/text.h"
#include "store/migrations.h"

namespace jlis::registry {
namespace {

using store::Connection;
using store::Params;
using store::Row;
using store::Value;

const std::vector<store::Migration> kRegistryMigrations = {{1, R"(
  CREATE TABLE residents (
    id {{id}},
    resident_code BIGINT NOT NULL UNIQUE,
    my_number BIGINT UNIQUE,
    name TEXT NOT NULL, name_kana TEXT NOT NULL,
    name_key TEXT NOT NULL, kana_key TEXT NOT NULL,
    date_of_birth TEXT NOT NULL, sex TEXT NOT NULL,
    address TEXT NOT NULL, address_key TEXT NOT NULL,
    municipality_code TEXT NOT NULL, status TEXT NOT NULL,
    moving_to TEXT, address_abroad TEXT,
    last_event_date TEXT NOT NULL);
  CREATE INDEX residents_name_key ON residents (name_key);
  CREATE INDEX residents_kana_key ON residents (kana_key);
  CREATE INDEX residents_date_of_birth ON residents (date_of_birth);
  CREATE INDEX residents_address_key ON residents (address_key);
  CREATE TABLE change_events (
    seq {{id}},
    municipality_code TEXT NOT NULL, event_id TEXT NOT NULL, request_hash TEXT NOT NULL,
    resident_code BIGINT NOT NULL, type TEXT NOT NULL, event_date TEXT NOT NULL,
    from_code TEXT, recorded_at TEXT NOT NULL,
    event_json TEXT NOT NULL, resident_json TEXT NOT NULL,
    UNIQUE (municipality_code, event_id));
  CREATE INDEX change_events_resident ON change_events (resident_code, seq);
  CREATE INDEX change_events_move_ins ON change_events (event_date) WHERE type = 'move_in';
  CREATE TABLE audit.provisions (
    seq {{id}},
    resident_code BIGINT NOT NULL, agency_id TEXT NOT NULL, agency_name TEXT NOT NULL,
    purpose TEXT NOT NULL, provided_at TEXT NOT NULL, request_id TEXT NOT NULL);
  CREATE INDEX {{index_on:audit.provisions_resident:provisions}} (resident_code, seq);
)"}, {2, R"(
  ALTER TABLE audit.provisions ADD COLUMN client_request_id TEXT;
)"}, {3, R"(
  ALTER TABLE audit.provisions ADD COLUMN information TEXT;
)"}};

constexpr const char* kResidentColumns =
    "resident_code, my_number, name, name_kana, date_of_birth, sex, address, municipality_code, "
    "status, moving_to, address_abroad, last_event_date";

struct Stored {
  Resident resident;
  Date last_event_date;
};

Stored read_resident(const Row& r) {
  Stored s;
  Resident& out = s.resident;
  out.resident_code = ResidentCode::from_body(static_cast<uint64_t>(r.int64(0)));
  if (!r.is_null(1)) out.my_number = MyNumber::from_body(static_cast<uint64_t>(r.int64(1)));
  out.person.name = r.text(2);
  out.person.name_kana = r.text(3);
  out.person.date_of_birth = Date::parse_iso(r.text(4)).value();
  out.person.sex = parse_sex(r.text(5)).value();
  out.person.address = r.text(6);
  out.municipality_code = LocalGovernmentCode::parse(r.text(7)).value();
  out.status = parse_status(r.text(8)).value();
  if (!r.is_null(9)) out.moving_to = LocalGovernmentCode::parse(r.text(9)).value();
  out.address_abroad = r.text(10);
  s.last_event_date = Date::parse_iso(r.text(11)).value();
  return s;
}

Result<std::optional<Stored>> load(Connection& conn, const std::string& where, const Params& params) {
  std::optional<Stored> found;
  JLIS_RETURN_IF_ERROR(conn.query(std::string("SELECT ") + kResidentColumns + " FROM residents WHERE " + where,
                                  params, [&](const Row& r) {
                                    found = read_resident(r);
                                    return false;
                                  }));
  return found;
}

Value opt_text(const std::optional<LocalGovernmentCode>& c) {
  return c ? Value(c->str()) : Value(nullptr);
}

// The folded keys the search finds a record by (registry's migration 1: residents' *_key columns).
struct SearchKeys {
  std::string name, kana, address;
};

SearchKeys search_keys(const Person& p) { return {name_key(p.name), name_key(p.name_kana), address_key(p.address)}; }

}  // namespace

// The hash under which an event is kept for idempotency: of its canonical JSON as submitted.
std::string event_hash(const ChangeEvent& event) { return sha256_hex(to_json(event).dump()); }

// An event checked on its own, before it meets the record: names and kana normalised, addresses
// parsed to their canonical form and placed in the submitting municipality, dates checked. Pure CPU
// work, done on the caller's thread so the single writer only does what needs the database.
struct Prepared {
  LocalGovernmentCode municipality;
  ChangeEvent event;       // normalised
  std::string event_json;  // as submitted, canonical JSON: stored, and hashed for idempotency
  std::string hash;
  std::optional<SearchKeys> person_keys = {};  // of event.person: a first registration's, folded off the writer
};

namespace {

Status within(const std::string& value, size_t max, std::string_view field) {
  if (utf8_length(value) <= max) return Status::ok();
  return invalid_argument(std::string(field) + " is longer than " + std::to_string(max) + " characters");
}

Result<std::string> checked_name(const std::string& name) {
  auto n = normalize_name(name);
  if (!n.ok()) return invalid_argument("name: " + n.status().message());
  JLIS_RETURN_IF_ERROR(within(*n, kMaxNameLength, "name"));
  return *n;
}

Result<std::string> checked_kana(const std::string& kana) {
  auto n = normalize_kana(kana);
  if (!n.ok()) return invalid_argument("name_kana must be katakana or hiragana");
  JLIS_RETURN_IF_ERROR(within(*n, kMaxNameKanaLength, "name_kana"));
  return *n;
}

// The canonical form of an address, which must lie in the submitting municipality.
Result<std::string> address_in(const ReferenceData& ref, const LocalGovernmentCode& municipality,
                               const std::string& text, std::string_view what) {
  // Checked before parsing too, so an enormous text costs nothing.
  JLIS_RETURN_IF_ERROR(within(text, kMaxAddressLength * 4, "address"));
  auto parsed = ref.parse_address(text);
  if (!parsed.ok()) return invalid_argument("address: " + parsed.status().message());
  if (parsed->municipality->code != municipality)
    return conflict("the address is in " + parsed->municipality->name + " (" + parsed->municipality->code.str() +
                    "); a " + std::string(what) + " must stay in this municipality (" + municipality.str() + ")" +
                    (what == "relocation" ? "; a move to another municipality is a move_out" : ""));
  std::string canonical = parsed->canonical();
  JLIS_RETURN_IF_ERROR(within(canonical, kMaxAddressLength, "address"));
  return canonical;
}

Result<Prepared> prepare(const ReferenceData& ref, const LocalGovernmentCode& municipality, const ChangeEvent& in) {
  Prepared p{municipality, in, to_json(in).dump(), ""};
  p.hash = event_hash(in);
  ChangeEvent& e = p.event;
  const std::string_view what = event_type_name(e.type);
  if (e.event_id.empty() || e.event_id.size() > kMaxEventIdLength)
    return invalid_argument("event_id must have 1 to " + std::to_string(kMaxEventIdLength) + " characters");
  JLIS_RETURN_IF_ERROR(within(e.address_abroad, kMaxAddressAbroadLength, "address_abroad"));
  if (e.date > Date::today()) return invalid_argument("date " + e.date.to_iso() + " is in the future");
  if (e.person) {
    Person& person = *e.person;
    JLIS_ASSIGN_OR_RETURN(person.name, checked_name(person.name));
    JLIS_ASSIGN_OR_RETURN(person.name_kana, checked_kana(person.name_kana));
    JLIS_ASSIGN_OR_RETURN(person.address, address_in(ref, municipality, person.address, what));
    if (person.date_of_birth > Date::today()) return invalid_argument("date_of_birth is in the future");
    p.person_keys = search_keys(person);
  }
  if (e.name) {
    JLIS_ASSIGN_OR_RETURN(*e.name, checked_name(*e.name));
  }
  if (e.name_kana) {
    JLIS_ASSIGN_OR_RETURN(*e.name_kana, checked_kana(*e.name_kana));
  }
  if (e.address) {
    JLIS_ASSIGN_OR_RETURN(*e.address, address_in(ref, municipality, *e.address, what));
  }
  if (e.type == EventType::move_out && e.to != "abroad") {
    auto to = LocalGovernmentCode::parse(e.to);
    const Municipality* m = to.ok() ? ref.find(*to) : nullptr;
    if (!m || m->type == "都道府県" || m->type == "政令市")
      return invalid_argument("to is not the code of a municipality that keeps a register");
    if (*to == municipality) return conflict("a move within the municipality is a relocation, not a move_out");
  }
  return p;
}

}  // namespace

// Idempotency comes first: when (municipality, event_id) was applied before, the same event (same hash)
// is answered with the record as it was after it, whatever changed since; another event under that key
// is refused with conflict. nullopt when the key is new. On the writer's connection.
Result<std::optional<Applied>> replay(Connection& conn, const LocalGovernmentCode& municipality,
                                      const std::string& event_id, const std::string& hash) {
  std::optional<std::pair<std::string, std::string>> previous;
  JLIS_RETURN_IF_ERROR(conn.query(
      "SELECT request_hash, resident_json FROM change_events WHERE municipality_code = ? AND event_id = ?",
      {municipality.str(), event_id}, [&](const Row& r) {
        previous.emplace(r.text(0), r.text(1));
        return false;
      }));
  if (!previous) return std::optional<Applied>();
  if (previous->first != hash) return conflict("event_id '" + event_id + "' was already used for a different event");
  JLIS_ASSIGN_OR_RETURN(auto resident, resident_from_json(nlohmann::json::parse(previous->second)));
  return std::optional<Applied>(Applied{resident, true});
}

// Checks one prepared event against the record and applies it, on the writer's connection.
struct Registry::Apply {
  Connection& conn;
  const Prepared& prepared;
  const std::vector<ChangeListener>& listeners;
  numbering::Numbering* numbering;
  const LocalGovernmentCode& municipality = prepared.municipality;
  const ChangeEvent& event = prepared.event;

  Result<Applied> run() {
    JLIS_ASSIGN_OR_RETURN(auto previous, replay(conn, municipality, event.event_id, prepared.hash));
    if (previous) return *previous;

    JLIS_ASSIGN_OR_RETURN(Stored s, apply_rules());
    Resident& r = s.resident;
    if (event.date < r.person.date_of_birth)
      return conflict("the event is dated before the resident's date of birth");
    for (const auto& listener : listeners) JLIS_RETURN_IF_ERROR(listener(conn, event, before, r));

    const std::string resident_json = to_json(r).dump();
    if (before && before->resident_code != r.resident_code) JLIS_RETURN_IF_ERROR(move_code(before->resident_code, r.resident_code));
    JLIS_RETURN_IF_ERROR(save(s));
    JLIS_RETURN_IF_ERROR(conn.execute(
        "INSERT INTO change_events (municipality_code, event_id, request_hash, resident_code, type, "
        "event_date, from_code, recorded_at, event_json, resident_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        {municipality.str(), event.event_id, prepared.hash, static_cast<int64_t>(r.resident_code.body()),
         std::string(event_type_name(event.type)), event.date.to_iso(),
         event.from.empty() ? Value(nullptr) : Value(event.from), now_iso8601(), prepared.event_json,
         resident_json}).status());
    return Applied{r, false};
  }

  // The rules of each event type. Answers the record as it is after the event.
  Result<Stored> apply_rules() {
    switch (event.type) {
      case EventType::birth:
        return first_registration();
      case EventType::move_in:
        if (event.from == "abroad" && event.person) return first_registration();
        return complete_move_in();
      case EventType::move_out: {
        JLIS_ASSIGN_OR_RETURN(Stored s, own_resident());
        if (event.to == "abroad") {
          s.resident.status = ResidentStatus::abroad;
          s.resident.address_abroad = event.address_abroad;
        } else {
          s.resident.status = ResidentStatus::moved_out;
          s.resident.moving_to = LocalGovernmentCode::parse(event.to).value();
        }
        return touched(s);
      }
      case EventType::relocation: {
        JLIS_ASSIGN_OR_RETURN(Stored s, own_resident());
        s.resident.person.address = *event.address;
        return touched(s);
      }
      case EventType::death: {
        JLIS_ASSIGN_OR_RETURN(Stored s, own_resident());
        s.resident.status = ResidentStatus::deceased;
        return touched(s);
      }
      case EventType::name_change:
      case EventType::correction: {
        JLIS_ASSIGN_OR_RETURN(Stored s, own_resident());
        Person& p = s.resident.person;
        if (event.name) p.name = *event.name;
        if (event.name_kana) p.name_kana = *event.name_kana;
        if (event.date_of_birth) p.date_of_birth = *event.date_of_birth;
        if (event.sex) p.sex = *event.sex;
        if (event.address) p.address = *event.address;
        if (p.date_of_birth > event.date) return conflict("the date of birth is after the event");
        return touched(s);
      }
      case EventType::resident_code_change: {
        if (!numbering) return internal_error("resident-code changes need the numbering component");
        JLIS_ASSIGN_OR_RETURN(Stored s, own_resident());
        JLIS_ASSIGN_OR_RETURN(s.resident.resident_code,
                              numbering->change_code(conn, s.resident.resident_code, municipality, event.date,
                                                     s.resident.my_number));
        return touched(s);
      }
      case EventType::my_number_reissue: {
        if (!numbering) return internal_error("My Number reissue needs the numbering component");
        JLIS_ASSIGN_OR_RETURN(Stored s, own_resident());
        Resident& r = s.resident;
        if (!r.my_number) return conflict("the resident has no My Number yet");
        JLIS_ASSIGN_OR_RETURN(r.my_number, numbering->reissue_my_number(conn, r.resident_code, *r.my_number,
                                                                          municipality, event.date, event.reason));
        return touched(s);
      }
    }
    return internal_error("unknown event type");
  }

  // Birth, or a first registration from abroad: a new resident of this municipality.
  Result<Stored> first_registration() {
    Stored s;
    s.resident.person = *event.person;
    if (numbering) {
      JLIS_ASSIGN_OR_RETURN(s.resident.resident_code, numbering->take_code(conn, municipality));
      JLIS_ASSIGN_OR_RETURN(s.resident.my_number, numbering->issue_my_number(conn, s.resident.resident_code,
                                                                              municipality, event.date,
                                                                              "first_registration"));
    } else {
      JLIS_ASSIGN_OR_RETURN(s.resident.resident_code, new_resident_code());
    }
    s.resident.municipality_code = municipality;
    s.resident.status = ResidentStatus::resident;
    s.last_event_date = event.date;
    is_new = true;
    return s;
  }

  // A move-in that completes a pending move-out (or the return of a resident from abroad). The
  // resident must be moving to this municipality (or be abroad), and the event's basic four must match
  // the record: a resident code alone does not let a municipality take a resident over.
  Result<Stored> complete_move_in() {
    JLIS_ASSIGN_OR_RETURN(Stored s, existing());
    Resident& r = s.resident;
    const bool own = r.municipality_code == municipality;
    if (event.from == "abroad") {
      if (r.status == ResidentStatus::deceased || (r.status != ResidentStatus::abroad && !own))
        return unknown_resident();
      if (r.status != ResidentStatus::abroad) return conflict("the resident is not registered as living abroad");
    } else {
      if (r.status != ResidentStatus::moved_out || !r.moving_to || *r.moving_to != municipality) {
        if (own && r.status != ResidentStatus::deceased) return conflict("the resident has no pending move-out");
        return unknown_resident();
      }
      if (r.municipality_code.str() != event.from)
        return conflict("the resident is moving from " + r.municipality_code.str() + ", not from " + event.from);
    }
    JLIS_RETURN_IF_ERROR(basic_four_match(r.person));
    r.person.address = *event.address;
    r.municipality_code = municipality;
    r.status = ResidentStatus::resident;
    r.moving_to.reset();
    r.address_abroad.clear();
    return touched(s);
  }

  // The event's name (or reading), date of birth and sex against the record, folded as the search
  // folds them.
  Status basic_four_match(const Person& p) {
    const bool name_ok = event.name ? name_key(*event.name) == name_key(p.name) : true;
    const bool kana_ok = event.name_kana ? name_key(*event.name_kana) == name_key(p.name_kana) : true;
    if (!(event.name || event.name_kana) || !event.date_of_birth || !event.sex || !name_ok || !kana_ok ||
        *event.date_of_birth != p.date_of_birth || *event.sex != p.sex)
      return conflict("the name, date of birth and sex given do not match the record of this resident");
    return Status::ok();
  }

  // The record of the event's resident, living or not; the one unknown-resident answer when none.
  Result<Stored> existing() {
    JLIS_ASSIGN_OR_RETURN(auto s, load(conn, "resident_code = ?", {static_cast<int64_t>(event.resident_code->body())}));
    if (!s) {
      if (numbering) {
        JLIS_ASSIGN_OR_RETURN(auto state, numbering->code_state(conn, *event.resident_code));
        if (state == numbering::CodeState::retired)
          return conflict("the resident code " + event.resident_code->str() +
                          " was changed at the resident's request; use the new code");
      }
      return unknown_resident();
    }
    before = s->resident;
    return *s;
  }

  // A living resident of the submitting municipality, currently registered there. Someone else's
  // resident gets the same answer as an unknown code.
  Result<Stored> own_resident() {
    JLIS_ASSIGN_OR_RETURN(Stored s, existing());
    if (s.resident.municipality_code != municipality) return unknown_resident();
    if (s.resident.status == ResidentStatus::deceased) return conflict("the resident is deceased");
    if (s.resident.status != ResidentStatus::resident)
      return conflict(std::string("the resident's status is ") + std::string(status_name(s.resident.status)) +
                      ", not resident");
    return s;
  }

  Result<Stored> touched(Stored s) {
    if (event.date < s.last_event_date)
      return conflict("the event is dated before the resident's last change (" + s.last_event_date.to_iso() + ")");
    s.last_event_date = event.date;
    return s;
  }

  // A resident-code change: the record and its history follow the new code. The provision log is
  // append-only and keeps the old code; provisions() maps old codes to the new one when read.
  Status move_code(const ResidentCode& from, const ResidentCode& to) {
    const Params p = {static_cast<int64_t>(to.body()), static_cast<int64_t>(from.body())};
    JLIS_RETURN_IF_ERROR(conn.execute("UPDATE residents SET resident_code = ? WHERE resident_code = ?", p).status());
    return conn.execute("UPDATE change_events SET resident_code = ? WHERE resident_code = ?", p).status();
  }

  // Without numbering: 10 random digits and the check digit, not held by anyone yet.
  Result<ResidentCode> new_resident_code() {
    for (int attempt = 0; attempt < 100; ++attempt) {
      uint64_t raw;
      if (RAND_bytes(reinterpret_cast<unsigned char*>(&raw), sizeof raw) != 1) return internal_error("no randomness");
      auto code = ResidentCode::from_body(raw % 10'000'000'000ULL);
      JLIS_ASSIGN_OR_RETURN(auto taken, conn.query_int64("SELECT 1 FROM residents WHERE resident_code = ?",
                                                         {static_cast<int64_t>(code.body())}));
      if (!taken) return code;
    }
    return internal_error("no free resident code found");
  }

  Status save(const Stored& s) {
    const Resident& r = s.resident;
    const Person& p = r.person;
    // A first registration's person is the event's, its keys folded in preparation.
    const SearchKeys keys = is_new && prepared.person_keys ? *prepared.person_keys : search_keys(p);
    Params params = {r.my_number ? Value(static_cast<int64_t>(r.my_number->body())) : Value(nullptr),
                     p.name, p.name_kana, keys.name, keys.kana, p.date_of_birth.to_iso(),
                     std::string(sex_name(p.sex)), p.address, keys.address, r.municipality_code.str(),
                     std::string(status_name(r.status)), opt_text(r.moving_to),
                     r.address_abroad.empty() ? Value(nullptr) : Value(r.address_abroad),
                     s.last_event_date.to_iso(), static_cast<int64_t>(r.resident_code.body())};
    const char* sql = is_new
        ? "INSERT INTO residents (my_number, name, name_kana, name_key, kana_key, date_of_birth, sex, address, "
          "address_key, municipality_code, status, moving_to, address_abroad, last_event_date, resident_code) "
          "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        : "UPDATE residents SET my_number = ?, name = ?, name_kana = ?, name_key = ?, kana_key = ?, "
          "date_of_birth = ?, sex = ?, address = ?, address_key = ?, municipality_code = ?, status = ?, "
          "moving_to = ?, address_abroad = ?, last_event_date = ? WHERE resident_code = ?";
    return conn.execute(sql, params).status();
  }

  bool is_new = false;
  std::optional<Resident> before = {};  // the record before the event, when it existed
};

Status unknown_resident() {
  return not_found("no resident with this code is registered in, or moving to, this municipality");
}

Status Registry::migrate(store::Connection& conn) { return store::migrate(conn, "registry", kRegistryMigrations); }

Registry::Registry(store::Pool& pool, store::Writer& writer, std::shared_ptr<const ReferenceData> reference,
                   numbering::Numbering* numbering)
    : pool_(pool),
      writer_(writer),
      reference_(std::move(reference)),
      numbering_(numbering),
      bulk_load_indexes_(BulkLoad::secondary_indexes()) {
  if (numbering_) defer_in_bulk_load(numbering::Numbering::deferrable_indexes());
}

Result<Applied> Registry::submit(const LocalGovernmentCode& municipality, const ChangeEvent& event) {
  auto results = submit_all({{municipality, event}});
  return std::move(results[0]);
}

std::vector<Result<Applied>> Registry::submit_all(
    const std::vector<std::pair<LocalGovernmentCode, ChangeEvent>>& events) {
  // Chunks are prepared here while the writer applies the ones before: the two overlap.
  constexpr size_t kChunk = 1024;
  std::vector<std::optional<Result<Prepared>>> prepared(events.size());
  std::vector<std::optional<Result<Applied>>> outcomes(events.size());
  std::vector<std::pair<size_t, store::Writer::Ticket>> tickets;  // first index of the chunk, ticket
  for (size_t first = 0; first < events.size(); first += kChunk) {
    const size_t last = std::min(events.size(), first + kChunk);
    std::vector<store::Writer::Job> jobs;
    for (size_t i = first; i < last; ++i) {
      prepared[i] = prepare(*reference_, events[i].first, events[i].second);
      if (!prepared[i]->ok()) {
        // Refused on its own, unless it is a retry (answered as before) or reuses a key (conflict):
        // idempotency is decided first, in the writer, whatever the reference data says today.
        jobs.push_back([i, &events, &prepared, &outcomes](Connection& conn) -> Status {
          const auto& [municipality, event] = events[i];
          auto previous = replay(conn, municipality, event.event_id, event_hash(event));
          if (!previous.ok()) outcomes[i] = previous.status();
          else if (*previous) outcomes[i] = std::move(**previous);
          else outcomes[i] = prepared[i]->status();
          return outcomes[i]->status();
        });
        continue;
      }
      jobs.push_back([this, i, &prepared, &outcomes](Connection& conn) {
        Apply apply{conn, prepared[i]->value(), listeners_, numbering_};
        outcomes[i] = apply.run();
        return outcomes[i]->status();
      });
    }
    tickets.emplace_back(first, writer_.enqueue(std::move(jobs)));
  }
  std::vector<Result<Applied>> results;
  results.reserve(events.size());
  size_t t = 0;
  std::vector<Status> statuses;
  size_t next_status = 0;
  for (size_t i = 0; i < events.size(); ++i) {
    if (t < tickets.size() && tickets[t].first == i) {
      statuses = tickets[t++].second.wait();
      next_status = 0;
    }
    // A job can succeed and its commit still fail: the commit's status wins.
    const Status& status = statuses[next_status++];
    if (!status.is_ok()) {
      ++events_refused_;
      results.emplace_back(status);
    } else {
      ++(outcomes[i]->value().replay ? events_replayed_ : events_applied_);
      if (!outcomes[i]->value().replay) ++applied_by_type_[static_cast<size_t>(events[i].second.type)];
      results.push_back(std::move(*outcomes[i]));
    }
  }
  return results;
}

Result<Resident> Registry::get(const ResidentCode& code) {
  JLIS_ASSIGN_OR_RETURN(auto conn, pool_.acquire());
  return get(*conn, code);
}

Result<Resident> Registry::get(store::Connection& conn, const ResidentCode& code) {
  JLIS_ASSIGN_OR_RETURN(auto s, load(conn, "resident_code = ?", {static_cast<int64_t>(code.body())}));
  if (!s) {
    if (numbering_) {
      JLIS_ASSIGN_OR_RETURN(auto state, numbering_->code_state(conn, code));
      if (state == numbering::CodeState::retired)
        return conflict("the resident code " + code.str() + " was changed at the resident's request");
    }
    return not_found("no resident has the code " + code.str());
  }
  return s->resident;
}

Result<Resident> Registry::get_for_municipality(const ResidentCode& code, std::string_view municipality,
                                                bool or_moving_in) {
  JLIS_ASSIGN_OR_RETURN(auto conn, pool_.acquire());
  return get_for_municipality(*conn, code, municipality, or_moving_in);
}

Result<Resident> Registry::get_for_municipality(store::Connection& conn, const ResidentCode& code,
                                                std::string_view municipality, bool or_moving_in) {
  auto r = get(conn, code);
  if (!r.ok()) return r.status().code() == Code::not_found ? unknown_resident() : r.status();
  if (r->municipality_code.str() == municipality) return r;
  if (or_moving_in && r->moving_to && r->moving_to->str() == municipality) return r;
  return unknown_resident();
}

Result<Resident> Registry::find_by_my_number(const MyNumber& number) {
  JLIS_ASSIGN_OR_RETURN(auto conn, pool_.acquire());
  JLIS_ASSIGN_OR_RETURN(auto s, load(*conn, "my_number = ?", {static_cast<int64_t>(number.body())}));
  if (!s) {
    if (numbering_) {
      JLIS_ASSIGN_OR_RETURN(auto record, numbering_->find_my_number(*conn, number));
      if (record && record->retired) return conflict("this My Number was changed");
    }
    return not_found("no resident has this My Number");
  }
  return s->resident;
}

Result<int64_t> Registry::assign_missing_my_numbers(const std::function<void(int64_t, int64_t)>& progress) {
  if (!numbering_) return int64_t{0};
  int64_t total = 0;
  {
    JLIS_ASSIGN_OR_RETURN(auto conn, pool_.acquire());
    JLIS_ASSIGN_OR_RETURN(auto n, conn->query_int64("SELECT COUNT(*) FROM residents WHERE my_number IS NULL"));
    total = n.value_or(0);
  }
  if (total == 0) return int64_t{0};
  constexpr int64_t kBatch = 5000;
  const Date today = Date::today();
  int64_t done = 0, after = -1;
  for (;;) {
    std::vector<std::pair<ResidentCode, LocalGovernmentCode>> batch;
    {
      JLIS_ASSIGN_OR_RETURN(auto conn, pool_.acquire());
      JLIS_RETURN_IF_ERROR(conn->query(
          "SELECT resident_code, municipality_code FROM residents WHERE resident_code > ? AND my_number IS NULL "
          "ORDER BY resident_code LIMIT ?",
          {after, kBatch}, [&](const Row& r) {
            batch.emplace_back(ResidentCode::from_body(static_cast<uint64_t>(r.int64(0))),
                               LocalGovernmentCode::parse(r.text(1)).value());
            return true;
          }));
    }
    if (batch.empty()) break;
    after = static_cast<int64_t>(batch.back().first.body());
    JLIS_RETURN_IF_ERROR(writer_.run([&](Connection& conn) -> Status {
      for (const auto& [code, muni] : batch) {
        // Numbered meanwhile by another writer (a second process): nothing to do.
        JLIS_ASSIGN_OR_RETURN(auto missing, conn.query_int64(
            "SELECT 1 FROM residents WHERE resident_code = ? AND my_number IS NULL", {static_cast<int64_t>(code.body())}));
        if (!missing) continue;
        JLIS_RETURN_IF_ERROR(numbering_->adopt_code(conn, code, muni));
        JLIS_ASSIGN_OR_RETURN(MyNumber n, numbering_->issue_my_number(conn, code, muni, today, "backfill"));
        JLIS_RETURN_IF_ERROR(conn.execute("UPDATE residents SET my_number = ? WHERE resident_code = ?",
                                          {static_cast<int64_t>(n.body()), static_cast<int64_t>(code.body())}).status());
      }
      return Status::ok();
    }));
    done += static_cast<int64_t>(batch.size());
    if (progress) progress(done, total);
  }
  return done;
}

Result<SearchResult> Registry::search(const SearchQuery& q) {
  if (q.limit < 1 || q.limit > 100) return invalid_argument("limit must be between 1 and 100");
  std::string where;
  Params params;
  auto add = [&](const char* clause, Value v) {
    where += where.empty() ? clause : std::string(" AND ") + clause;
    params.push_back(std::move(v));
  };
  if (q.name) {
    std::string key = name_key(*q.name);
    if (key.empty()) return invalid_argument("name is empty");
    add("name_key = ?", key);
  }
  if (q.name_kana) {
    std::string key = name_key(*q.name_kana);
    if (key.empty()) return invalid_argument("name_kana is empty");
    add("kana_key = ?", key);
  }
  if (q.date_of_birth) add("date_of_birth = ?", q.date_of_birth->to_iso());
  if (q.address) {
    // A prefix that names a municipality is completed to the canonical form ("千代田区" → "東京都千代田区").
    auto parsed = reference_->parse_address(*q.address);
    std::string prefix = address_key(parsed.ok() ? parsed->canonical() : *q.address);
    if (prefix.empty()) return invalid_argument("address is empty");
    add("address_key >= ?", prefix);
    // U+10FFFF, the highest code point, as valid UTF-8 (PostgreSQL refuses a lone 0xFF byte): in the
    // byte order of both stores (PostgreSQL's is the C collation, store/database.h) every key with
    // the prefix sorts below it.
    add("address_key < ?", prefix + "\xF4\x8F\xBF\xBF");
  }
  if (where.empty()) return invalid_argument("a search needs name, name_kana, date_of_birth or address");
  if (q.sex) add("sex = ?", std::string(sex_name(*q.sex)));
  params.push_back(static_cast<int64_t>(q.limit + 1));

  JLIS_ASSIGN_OR_RETURN(auto conn, pool_.acquire());
  SearchResult out;
  JLIS_RETURN_IF_ERROR(conn->query(std::string("SELECT ") + kResidentColumns + " FROM residents WHERE " + where +
                                       " LIMIT ?",
                                   params, [&](const Row& r) {
                                     out.residents.push_back(read_resident(r).resident);
                                     return true;
                                   }));
  if (static_cast<int>(out.residents.size()) > q.limit) {
    out.residents.pop_back();
    out.truncated = true;
  }
  return out;
}

Result<std::vector<HistoryEntry>> Registry::history(const ResidentCode& code) {
  JLIS_ASSIGN_OR_RETURN(auto conn, pool_.acquire());
  std::vector<HistoryEntry> out;
  JLIS_RETURN_IF_ERROR(conn->query(
      "SELECT seq, event_id, type, event_date, recorded_at, municipality_code, event_json, resident_json "
      "FROM change_events WHERE resident_code = ? ORDER BY seq",
      {static_cast<int64_t>(code.body())}, [&](const Row& r) {
        out.push_back({r.int64(0), r.text(1), parse_event_type(r.text(2)).value(),
                       Date::parse_iso(r.text(3)).value(), r.text(4),
                       LocalGovernmentCode::parse(r.text(5)).value(), r.text(6), r.text(7)});
        return true;
      }));
  if (out.empty()) return not_found("no resident has the code " + code.str());
  return out;
}

Status Registry::record_provision(const std::string& agency_id, const std::string& agency_name,
                                  const std::string& purpose, const std::vector<ResidentCode>& residents,
                                  const std::string& request_id, const std::string& client_request_id,
                                  std::string_view information) {
  std::promise<Status> outcome;
  record_provision_then(agency_id, agency_name, purpose, residents, request_id, client_request_id,
                        [&](Status s) { outcome.set_value(std::move(s)); }, information);
  return outcome.get_future().get();
}

void Registry::record_provision_then(const std::string& agency_id, const std::string& agency_name,
                                     const std::string& purpose, const std::vector<ResidentCode>& residents,
                                     const std::string& request_id, const std::string& client_request_id,
                                     std::function<void(Status)> then, std::string_view information) {
  if (residents.empty()) return then(Status::ok());
  std::vector<int64_t> codes;
  codes.reserve(residents.size());
  for (const auto& code : residents) codes.push_back(static_cast<int64_t>(code.body()));
  Params params = {int64_t{0}, agency_id, agency_name, purpose, now_iso8601(), request_id,
                   client_request_id.empty() ? Value(nullptr) : Value(client_request_id),
                   information == kIdentityInformation ? Value(nullptr) : Value(std::string(information))};
  auto job = [codes = std::move(codes), params = std::move(params)](Connection& conn) mutable {
    for (int64_t code : codes) {
      params[0] = code;
      JLIS_RETURN_IF_ERROR(conn.execute(
          "INSERT INTO audit.provisions (resident_code, agency_id, agency_name, purpose, provided_at, request_id, "
          "client_request_id, information) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
          params).status());
    }
    return Status::ok();
  };
  const size_t count = residents.size();
  writer_.submit(std::move(job), [this, count, labels = std::vector<std::string>{agency_id, agency_name, purpose},
                                  then = std::move(then)](Status s) {
    if (s.is_ok()) {
      provisions_ += count;
      provided_.add(labels, count);
    }
    then(std::move(s));
  });
}

Result<std::vector<Provision>> Registry::provisions(const ResidentCode& code) {
  JLIS_ASSIGN_OR_RETURN(auto conn, pool_.acquire());
  // The log is append-only: a provision keeps the code it was made under. The resident's earlier codes
  // are those its resident_code_change events (which follow the resident) were submitted with.
  std::vector<int64_t> codes = {static_cast<int64_t>(code.body())};
  JLIS_RETURN_IF_ERROR(conn->query(
      "SELECT event_json FROM change_events WHERE resident_code = ? AND type = 'resident_code_change'",
      {codes[0]}, [&](const Row& r) {
        auto e = nlohmann::json::parse(r.text(0), nullptr, false);
        if (e.is_object() && e.contains("resident_code") && e["resident_code"].is_string()) {
          auto old = ResidentCode::parse(e["resident_code"].get<std::string>());
          if (old.ok()) codes.push_back(static_cast<int64_t>(old->body()));
        }
        return true;
      }));
  std::string in = "?";
  Params params = {codes[0]};
  for (size_t i = 1; i < codes.size(); ++i) {
    in += ", ?";
    params.push_back(codes[i]);
  }
  std::vector<Provision> out;
  JLIS_RETURN_IF_ERROR(conn->query(
      "SELECT agency_id, agency_name, purpose, provided_at, request_id, client_request_id, information "
      "FROM audit.provisions "
      "WHERE resident_code IN (" + in + ") ORDER BY seq",
      params, [&](const Row& r) {
        out.push_back({r.text(0), r.text(1), r.text(2), r.text(3), r.text(4), r.is_null(5) ? "" : r.text(5),
                       r.is_null(6) ? std::string(kIdentityInformation) : r.text(6)});
        return true;
      }));
  return out;
}

Result<int64_t> Registry::population() {
  JLIS_ASSIGN_OR_RETURN(auto conn, pool_.acquire());
  JLIS_ASSIGN_OR_RETURN(auto n, conn->query_int64("SELECT COUNT(*) FROM residents WHERE status = 'resident'"));
  return n.value_or(0);
}

Result<std::vector<MigrationCount>> Registry::migration_stats(int year, int month) {
  JLIS_ASSIGN_OR_RETURN(Date first, Date::from_ymd(year, month, 1));
  JLIS_ASSIGN_OR_RETURN(Date next, month == 12 ? Date::from_ymd(year + 1, 1, 1) : Date::from_ymd(year, month + 1, 1));
  JLIS_ASSIGN_OR_RETURN(auto conn, pool_.acquire());
  std::vector<MigrationCount> out;
  JLIS_RETURN_IF_ERROR(conn->query(
      "SELECT municipality_code, SUM(CASE WHEN from_code = 'abroad' THEN 0 ELSE 1 END), "
      "SUM(CASE WHEN from_code = 'abroad' THEN 1 ELSE 0 END) FROM change_events "
      "WHERE type = 'move_in' AND event_date >= ? AND event_date < ? GROUP BY municipality_code "
      "ORDER BY municipality_code",
      {first.to_iso(), next.to_iso()}, [&](const Row& r) {
        out.push_back({LocalGovernmentCode::parse(r.text(0)).value(), r.int64(1), r.int64(2)});
        return true;
      }));
  return out;
}

Status Registry::for_each_resident(const std::optional<LocalGovernmentCode>& municipality,
                                   const std::function<void(const Resident&)>& on_resident) {
  JLIS_ASSIGN_OR_RETURN(auto conn, pool_.acquire());
  std::string sql = std::string("SELECT ") + kResidentColumns + " FROM residents WHERE status = 'resident'";
  Params params;
  if (municipality) {
    sql += " AND municipality_code = ?";
    params.push_back(municipality->str());
  }
  sql += " ORDER BY resident_code";
  return conn->query(sql, params, [&](const Row& r) {
    on_resident(read_resident(r).resident);
    return true;
  });
}

std::string Registry::metrics() const {
  return "# TYPE jlis_registry_events_total counter\n"
         "jlis_registry_events_total{outcome=\"applied\"} " + std::to_string(events_applied_.load()) + "\n"
         "jlis_registry_events_total{outcome=\"replayed\"} " + std::to_string(events_replayed_.load()) + "\n"
         "jlis_registry_events_total{outcome=\"refused\"} " + std::to_string(events_refused_.load()) + "\n"
         "# TYPE jlis_registry_provisions_total counter\n"
         "jlis_registry_provisions_total " + std::to_string(provisions_.load()) + "\n" + applied_by_type() + provided_.text();
}

std::string Registry::applied_by_type() const {
  std::string out = "# TYPE jlis_registry_events_applied_total counter\n";
  for (size_t t = 0; t < applied_by_type_.size(); ++t)
    out += "jlis_registry_events_applied_total{type=\"" +
           std::string(event_type_name(static_cast<EventType>(t))) + "\"} " + std::to_string(applied_by_type_[t].load()) +
           "\n";
  return out;
}

}  // namespace jlis::registry
