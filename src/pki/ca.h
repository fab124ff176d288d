// 公的個人認証サービス (JPKI): the certification authority of the signature and user-authentication
// certificates, their revocation, the old-to-new linkage, the CRLs and the OCSP responder's status
// source, and the registered verifiers with the basic-four provision on the holder's consent.
//
// Hierarchy (`jlis ca init`): one self-signed CA per kind (signature, authentication), each with a
// delegated OCSP responder certificate. Public certificates in DIR/pki/<kind>-ca.pem and
// DIR/pki/<kind>-ocsp.pem; private keys in a KeyStore (keys.h): encrypted files under
// DIR/pki/keys or a PKCS#11 token, as DIR/pki/ca.json says (which holds no secret). `jlis ca
// renew` adds a generation to a CA (same name, new key, link certificates; new_generation below):
// the newest issues, every generation answers OCSP and publishes CRLs for its own certificates.
//
// Issuance (profile.h for the contents):
//   - at card handover, from the public keys the card generated (card::CardChange::keys): the
//     authentication certificate always, the signature certificate from age 15; valid from the
//     handover day to the card's cert_expires_on (the 5th birthday after handover, never past the
//     card). A back-dated handover (generated populations) whose certificates would already have
//     expired gets none; a handover without keys gets none (the card has no certificates yet and
//     can get them by renewal);
//   - on renewal (更新) or after a revocation by change, for the current card: new certificates
//     from new keys; a certificate of the same kind still good is revoked as superseded;
//   - smartphone certificates (移動端末設備用): the same two kinds under their own policy, tied to
//     the card that authorised them, revoked with it.
//
// Revocation (one table, the reasons RFC 5280 §5.3.1 defines):
//   what happened                                      signature  authentication  reasonCode
//   a change of the basic four (name, date of birth,   revoked    stays good      affiliationChanged
//     sex, address; a move abroad changes the address)
//   the holder's death                                 revoked    revoked         cessationOfOperation
//   the card reported lost or stolen                   revoked    revoked         keyCompromise
//   the card returned                                  revoked    revoked         cessationOfOperation
//   the card replaced by a newer card handed over      revoked    revoked         superseded
//   renewal: new certificates of the same kind         revoked    revoked         superseded
//   the holder's request (at the window or the 24-hour per request    per request  unspecified, or
//     call centre)                                                                 keyCompromise
//   suspension of the card (一時停止 → 一時保留)        on hold    on hold         certificateHold
//     (the smartphone's too when the holder asks)
//   the card resumed (found): its held certificates    revoked    revoked         cessationOfOperation
//     (a card's hold is never released; new ones on request by renewal, from new keys)
//   a smartphone found, the holder's own release       revoked    released        cessationOfOperation
//     (signed by the smartphone's authentication key)             (good again)    (signature)
//   loss, theft, death, return, replacement, a change  the row's reason replaces certificateHold, with
//     of the basic four while on hold                  the time of the new event
//   a resident-code change                             the certificates follow the new code, unchanged
// Each applies to the card's certificates and to the smartphone certificates it authorised (the
// hold: to the smartphone's only when asked). Revocations, holds and releases by the register and
// the card lifecycle run inside the change's own transaction (a change is never committed without
// them). A certificate on hold is "revoked" with reason certificateHold in OCSP and the CRL
// (RFC 5280 §5.3.1); released, it is good again and leaves the next CRL. Only certificateHold is
// not final.
//
// Old-to-new linkage (新旧紐付け): when a resident gets a new signature certificate and their
// newest earlier one was revoked as affiliationChanged or superseded, the old serial links to the
// new; chains follow.
//
// Who may see what: a signature certificate is personal data (the basic four). The resident's
// municipality may fetch any certificate of its residents. A registered verifier fetching by serial
// learns the status, kind, device, validity, revocation time and reason and the successor (`next`)
// of any certificate, never the certificate (DER), its subject, the card or the holder: the
// certificate and the basic four leave only through the consent flow (the holder's signature over
// the verifier's challenge), which is recorded as a provision the resident can see. The certificate list of a resident: its municipality, and agencies for a
// granted purpose (recorded). Revocation on request: the resident's municipality, the call centre.
// Linkage: registered verifiers and the resident's municipality.
//
// Thread-safe. Keys are loaded on first use (serve loads them at start); writes go through the
// Writer; listeners run on the writer's connection.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "auth/directory.h"
#include "card/card_system.h"
#include "common/status.h"
#include "pki/crl.h"
#include "pki/keys.h"
#include "pki/notices.h"
#include "pki/ocsp.h"
#include "pki/profile.h"
#include "pki/request.h"
#include "registry/registry.h"
#include "store/database.h"
#include "store/writer.h"

