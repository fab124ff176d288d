// Kiosk sessions (交付センターのセッション): one resident at one terminal, from the card's log-in to
// the print. The register of sessions is the centre's own (table kiosk_sessions, kiosk migration
// 2); the documents themselves are held in memory only, from the relay until the terminal fetches
// them (once) or the session ends.
//
// A session moves one way: open → authenticated (a good user-authentication certificate signed
// its challenge) → requesting (one relay to the municipality in flight; a second request waits
// for none: it is refused) → issued (a document is held for the terminal; fetched at most once)
// → ended (printed, timed out, an incident, or lost: a fetch that found the document gone with a
// restart of the centre). A relay that is refused or fails goes back to
// authenticated (the resident may choose again); an incident (a document of another person) ends
// the session. Nothing of an ended session is ever answered again: its document is dropped.
//
// Every check that guards a write runs in the writer transaction that writes it: the terminal's
// credential (a disabled terminal is refused from its next request on), that the session is the
// terminal's own, its state and its deadline, the certificate's holder and status. A session past
// its deadline is ended (reason timeout) by the first request that finds it so, in that request's
// transaction. Two requests that race are ordered by the writer: exactly one wins.
//
// Errors: unauthenticated (no enabled terminal has the credential), not_found (no session of this
// terminal has the id: another terminal's session is not found either), session_ended() (the
// session has ended: HTTP 410), conflict (the session is not in the state the step needs, e.g. a
// second fetch), permission_denied (the log-in's certificate is not good: refused()).
// Thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "common/identifiers.h"
#include "common/status.h"
#include "http/labelled_counter.h"
#include "pki/card_login.h"
#include "registry/registry.h"
#include "store/database.h"
#include "store/writer.h"

namespace jlis::kiosk {

// A session that has ended: Code::conflict with a message that says so (HTTP 410 "gone").
Status session_ended(std::string message);
bool is_session_ended(const Status& status);
// Refusals and the log-in's reasons are the card log-in's (pki/card_login.h), shared with the
// resident's own page.
using pki::refusal_reason;
using pki::refused;
using pki::kRefusedExpired;
using pki::kRefusedNotAuthentication;
using pki::kRefusedOnHold;
using pki::kRefusedRevoked;
using pki::kRefusedSignature;
using pki::kRefusedUnknown;
using pki::kRefusedUntrusted;
// Refusal of an opening outside the centre's service hours (service_hours.h).
inline constexpr std::string_view kRefusedOutsideHours = "outside_service_hours";

struct OpenedSession {
  std::string session_id;  // "ks-" and 32 hex digits
  std::string challenge;   // base64 of 32 random bytes: what the card signs
  int64_t expires_at = 0;  // seconds since the epoch
};

// Who logged in on a session, as the certificate register and the resident register say.
struct Holder {
  std::string certificate_serial;
  ResidentCode resident_code;
  LocalGovernmentCode municipality;  // where the holder is registered now
  LocalGovernmentCode asked;         // where a request goes: begin_request's named one, else municipality
};

using pki::VerifiedLogin;  // what a log-in presents, verified (pki/card_login.h)

// A document the municipality made for a session.
struct RelayedDocument {
  std::string issuance_number;
  std::string type;  // as documents render names it
  int64_t fee = 0;   // yen, for all copies
  int copies = 1;
  std::string pdf;
};

struct FetchedDocument {
  std::string issuance_number, type;
  int64_t fee = 0;
  int copies = 1;
  std::string pdf;
};

struct EndedSession {
  std::string session_id, reason;  // "printed"
  int64_t ended_at = 0;
  std::optional<std::string> issuance_number;
  int64_t fee = 0;
};

// An ended session with documents to return (交付中止): the municipalities to ask (where its
// document came from when the terminal never fetched it, those whose answer never came or was
// discarded), and the number its terminal fetched (kept), if any.
struct Unreturned {
  std::string session_id;
  std::vector<std::string> municipalities;
  std::string delivered;
  std::string return_to, issuance_number;  // as read ("" for none): what returned() checks is unchanged
};

struct SessionOptions {
  int64_t lifetime_seconds = 300;           // from open to the deadline
  std::function<int64_t()> clock = {};      // seconds since the epoch; time() when empty (tests)
};

class Sessions {
 public:
  // Not owned: all must outlive this.
  Sessions(store::Pool& pool, store::Writer& writer, registry::Registry& registry, SessionOptions options = {});

  int64_t now() const;

