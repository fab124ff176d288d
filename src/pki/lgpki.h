// 地方公共団体組織認証基盤 (LGPKI): the certification authorities of the local governments'
// organisation PKI, beside JPKI's (ca.h) in the same component: the same key store (keys.h), the
// same OpenSSL wrappers, key policy, request parser, CRL builder and link certificates. What the
// certificates contain: lgpki_profile.h.
//
// Hierarchy, per generation n (1, 2, ...): a self-signed root (ルート / ブリッジ) and three issuing
// CAs under it (organisation 組織, position 職責, application アプリケーション), each key in the
// KeyStore under the label "lgpki-<root|organisation|position|application>-g<n>" (an encrypted file
// beside JPKI's keys, or a key on the same PKCS#11 token). The certificates, the link certificates
// and the revocations of the CAs are in the store (lgpki_authorities); issued certificates in
// lgpki_certificates; every CRL and ARL made in lgpki_crls.
//
// Generations (new_generation): a root key rollover. The new root has the same name and a new key;
// the old root key certifies the new public key and the new root key the old one (two link
// certificates, profile.h make_link_certificate, each valid until the old root expires), and the
// new root certifies three new issuing CAs (new keys, the same names). From then on new
// certificates come from the new generation's issuing CAs; the earlier generations' certificates
// stay valid and keep their CRLs and ARL (each signed by its own generation's key). A relying party
// trusting either root validates both generations' end-entity certificates with the link
// certificate of the other direction as an untrusted intermediate.
//
// Revocation: an end-entity certificate by its serial (revoke), an issuing CA of a generation
// (revoke_ca); each CRL lists the revoked, unexpired certificates of one issuing CA of one
// generation, and the ARL (authority revocation list) of a generation, signed by its root, the
// revoked issuing CAs of that generation. A revoked issuing CA issues no more.
//
// The application workflow of the registration sub-authorities (登録分局) and J-LIS, which calls
// issue() once an application is approved: lgpki_workflow.h.
//
// OCSP (ocsp_responder): one responder (ocsp.h) for every issuing CA of every generation, at the
// <url>/lgpki/ocsp the end-entity certificates name. Each issuing CA signs the responses about its
// own certificates itself (RFC 6960 §4.2.2.2: no delegated responder certificate), with a key
// handle of its own. revoke() re-signs the cached response of the certificate at once;
// new_generation() replaces the responder with one that serves the new issuing CAs too. A
// revocation made by another process (jlis lgpki revoke beside jlis serve) reaches the responses
// of this one by tick().
//
// Thread-safe: signing is serialised by a mutex (a PKCS#11 handle is used by one thread at a
// time); writes go through the Writer, and every check that guards a write (the serial unknown
// or not yet revoked, the issuing CA not revoked) runs in the writing transaction.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "pki/cades.h"
#include "pki/crl.h"
#include "pki/keys.h"
#include "pki/lgpki_profile.h"
#include "pki/ocsp.h"
#include "pki/timestamp.h"
#include "store/database.h"
#include "store/writer.h"