namespace jlis::pki {

// An issued certificate as the register of the CA keeps it.
struct CertificateRecord {
  std::string serial;  // 32 lower-case hex digits
  CertificateKind kind = CertificateKind::signature;
  Device device = Device::card;
  ResidentCode resident_code = {};
  std::string card_id = {};
  int64_t not_before = 0, not_after = 0;  // seconds since the epoch
  std::string issued_at = {};             // ISO 8601 UTC
  std::optional<int64_t> revoked_at = {};
  RevocationReason reason = RevocationReason::unspecified;
  std::optional<std::string> next_serial = {};  // linkage: its successor
  std::string der = {};

  // "good", "onHold" (revoked with certificateHold: not final), "revoked" or "expired" at `now`.
  std::string_view status(int64_t now) const;
  bool on_hold() const;
};

// A certificate built and signed before its writer job (on the caller's thread, so signatures use
// every core while the single writer only checks and commits); see CertificateAuthority::prepare.
// It is nothing until CertificateAuthority::issue(conn, prepared, ...) commits it: its DER is
// private to the CA, so a certificate refused in the writer's transaction never leaves the
// process. Movable; not thread-safe (one owner at a time).
class PreparedCertificate {
 public:
  CertificateKind kind() const { return terms_.kind; }
  Device device() const { return terms_.device; }

 private:
  friend class CertificateAuthority;
  // Everything the signature covers that comes from the register, the card or the configuration:
  // issue() compares it with what its transaction reads (the serial is random and needs no state).
  struct Terms {
    CertificateKind kind = CertificateKind::signature;
    Device device = Device::card;
    std::string rsa_public_key;  // RSAPublicKey DER
    int64_t not_before = 0, not_after = 0;
    std::optional<BasicFourValues> basic_four;  // signature only
    std::string public_url;
    std::optional<RomajiLocality> locality;  // signature only: the holder's municipality, in romaji
    std::string municipality_code;           // signature only: that municipality's CRL partition
    int generation = 1;                      // the CA generation that signs (ca_internal.h)
  };
  Terms terms_;
  std::string key_hash_;  // SHA-256 hex of the SubjectPublicKeyInfo
  std::string serial_, der_;
};

// A registered verifier (署名検証者 / 利用者証明検証者).
struct Verifier {
  std::string verifier_id;  // "vf-<16 hex>"
  std::string name;
  bool consent_provision = false;  // may receive the basic four with the holder's consent
  std::string registered_at;
};

// The basic four given to a verifier with the holder's consent.
struct ConsentProvision {
  std::string serial;  // the certificate the holder signed with
  registry::Resident resident;  // the latest record
  // The newest signature certificate along the linkage from `serial` (itself when it has no
  // successor), when it is good; it carries the same basic four.
  std::optional<CertificateRecord> latest_certificate = {};
};

struct CaInitOptions {
  KeyStoreConfig keys;  // kind and, for pkcs11, module and token; secrets come from the caller
  std::string public_url = "http://127.0.0.1:8080";  // for certificates issued outside `jlis serve`
  // A simulation's CA (store::is_simulation): named under the JPKI test hierarchy (O=JPKI-TEST),
  // and it certifies a key more than once (the generated populations' shared key pool).
  bool simulation = false;
};

// What unlocks the keys, given by the operator: the passphrase of encrypted key files, or the
// PKCS#11 user PIN (whichever DIR/pki/ca.json says the keys need).
struct CaSecrets {
  std::string passphrase = {};
  std::string pin = {};
};

struct CaOptions {
  std::function<int64_t()> clock = {};  // seconds since the epoch; time() when empty (tests)
  OcspOptions ocsp = {};
  std::chrono::seconds crl_validity{std::chrono::hours(48)};  // nextUpdate; regenerated daily
};

class CertificateAuthority {
 public:
  static Status migrate(store::Connection& conn);