  // Opens a session for the terminal whose credential is `secret`, with a fresh challenge; refused
  // (kRefusedOutsideHours) outside the service hours the store holds, read in the same transaction.
  Result<OpenedSession> open(std::string_view secret);
  // The challenge of the terminal's session, read (not written) for the log-in's verification;
  // the log-in itself checks everything again in its transaction.
  Result<std::string> challenge(std::string_view secret, const std::string& session_id);
  // Records the log-in: the session must be open (not logged in yet) and before its deadline, the
  // challenge the one verified, the certificate (byte for byte) a user-authentication certificate
  // of the register, good now (refused() otherwise). Answers the holder.
  Result<Holder> log_in(std::string_view secret, const std::string& session_id, const VerifiedLogin& login);
  // Claims the relay: authenticated → requesting, recording the municipality asked (`named`, else
  // where the holder lives) until the answer. conflict while another request is in flight or once a
  // document was issued.
  Result<Holder> begin_request(std::string_view secret, const std::string& session_id,
                               const std::optional<LocalGovernmentCode>& named = {});
  // The relay's outcome. issued: requesting → issued, the document held (session_ended when the
  // session timed out meanwhile: the document is discarded, and returned). failed: back to
  // authenticated; `unanswered`, the municipality asked when no answer came (it may have issued
  // all the same), is recorded so that what it issued for the session is returned.
  Status issued(const std::string& session_id, RelayedDocument document);
  Status failed(const std::string& session_id, const std::optional<LocalGovernmentCode>& unanswered = {});
  // A document that is not the holder's: the incident is recorded (kiosk_incidents: the session,
  // the issuance number, what was expected and what came) and the session ends (reason incident);
  // what `asked` issued for the session is returned.
  Status incident(const std::string& session_id, const LocalGovernmentCode& asked, const std::string& issuance_number,
                  const std::string& detail);
  // The session's document, once: the fetch is marked in the transaction that decides it (a second
  // fetch is conflict), then the document leaves memory. A document a restart of the centre lost
  // is session_ended, and the session ends (reason lost), not fetched.
  Result<FetchedDocument> fetch(std::string_view secret, const std::string& session_id);
  // The print confirmation: ends the session (reason printed) and drops its document.
  Result<EndedSession> printed(std::string_view secret, const std::string& session_id);

  // Ends (reason timeout) the sessions past their deadline that hold a document or were left
  // without an answer (not those whose relay is in flight: it ends them), and drops their documents:
  // a terminal that vanished leaves nothing behind. Answers how many were ended. The centre runs it
  // every second; any other session past its deadline is ended by its next request. A session whose
  // document a restart of the centre lost is ended here too, at its deadline. A session still
  // requesting `relay_seconds` after its deadline (longer than any relay lasts: the centre stopped
  // while it relayed) ends with reason lost, and is returned to the municipality it was asking.
  Result<size_t> expire_held(int64_t relay_seconds);

  // The ended sessions with documents to return to their municipalities (交付中止), not returned
  // yet: numbered for a session whose terminal never fetched them (a timeout, an incident, a fetch
  // that found the document lost to a restart, a print confirmed without a fetch), or asked for
  // without an answer or with one discarded (an incident). Few: the partial index holds only these
  // and the sessions that may become them. returned() records that every municipality asked answered,
  // unless the session has changed since it was read (a relay that failed meanwhile named another
  // municipality, or a late answer its number): then the next sweep asks again, all of them.
  Result<std::vector<Unreturned>> unreturned();
  Status returned(const Unreturned& session);

  // Prometheus text: jlis_kiosk_sessions_held_documents, jlis_kiosk_documents_total{type} (issued:
  // committed to a session; a document discarded for a timeout does not count).
  std::string metrics() const;

 private:
  struct Row;
  // Runs `step` on the terminal's session in a writer transaction, after the checks every step
  // shares (terminal, ownership, not ended, deadline: a session past it is ended here).
  Status with_session(std::string_view secret, const std::string& session_id,
                      const std::function<Status(store::Connection&, Row&)>& step);
  void drop(const std::string& session_id);

  store::Pool& pool_;
  store::Writer& writer_;
  registry::Registry& registry_;
  SessionOptions options_;
  mutable std::mutex mu_;
  struct Held {
    FetchedDocument document;
    int64_t expires_at = 0;
  };
  std::map<std::string, Held> held_;  // guarded by mu_: documents not yet fetched
  http::LabelledCounter documents_{"jlis_kiosk_documents_total", "Documents issued to kiosks, by type.", {"type"}};
};

}  // namespace jlis::kiosk
