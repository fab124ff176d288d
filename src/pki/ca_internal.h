// Private to the CA: its state, shared by ca.cpp (hierarchy, issuance, revocation, listeners),
// access.cpp (reads, verifiers, consent) and publication.cpp (CRLs, OCSP status).
#pragma once

#include <array>
#include <mutex>

#include "pki/ca.h"

namespace jlis::pki {


struct CertificateAuthority::Impl {
  std::string dir;
  store::Pool& pool;
  store::Writer& writer;
  registry::Registry& registry;
  card::CardSystem* cards = nullptr;
  CaSecrets secrets;
  CaOptions options;
  KeyStoreConfig::Kind key_kind = KeyStoreConfig::Kind::file;
  std::string pkcs11_module, pkcs11_token;
  // A simulation's CA (jlis init --simulation): names under O=JPKI-TEST, and a key may be
  // certified more than once (the generated populations' shared key pool).
  bool simulation = false;

  mutable std::mutex mu;  // guards what follows
  std::string public_url;
  // Declared before the keys it hands out, so it outlives them (PKCS#11 handles refer to it).
  std::unique_ptr<KeyStore> keystore;
  // One generation of a CA (ca.h, new_generation): its certificate, its delegated responder and,
  // from the second on, the two link certificates with the generation before it.
  struct Authority {
    int generation = 1;
    X509Ptr cert, responder_cert;
    EvpPkeyPtr key, responder_key;
    X509Ptr link_from_previous;  // the previous key certifies this one's public key
    X509Ptr link_to_previous;    // this key certifies the previous one's public key
  };
  // By CertificateKind, oldest first; the last signs new certificates. Generations are added only
  // by new_generation, before the OCSP responder exists (unique_ptr: references stay valid).
  std::array<std::vector<std::unique_ptr<Authority>>, 2> generations;
  bool keys_loaded = false;
  std::unique_ptr<OcspResponder> responder;  // signs with the keys above: destroyed first
  // The responder's issuers, in its order: (kind, generation).
  std::vector<std::pair<CertificateKind, int>> ocsp_issuers;

  // Spare handles of the CA keys on a PKCS#11 token, for issuance signing on many threads (keys.h:
  // a PKCS#11 handle is used by one thread at a time). Declared after the keystore: freed first.
  std::mutex spare_mu;
  std::array<std::vector<EvpPkeyPtr>, 2> spare_keys;  // by CertificateKind

  std::mutex tick_mu;  // one tick at a time
  int64_t seen_revocation_seq = 0;
  int64_t last_crl_at = 0;     // thisUpdate of the newest CRL
  bool crl_pending = false;    // revocations not yet in a CRL
  int64_t crl_retry_at = 0;    // after a failed generation, not before
  // thisUpdate of the last generation of every CRL partition (they are all made again daily), and
  // how many partitions the last generate_crls published.
  std::atomic<int64_t> partitions_at{0}, partitions_made{0};

  std::atomic<uint64_t> issued{0}, revoked{0}, crls{0}, consents{0}, notices{0};
  // Certificates of handovers and renewals signed before their writer job was queued, and of those
  // the ones signed again in the writer because the state changed after signing.
  std::atomic<uint64_t> prepared{0};
  // Prepared certificates signed again in the writer because the state changed after signing.
  std::atomic<uint64_t> resigned{0};

  Impl(store::Pool& p, store::Writer& w, registry::Registry& r) : pool(p), writer(w), registry(r) {}

  int64_t now() const;
  Date today() const;  // in Japan
  // The certificate with `serial` (any case, as in a URL): invalid_argument, not_found.
  Result<CertificateRecord> find(std::string_view serial);
  // For a municipality caller: permission_denied unless it holds the certificate's holder now.
  Status check_holder(const auth::Principal& by, const CertificateRecord& rec);
  // The current generation of `kind` (the one that issues).
  Authority& authority(CertificateKind kind) { return *generations[static_cast<size_t>(kind)].back(); }
  // Generation `n` (1-based) of `kind`; null when there is none.
  Authority* authority(CertificateKind kind, int n) {
    auto& list = generations[static_cast<size_t>(kind)];
    return n >= 1 && static_cast<size_t>(n) <= list.size() ? list[static_cast<size_t>(n - 1)].get() : nullptr;
  }
  // What signs a CRL of `kind` made at `now` (its number is the caller's to take).
  CrlParams crl_params(CertificateKind kind, int64_t now) { return crl_params(authority(kind), now); }
  CrlParams crl_params(const Authority& a, int64_t now) {
    CrlParams params;
    params.issuer = a.cert.get();
    params.key = a.key.get();
    params.this_update = now;
    params.next_update = now + options.crl_validity.count();
    return params;
  }
  // Opens the key store (keystore) when it is not open yet, decrypting no key. Under mu.
  Status open_key_store();
  // A CA key handle of `kind` for one thread's signature (keys loaded): empty for file keys, which
  // every thread shares (authority(kind).key); for PKCS#11 one of its own, to give back after.
  Result<EvpPkeyPtr> borrow_ca_key(CertificateKind kind);
  void give_back_ca_key(CertificateKind kind, EvpPkeyPtr key);
};

// Record I/O.
inline constexpr const char* kCertificateColumns =
    "serial, ca, device, resident_code, card_id, not_before, not_after, issued_at, revoked_at, reason, "
    "next_serial, der";
CertificateRecord read_certificate(const store::Row& row);
Result<std::optional<CertificateRecord>> load_certificate(store::Connection& conn, const std::string& serial);
// Normalises a serial from a URL: lower-case hex, 1..40 digits, no leading zeros.
Result<std::string> normalise_serial(std::string_view text);

// The name of the CRLs of generation `n` of `kind`: "signature" for the first (its URLs are those
// of before generations existed), "signature-g2" and so on after: /crl/<name>.crl,
// /crl/<name>-delta.crl, /crl/<name>/<code>.crl, and pki_crls.ca, pki_crl_partitions.ca.
inline std::string crl_name(CertificateKind kind, int n) {
  return n <= 1 ? std::string(kind_name(kind)) : std::string(kind_name(kind)) + "-g" + std::to_string(n);
}

// The KeyStore label of generation `n`'s key of `role` ("ca", "ocsp"): the first keeps the label it
// had before generations existed ("signature-ca"), the next are "signature-ca-g2".
inline std::string key_label(CertificateKind kind, const char* role, int n) {
  const std::string base = std::string(kind_name(kind)) + "-" + role;
  return n <= 1 ? base : base + "-g" + std::to_string(n);
}

// Big-endian bytes of a stored serial (lower-case hex, as the rows hold it).
std::string serial_bytes(std::string_view hex);

// Seconds since the epoch of 00:00 in Japan on `day`.
inline int64_t start_of_day_jst(Date day) { return day.days_since_epoch() * 86400 - kJstOffsetSeconds; }

// The two certificates of a card, in the order the CA keeps their keys, lists and counters.
inline constexpr CertificateKind kCardCertificateKinds[] = {CertificateKind::signature, CertificateKind::authentication};

}  // namespace jlis::pki
