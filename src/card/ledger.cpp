#include "card/ledger.h"

#include <openssl/rand.h>


#include "card/validity.h"

namespace jlis::card::internal {

const std::vector<store::Migration> kMigrations = {{1, R"(
  CREATE TABLE card_applications (
    application_id {{id}},
    resident_code BIGINT NOT NULL, municipality_code TEXT NOT NULL,
    channel TEXT NOT NULL, photo BIGINT NOT NULL, express TEXT,
    queue_rank BIGINT NOT NULL,
    date_of_birth TEXT NOT NULL, email TEXT,
    status TEXT NOT NULL, reason_code TEXT, reason TEXT,
    applied_on TEXT NOT NULL, due_on TEXT, shipped_on TEXT, delivered_on TEXT,
    card_id TEXT, submitted_by TEXT NOT NULL, recorded_at TEXT NOT NULL);
  -- Partial indexes: the queue holds only waiting applications, the due dates only express ones.
  CREATE INDEX card_applications_queue ON card_applications (queue_rank, application_id)
    WHERE status = 'accepted';
  -- Also the way to a resident's cards (through card_id), so that production, which makes cards
  -- with random ids for residents in no particular order, mostly appends to indexes.
  CREATE INDEX card_applications_resident ON card_applications (resident_code);
  CREATE INDEX card_applications_due ON card_applications (status, due_on) WHERE due_on IS NOT NULL;
  CREATE TABLE card_cards (
    card_seq {{id}},
    card_id TEXT NOT NULL UNIQUE,
    application_id BIGINT NOT NULL, resident_code BIGINT NOT NULL, municipality_code TEXT NOT NULL,
    status TEXT NOT NULL, express TEXT, email TEXT,
    issued_on TEXT NOT NULL, expires_on TEXT NOT NULL,
    delivered_on TEXT, cert_expires_on TEXT, signature_certificate_allowed BIGINT NOT NULL);
  -- Expiry notices concern cards handed over; production does not touch this index.
  CREATE INDEX card_cards_expiry ON card_cards (expires_on) WHERE delivered_on IS NOT NULL;
  CREATE TABLE card_events (
    seq {{id}},
    card_seq BIGINT NOT NULL, action TEXT NOT NULL, event_date TEXT NOT NULL,
    actor TEXT NOT NULL, note TEXT NOT NULL, recorded_at TEXT NOT NULL);
  CREATE INDEX card_events_card ON card_events (card_seq, seq);
  CREATE TABLE card_notices (
    card_id TEXT NOT NULL, expires_on TEXT NOT NULL, month TEXT NOT NULL, kind TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    PRIMARY KEY (card_id, expires_on));
)"}, {2, R"(
  CREATE TABLE card_continued_use (
    seq {{id}},
    resident_code BIGINT NOT NULL, departure_on TEXT NOT NULL, requested_on TEXT NOT NULL,
    actor TEXT NOT NULL, recorded_at TEXT NOT NULL);
  CREATE INDEX card_continued_use_resident ON card_continued_use (resident_code, requested_on);
)"}, {3, R"(
  -- The card actions sent with an idempotency key: the answer given, per caller and key.
  CREATE TABLE card_requests (
    caller TEXT NOT NULL, request_key TEXT NOT NULL, fingerprint TEXT NOT NULL, card_id TEXT NOT NULL,
    answer_json TEXT NOT NULL, recorded_at TEXT NOT NULL,
    PRIMARY KEY (caller, request_key));
)"}, {4, R"(
  -- A resident's cards in one index (each read of a resident shows its card), and a resident code
  -- change finds the cards without a scan.
  CREATE INDEX card_cards_resident ON card_cards (resident_code, application_id);
)"}};

namespace {

using store::Connection;
using store::Params;
using store::Row;
using store::Value;

constexpr const char* kApplicationColumns =
    "application_id, resident_code, municipality_code, channel, photo, express, status, reason_code, reason, "
    "applied_on, due_on, shipped_on, delivered_on, card_id, submitted_by";
// From card_cards c (joined with card_applications a for a resident's cards).
constexpr const char* kCardColumns =
    "c.card_id, c.application_id, c.resident_code, c.municipality_code, c.status, c.express, c.email, c.issued_on, "
    "c.expires_on, c.delivered_on, c.cert_expires_on, c.signature_certificate_allowed";
// A resident's cards (card_cards_resident).
constexpr const char* kResidentCards = " FROM card_cards c WHERE c.resident_code = ?";

Value code_value(const ResidentCode& c) { return static_cast<int64_t>(c.body()); }
Value opt(const std::optional<std::string>& s) { return s ? Value(*s) : Value(nullptr); }
Value express_value(Express e) { return e == Express::none ? Value(nullptr) : Value(std::string(express_name(e))); }
std::optional<Date> opt_date(const Row& r, int c) {
  if (r.is_null(c)) return std::nullopt;
  return Date::parse_iso(r.text(c)).value();
}
Express read_express(const Row& r, int c) { return r.is_null(c) ? Express::none : parse_express(r.text(c)).value(); }

Application read_application(const Row& r) {
  Application a;
  a.application_id = r.int64(0);
  a.resident_code = ResidentCode::from_body(static_cast<uint64_t>(r.int64(1)));
  a.municipality_code = LocalGovernmentCode::parse(r.text(2)).value();
  a.channel = parse_channel(r.text(3)).value();
  a.photo = r.int64(4) != 0;
  a.express = read_express(r, 5);
  a.status = parse_application_status(r.text(6)).value();
  a.reason_code = parse_code_name(r.text(7)).value_or(Code::ok);
  a.reason = r.text(8);
  a.applied_on = Date::parse_iso(r.text(9)).value();
  a.due_on = opt_date(r, 10);
  a.shipped_on = opt_date(r, 11);
  a.delivered_on = opt_date(r, 12);
  a.card_id = r.optional_text(13);
  a.submitted_by = r.text(14);
  return a;
}

// The kCardColumns of a row, starting at column `at`.
Card read_card(const Row& r, int at = 0) {
  Card c;
  c.card_id = r.text(at);
  c.application_id = r.int64(at + 1);
  c.resident_code = ResidentCode::from_body(static_cast<uint64_t>(r.int64(at + 2)));
  c.municipality_code = LocalGovernmentCode::parse(r.text(at + 3)).value();
  c.status = parse_card_status(r.text(at + 4)).value();
  c.express = read_express(r, at + 5);
  c.email = r.optional_text(at + 6);
  c.issued_on = Date::parse_iso(r.text(at + 7)).value();
  c.expires_on = Date::parse_iso(r.text(at + 8)).value();
  c.delivered_on = opt_date(r, at + 9);
  c.cert_expires_on = opt_date(r, at + 10);
  c.signature_certificate_allowed = r.int64(at + 11) != 0;
  return c;
}

Status record_event(Connection& conn, const std::string& card_id, std::string_view action, const Stamp& stamp,
                    const std::string& note) {
  return conn.execute(
      "INSERT INTO card_events (card_seq, action, event_date, actor, note, recorded_at) "
      "SELECT card_seq, ?, ?, ?, ?, ? FROM card_cards WHERE card_id = ?",
      {std::string(action), stamp.on.to_iso(), stamp.actor, note, stamp.recorded_at, card_id}).status();
}

Status set_status(Connection& conn, const std::string& card_id, CardStatus status) {
  return conn.execute("UPDATE card_cards SET status = ? WHERE card_id = ?",
                      {std::string(card_status_name(status)), card_id}).status();
}

// Tells the stamp's listeners of a change.
Status notify(Connection& conn, const Stamp& stamp, CardChange change) {
  if (stamp.listeners == nullptr) return Status::ok();
  change.on = stamp.on;
  change.actor = stamp.actor;
  for (const auto& listener : *stamp.listeners) JLIS_RETURN_IF_ERROR(listener(conn, change));
  return Status::ok();
}

Status invalidate(Connection& conn, const std::string& card_id, const ResidentCode& resident, const Stamp& stamp,
                  const std::string& why) {
  JLIS_RETURN_IF_ERROR(set_status(conn, card_id, CardStatus::invalid));
  JLIS_RETURN_IF_ERROR(record_event(conn, card_id, "invalidated", stamp, why));
  CardChange change;
  change.kind = CardChange::Kind::invalidated;
  change.card_id = card_id;
  change.resident_code = resident;
  change.note = why;
  return notify(conn, stamp, std::move(change));
}

// The resident's cards that are still shipped, active or suspended.
Result<std::vector<std::string>> current_cards(Connection& conn, const ResidentCode& resident) {
  std::vector<std::string> ids;
  JLIS_RETURN_IF_ERROR(conn.query(
      std::string("SELECT c.card_id") + kResidentCards + " AND c.status IN ('shipped', 'active', 'suspended')",
      {code_value(resident)}, [&](const Row& r) {
        ids.push_back(r.text(0));
        return true;
      }));
  return ids;
}

// 8 hex digits of the card's production sequence, then 8 of randomness: ids cannot be enumerated,
// and a new id sorts after the others, so production appends to the index instead of dirtying a
// random page of it per card (the reason UUIDv7 is time-ordered).
Result<std::string> card_id_for(int64_t card_seq) {
  if (card_seq < 1 || card_seq > 0xFFFFFFFFLL) return internal_error("card sequence exhausted");
  unsigned char raw[4];
  if (RAND_bytes(raw, sizeof raw) != 1) return internal_error("no randomness");
  const uint64_t v = (static_cast<uint64_t>(card_seq) << 32) | (uint64_t{raw[0]} << 24) | (uint64_t{raw[1]} << 16) |
                     (uint64_t{raw[2]} << 8) | raw[3];
  static const char* d = "0123456789abcdef";
  std::string id(16, '0');
  for (int i = 0; i < 16; ++i) id[static_cast<size_t>(i)] = d[(v >> (60 - 4 * i)) & 15];
  return id;
}

// The rules that need only the register's view of the resident.
Status check_holder(const Holder& h, const ApplicationRequest& req, Date on) {
  using registry::ResidentStatus;
  if (h.status == ResidentStatus::deceased) return conflict("the resident is deceased");
  if (h.status == ResidentStatus::moved_out)
    return conflict("the resident is moving to another municipality; apply after the move-in there");
  const int age = age_on(h.date_of_birth, on);
  if (age < 0) return conflict("the resident was not born on " + on.to_iso());
  if (!req.photo && age >= 1) return invalid_argument("the application has no photo (one is required from age 1)");
  if (req.express == Express::newborn && age >= 1)
    return conflict("express issuance for newborns is for children under 1 year old");
  if (req.express == Express::returnee &&
      (h.status != ResidentStatus::resident || !h.returned_from_abroad_on ||
       on > h.returned_from_abroad_on->add_years(1)))
    return conflict("express issuance for returnees needs a move-in from abroad within the last year");
  return Status::ok();
}

// The resident's records that the application rules look at.
struct Records {
  std::optional<int64_t> waiting;  // an application waiting for production
  std::optional<Card> newest;      // the newest card
};

Result<Records> read_records(Connection& conn, const ResidentCode& resident) {
  Records out;
  JLIS_RETURN_IF_ERROR(conn.query(
      std::string("SELECT a.application_id, a.status, ") + kCardColumns +
          " FROM card_applications a LEFT JOIN card_cards c ON c.card_id = a.card_id WHERE a.resident_code = ? "
          "ORDER BY a.application_id DESC",
      {code_value(resident)}, [&](const Row& r) {
        if (r.text(1) == "accepted" && !out.waiting) out.waiting = r.int64(0);
        if (!r.is_null(2) && !out.newest) out.newest = read_card(r, 2);
        return true;
      }));
  return out;
}

// The rules that depend on the resident's applications and cards.
Status check_records(const Records& rec, const ApplicationRequest& req, Date on) {
  if (rec.waiting)
    return conflict("application " + std::to_string(*rec.waiting) + " is already waiting for production");
  const auto& newest = rec.newest;
  if (req.express == Express::reissue && (!newest || newest->status != CardStatus::lost))
    return conflict("express reissue is for a card reported lost; report the loss to the call centre first");
  if (!newest) return Status::ok();
  // A shipped card never collected until it expired can no longer be handed over ("apply
  // again"), so it does not block the new application; the new card's handover invalidates it.
  if (newest->status == CardStatus::shipped && on <= newest->expires_on)
    return conflict("card " + newest->card_id + " is waiting for handover at the municipality");
  if ((newest->status == CardStatus::active || newest->status == CardStatus::suspended) &&
      on < renewal_opens(newest->expires_on))
    return conflict("card " + newest->card_id + " is valid until " + newest->expires_on.to_iso() +
                    "; a new card can be applied for from " + renewal_opens(newest->expires_on).to_iso());
  return Status::ok();
}

}  // namespace

bool is_card_id(const std::string& t) {
  if (t.size() != 16) return false;
  for (char c : t)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

Holder holder_of(const registry::Resident& r) {
  return {r.resident_code, r.person.date_of_birth, r.municipality_code, r.status, std::nullopt};
}

Result<ApplicationOutcome> apply(Connection& conn, const Holder& h, const ApplicationRequest& req, const Stamp& stamp) {
  ApplicationOutcome out;
  out.rejection = check_holder(h, req, stamp.on);
  if (out.rejection.is_ok()) {
    JLIS_ASSIGN_OR_RETURN(const Records records, read_records(conn, h.resident_code));
    out.rejection = check_records(records, req, stamp.on);
  }
  Application& a = out.application;
  a.resident_code = h.resident_code;
  a.municipality_code = h.municipality_code;
  a.channel = req.channel;
  a.photo = req.photo;
  a.express = req.express;
  a.applied_on = stamp.on;
  a.submitted_by = stamp.actor;
  if (out.rejection.is_ok()) {
    a.status = ApplicationStatus::accepted;
    if (req.express != Express::none) a.due_on = stamp.on.add_days(7);
  } else {
    a.status = ApplicationStatus::rejected;
    a.reason_code = out.rejection.code();
    a.reason = out.rejection.message();
  }
  const bool rejected = a.status == ApplicationStatus::rejected;
  // The single writer numbers applications (cheaper than RETURNING, and portable).
  JLIS_ASSIGN_OR_RETURN(auto last, conn.query_int64("SELECT MAX(application_id) FROM card_applications"));
  a.application_id = last.value_or(0) + 1;
  JLIS_RETURN_IF_ERROR(conn.execute(
      "INSERT INTO card_applications (application_id, resident_code, municipality_code, channel, photo, express, "
      "queue_rank, date_of_birth, email, status, reason_code, reason, applied_on, due_on, submitted_by, recorded_at) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      {a.application_id, code_value(h.resident_code), h.municipality_code.str(), std::string(channel_name(req.channel)),
       int64_t{req.photo}, express_value(req.express), int64_t{req.express == Express::none ? 1 : 0},
       h.date_of_birth.to_iso(), opt(req.email), std::string(application_status_name(a.status)),
       rejected ? Value(std::string(code_name(a.reason_code))) : Value(nullptr),
       rejected ? Value(a.reason) : Value(nullptr), stamp.on.to_iso(),
       a.due_on ? Value(a.due_on->to_iso()) : Value(nullptr), stamp.actor, stamp.recorded_at}).status());
  return out;
}

Result<std::vector<Queued>> queue_head(Connection& conn, size_t limit) {
  std::vector<Queued> out;
  out.reserve(limit);
  JLIS_RETURN_IF_ERROR(conn.query(
      "SELECT application_id, resident_code, municipality_code, express, date_of_birth, applied_on, email "
      "FROM card_applications WHERE status = 'accepted' ORDER BY queue_rank, application_id LIMIT ?",
      {static_cast<int64_t>(limit)}, [&](const Row& r) {
        out.push_back({r.int64(0), ResidentCode::from_body(static_cast<uint64_t>(r.int64(1))),
                       LocalGovernmentCode::parse(r.text(2)).value(), read_express(r, 3),
                       Date::parse_iso(r.text(4)).value(), Date::parse_iso(r.text(5)).value(), r.optional_text(6)});
        return true;
      }));
  return out;
}

Result<std::string> produce(Connection& conn, const Queued& q, const Stamp& stamp) {
  const CardValidity validity = card_validity(q.date_of_birth, stamp.on, q.applied_on);
  // The single writer numbers cards (cheaper than RETURNING, and portable).
  JLIS_ASSIGN_OR_RETURN(auto last, conn.query_int64("SELECT MAX(card_seq) FROM card_cards"));
  const int64_t card_seq = last.value_or(0) + 1;
  JLIS_ASSIGN_OR_RETURN(const std::string card_id, card_id_for(card_seq));
  JLIS_RETURN_IF_ERROR(conn.execute(
      "INSERT INTO card_cards (card_seq, card_id, application_id, resident_code, municipality_code, status, express, "
      "email, issued_on, expires_on, signature_certificate_allowed) VALUES (?, ?, ?, ?, ?, 'shipped', ?, ?, ?, ?, 0)",
      {card_seq, card_id, q.application_id, code_value(q.resident_code), q.municipality_code.str(),
       express_value(q.express), opt(q.email), stamp.on.to_iso(), validity.expires_on.to_iso()}).status());
  JLIS_ASSIGN_OR_RETURN(auto changed, conn.execute(
      "UPDATE card_applications SET status = 'shipped', card_id = ?, shipped_on = ? "
      "WHERE application_id = ? AND status = 'accepted'",
      {card_id, stamp.on.to_iso(), q.application_id}));
  if (changed != 1) return conflict("application " + std::to_string(q.application_id) + " is not waiting for production");
  const std::string on = stamp.on.to_iso();
  JLIS_RETURN_IF_ERROR(conn.execute(
      "INSERT INTO card_events (card_seq, action, event_date, actor, note, recorded_at) VALUES "
      "(?, 'produced', ?, ?, '', ?), (?, 'shipped', ?, ?, ?, ?)",
      {card_seq, on, stamp.actor, stamp.recorded_at, card_seq, on, stamp.actor,
       "to municipality " + q.municipality_code.str(), stamp.recorded_at}).status());
  return card_id;
}

Result<Card> handover(Connection& conn, const std::string& card_id, const Holder& h, const Stamp& stamp,
                      const CardKeys* keys, const HandoverPreparation* prepared) {
  JLIS_ASSIGN_OR_RETURN(auto card, load_card(conn, card_id, false));
  if (!card) return not_found("no card has the id " + card_id);
  if (card->status != CardStatus::shipped)
    return conflict("the card is " + std::string(card->display_status(stamp.on)) + ", not waiting for handover");
  if (stamp.on > card->expires_on)
    return conflict("the card expired on " + card->expires_on.to_iso() + " before it was handed over; apply again");
  if (h.status == registry::ResidentStatus::deceased) return conflict("the resident is deceased");
  if (h.status == registry::ResidentStatus::moved_out)
    return conflict("the resident is moving to another municipality; hand the card over after the move-in");
  const CertificateValidity cert = certificate_validity(h.date_of_birth, stamp.on, card->expires_on);
  JLIS_RETURN_IF_ERROR(conn.execute(
      "UPDATE card_cards SET status = 'active', delivered_on = ?, cert_expires_on = ?, "
      "signature_certificate_allowed = ? WHERE card_id = ?",
      {stamp.on.to_iso(), cert.expires_on.to_iso(), int64_t{cert.signature_certificate_allowed}, card_id}).status());
  JLIS_RETURN_IF_ERROR(record_event(conn, card_id, "handed_over", stamp, "identity checked"));
  JLIS_ASSIGN_OR_RETURN(auto others, current_cards(conn, h.resident_code));
  for (const auto& other : others) {
    if (other != card_id)
      JLIS_RETURN_IF_ERROR(invalidate(conn, other, h.resident_code, stamp, "replaced by card " + card_id));
  }
  JLIS_RETURN_IF_ERROR(conn.execute(
      "UPDATE card_applications SET status = 'delivered', delivered_on = ? WHERE application_id = ?",
      {stamp.on.to_iso(), card->application_id}).status());
  card->status = CardStatus::active;
  card->delivered_on = stamp.on;
  card->cert_expires_on = cert.expires_on;
  card->signature_certificate_allowed = cert.signature_certificate_allowed;
  CardChange change;
  change.kind = CardChange::Kind::handed_over;
  change.card_id = card_id;
  change.resident_code = h.resident_code;
  change.cert_expires_on = cert.expires_on;
  change.signature_certificate_allowed = cert.signature_certificate_allowed;
  change.keys = keys;
  change.prepared = prepared;
  JLIS_RETURN_IF_ERROR(notify(conn, stamp, std::move(change)));
  return std::move(*card);
}

Result<Card> transition(Connection& conn, const std::string& card_id, CardAction action, const Stamp& stamp,
                        const std::string& note) {
  struct Rule {
    std::vector<CardStatus> from;
    CardStatus to;
    const char* event;
    const char* needs;
    bool refuse_expired;
  };
  using S = CardStatus;
  auto rule_of = [](CardAction a) -> Result<Rule> {
    switch (a) {
      case CardAction::suspend: return Rule{{S::active}, S::suspended, "suspended", "active", true};
      case CardAction::resume: return Rule{{S::suspended}, S::active, "resumed", "suspended", true};
      case CardAction::report_lost:
        return Rule{{S::active, S::suspended}, S::lost, "reported_lost", "active or suspended", false};
      case CardAction::return_:
        return Rule{{S::shipped, S::active, S::suspended, S::lost, S::invalid}, S::returned, "returned",
                    "not yet returned", false};
      case CardAction::handover:
      case CardAction::pin_reset: break;
    }
    return internal_error("a handover or a PIN reset is not a transition");
  };
  JLIS_ASSIGN_OR_RETURN(const Rule rule, rule_of(action));
  JLIS_ASSIGN_OR_RETURN(auto card, load_card(conn, card_id, false));
  if (!card) return not_found("no card has the id " + card_id);
  bool allowed = false;
  for (S s : rule.from) allowed = allowed || card->status == s;
  if (!allowed)
    return conflict("the card is " + std::string(card->display_status(stamp.on)) + "; to " +
                    std::string(card_action_name(action)) + " it, it must be " + rule.needs);
  if (rule.refuse_expired && stamp.on > card->expires_on)
    return conflict("the card expired on " + card->expires_on.to_iso());
  JLIS_RETURN_IF_ERROR(set_status(conn, card_id, rule.to));
  JLIS_RETURN_IF_ERROR(record_event(conn, card_id, rule.event, stamp, note));
  card->status = rule.to;
  CardChange change;
  change.card_id = card_id;
  change.resident_code = card->resident_code;
  switch (action) {
    case CardAction::suspend:
      change.kind = CardChange::Kind::suspended;
      change.note = note;
      break;
    case CardAction::resume: change.kind = CardChange::Kind::resumed; break;
    case CardAction::report_lost:
      change.kind = note == "stolen" ? CardChange::Kind::stolen : CardChange::Kind::lost;
      break;
    case CardAction::return_: change.kind = CardChange::Kind::returned; break;
    case CardAction::handover:
    case CardAction::pin_reset: break;
  }
  JLIS_RETURN_IF_ERROR(notify(conn, stamp, std::move(change)));
  return std::move(*card);
}

Result<Card> reset_pin(Connection& conn, const std::string& card_id, CardSecret secret, const Stamp& stamp) {
  JLIS_ASSIGN_OR_RETURN(auto card, load_card(conn, card_id, false));
  if (!card) return not_found("no card has the id " + card_id);
  if (card->status != CardStatus::active || stamp.on > card->expires_on)
    return conflict("the card is " + std::string(card->display_status(stamp.on)) +
                    "; only an active card's secrets are reset");
  JLIS_RETURN_IF_ERROR(record_event(conn, card_id, "pin_reset", stamp, std::string(card_secret_name(secret))));
  return std::move(*card);
}

Status on_death(Connection& conn, const ResidentCode& resident, const Stamp& stamp) {
  JLIS_ASSIGN_OR_RETURN(auto cards, current_cards(conn, resident));
  for (const auto& id : cards) JLIS_RETURN_IF_ERROR(invalidate(conn, id, resident, stamp, "the holder died"));
  return conn.execute(
      "UPDATE card_applications SET status = 'cancelled', reason_code = 'conflict', "
      "reason = 'the resident died before production' WHERE resident_code = ? AND status = 'accepted'",
      {code_value(resident)}).status();
}

Status request_continued_use(Connection& conn, const ResidentCode& resident, Date departure_on, const Stamp& stamp) {
  // Checked on the writer's connection, inside the transaction that records the request.
  std::optional<std::string> status;
  JLIS_RETURN_IF_ERROR(conn.query("SELECT status FROM residents WHERE resident_code = ?", {code_value(resident)},
                                  [&](const Row& r) {
                                    status = r.text(0);
                                    return false;
                                  }));
  if (!status) return not_found("no resident has this code");
  if (*status != "resident")
    return conflict("the continued-use procedure is done before departure, by a resident living in Japan");
  if (departure_on < stamp.on) return conflict("the planned departure date has passed");
  return conn.execute(
      "INSERT INTO card_continued_use (resident_code, departure_on, requested_on, actor, recorded_at) "
      "VALUES (?, ?, ?, ?, ?)",
      {code_value(resident), departure_on.to_iso(), stamp.on.to_iso(), stamp.actor, stamp.recorded_at}).status();
}

Status on_move_abroad(Connection& conn, const ResidentCode& resident, const Stamp& stamp) {
  // The procedure counts when it was recorded on or before the move date.
  JLIS_ASSIGN_OR_RETURN(auto done, conn.query_int64(
      "SELECT 1 FROM card_continued_use WHERE resident_code = ? AND requested_on <= ? LIMIT 1",
      {code_value(resident), stamp.on.to_iso()}));
  if (done) return Status::ok();
  JLIS_ASSIGN_OR_RETURN(auto cards, current_cards(conn, resident));
  for (const auto& id : cards)
    JLIS_RETURN_IF_ERROR(
        invalidate(conn, id, resident, stamp, "the holder moved abroad without the continued-use procedure"));
  return Status::ok();
}

Result<std::optional<Application>> load_application(Connection& conn, int64_t id) {
  std::optional<Application> out;
  JLIS_RETURN_IF_ERROR(conn.query(std::string("SELECT ") + kApplicationColumns +
                                      " FROM card_applications WHERE application_id = ?",
                                  {id}, [&](const Row& r) {
                                    out = read_application(r);
                                    return false;
                                  }));
  return out;
}

Result<std::optional<Card>> load_card(Connection& conn, const std::string& card_id, bool with_history) {
  std::optional<Card> out;
  JLIS_RETURN_IF_ERROR(conn.query(std::string("SELECT ") + kCardColumns + " FROM card_cards c WHERE c.card_id = ?",
                                  {card_id}, [&](const Row& r) {
                                    out = read_card(r);
                                    return false;
                                  }));
  if (out && with_history) {
    JLIS_RETURN_IF_ERROR(conn.query(
        "SELECT e.action, e.event_date, e.actor, e.note, e.recorded_at FROM card_cards c "
        "JOIN card_events e ON e.card_seq = c.card_seq WHERE c.card_id = ? ORDER BY e.seq",
        {card_id}, [&](const Row& r) {
          out->history.push_back({r.text(0), Date::parse_iso(r.text(1)).value(), r.text(2), r.text(3), r.text(4)});
          return true;
        }));
  }
  return out;
}

Result<std::vector<Card>> cards_shipped_to(Connection& conn, const LocalGovernmentCode& municipality,
                                           std::optional<CardStatus> status, size_t limit) {
  std::vector<Card> out;
  std::string sql = std::string("SELECT ") + kCardColumns + " FROM card_cards c WHERE c.municipality_code = ?";
  store::Params params = {municipality.str()};
  if (status) {
    sql += " AND c.status = ?";
    params.push_back(std::string(card_status_name(*status)));
  }
  sql += " ORDER BY c.card_seq LIMIT ?";
  params.push_back(static_cast<int64_t>(limit));
  JLIS_RETURN_IF_ERROR(conn.query(sql, params, [&](const Row& r) {
    out.push_back(read_card(r));
    return true;
  }));
  return out;
}

Result<std::optional<std::string>> current_card_id(Connection& conn, const ResidentCode& resident, Date today) {
  // Made once: this runs on every lookup of a resident (the view's card_id).
  static const std::string sql = std::string("SELECT c.card_id, c.expires_on") + kResidentCards +
                                 " AND c.status IN ('active', 'suspended') ORDER BY c.application_id DESC LIMIT 1";
  std::optional<std::string> out;
  JLIS_RETURN_IF_ERROR(conn.query(sql, {code_value(resident)}, [&](const Row& r) {
    if (Date::parse_iso(r.text(1)).value() >= today) out = r.text(0);
    return false;
  }));
  return out;
}

Result<bool> replay_keyed(Connection& conn, const std::string& caller, KeyedRequest& keyed) {
  keyed.replay = false;
  std::optional<std::pair<std::string, std::string>> previous;
  JLIS_RETURN_IF_ERROR(conn.query(
      "SELECT fingerprint, answer_json FROM card_requests WHERE caller = ? AND request_key = ?",
      {caller, keyed.key}, [&](const Row& r) {
        previous.emplace(r.text(0), r.text(1));
        return false;
      }));
  if (!previous) return false;
  if (previous->first != keyed.fingerprint)
    return conflict("the Idempotency-Key '" + keyed.key + "' was already used for a different request");
  keyed.answer = std::move(previous->second);
  keyed.replay = true;
  return true;
}

Status record_keyed_answer(Connection& conn, const std::string& caller, const KeyedRequest& keyed,
                           const std::string& card_id, const std::string& answer, const std::string& recorded_at) {
  return conn.execute("INSERT INTO card_requests (caller, request_key, fingerprint, card_id, answer_json, recorded_at) "
                      "VALUES (?, ?, ?, ?, ?, ?)",
                      {caller, keyed.key, keyed.fingerprint, card_id, answer, recorded_at}).status();
}

}  // namespace jlis::card::internal
