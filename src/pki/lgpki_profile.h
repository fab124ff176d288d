// The LGPKI certificate profile (地方公共団体組織認証基盤): what the root, the issuing CAs and the
// four kinds of end-entity certificate contain. Every certificate is X.509 v3, RSA-2048 (the key
// policy of pki/key_policy.h, shared with JPKI), signed with sha256WithRSAEncryption. The CA side
// (store, keys, issuance, revocation, CRLs, generations) is lgpki.h.
//
//   root (ルート / ブリッジ)     C=JP, O=LGPKI, OU=Root CA; self-signed; basicConstraints CA:TRUE
//                               (critical); keyUsage keyCertSign, cRLSign (critical); SKI. Every
//                               generation has the same name, told apart by its key identifiers;
//                               link certificates join consecutive generations (profile.h,
//                               make_link_certificate, as JPKI's).
//   issuing CA                  C=JP, O=LGPKI, OU=<Organization CA | Position CA | Application CA>;
//                               issued by the root of its generation; basicConstraints CA:TRUE,
//                               pathlen:0 (critical); keyUsage keyCertSign, cRLSign (critical);
//                               SKI, AKI; CRL DP <url>/lgpki/crl/<arl name>.crl (the ARL, which
//                               lists revoked issuing CAs); AIA caIssuers <url>/lgpki/ca/<root>.cer.
//
// End-entity certificates. Common to all: basicConstraints CA:FALSE (critical), SKI, AKI, the
// profile's certificate policy, CRL DP <url>/lgpki/crl/<issuing CA crl name>.crl, AIA caIssuers
// <url>/lgpki/ca/<issuing CA crl name>.cer and OCSP <url>/lgpki/ocsp (not served yet: lgpki.h).
// Subjects begin C=JP, O=LGPKI, OU=<municipality code>, OU=<organisation> (the local government,
// e.g. 清瀬市), then:
//   profile          issuing CA     subject (after the above)        keyUsage (critical)          EKU
//   organisation     organisation   [OU=<unit>,] CN=<common name>     digitalSignature,            clientAuth,
//   (組織)                                                            keyEncipherment              emailProtection
//   position         position       title=<position, e.g. 市長>,      digitalSignature,            documentSigning,
//   (職責)                          CN=<common name or position>      nonRepudiation               emailProtection,
//                                                                                                  clientAuth
//   application      application    [OU=<unit>,] CN=<first DNS name>  digitalSignature,            serverAuth
//   server                          + subjectAltName dNSName each     keyEncipherment
//   document         organisation   [OU=<unit>,] CN=<common name>     digitalSignature,            documentSigning,
//   signing                                                           nonRepudiation               emailProtection
// Document signing carries both id-kp-documentSigning (1.3.6.1.5.5.7.3.36, RFC 9336: what the
// certificate is for) and id-kp-emailProtection: NSS, which poppler's pdfsig verifies PDF
// signatures with, checks a signer for the email-signer usage and refuses a certificate whose EKU
// lacks emailProtection; the position certificate signs documents too (the mayor's seal) and
// carries the same pair.
//
// The time-stamp authority's certificate (time-stamping) is J-LIS's own, never a local
// government's (LgpkiAuthority::time_stamp_authority makes it; the workflow cannot ask for one):
//   time-stamping    application    C=JP, O=LGPKI, OU=Time-Stamping   digitalSignature,            timeStamping
//                                   Authority, CN=<common name>       nonRepudiation               (critical)
// with the rest as above (policy, CRL DP, AIA with OCSP), as RFC 3161 §2.3 asks.
// The information-linkage platform's message-signing certificate (message-signing) is J-LIS's own
// too (LgpkiAuthority::message_signer makes it): what the platform signs its answers to the bodies
// with (linkage/signatures.h):
//   message          organisation   C=JP, O=LGPKI, OU=Information-   digitalSignature,            emailProtection
//   signing                         Linkage Platform, CN=<name>       nonRepudiation
// (emailProtection: CMS signatures' purpose, as the bodies' organisation certificates carry.)
//
// Certificate policies: this implementation's arc under J-LIS's, 1.2.392.200149.8.6.1 (not the
// values real LGPKI certificates carry): organisation .1, position .2, application server .3,
// document signing .4, time-stamping .5 (also the TSA policy its time-stamps name), message signing .6.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "pki/openssl.h"

