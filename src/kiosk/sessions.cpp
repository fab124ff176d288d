#include "kiosk/sessions.h"

#include <openssl/rand.h>

#include <ctime>
#include <set>
#include <sstream>

#include "common/clock.h"
#include "common/digest.h"
#include "kiosk/service_hours.h"
#include "kiosk/terminals.h"
#include "pki/ca.h"
#include "pki/openssl.h"

namespace jlis::kiosk {
namespace {

using store::Connection;

constexpr std::string_view kEndedPrefix = "the session has ended: ";

constexpr const char* kSessionColumns =
    "session_id, terminal_id, challenge, expires_at, state, certificate_serial, resident_code, municipality_code, "
    "issuance_number, document_type, fee, copies, fetched_at, end_reason";

// The sessions not returned yet that have municipalities to ask (return_to), a relay that has not
// answered (asking), or a document numbered and not fetched: the partial index
// kiosk_sessions_to_return (kiosk migration 6), which a query uses only when its WHERE has these
// very terms.
constexpr const char* kToReturn =
    "returned_at IS NULL AND (return_to IS NOT NULL OR asking IS NOT NULL "
    "OR (issuance_number IS NOT NULL AND fetched_at IS NULL))";

// Adds `municipality` to the session's return_to, and has the session returned (again: it may have
// been returned already, when it had ended meanwhile).
Status add_return_to(store::Connection& conn, const std::string& session_id, const LocalGovernmentCode& municipality) {
  std::string codes;
  JLIS_RETURN_IF_ERROR(conn.query("SELECT return_to FROM kiosk_sessions WHERE session_id = ?", {session_id},
                                  [&](const store::Row& r) {
                                    if (!r.is_null(0)) codes = r.text(0);
                                    return false;
                                  }));
  if (codes.find(municipality.str()) == std::string::npos) codes += (codes.empty() ? "" : " ") + municipality.str();
  return conn
      .execute("UPDATE kiosk_sessions SET return_to = ?, returned_at = NULL WHERE session_id = ?", {codes, session_id})
      .status();
}

}  // namespace

Status session_ended(std::string message) { return conflict(std::string(kEndedPrefix) + message); }
bool is_session_ended(const Status& s) {
  return s.code() == Code::conflict && s.message().rfind(kEndedPrefix, 0) == 0;
}
struct Sessions::Row {
  std::string session_id, terminal_id, challenge;
  int64_t expires_at = 0;
  std::string state;
  std::string certificate_serial, resident_code, municipality_code, issuance_number, document_type;
  int64_t fee = 0, copies = 0;
  bool fetched = false;
  std::string end_reason;
};

Sessions::Sessions(store::Pool& pool, store::Writer& writer, registry::Registry& registry, SessionOptions options)
    : pool_(pool), writer_(writer), registry_(registry), options_(std::move(options)) {}

int64_t Sessions::now() const {
  return options_.clock ? options_.clock() : static_cast<int64_t>(std::time(nullptr));
}

Result<OpenedSession> Sessions::open(std::string_view secret) {
  OpenedSession s;
  JLIS_ASSIGN_OR_RETURN(std::string id, random_hex(16));
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof bytes) != 1) return pki::openssl_error("RAND_bytes");
  s.session_id = "ks-" + id;
  s.challenge = pki::base64_encode(std::string_view(reinterpret_cast<const char*>(bytes), sizeof bytes));
  JLIS_RETURN_IF_ERROR(writer_.run([&](Connection& conn) -> Status {
    JLIS_ASSIGN_OR_RETURN(Terminal t, Terminals::authenticate(conn, secret));
    const int64_t opened = now();
    JLIS_ASSIGN_OR_RETURN(ServiceHours hours, ServiceHours::load(conn));
    if (!hours.open_at(opened))
      return refused(kRefusedOutsideHours, "ただいまは証明書の交付時間外です（" + hours.describe() + "）");
    s.expires_at = opened + options_.lifetime_seconds;
    return conn
        .execute("INSERT INTO kiosk_sessions (session_id, terminal_id, challenge, opened_at, expires_at, state) "
                 "VALUES (?, ?, ?, ?, ?, 'open')",
                 {s.session_id, t.terminal_id, s.challenge, opened, s.expires_at})
        .status();
  }));
  return s;
}

