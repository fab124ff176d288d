// The registered bodies of the information-linkage platform (issue 11 §1, 情報照会者・情報提供者):
// who may ask and provide. A body is its kind (body_kind.h), its name and its identifying code: the
// local-government code of a municipality or prefecture, the insurer number (保険者番号, 8 digits)
// of a health insurer, the corporate number (法人番号, 13 digits, check digit checked) of the
// pension service or a ministry. Its id is "<kind>-<code>" ("municipality-131016"), the id its
// linkage codes (codes.h) and its tokens are bound to; one body per kind and code.
//
// A body authenticates with a token of role linkage-body whose subject is its id (auth/directory.h):
// add() registers the body and makes its first token in one transaction (both or neither). remove()
// deactivates it and revokes its tokens in one transaction; the row stays, since the records of what
// it asked and provided name it.
//
// A body signs its messages (signatures.h) with a certificate registered to it here
// (add_certificate, `jlis linkage body certificate`): the token says who calls, the registered
// certificate that the message is the body's. A certificate belongs to one body. Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "auth/directory.h"
#include "common/status.h"
#include "linkage/body_kind.h"
#include "store/database.h"

namespace jlis::linkage {

struct Body {
  std::string body_id;  // "<kind>-<code>"
  BodyKind kind;
  std::string name;
  std::string code;           // local-government code, insurer number or corporate number
  std::string registered_at;  // ISO 8601 UTC
  bool active = true;
  std::string endpoint = {};  // its own system's URL for forwarded queries (queries.h); empty: none
};

// A signing certificate registered to a body.
struct BodyCertificate {
  std::string fingerprint;  // SHA-256 of the DER, 64 hex: how a signature's signer is matched
  std::string body_id;
  std::string serial;       // hex, as the issuer wrote it
  std::string subject;      // RFC 2253 text
  std::string not_after;    // ISO 8601 UTC
  std::string registered_at;
  std::string removed_at;   // empty while in use
};

// invalid_argument, saying which form `kind` needs, when `code` is not a code of that kind's (a
// prefecture's code for a municipality and the reverse included).
Status check_body_code(BodyKind kind, const std::string& code);

class Bodies {
 public:
  static Status migrate(store::Connection& conn);

  // Not owned; all must outlive this.
  Bodies(store::Pool& pool, store::Writer& writer, auth::Directory& directory)
      : pool_(pool), writer_(writer), directory_(directory) {}

  // Registers a body and makes its first linkage-body token, made with `grant`; answers the body
  // and the token (the only time it is visible). invalid_argument for a bad code or a name empty or
  // over 200 bytes; conflict when the body is registered already (also a removed one), checked in
  // the transaction that writes.
  Result<std::pair<Body, std::string>> add(BodyKind kind, const std::string& name, const std::string& code,
                                           const auth::TokenGrant& grant = {});
  // Every body, active or not, oldest first.
  Result<std::vector<Body>> list();
  // not_found for an unknown id.
  Result<Body> get(const std::string& body_id);
  // The body `body_id` if registered and active, read on `conn` (the caller's transaction, so the
  // check holds for what it writes): not_found for an unknown id, permission_denied for a removed body.
  static Result<Body> active(store::Connection& conn, const std::string& body_id);
  // Deactivates a body and revokes its tokens (recorded with `by`). not_found for an unknown id;
  // conflict when removed already; both checked in the transaction that writes.
  Status remove(const std::string& body_id, const std::string& by);

  // Sets the URL of the body's own system, to which the platform forwards the queries it answers
  // live (queries.h); empty clears it. invalid_argument for what is not an http:// URL; not_found
  // or permission_denied for an unknown or removed body, checked in the transaction that writes.
  Status set_endpoint(const std::string& body_id, const std::string& url);

  // Registers `pem` (one certificate; its chain and purpose checked by the caller:
  // MessageVerifier::check_certificate) as a signing certificate of `body_id`. invalid_argument for
  // what is not a PEM certificate; not_found or permission_denied for an unknown or removed body;
  // conflict when the certificate is registered already (to any body); checked in the transaction
  // that writes.
  Result<BodyCertificate> add_certificate(const std::string& body_id, const std::string& pem);
  // The body's certificates, removed ones included, oldest first.
  Result<std::vector<BodyCertificate>> certificates(const std::string& body_id);
  // Stops a certificate from signing for its body (a key lost, a certificate renewed). not_found
  // for an unknown fingerprint, conflict when removed already.
  Status remove_certificate(const std::string& fingerprint);
  // On `conn` (the transaction acting on a signed message): the certificate `fingerprint` is
  // registered to `body_id` and not removed; permission_denied [signer-not-registered] otherwise.
  static Status check_signer(store::Connection& conn, const std::string& body_id, const std::string& fingerprint);

 private:
  store::Pool& pool_;
  store::Writer& writer_;
  auth::Directory& directory_;
};

// The bodies a process's writer transactions have read (ActiveBodies), kept across them while no body
// changes.
struct KnownBodies {
  std::mutex mu;
  int64_t changes = -1;  // linkage_body_changes's count when `read` was filled
  std::map<std::string, Result<Body>> read;
};

// Bodies::active for the queries of one writer transaction on `conn`, through `known`: the first
// lookup reads the bodies' change count (linkage_body_changes, counted up in the transaction of every
// registration, removal and endpoint change, by any process) on `conn`, inside the transaction, and
// drops what `known` kept when the count has moved; so each body is read once while it stands, not
// once per transaction (a bulk batch names hundreds of municipalities). A body's answer is kept (found,
// not_found or permission_denied), a failure of the store is not. Holds `known` while it lives,
// which is no longer than the transaction; used only by transactions that change no body.
class ActiveBodies {
 public:
  ActiveBodies(store::Connection& conn, KnownBodies& known) : conn_(conn), known_(known), lock_(known.mu) {}
  const Result<Body>& operator()(const std::string& body_id);

 private:
  store::Connection& conn_;
  KnownBodies& known_;
  std::lock_guard<std::mutex> lock_;
  bool counted_ = false;
  std::optional<Result<Body>> failed_;  // a read the store failed (the count's or a body's): answered, not kept
};

}  // namespace jlis::linkage
