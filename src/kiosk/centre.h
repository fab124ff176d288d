// 証明書交付センター: the convenience-store issuance centre between the kiosks and the
// municipalities' issuance servers. One operation, step by step (docs/ARCHITECTURE.md, kiosk):
//
//   1. open: a terminal (its own credential) opens a session and gets a fresh challenge.
//   2. log-in: the card, after its PIN, signs the challenge with its user-authentication key; the
//      terminal sends the certificate and the signature. The centre verifies, as any relying party
//      would: the signature with the certificate's key; the chain to the JPKI authentication CA
//      (any of its generations) at the centre's time; the status by OCSP (a request for the
//      certificate put to the CA's responder, the answer's signature checked against the CA: on
//      hold, revoked, unknown or expired is refused). Then, in the writer transaction that records
//      the log-in, the certificate must be the register's (byte for byte), a user-authentication
//      certificate, good; its holder and the municipality that holds them come from the registers.
//      Both checks are the card log-in's, shared with the resident's own page (pki/card_login.h).
//      The answer is the municipality's kiosk offer (documents and fees): nothing personal.
//   3. document: the centre claims the session's one relay (a second request is refused while
//      one is in flight or after a document was issued), asks the holder's municipality's
//      issuance server over HTTP (POST /v1/issuance/{code}/documents with the centre's
//      issuance-centre token, the session id and the certificate serial: the municipality maps
//      the serial to the holder itself) and checks the answer: a PDF whose subject as the issuance
//      server states it (X-Subject-Resident) is the holder of the log-in, and whose own document
//      information says so too (Subject: the holder's name as the register has it; Keywords: the
//      issuance number answered). A document of anyone else is discarded, recorded as an incident
//      and the session ends: never a document.
//   4. fetch: the terminal gets the PDF once; 5. printed (or the deadline) ends the session.
//   6. return (交付中止): once a session has ended, what its municipalities issued for it and the
//      terminal never fetched (discarded in step 3, held past the deadline, lost with a restart,
//      or issued while its answer was lost on the way: a relay without an answer records the
//      municipality asked; Sessions::unreturned) goes back: POST
//      /v1/issuance/{code}/sessions/{session}/returned {"delivered"?: the number fetched}, and the
//      municipality records the rest undelivered. The centre's sweep asks every second until each
//      municipality answered.
//
// The relays (steps 2 and 3 call out over HTTP) run on the centre's own threads, never on an HTTP
// server's worker: the default municipal server is this very process, and a worker waiting on
// its own server deadlocks once every worker waits.
//
// The centre's token: `jlis serve` with the kiosk component keeps an issuance-centre token in
// DIR/kiosk/centre-token (mode 0600), made on the first start (ensure_centre_token). Each
// municipality's issuance server answers at the base URL `jlis kiosk municipal-server` set for it,
// else at the centre's own URL (the process serves the municipal component by default).
// Thread-safe.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "auth/directory.h"
#include "kiosk/sessions.h"
#include "pki/ca.h"
#include "registry/registry.h"
#include "store/database.h"
#include "store/writer.h"

namespace jlis::kiosk {

struct CentreOptions {
  std::string token;             // issuance-centre token for the municipalities' servers
  std::string default_base_url;  // e.g. http://127.0.0.1:8080; set_default_base_url after start
  int threads = 4;               // relay threads
  std::chrono::milliseconds connect_timeout{std::chrono::seconds(3)};
  std::chrono::milliseconds relay_timeout{std::chrono::seconds(30)};
  SessionOptions sessions = {};
};


// A relayed document's terms (the PDF is fetched separately).
struct DocumentIssued {
  std::string session_id, issuance_number, type;
  int64_t fee = 0;
  int copies = 1;
};


class Centre {
 public:
  // Not owned: all must outlive the centre.
  Centre(store::Pool& pool, store::Writer& writer, registry::Registry& registry, pki::CertificateAuthority& ca,
         CentreOptions options);
  ~Centre();  // finishes the relays in flight, then joins its threads

  Sessions& sessions();
  void set_default_base_url(std::string url);

  // Runs `task` on one of the centre's threads.
  void post(std::function<void()> task);

  // Step 2 (see the top). Answers {"session_id", "municipality_code", "documents": [{"type",
  // "fee"}], "expires_at"}. Errors: as Sessions, invalid_argument (not a PEM certificate, not
  // base64), refused() with the reasons of sessions.h, unavailable (the municipality's offer could
  // not be read: the log-in stays recorded).
  Result<nlohmann::json> log_in(std::string_view secret, const std::string& session_id,
                                const std::string& certificate_pem, const std::string& signature_base64);

  // Step 3. `body`: {"type", "options": {members, items, individual, fiscal_year}, "copies": 1..10,
  // "municipality"}: the municipality asked is where the holder lives unless `municipality` names
  // another (the 本籍地 holding their 戸籍 and 附票; its server decides whether it holds them).
  // Answers the document's terms; a municipal refusal answers refused() with its reason (the
  // session may choose again). Errors: as Sessions, invalid_argument, unavailable (the
  // municipality did not answer in time or answered an error: the session may try again),
  // internal with is_incident() (the document was not the holder's: discarded, session ended).
  Result<DocumentIssued> request_document(std::string_view secret, const std::string& session_id,
                                          const nlohmann::json& body);

  // The base URL of a municipality's issuance server (kiosk_municipal_servers, else the default).
  Result<std::string> base_url(const LocalGovernmentCode& municipality);
  // Sets it (the operator's `jlis kiosk municipal-server`): an http:// URL.
  static Status set_municipal_server(store::Writer& writer, const LocalGovernmentCode& municipality,
                                     const std::string& base_url);
  // The centre's token in DIR/kiosk/centre-token, made (a new issuance-centre token, mode 0600)
  // when the file is missing.
  static Result<std::string> ensure_centre_token(const std::string& data_dir, auth::Directory& directory);

  std::string metrics() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The status of a document that was not the holder's (HTTP 502 "subject_mismatch").
Status incident_status(std::string message);
bool is_incident(const Status& status);

}  // namespace jlis::kiosk