Status Sessions::with_session(std::string_view secret, const std::string& session_id,
                              const std::function<Status(Connection&, Row&)>& step) {
  bool timed_out = false, ended = false;
  Status s = writer_.run([&](Connection& conn) -> Status {
    timed_out = ended = false;
    JLIS_ASSIGN_OR_RETURN(Terminal t, Terminals::authenticate(conn, secret));
    std::optional<Row> row;
    JLIS_RETURN_IF_ERROR(conn.query(std::string("SELECT ") + kSessionColumns + " FROM kiosk_sessions WHERE session_id = ?",
                                    {session_id}, [&](const store::Row& r) {
                                      row = Row{r.text(0),  r.text(1),  r.text(2),  r.int64(3),  r.text(4),
                                                r.text(5),  r.text(6),  r.text(7),  r.text(8),  r.text(9),
                                                r.int64(10), r.int64(11), !r.is_null(12), r.text(13)};
                                      return false;
                                    }));
    if (!row || row->terminal_id != t.terminal_id) return not_found("this terminal has no session " + session_id);
    if (row->state == "ended") {
      ended = true;
      return Status::ok();
    }
    if (now() >= row->expires_at) {
      timed_out = true;
      return conn
          .execute("UPDATE kiosk_sessions SET state = 'ended', ended_at = ?, end_reason = 'timeout' "
                   "WHERE session_id = ?",
                   {now(), session_id})
          .status();
    }
    return step(conn, *row);
  });
  if (!s.is_ok()) return s;
  if (timed_out || ended) {
    drop(session_id);
    return session_ended(timed_out ? "it timed out" : "it ended before");
  }
  return Status::ok();
}

void Sessions::drop(const std::string& session_id) {
  std::lock_guard lock(mu_);
  held_.erase(session_id);
}

Result<std::string> Sessions::challenge(std::string_view secret, const std::string& session_id) {
  JLIS_ASSIGN_OR_RETURN(auto conn, pool_.acquire());
  JLIS_ASSIGN_OR_RETURN(Terminal t, Terminals::authenticate(*conn, secret));
  std::optional<std::string> challenge;
  std::string state;
  JLIS_RETURN_IF_ERROR(conn->query("SELECT challenge, state FROM kiosk_sessions WHERE session_id = ? AND terminal_id = ?",
                                   {session_id, t.terminal_id}, [&](const store::Row& r) {
                                     challenge = r.text(0);
                                     state = r.text(1);
                                     return false;
                                   }));
  if (!challenge) return not_found("this terminal has no session " + session_id);
  if (state == "ended") return session_ended("it ended before");
  return *challenge;
}

Result<Holder> Sessions::log_in(std::string_view secret, const std::string& session_id, const VerifiedLogin& login) {
  Holder holder;
  JLIS_RETURN_IF_ERROR(with_session(secret, session_id, [&](Connection& conn, Row& row) -> Status {
    if (row.state != "open") return conflict("a card has logged in on this session already");
    if (row.challenge != login.challenge) return refused(kRefusedSignature, "the signature is not over this session's challenge");
    JLIS_ASSIGN_OR_RETURN(pki::CertificateRecord rec, pki::CardAuthenticator::check_register(conn, login, now()));
    JLIS_ASSIGN_OR_RETURN(registry::Resident resident, registry_.get(conn, rec.resident_code));
    holder = {rec.serial, rec.resident_code, resident.municipality_code, resident.municipality_code};
    return conn
        .execute("UPDATE kiosk_sessions SET state = 'authenticated', certificate_serial = ?, resident_code = ?, "
                 "municipality_code = ? WHERE session_id = ?",
                 {holder.certificate_serial, holder.resident_code.str(), holder.municipality.str(), session_id})
        .status();
  }));
  return holder;
}

Result<Holder> Sessions::begin_request(std::string_view secret, const std::string& session_id,
                                       const std::optional<LocalGovernmentCode>& named) {
  Holder holder;
  JLIS_RETURN_IF_ERROR(with_session(secret, session_id, [&](Connection& conn, Row& row) -> Status {
    if (row.state == "open") return conflict("no card has logged in on this session");
    if (row.state == "requesting") return conflict("a document is being requested on this session already");
    if (row.state == "issued") return conflict("this session's document was issued already");
    JLIS_ASSIGN_OR_RETURN(holder.resident_code, ResidentCode::parse(row.resident_code));
    JLIS_ASSIGN_OR_RETURN(holder.municipality, LocalGovernmentCode::parse(row.municipality_code));
    holder.certificate_serial = row.certificate_serial;
    holder.asked = named.value_or(holder.municipality);
    return conn
        .execute("UPDATE kiosk_sessions SET state = 'requesting', asking = ? WHERE session_id = ?",
                 {holder.asked.str(), session_id})
        .status();
  }));
  return holder;
}