namespace jlis::pki {

// An issued end-entity certificate as the register keeps it.
struct LgpkiCertificate {
  std::string serial;  // 32 lower-case hex digits
  LgpkiProfile profile = LgpkiProfile::organisation;
  LgpkiCa ca = LgpkiCa::organisation;  // the issuing CA
  int generation = 1;                  // of the issuing CA
  std::string municipality_code;
  std::string subject;                 // RFC 2253 text, for people (the DER is the truth)
  int64_t not_before = 0, not_after = 0;  // seconds since the epoch
  std::optional<int64_t> revoked_at = {};
  RevocationReason reason = RevocationReason::unspecified;
  std::string der;
  std::string key_label = {};  // the KeyStore label of its private key; empty when the key is not
                               // in the key store (the government made its own request)
};

// One CA certificate of one generation, as published.
struct LgpkiCaCertificate {
  std::string name;  // "root", "root-g2", "organisation", "position-g2", "root-link-1-2", "root-link-2-1"
  int generation = 1;
  std::string pem;
  std::optional<int64_t> revoked_at = {};  // issuing CAs only
  RevocationReason reason = RevocationReason::unspecified;
};

// What issuance is given: the profile, the subscriber's PKCS#10 request (PEM or DER; its subject
// and attributes are ignored: the certificate's contents come from `subject`, checked by
// check_lgpki_subject) and the validity.
struct LgpkiIssuance {
  LgpkiProfile profile = LgpkiProfile::organisation;
  std::string request;
  LgpkiSubject subject;
  // Days from now; 0: the profile's default (application server 397, the others 3 years). Cut to
  // the issuing CA's own expiry. At most 5 years.
  int validity_days = 0;
  // The KeyStore label of the request's key when it was made in the key store (recorded with the
  // certificate: what signs with it finds its key); empty otherwise.
  std::string key_label = {};
  // Optional: runs in the transaction that records the certificate, after the checks, with it; an
  // error rolls the issuance back (no certificate exists). The workflow (lgpki_workflow.h) checks
  // and records its application here.
  std::function<Status(store::Connection&, const LgpkiCertificate&)> also = {};
};

// What a local government signs documents with (current_signer).
struct LgpkiSigner {
  LgpkiCertificate certificate;     // document-signing, else position
  std::vector<std::string> chain;   // DER: the issuing CA, then its root
};

// A certificate of J-LIS's own with its key and chain (message_signer).
struct LgpkiOwnKey {
  LgpkiCertificate certificate;
  X509Ptr x509;
  EvpPkeyPtr key;
  std::vector<X509Ptr> chain;  // the issuing CA, then its root
  // The detached CAdES signature (cades_sign, the chain embedded) over `data`, signed at
  // `signing_time`. One at a time: a PKCS#11 key handle is one thread's at a time.
  Result<std::string> sign(std::string_view data, int64_t signing_time) const;
  mutable std::mutex sign_mu;
};

struct LgpkiOptions {
  std::function<int64_t()> clock = {};  // seconds since the epoch; time() when empty (tests)
  std::string public_url = "http://127.0.0.1:8080";  // the base of the URLs in certificates
  std::chrono::seconds crl_validity{std::chrono::hours(48)};  // a CRL's and an ARL's nextUpdate
  // The OCSP responses' validity and refresher (ocsp.h); its clock is `clock` when it has none,
  // and its metrics are named jlis_lgpki_ocsp_* unless it says otherwise.
  OcspOptions ocsp = {.metrics_prefix = "jlis_lgpki_ocsp"};
};

// invalid_argument unless an LGPKI revocation takes `reason` (RFC 5280 §5.3.1): unspecified,
// keyCompromise, affiliationChanged, superseded, cessationOfOperation, privilegeWithdrawn, and for
// an issuing CA (`ca`) caCompromise too; never certificateHold: an LGPKI revocation is final.
Status check_lgpki_revocation_reason(RevocationReason reason, bool ca);

class LgpkiAuthority {
 public:
  // The tables (lgpki_authorities, lgpki_certificates, lgpki_crls), on SQLite and PostgreSQL.
  static Status migrate(store::Connection& conn);

  // Opens the LGPKI of the store with the keys of `keys` (not owned; it must outlive this object;
  // the KeyStore JPKI's CA uses, as a PKCS#11 module is open in one KeyStore per process). Loads
  // the CA certificates; a CA's key is loaded when it first signs (an issuance, a CRL, a rollover),
  // so that call answers the errors of KeyStore::load (a key missing: not_found; the wrong
  // passphrase: permission_denied) and writes nothing. A store with no hierarchy yet opens too
  // (exists() false): init() creates it. Errors: the store's.
  static Result<std::unique_ptr<LgpkiAuthority>> open(store::Pool& pool, store::Writer& writer, KeyStore& keys,
                                                     LgpkiOptions options = {});
  ~LgpkiAuthority();

  bool exists() const;
  // Creates the first generation: the root (20 years) and the three issuing CAs (10 years).
  // conflict when a hierarchy exists (or its key labels do in the key store).
  Status init();
  // A root key rollover (above): the new root, the two link certificates and three new issuing
  // CAs, recorded in one transaction. Answers the new generation's number. conflict when the new
  // key labels exist in the key store already (a generation whose recording failed leaves its
  // keys behind: an operator removes them before trying again).
  Result<int> new_generation();
  // The newest generation (0 before init).
  int generation() const;

  // Every CA certificate of every generation, and the link certificates, oldest generation first,
  // with the revocations of the issuing CAs.
  Result<std::vector<LgpkiCaCertificate>> ca_certificates();

  // Issues a certificate from the current generation's issuing CA of the profile. Checks, in this
  // order: the subject (check_lgpki_subject), the request (parse_certification_request: PEM or DER,
  // signed by its own RSA-2048 key with SHA-256), the key (check_key_policy), then, in the writing
  // transaction, that the issuing CA is not revoked. Errors: invalid_argument (a bad subject,
  // request, key or validity), conflict (no hierarchy; the issuing CA revoked).
  Result<LgpkiCertificate> issue(const LgpkiIssuance& issuance);

  // Revokes an end-entity certificate, and re-signs its OCSP response (when this object's
  // responder has one cached) before it answers. `reason`: unspecified, keyCompromise,
  // affiliationChanged, superseded, cessationOfOperation or privilegeWithdrawn (invalid_argument
  // for the others).
  // invalid_argument for a malformed serial, not_found for an unknown one, conflict when it is
  // revoked already.
  // `also` (optional) runs in the revoking transaction after the checks, as LgpkiIssuance::also.
  Result<LgpkiCertificate> revoke(std::string_view serial, RevocationReason reason,
                                  const std::function<Status(store::Connection&, const LgpkiCertificate&)>& also = {});
  // Revokes issuing CA `ca` of `generation`: it issues no more, and the ARL of its generation lists
  // it. `reason` as revoke, or caCompromise. not_found for a generation that does not exist,
  // conflict when it is revoked already.
  Status revoke_ca(LgpkiCa ca, int generation, RevocationReason reason);

