// The resident's own page (マイナポータルのような本人のページ): a resident logs in with their card's
// user-authentication certificate (the kiosk's challenge-response: pki/card_login.h) and sees their
// identity information, to whom the registry provided it, the issuances made for them and every
// information-linkage query and provision about them (registry::disclosure with the decorators of
// the components served). One operation, step by step (docs/ARCHITECTURE.md, the resident's page):
//
//   1. open: anyone opens a log-in and gets a fresh challenge (32 random bytes, base64); it is
//      good for `login_seconds`. No credential: the routes limit it per client address.
//   2. log-in: the card, after its PIN, signs the challenge; the reader's software sends the
//      certificate and the signature. CardAuthenticator::verify (signature, chain, OCSP), then in
//      the writer transaction that records the log-in (table portal_logins) check_register: the
//      register's certificate byte for byte, user-authentication, good. The challenge is spent by
//      the attempt, right or wrong (one try per challenge). The answer is the session's secret (32
//      random bytes, hex), bound to the certificate's holder: the only way to the data.
//   3. record: the holder's own record, for a secret of a live session. Each read checks again
//      that the session's certificate is good: a card suspended or revoked after the log-in ends
//      its sessions at their next request. Nothing takes a resident code from the caller.
//   4. log-out (or `idle_seconds` without a request, or `lifetime_seconds` since the log-in) ends
//      the session; its end is recorded in portal_logins.
//
// Sessions live in this process's memory, the secret only as its SHA-256: a session is short, a
// restart simply asks the resident to log in again, and no secret is ever at rest. The log-ins
// (who, with which certificate, when, and how the session ended) are recorded in the store.
//
// Errors: unauthenticated (no live session has the secret: expired, ended, or never was),
// not_found (no open log-in has the id), invalid_argument (not a PEM certificate, not base64),
// refused() with pki/card_login.h's reasons, unavailable (too many open log-ins).
// Thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "common/identifiers.h"
#include "common/status.h"
#include "pki/ca.h"
#include "registry/registry.h"
#include "registry/routes.h"
#include "store/database.h"
#include "store/writer.h"

namespace jlis::portal {

struct PortalOptions {
  int64_t login_seconds = 300;      // from the challenge to its log-in
  int64_t idle_seconds = 1800;      // a session without a request ends
  int64_t lifetime_seconds = 10800; // a session ends this long after its log-in, whatever happens
  size_t max_open = 100000;         // open log-ins (challenges) held at once
  std::function<int64_t()> clock = {};  // seconds since the epoch; time() when empty (tests)
};

// A log-in opened (step 1).
struct Opened {
  std::string session_id;  // "ps-" and 32 hex digits: public, names the log-in and then its session
  std::string challenge;   // base64 of 32 random bytes: what the card signs
  int64_t expires_at = 0;
};

// A session (step 2).
struct Session {
  std::string session_id;
  std::string secret;  // hex; the caller's only copy (the portal keeps its SHA-256)
  ResidentCode resident_code;
  int64_t expires_at = 0;  // the idle deadline as of now
};

class Portal {
 public:
  // Applies the migrations of the log-in record (component portal).
  static Status migrate(store::Connection& conn);

  // Not owned: all must outlive this. `disclose` adds the other components' records to the
  // registry's disclosure (the issuances, the linkage records), as the registry's route has it.
  Portal(store::Pool& pool, store::Writer& writer, registry::Registry& registry, pki::CertificateAuthority& ca,
         registry::DisclosureDecorator disclose, PortalOptions options = {});
  ~Portal();
  Portal(const Portal&) = delete;
  Portal& operator=(const Portal&) = delete;

  int64_t now() const;

  Result<Opened> open();
  // Step 2 for the open log-in `session_id` (spent whatever the outcome).
  Result<Session> log_in(const std::string& session_id, const std::string& certificate_pem,
                         const std::string& signature_base64);
  // The resident of the live session whose secret is `secret` (its idle deadline moved on); the
  // session's certificate must still be good (else the session ends: unauthenticated).
  Result<ResidentCode> resident(std::string_view secret);
  // The holder's own record: {"resident": identity information, "resident_code", "provisions",
  // and what the decorators add ("issuances", "linkage_records")}, for a live session.
  Result<nlohmann::json> record(std::string_view secret);
  // Ends the session of `secret` (unauthenticated when none is live). When `session_id` is not
  // empty it must be that session's id (not_found otherwise).
  Status log_out(std::string_view secret, const std::string& session_id = "");

  // Prometheus text: jlis_portal_sessions (live), jlis_portal_logins_total{outcome}.
  std::string metrics() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace jlis::portal