namespace jlis::pki {

// The issuing CAs under the root (each generation has one of each).
enum class LgpkiCa { organisation, position, application };
// The kinds of end-entity certificate.
enum class LgpkiProfile {
  organisation,
  position,
  application_server,
  document_signing,
  time_stamping,
  message_signing
};
// J-LIS's own profiles: no local government is issued one (check_lgpki_subject).
inline bool lgpki_jlis_own(LgpkiProfile p) {
  return p == LgpkiProfile::time_stamping || p == LgpkiProfile::message_signing;
}

std::string_view lgpki_ca_name(LgpkiCa ca);  // "organisation", "position", "application"
Result<LgpkiCa> parse_lgpki_ca(std::string_view text);
// "organisation", "position", "application-server", "document-signing", "time-stamping",
// "message-signing"; parse:
// invalid_argument for any other name.
std::string_view lgpki_profile_name(LgpkiProfile profile);
Result<LgpkiProfile> parse_lgpki_profile(std::string_view text);
// The issuing CA of each profile (document signing: the organisation CA).
LgpkiCa lgpki_issuer_of(LgpkiProfile profile);
// The profile's certificate policy OID (above).
const char* lgpki_policy_oid(LgpkiProfile profile);
inline constexpr const char* kLgpkiPolicyArc = "1.2.392.200149.8.6.1";
inline constexpr const char* kDocumentSigningEku = "1.3.6.1.5.5.7.3.36";

// The names of a generation's CRLs and certificates in URLs: "organisation" and "arl" for the
// first generation, "organisation-g2" and "arl-g2" after; the root's certificate "root", "root-g2".
std::string lgpki_crl_name(LgpkiCa ca, int generation);
std::string lgpki_arl_name(int generation);
std::string lgpki_root_name(int generation);

// Who the certificate is for. Which fields a profile needs: check_lgpki_subject.
struct LgpkiSubject {
  std::string municipality_code;  // 6 digits with the check digit (common/identifiers.h); time-stamping: none
  std::string organisation;       // the local government: "清瀬市"; time-stamping: none
  std::string unit = {};          // optional OU: a department, "総務部情報政策課"
  std::string position = {};      // position only (required there): "市長"
  std::string common_name = {};   // required for organisation and document signing; optional for position
  std::vector<std::string> dns_names = {};  // application server only (required there, at least one)
};
// invalid_argument, naming the field, unless `subject` suits `profile` (itself one of the five): a
// valid municipality code and an organisation (time-stamping: neither, only a common name); the
// fields the profile needs; none it does not take (a position outside the position profile, DNS
// names outside the server profile); every text 1..64 characters without
// control characters; DNS names lower-case LDH labels (a leading "*." is refused), at most 253
// characters, at least two labels.
Status check_lgpki_subject(LgpkiProfile profile, const LgpkiSubject& subject);

// A name as RFC 2253 text with UTF-8 left as it is ("CN=清瀬市長,title=市長,OU=清瀬市,...",
// most specific first): how the register and the tests show subjects.
std::string lgpki_name_text(const X509_NAME* name);

struct LgpkiRootParams {
  EVP_PKEY* key = nullptr;  // signs itself
  int64_t not_before = 0, not_after = 0;
};
Result<X509Ptr> make_lgpki_root(const LgpkiRootParams& params);

struct LgpkiIssuingCaParams {
  LgpkiCa ca = LgpkiCa::organisation;
  X509* root = nullptr;
  EVP_PKEY* root_key = nullptr;
  int root_generation = 1;  // names its ARL and certificate in the URLs
  EVP_PKEY* public_key = nullptr;  // the issuing CA's
  int64_t not_before = 0, not_after = 0;
  std::string public_url;
};
Result<X509Ptr> make_lgpki_issuing_ca(const LgpkiIssuingCaParams& params);

struct LgpkiCertificateParams {
  LgpkiProfile profile = LgpkiProfile::organisation;
  const LgpkiSubject* subject = nullptr;  // checked by check_lgpki_subject first
  X509* ca = nullptr;                     // the issuing CA (lgpki_issuer_of the profile)
  EVP_PKEY* ca_key = nullptr;
  std::string ca_crl_name;                // lgpki_crl_name of that CA and generation
  std::string_view rsa_public_key;        // RSAPublicKey DER, checked by the key policy
  std::string serial_hex;                 // new_serial()
  int64_t not_before = 0, not_after = 0;
  std::string public_url;
};
Result<X509Ptr> make_lgpki_certificate(const LgpkiCertificateParams& params);

}  // namespace jlis::pki