  // True when DIR holds a CA hierarchy.
  static bool exists(const std::string& data_dir);
  // Creates the hierarchy (keys, CA and responder certificates, DIR/pki/ca.json). Refuses (conflict)
  // when one exists. `options.keys` carries the passphrase or PIN.
  static Status init(const std::string& data_dir, const CaInitOptions& options);

  // Opens the CA of DIR (which must exist). `secrets` unlock the keys on first use; when the one
  // needed is empty, signing fails with unavailable and a message that says what to set.
  static Result<std::unique_ptr<CertificateAuthority>> open(const std::string& data_dir, store::Pool& pool,
                                                           store::Writer& writer, registry::Registry& registry,
                                                           CaSecrets secrets, CaOptions options = {});
  ~CertificateAuthority();

  // Joins the register (revocation on changes of the basic four and on death; certificates follow
  // a new resident code) and the card lifecycle (issuance at handover; revocation on loss, return,
  // replacement). Call once, before events flow.
  void attach(registry::Registry& registry, card::CardSystem& cards);

  // Loads the keys now (so `serve` fails at start, not at the first handover).
  Status load_keys();
  // The KeyStore the keys are in, opened now if it is not (no key is decrypted: the store decrypts
  // a key when it is loaded). Other users of the same key store in this process (LGPKI, lgpki.h)
  // use it: a PKCS#11 module is open in one KeyStore per process. It lives as long as this CA.
  // Errors: unavailable (no passphrase or PIN set), and KeyStore::open's.
  Result<KeyStore*> key_store();
  // The base of the URLs written into new certificates.
  void set_public_url(std::string url);
  std::string public_url() const;

  // The CA and responder certificates, PEM, of every generation (below), and the link
  // certificates between generations.
  struct Published {
    // "signature-ca", "signature-ocsp", "authentication-ca", "authentication-ocsp" (the first
    // generation); "signature-ca-2", "signature-ocsp-2" (the second, and so on);
    // "signature-link-1-2" (the first key certifies the second's public key) and
    // "signature-link-2-1" (the second certifies the first's). The same names, with ".pem", are
    // the files in DIR/pki.
    std::string kind;
    std::string pem;
  };
  std::vector<Published> published() const;

  // CA generations (issue 15 §3). new_generation makes the next generation of the CA of `kind`:
  // a new key in the same key store (keys.h: an encrypted file or the PKCS#11 token; label
  // "<kind>-ca-g<n>"), a self-signed certificate with the same distinguished name, told apart from
  // the previous one only by its key identifiers, the two link certificates (profile.h,
  // make_link_certificate: the previous key certifies the new public key and the new key the
  // previous one, each valid until the previous CA certificate expires) and a delegated OCSP
  // responder certificate signed by the new key. Written to DIR/pki (published() names; also
  // "<kind>-ca-1.pem" beside "<kind>-ca.pem") and to DIR/pki/ca.json, and recorded in
  // pki_ca_generations. From then on new certificates are issued by the new generation (their
  // CRL DPs name its CRLs: crl_name "signature-g2", ...), while every earlier generation keeps
  // answering OCSP and publishing its own CRLs (signed by its own key) for its own certificates,
  // until the last of them expires. Needs the keys. A running `jlis serve` reads the generations
  // at start: restart it after a renewal. conflict when this process's OCSP responder exists
  // already (a renewal is an operator's command on the data directory, not a serving process's)
  // and when the CA's name would change.
  struct Generation {
    CertificateKind kind = CertificateKind::signature;
    int generation = 1;
    std::string subject_key_id;  // upper-case hex, as openssl prints it without colons
    int64_t not_before = 0, not_after = 0;
    bool current = false;          // the one that issues
    int64_t certificates = 0;      // issued by it
    int64_t unexpired = 0;         // of those, not yet expired (good, revoked or on hold)
  };
  Result<Generation> new_generation(CertificateKind kind);
  // Every generation of both CAs, oldest first per kind.
  Result<std::vector<Generation>> generations();