Status Sessions::issued(const std::string& session_id, RelayedDocument doc) {
  // Held before the commit that makes it fetchable, so that a fetch ordered right after the commit
  // finds it; dropped again when the commit does not happen.
  int64_t expires_at = 0;
  {
    JLIS_ASSIGN_OR_RETURN(auto conn, pool_.acquire());
    JLIS_ASSIGN_OR_RETURN(auto deadline, conn->query_int64("SELECT expires_at FROM kiosk_sessions WHERE session_id = ?",
                                                           {session_id}));
    expires_at = deadline.value_or(0);
  }
  const std::string number = doc.issuance_number, type = doc.type;
  const int64_t fee = doc.fee;
  const int copies = doc.copies;
  {
    std::lock_guard lock(mu_);
    held_[session_id] = Held{FetchedDocument{number, type, fee, copies, std::move(doc.pdf)}, expires_at};
  }
  bool gone = false;
  Status s = writer_.run([&](Connection& conn) -> Status {
    gone = false;
    JLIS_ASSIGN_OR_RETURN(auto n, conn.execute("UPDATE kiosk_sessions SET state = 'issued', issuance_number = ?, "
                                               "document_type = ?, fee = ?, copies = ?, asking = NULL "
                                               "WHERE session_id = ? AND state = 'requesting' AND expires_at > ?",
                                               {number, type, fee, int64_t{copies}, session_id, now()}));
    if (n == 1) return Status::ok();
    gone = true;  // timed out meanwhile: end it, discard the document, return it (unreturned())
    JLIS_RETURN_IF_ERROR(conn.execute("UPDATE kiosk_sessions SET state = 'ended', ended_at = ?, end_reason = 'timeout' "
                                      "WHERE session_id = ? AND state <> 'ended'",
                                      {now(), session_id})
                             .status());
    return conn
        .execute("UPDATE kiosk_sessions SET issuance_number = ?, asking = NULL, returned_at = NULL "
                 "WHERE session_id = ?",
                 {number, session_id})
        .status();
  });
  if (!s.is_ok() || gone) drop(session_id);
  JLIS_RETURN_IF_ERROR(s);
  if (gone) return session_ended("it timed out while the municipality answered; the document was discarded");
  documents_.add({type});
  return Status::ok();
}

Status Sessions::failed(const std::string& session_id, const std::optional<LocalGovernmentCode>& unanswered) {
  return writer_.run([&](Connection& conn) -> Status {
    JLIS_RETURN_IF_ERROR(conn.execute("UPDATE kiosk_sessions SET asking = NULL, state = CASE state WHEN 'requesting' "
                                      "THEN 'authenticated' ELSE state END WHERE session_id = ?",
                                      {session_id})
                             .status());
    return unanswered ? add_return_to(conn, session_id, *unanswered) : Status::ok();
  });
}

Status Sessions::incident(const std::string& session_id, const LocalGovernmentCode& asked,
                          const std::string& issuance_number, const std::string& detail) {
  JLIS_ASSIGN_OR_RETURN(std::string id, random_hex(16));
  JLIS_RETURN_IF_ERROR(writer_.run([&](Connection& conn) -> Status {
    JLIS_RETURN_IF_ERROR(conn.execute("INSERT INTO kiosk_incidents (incident_id, session_id, issuance_number, detail, "
                                      "recorded_at) VALUES (?, ?, ?, ?, ?)",
                                      {"ki-" + id, session_id, issuance_number, detail, now_iso8601()})
                             .status());
    JLIS_RETURN_IF_ERROR(conn.execute("UPDATE kiosk_sessions SET state = 'ended', ended_at = ?, "
                                      "end_reason = 'incident', issuance_number = NULLIF(?, ''), asking = NULL "
                                      "WHERE session_id = ?",
                                      {now(), issuance_number, session_id})
                             .status());
    return add_return_to(conn, session_id, asked);  // what it issued, whatever number the answer gave
  }));
  drop(session_id);
  return Status::ok();
}

Result<FetchedDocument> Sessions::fetch(std::string_view secret, const std::string& session_id) {
  JLIS_RETURN_IF_ERROR(with_session(secret, session_id, [&](Connection& conn, Row& row) -> Status {
    if (row.state != "issued") return conflict("this session has no document (yet)");
    if (row.fetched) return conflict("this session's document was fetched already: it is fetched once");
    return conn.execute("UPDATE kiosk_sessions SET fetched_at = ? WHERE session_id = ?", {now(), session_id}).status();
  }));
  {
    std::lock_guard lock(mu_);
    auto it = held_.find(session_id);
    if (it != held_.end()) {
      FetchedDocument out = std::move(it->second.document);
      held_.erase(it);
      return out;
    }
  }
  // Lost with a restart of the centre: it never left, so it was not fetched; the session ends.
  JLIS_RETURN_IF_ERROR(writer_.run([&](Connection& conn) -> Status {
    return conn
        .execute("UPDATE kiosk_sessions SET fetched_at = NULL, state = 'ended', ended_at = ?, end_reason = 'lost' "
                 "WHERE session_id = ?",
                 {now(), session_id})
        .status();
  }));
  return session_ended("its document is no longer held (the centre restarted)");
}