  // The certificate `serial` (any case). invalid_argument for a malformed serial, not_found.
  Result<LgpkiCertificate> certificate(std::string_view serial);

  // What the document signer of `municipality_code` signs with at `now` (seconds since the epoch):
  // its newest issued, unrevoked, unexpired document-signing certificate whose issuing CA is not
  // revoked, else its newest such position certificate (the mayor's), with the chain (the
  // certificate's key_label names its key when the key was generated in the key store: `jlis
  // lgpki apply` without --csr).
  // not_found when the government has neither.
  Result<LgpkiSigner> current_signer(const std::string& municipality_code, int64_t now);

  // J-LIS's time-stamp authority (RFC 3161, timestamp.h), which time-stamps the documents' seals
  // (document_seal.h): its time-stamping certificate (lgpki_profile.h) comes from the current
  // generation's application CA, its key is in the key store (label "lgpki-tsa-g<n>-<hex>",
  // recorded with the certificate), its chain is that CA and its root, its policy
  // lgpki_policy_oid(time_stamping). Made and recorded by the first call, then kept; replaced (a new
  // key and certificate) once the one in use is revoked, within 30 days of its expiry, or of an
  // older generation. A newer usable one recorded by another process is taken up instead of making
  // one. Errors: conflict (no hierarchy), the key store's, issue()'s, the store's.
  Result<std::shared_ptr<const TimeStampAuthority>> time_stamp_authority();
  // The information-linkage platform's message-signing key (profile message-signing, from the
  // current generation's organisation CA; label "lgpki-message-signing-g<n>-<hex>"), with which it
  // signs its answers to the bodies (linkage/signatures.h). Made, recorded, kept and replaced as the
  // time-stamp authority is. Errors as time_stamp_authority's.
  Result<std::shared_ptr<const LgpkiOwnKey>> message_signer();

  // Makes, records and answers (DER) a new full CRL of issuing CA `ca` of `generation`, signed by
  // its key: its revoked certificates not yet expired, with a cRLNumber one above its last.
  // not_found for a generation that does not exist.
  Result<std::string> make_crl(LgpkiCa ca, int generation);
  // The same for the ARL of `generation`, signed by that generation's root: its revoked issuing CAs.
  Result<std::string> make_arl(int generation);
  // What the public URL <url>/lgpki/crl/<name>.crl serves: the CRL or ARL named `name`
  // (lgpki_crl_name, lgpki_arl_name) as last recorded, or a new one (make_crl, make_arl) when none
  // was made yet, a revocation came at or after its thisUpdate, or it has run through half its
  // validity. Concurrent callers make at most one at a time. not_found for any other name.
  Result<std::string> published_crl(std::string_view name);
  // The CA certificate named `name` (as ca_certificates names them: root, root-g2, position,
  // root-link-1-2, ...) as DER, for <url>/lgpki/ca/<name>.cer. not_found for any other name.
  Result<std::string> ca_certificate_der(std::string_view name);

  // The OCSP responder for every issuing CA of every generation (above), made on first use and
  // made again after new_generation(): hold the pointer for one request only. Each CA's CertIDs
  // (SHA-1 or SHA-2, issuer name and key hashes) choose it; the status is the register's
  // (lgpki_certificates) for a certificate of that CA and generation, and `unauthorized` for any
  // other serial (another CA's certificate included). Errors: those of KeyStore::load (the
  // responder loads a key handle of each issuing CA), conflict before init().
  Result<std::shared_ptr<OcspResponder>> ocsp_responder();
  // The responder ocsp_responder made, or null before it was first asked for.
  std::shared_ptr<OcspResponder> ocsp_responder_made() const;
  // Re-signs the OCSP responses of the certificates revoked since the last call by anyone (another
  // process included: its revocations are not seen otherwise before a response's refresh is
  // due). Cheap when nothing was revoked; jlis serve calls it every second or so.
  Status tick();

  // The state, private to src/pki (lgpki_internal.h).
  struct Impl;

 private:
  explicit LgpkiAuthority(std::unique_ptr<Impl> impl);
  // J-LIS's own certificate of `profile` (time-stamping, message-signing) to use instead of
  // `in_use` (none: the first call): `in_use` while it is of the current generation, not revoked
  // and more than 30 days from its expiry (nullptr then); else the newest such recorded; else a new
  // key and certificate. The caller holds the mutex that guards `in_use`.
  Result<std::unique_ptr<LgpkiOwnKey>> own_key(LgpkiProfile profile, const LgpkiCertificate* in_use);
  std::unique_ptr<Impl> impl_;
};

}  // namespace jlis::pki