  // Issues, on the writer's connection (inside a card change or a renewal job). `resident` is the
  // current record (signature certificates carry its basic four). Signs inside the job: prepare()
  // then issue(conn, prepared, ...) does the same with the signature outside the writer.
  Result<CertificateRecord> issue(store::Connection& conn, CertificateKind kind, Device device,
                                  const registry::Resident& resident, const std::string& card_id,
                                  const std::string& public_key_pem, int64_t not_before, int64_t not_after);

  // Builds and signs a certificate outside the writer, on any thread, from the caller's reading of
  // the register (`resident`, through a pooled connection) and the validity it expects. Checks only
  // what needs no database (the key's form and the key policy: invalid_argument; a deceased holder
  // of a signature certificate: conflict). Stores nothing; the certificate exists only once
  // issue(conn, prepared, ...) commits it. Thread-safe; concurrent calls sign in parallel.
  Result<PreparedCertificate> prepare(CertificateKind kind, Device device, const registry::Resident& resident,
                                      const std::string& public_key_pem, int64_t not_before, int64_t not_after);
  // Issues a prepared certificate on the writer's connection, inside the writing job. Every check
  // that guards the write runs here, on what this transaction sees: the key certified before (for
  // any card), a deceased holder, and (the caller's, before this call) the card and the holder.
  // `resident`, `not_before` and `not_after` are what the job itself read and computed: when the
  // signed terms differ (the basic four changed in between, another validity, another public URL,
  // or a certificate prepared more than kPreparedSlackSeconds before the job), the certificate is
  // signed again here with a new serial and the prepared one is discarded. A refused certificate
  // is discarded: nothing is stored or answered. The job may run twice (store::Writer): `prepared`
  // is not consumed.
  static constexpr int64_t kPreparedSlackSeconds = 300;
  Result<CertificateRecord> issue(store::Connection& conn, const PreparedCertificate& prepared,
                                  const registry::Resident& resident, const std::string& card_id, int64_t not_before,
                                  int64_t not_after);

    // A one-time challenge for certification requests for `card_id` (the holder's municipality):
  // 64 hex digits, valid kIssuanceChallengeSeconds, spent by the renewal or smartphone issuance
  // that succeeds with it (a refused one leaves it unspent).
  struct IssuanceChallenge {
    std::string challenge_id, challenge;
    int64_t expires_at = 0;
  };
  static constexpr int64_t kIssuanceChallengeSeconds = 600;
  Result<IssuanceChallenge> new_issuance_challenge(const auth::Principal& by, const std::string& card_id);

  // What a renewal or a smartphone issuance presents (request.h): a PKCS#10 request per kind
  // wanted, each signed by its new key and carrying the challenge in challengePassword.
  struct CertificateRequests {
    std::string challenge_id;
    std::string signature = {}, authentication = {};  // PEM or DER; empty: that kind is not asked for
    // Smartphone only: the holder's authorisation, an RSA PKCS#1 v1.5 SHA-256 signature by the key
    // of the card's current (good) authentication or signature certificate over
    // authorisation_message(challenge, requests).
    std::string authorisation = {};
  };
  // The bytes the holder signs to authorise smartphone certificates: "jlis-smartphone-authorisation\n",
  // the challenge, "\n", then the DER of the signature request and of the authentication request
  // (each empty when not asked for), each preceded by its length as 8 decimal digits.
  static std::string authorisation_message(const std::string& challenge, const std::string& signature_request_der,
                                           const std::string& authentication_request_der);

