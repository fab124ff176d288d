// The LGPKI application workflow (issue 12 §1): a local government files an application for a
// certificate at its registration sub-authority (登録分局), the sub-authority reviews it, J-LIS
// approves it, the certificate is issued (LgpkiAuthority::issue) and delivered (kept with the
// application); revocation is asked for through the sub-authority and carried out by J-LIS.
//
//   state            how it is reached                     by whom (auth::Principal)
//   filed            file()                                municipality, its own code only
//   reviewed         review(approve)                       lgpki-registration of that government
//   approved         approve(approve)                      operator (J-LIS)
//   issued           issue()                               operator (J-LIS)
//   refused          review(refuse) / approve(refuse)      as above, with a reason
//   revocation-requested  request_revocation()             lgpki-registration of that government
//   revoked          revoke()                              operator (J-LIS)
// Any other transition is a conflict naming the state the application is in. Every step is a row
// of lgpki_application_steps (when, which step, who as "<role>:<subject>", the detail: a reason, a
// serial). Each step's checks (the state, the caller's government, the certificate not revoked)
// run in the writer transaction that records it; issue() and revoke() run the certificate's own
// write (LgpkiAuthority::issue, revoke) in that same transaction, so an application is issued once.
//
// Where the subscriber's key is: in the request the government made itself (file() with a PKCS#10
// request), or in the data directory's KeyStore (make_key_and_request: a key generated under the
// label "lgpki-<profile>-<code>-<application id's hex>", so the issuance server can later sign
// with it; the application records the label). LgpkiAuthority::current_signer answers, for
// document signing, which certificate and key a government signs with.
//
// Thread-safe as LgpkiAuthority; writes go through the Writer.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "auth/directory.h"
#include "common/status.h"
#include "pki/keys.h"
#include "pki/lgpki.h"
#include "store/database.h"
#include "store/writer.h"

namespace jlis::pki {

enum class LgpkiApplicationState { filed, reviewed, approved, issued, refused, revocation_requested, revoked };
std::string_view lgpki_application_state_name(LgpkiApplicationState state);  // "revocation-requested", ...

// One recorded step.
struct LgpkiApplicationStep {
  std::string at;      // ISO 8601 UTC
  std::string step;    // filed, reviewed, review-refused, approved, approval-refused, issued,
                       // revocation-requested, revoked
  std::string by;      // "municipality:132217", "lgpki-registration:132217", "operator:alice"
  std::string detail;  // a refusal's or revocation's reason, the serial issued; may be empty
};

struct LgpkiApplication {
  std::string id;  // "la-" and 16 hex digits
  std::string municipality_code;
  LgpkiProfile profile = LgpkiProfile::organisation;
  LgpkiSubject subject;
  std::string request;    // the PKCS#10 request, PEM
  std::string key_label;  // in the KeyStore when the key was made there; empty otherwise
  LgpkiApplicationState state = LgpkiApplicationState::filed;
  std::string serial;     // once issued
  std::string certificate_der;  // once issued: the delivered certificate
  std::vector<LgpkiApplicationStep> steps;  // oldest first
};

// What a government files.
struct LgpkiFiling {
  LgpkiProfile profile = LgpkiProfile::organisation;
  LgpkiSubject subject;   // subject.municipality_code is the government that files
  std::string request;    // PKCS#10, PEM or DER
  std::string key_label;  // when the key is in the KeyStore (make_key_and_request); else empty
  std::string id;         // the application id to use (make_key_and_request's); empty: a new one
};

// A new application id, and a key generated in `keys` under its label with a PKCS#10 request
// (PEM) signed by it. conflict when the label exists in the key store.
struct LgpkiKeyAndRequest {
  std::string id, key_label, request;
};
Result<LgpkiKeyAndRequest> make_key_and_request(KeyStore& keys, LgpkiProfile profile,
                                                const std::string& municipality_code);

class LgpkiWorkflow {
 public:
  // The tables are the lgpki component's (LgpkiAuthority::migrate). `lgpki` is not owned.
  LgpkiWorkflow(store::Pool& pool, store::Writer& writer, LgpkiAuthority& lgpki)
      : pool_(pool), writer_(writer), lgpki_(lgpki) {}

  // Files an application. Checked before anything is written: the subject for the profile
  // (check_lgpki_subject) and the request (its self-signature and key policy): invalid_argument.
  // In the transaction: the caller is the municipality of subject.municipality_code
  // (permission_denied otherwise).
  Result<LgpkiApplication> file(const auth::Principal& caller, const LgpkiFiling& filing);
  // The sub-authority's decision on a filed application: approve, or refuse with a reason
  // (invalid_argument when a refusal has none). permission_denied unless the caller is the
  // lgpki-registration of the application's government; conflict unless it is filed.
  Result<LgpkiApplication> review(const auth::Principal& caller, const std::string& id, bool approve,
                                  const std::string& reason = "");
  // J-LIS's decision on a reviewed application (operator only; conflict unless reviewed).
  Result<LgpkiApplication> approve(const auth::Principal& caller, const std::string& id, bool approve,
                                   const std::string& reason = "");
  // Issues the certificate of an approved application (operator only; conflict unless approved,
  // or the issuing CA's refusals) and delivers it: the answer carries it.
  Result<LgpkiApplication> issue(const auth::Principal& caller, const std::string& id);
  // The sub-authority asks for the revocation of an issued application's certificate, with a
  // reason (as LgpkiAuthority::revoke takes it). conflict when the application is not issued or
  // its certificate is revoked already (by any route).
  Result<LgpkiApplication> request_revocation(const auth::Principal& caller, const std::string& id,
                                              RevocationReason reason, const std::string& why = "");
  // J-LIS carries a requested revocation out (operator only): the certificate is revoked with the
  // requested reason. conflict unless revocation-requested.
  Result<LgpkiApplication> revoke(const auth::Principal& caller, const std::string& id);

  // One application with its steps; not_found. A municipality or lgpki-registration caller sees
  // its own government's only (not_found for others'); the operator sees all.
  Result<LgpkiApplication> get(const auth::Principal& caller, const std::string& id);
  // The applications, oldest first: of `municipality` (empty: all, operator only), as get().
  Result<std::vector<LgpkiApplication>> list(const auth::Principal& caller, const std::string& municipality = "");

 private:
  store::Pool& pool_;
  store::Writer& writer_;
  LgpkiAuthority& lgpki_;
};

}  // namespace jlis::pki
