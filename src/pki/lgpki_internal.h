// Private to the LGPKI CA (lgpki.h): its state, shared by lgpki.cpp (hierarchy, generations),
// lgpki_issuance.cpp (issuance, revocation, reads), lgpki_crl.cpp (CRLs, ARLs) and lgpki_ocsp.cpp
// (the OCSP responder).
#pragma once

#include <array>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "pki/lgpki.h"

namespace jlis::pki {

inline constexpr std::array<LgpkiCa, 3> kLgpkiCas = {LgpkiCa::organisation, LgpkiCa::position, LgpkiCa::application};

struct LgpkiAuthority::Impl {
  store::Pool& pool;
  store::Writer& writer;
  KeyStore& keys;
  LgpkiOptions options;

  // One CA: its certificate, its key's label in `keys`, and its key handle once used (key_of).
  struct Ca {
    X509Ptr cert;
    std::string label;
    EvpPkeyPtr key;
  };
  // One generation: its root, its issuing CAs (by LgpkiCa) and, from the second on, the link
  // certificates with the previous root.
  struct Generation {
    int number = 1;
    Ca root;
    std::array<Ca, 3> issuing;
    // The OCSP responder's handles of the issuing CAs' keys (by LgpkiCa), loaded when it is made:
    // its request threads sign apart from `mu`.
    std::array<EvpPkeyPtr, 3> ocsp_keys;
    X509Ptr link_from_previous;  // the previous root key certifies this root's public key
    X509Ptr link_to_previous;    // this root key certifies the previous root's public key
  };

  // Guards `generations` and every use of a key (a PKCS#11 handle is one thread's at a time).
  // Never held while waiting for the writer: the writer's jobs take it to sign CRLs.
  mutable std::mutex mu;
  // Serialises published_crl's decisions to make a new list (never held with mu while waiting).
  std::mutex publish_mu;
  // The time-stamp authority in use (time_stamp_authority), guarded by tsa_mu (taken before mu).
  std::mutex tsa_mu;
  std::shared_ptr<const TimeStampAuthority> tsa;
  LgpkiCertificate tsa_certificate;
  // The linkage platform's message-signing key in use (message_signer), guarded by signer_mu.
  std::mutex signer_mu;
  std::shared_ptr<const LgpkiOwnKey> signer;
  std::vector<std::unique_ptr<Generation>> generations;  // oldest first; the last issues
  // The OCSP responder over all of them, or null until asked for (guarded by mu; reset by
  // new_generation). Declared after `generations`: destroyed before the keys it signs with.
  std::shared_ptr<OcspResponder> ocsp;
  // tick() (lgpki_ocsp.cpp): the newest revoked_at seen (-1 before the first), and the serials
  // refreshed with a revoked_at within kTickSlack of it.
  static constexpr int64_t kTickSlack = 60;
  std::mutex tick_mu;
  int64_t ticked_at = -1;
  std::map<std::string, int64_t> ticked;

  Impl(store::Pool& p, store::Writer& w, KeyStore& k, LgpkiOptions o)
      : pool(p), writer(w), keys(k), options(std::move(o)) {}

  int64_t now() const;
  // The key of `ca`, decrypted at its first use, not when the authority opens: most commands and
  // a server that issues nothing sign with none of them (callers hold mu).
  Result<EVP_PKEY*> key_of(Ca& ca) {
    if (!ca.key) {
      JLIS_ASSIGN_OR_RETURN(ca.key, keys.load(ca.label));
    }
    return ca.key.get();
  }
  // Generation `n`, or null (callers hold mu).
  Generation* generation(int n) {
    return n >= 1 && static_cast<size_t>(n) <= generations.size() ? generations[static_cast<size_t>(n - 1)].get()
                                                                    : nullptr;
  }
};

// Re-signs the OCSP response of the certificate `serial` (32 hex digits) of issuing CA `ca` of
// `generation`, when a responder exists (lgpki_ocsp.cpp).
void refresh_lgpki_ocsp(LgpkiAuthority::Impl& d, LgpkiCa ca, int generation, const std::string& serial);

// "lgpki-<root|organisation|position|application>-g<n>": the label of a CA key in the KeyStore,
// and the name of the CA in lgpki_authorities is its middle part.
std::string lgpki_key_label(std::string_view ca, int generation);

}  // namespace jlis::pki