  // Renewal or re-issuance at the window for the resident's current card (the municipality): new
  // certificates for the kinds requested; a good one of the same kind is superseded. Every check
  // (the challenge, the card usable, the holder alive and of the caller's municipality, the key
  // policy, the key never certified before) runs in the issuing transaction. Errors:
  // invalid_argument (a bad request, a weak or reused key, a challenge that does not match),
  // permission_denied (another municipality's card; a smartphone request not authorised by the
  // holder), not_found (no such card or challenge), conflict (card not usable, holder deceased,
  // challenge used or expired).
  Result<std::vector<CertificateRecord>> renew(const auth::Principal& by, const std::string& card_id,
                                               const CertificateRequests& requests);
  // Smartphone certificates authorised by a card (the resident's municipality on their behalf,
  // with the holder's authorisation).
  Result<std::vector<CertificateRecord>> issue_smartphone(const auth::Principal& by, const std::string& card_id,
                                                          const CertificateRequests& requests);

  // Revokes on request. `reason` unspecified or key_compromise (others are the CA's own).
  Result<CertificateRecord> revoke(const auth::Principal& by, const std::string& serial, RevocationReason reason);
  // Revokes (or, with certificate_hold, holds) inside the caller's transaction; a certificate
  // already revoked is left as it is, except that a permanent reason replaces certificateHold
  // (with `at` as the new revocation time). The holder's request and the call centre may revoke a
  // certificate on hold.
  Status revoke_in(store::Connection& conn, const std::string& serial, RevocationReason reason, int64_t at);
  // Releases a certificate on hold inside the caller's transaction: good again. Answers false when
  // it was not on hold (nothing changed).
  Result<bool> release_in(store::Connection& conn, const std::string& serial);


  // Reads, with the access rules above (request_id goes into the provision record). For a verifier,
  // certificate() answers the record without der, card_id and resident_code.
  Result<CertificateRecord> certificate(const auth::Principal& by, const std::string& serial,
                                        const std::string& request_id);
  // How many certificates are good, on hold, revoked and expired at `now` (the operator console's
  // figure): a count of the whole register, so not for a path that runs often.
  Result<std::vector<std::pair<std::string, int64_t>>> count_by_status(int64_t now);
  Result<std::vector<CertificateRecord>> certificates_of(const auth::Principal& by, const ResidentCode& resident,
                                                         const std::string& purpose, const std::string& request_id);
  Result<std::optional<std::string>> linkage(const auth::Principal& by, const std::string& serial);
  // The certificate `serial` as the register holds it in `conn`: for a check made inside the
  // caller's own transaction (the issuance server maps a kiosk log-in's authentication certificate
  // to its holder where it records the issuance). not_found for an unknown or malformed serial.
  static Result<CertificateRecord> find_in(store::Connection& conn, std::string_view serial);