Result<EndedSession> Sessions::printed(std::string_view secret, const std::string& session_id) {
  EndedSession out;
  JLIS_RETURN_IF_ERROR(with_session(secret, session_id, [&](Connection& conn, Row& row) -> Status {
    if (row.state == "requesting") return conflict("a document is being requested on this session");
    out = {session_id, "printed", now(), std::nullopt, row.fee};
    if (!row.issuance_number.empty()) out.issuance_number = row.issuance_number;
    return conn
        .execute("UPDATE kiosk_sessions SET state = 'ended', ended_at = ?, end_reason = 'printed' WHERE session_id = ?",
                 {out.ended_at, session_id})
        .status();
  }));
  drop(session_id);
  return out;
}

Result<size_t> Sessions::expire_held(int64_t relay_seconds) {
  const int64_t at = now();
  const std::string due = std::string(kToReturn) +
                          " AND ((state IN ('authenticated', 'issued') AND expires_at <= ?) "
                          "OR (state = 'requesting' AND expires_at <= ?))";
  {
    // Most seconds nothing is due: only then is the writer asked (its UPDATE judges again).
    JLIS_ASSIGN_OR_RETURN(auto conn, pool_.acquire());
    JLIS_ASSIGN_OR_RETURN(auto any, conn->query_int64("SELECT 1 FROM kiosk_sessions WHERE " + due + " LIMIT 1",
                                                      {at, at - relay_seconds}));
    if (!any) return size_t{0};
  }
  int64_t ended = 0;
  JLIS_RETURN_IF_ERROR(writer_.run([&](Connection& conn) -> Status {
    JLIS_ASSIGN_OR_RETURN(ended, conn.execute("UPDATE kiosk_sessions SET state = 'ended', ended_at = ?, "
                                              "end_reason = CASE state WHEN 'requesting' THEN 'lost' "
                                              "ELSE 'timeout' END WHERE " + due,
                                              {at, at, at - relay_seconds}));
    return Status::ok();
  }));
  std::lock_guard lock(mu_);
  std::erase_if(held_, [&](const auto& held) { return held.second.expires_at <= at; });
  return static_cast<size_t>(ended);
}

Result<std::vector<Unreturned>> Sessions::unreturned() {
  JLIS_ASSIGN_OR_RETURN(auto conn, pool_.acquire());
  std::vector<Unreturned> out;
  JLIS_RETURN_IF_ERROR(conn->query(
      std::string("SELECT session_id, issuance_number, fetched_at, return_to, asking FROM kiosk_sessions WHERE ") +
          kToReturn + " AND state = 'ended'",
      {}, [&](const store::Row& r) {
        Unreturned u{r.text(0), {}, {}, r.is_null(3) ? "" : r.text(3), r.is_null(1) ? "" : r.text(1)};
        std::set<std::string> asked;
        if (!r.is_null(3)) {
          std::istringstream codes(r.text(3));
          for (std::string code; codes >> code;) asked.insert(code);
        }
        if (!r.is_null(1) && !r.is_null(2)) u.delivered = r.text(1);
        if (!r.is_null(1) && r.is_null(2)) asked.insert(r.text(1).substr(0, 6));  // the number's issuer
        if (!r.is_null(4)) asked.insert(r.text(4));  // a relay that never answered (or is answering late)
        u.municipalities.assign(asked.begin(), asked.end());
        out.push_back(std::move(u));
        return true;
      }));
  return out;
}

Status Sessions::returned(const Unreturned& session) {
  return writer_.run([&](Connection& conn) -> Status {
    return conn
        .execute("UPDATE kiosk_sessions SET returned_at = ? WHERE session_id = ? AND returned_at IS NULL "
                 "AND COALESCE(return_to, '') = ? AND COALESCE(issuance_number, '') = ?",
                 {now(), session.session_id, session.return_to, session.issuance_number})
        .status();
  });
}

std::string Sessions::metrics() const {
  std::lock_guard lock(mu_);
  return "# TYPE jlis_kiosk_sessions_held_documents gauge\njlis_kiosk_sessions_held_documents " +
         std::to_string(held_.size()) + "\n" + documents_.text();
}

}  // namespace jlis::kiosk