  // CRLs: generates and stores a new full CRL of each live generation of each CA
  // (DIR/pki/crl/<name>.crl, <name> its crl_name: "signature", "signature-g2", ...), listing that
  // generation's certificates and signed by its key, with a freshestCRL extension naming
  // <public_url>/crl/<name>-delta.crl, and then a new delta CRL (RFC 5280 §5.2.4;
  // DIR/pki/crl/<name>-delta.crl) numbered from the same sequence. The delta's
  // base is the newest full CRL at least a day old (or else the oldest): it lists the entries
  // revoked, or whose reason changed, since that base, and the certificates released from hold
  // since then as removeFromCRL; any full CRL numbered from the base on, with the delta, gives
  // the current status. The CRLs are signed over the entries' DER stored with their rows
  // (crl.h, assemble_crl); a row revoked before those were stored gets its entry now. Answers the
  // full CRLs made, one per live generation of each kind (an earlier generation whose certificates
  // have all expired publishes no more).
  // One full CRL made by generate_crls: its generation's CRL name (crl_name: "signature",
  // "signature-g2", ...; the file DIR/pki/crl/<name>.crl) and how many entries it lists.
  struct CrlMade {
    CertificateKind kind = CertificateKind::signature;
    std::string name;
    int64_t entries = 0;
  };
  Result<std::vector<CrlMade>> generate_crls();
  // The partitions of the signature CA's CRL (profile.h: one per municipality, named in its
  // certificates' CRL distribution point), generated with the full CRLs, before them: the
  // partitions with a change of status since the newest published full CRL, and once a day (and
  // on the first generation of the process) every partition of a municipality with an unexpired
  // signature certificate. Each lists the certificates of its municipality (the one recorded at
  // issuance, which a move does not change) as the full CRL does, and carries a critical
  // issuingDistributionPoint naming it (RFC 5280 §5.2.5); each has its own CRL numbers. Published
  // in DIR/pki/crl/signature/<code>.crl. How many the last generate_crls published:
  int64_t partitions_generated() const;
  // Generates the partition of the municipality `municipality_code` now (any municipality of the
  // reference data, with certificates or not; the CLI); answers its entries. not_found for a code
  // that names no municipality.
  Result<int64_t> generate_partition(const std::string& municipality_code, int generation = 1);
  // The newest partition CRL of the municipality, DER (generated if it has none yet). not_found as
  // generate_partition.
  Result<std::string> partition_crl(const std::string& municipality_code, int generation = 1);
  // Any CRL by the name of its generation's CRLs (ca_internal.h crl_name): "signature",
  // "authentication", "signature-g2", ...; with `delta`, its delta CRL. not_found for a name
  // that is no generation's. A partition: partition_crl with the generation parse_crl_name gives.
  Result<std::string> crl_named(std::string_view name, bool delta);
  Result<std::pair<CertificateKind, int>> parse_crl_name(std::string_view name) const;
  // The newest full CRL of `kind`, DER (generating the CRLs if none exists).
  Result<std::string> crl(CertificateKind kind);
  // The newest delta CRL of `kind`, DER (generating the CRLs if none exists).
  Result<std::string> delta_crl(CertificateKind kind);

  // The CRLs published now, for the operator console: of each generation of each CA that has
  // published, the newest full and the newest delta CRL, and the signature CAs' partitions summed
  // up per generation (crl_number 0; entries and bytes summed, this_update and next_update the
  // oldest partition's). Sizes are the published files' bytes.
  struct PublishedCrl {
    std::string name;  // "signature", "signature-delta", "signature-g2", ..., "signature/ (1741 partitions)"
    int64_t crl_number = 0, this_update = 0, next_update = 0, entries = 0, bytes = 0;
  };
  Result<std::vector<PublishedCrl>> published_crls();

  // The OCSP responder over this CA's register (created on first use; needs the keys).
  Result<OcspResponder*> responder();
  // Re-signs the OCSP responses of certificates revoked since the last call (also by other
  // processes) and regenerates the CRLs when they are older than a day or revocations happened;
  // `jlis serve` runs it every second.
  Status tick();

  // Verifiers. add_verifier also creates its token (answered once), made with `grant` (expiry,
  // who registers it).
  Result<std::pair<Verifier, std::string>> add_verifier(auth::Directory& directory, const std::string& name,
                                                        bool consent_provision, const auth::TokenGrant& grant = {});
  Result<std::vector<Verifier>> verifiers();
  // Basic-four provision with consent: the verifier asks for a challenge, the holder signs it with
  // the signature key of their card (RSA PKCS#1 v1.5, SHA-256, over the challenge bytes), and the
  // verifier exchanges the signature for the latest basic four; recorded as a provision.
  struct Challenge {
    std::string challenge_id, challenge;  // challenge: base64 of 32 random bytes
    int64_t expires_at = 0;
  };
  Result<Challenge> new_challenge(const auth::Principal& by);
  Result<ConsentProvision> consent_provision(const auth::Principal& by, const std::string& challenge_id,
                                             const std::string& serial, const std::string& signature_base64,
                                             const std::string& request_id);

  // A smartphone found again (the holder's own app, no token: the proof is the signature): a
  // single-use challenge (5 minutes) for the smartphone authentication certificate `serial` on
  // hold; then the holder signs the challenge bytes with that certificate's key (RSA PKCS#1 v1.5,
  // SHA-256) and release_hold releases it and revokes the smartphone signature certificate of the
  // same card for good (cessationOfOperation; a new one by issue_smartphone). Errors: not_found
  // (no such challenge; a challenge of another certificate), invalid_argument (not
  // a smartphone authentication certificate, bad base64), conflict (not on hold, challenge used
  // or expired), permission_denied (the signature does not verify). The challenge is spent by any
  // attempt. The checks that guard the release run in the releasing transaction.
  // No existence oracle: new_release_challenge answers a challenge for any well-formed serial
  // (invalid_argument only for a malformed one), and release_hold answers permission_denied alike
  // for an unknown serial and a signature that does not verify; only after the signature proves
  // the key does it say "not releasable" (invalid_argument) or "not on hold" (conflict).
  Result<Challenge> new_release_challenge(const std::string& serial);
  Result<CertificateRecord> release_hold(const std::string& challenge_id, const std::string& serial,
                                         const std::string& signature_base64);

  // Records and answers the certificate expiry notices of `month` ("YYYY-MM"; invalid_argument
  // otherwise, and nothing is recorded); the rules are in notices.h. The operator's (CLI on the
  // data directory); needs no key.
  Result<CertificateNoticeRun> expiry_notices(const std::string& month);

  std::string metrics() const;

 private:
  struct Impl;
  explicit CertificateAuthority(std::unique_ptr<Impl> impl);
  // Checks the card and its holder, supersedes the good certificates of `device` on the card for
  // the kinds whose keys are given and issues new ones, all in one writer job.
  Result<std::vector<CertificateRecord>> replace_certificates(const auth::Principal& by, Device device,
                                                              const std::string& card_id,
                                                              const CertificateRequests& requests);
  // The card's certificates signed before the handover is queued (a card::HandoverPreparer), and
  // the validity a handover gives them.
  struct PreparedHandover;
  std::shared_ptr<const card::HandoverPreparation> prepare_handover(const card::CardChange& expected,
                                                                    const registry::Resident& holder);
  std::pair<int64_t, int64_t> handover_validity(const card::CardChange& change);
  // Signs the certificates a renewal or smartphone issuance asks for before its job is queued, from
  // a pooled reading of the card and its holder; empty where that reading refuses or fails.
  std::array<std::optional<PreparedCertificate>, 2> prepare_renewal(
      const auth::Principal& by, Device device, const std::string& card_id,
      const std::optional<CertificationRequest> (&requests)[2], int64_t now, Date today);
  // The terms a certificate of `kind` for `resident` would be signed with now (checks the key).
  Result<PreparedCertificate::Terms> terms(CertificateKind kind, Device device, const registry::Resident& resident,
                                           std::string_view rsa_public_key, int64_t not_before, int64_t not_after);
  // Signs `terms` under a new serial.
  Status sign(PreparedCertificate& prepared);
  // The delta CRL of `kind` at `now`, listing the changes up to `newest_seq` (generate_crls).
  Status generate_delta(CertificateKind kind, int generation, int64_t newest_seq, int64_t now);
  // The partitions of `codes` (null: every partition) listing the changes up to `newest_seq`,
  // published; answers how many. Called with the CRL lock held.
  Result<size_t> generate_partitions(int generation, const std::vector<std::string>* codes, int64_t newest_seq,
                                     int64_t now, const std::string& public_url);
  Result<std::string> read_crl(CertificateKind kind, int generation, bool delta);
  std::unique_ptr<Impl> impl_;
};

}  // namespace jlis::pki
