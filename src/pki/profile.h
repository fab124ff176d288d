// The JPKI certificate profile (公的個人認証サービス): what the CA certificates, the delegated OCSP
// responder certificates and the two kinds of end-entity certificate contain. Every certificate is
// X.509 v3, RSA-2048, signed with sha256WithRSAEncryption.
//
//   CA (per kind)          subject C=JP, O=JPKI, OU=<kind's OU>, OU=Japan Agency for Local Authority
//                          Information Systems; self-signed; basicConstraints CA:TRUE (critical);
//                          keyUsage keyCertSign, cRLSign (critical); subject key identifier.
//   OCSP responder         issued by its CA; extendedKeyUsage OCSPSigning; id-pkix-ocsp-nocheck;
//                          keyUsage digitalSignature (critical).
//   signature (署名用)      keyUsage digitalSignature, nonRepudiation (critical); the basic four in
//                          subjectAltName otherName values (below); the kind's certificate policy;
//                          CRL distribution point and OCSP access location under the public URL.
//   authentication (利用者証明用)
//                          keyUsage digitalSignature (critical); extendedKeyUsage clientAuth; no
//                          personal data at all; policy, CRL DP and OCSP as above.
// CRL distribution points: the authentication certificate names the CA's full CRL
// (<url>/crl/authentication.crl), which says nothing about the holder. The signature certificate
// names the partition of its municipality (RFC 5280 §5.2.5; crl_partition_name below): one
// DistributionPoint whose fullName is the directoryName
//   <the CA's subject>, OU=CRL Distribution Points, OU=<prefecture in romaji>, CN=<municipality code>
// and the URI <url>/crl/signature/<municipality code>.crl. The municipality is the one the subject's
// localities name; the code (6 digits with its check digit), not the romaji, names the partition,
// because two municipalities may share a romaji name (江差町 and 枝幸町 are both Esashi-cho).
// End-entity subjects, as real JPKI user certificates carry them (no O: the CA's organisation,
// JPKI or the simulation's JPKI-TEST, is in the issuer name only):
//   signature       C=JP, L=<prefecture>, L=<municipality>, CN=<issuance identifier>
//                   the localities name where the certificate was issued, the holder's
//                   municipality then, in romaji (common/romaji.h): "L=Tokyo-to, L=Kiyose-shi";
//   authentication  C=JP, CN=<issuance identifier>: no locality, it must not say where the holder
//                   lives.
// The issuance identifier (issuance_identifier below) is derived from the serial and the day the
// validity starts: nothing personal. Smartphone certificates (移動端末設備用) are the same two
// kinds under their own policies.
//
// The basic four (基本4情報) in subjectAltName, each an otherName whose type-id is under
// 1.2.392.200149.8.5.5 and whose value is a UTF8String:
//   .1 name (氏名)                       .2 the name with variant characters replaced by their
//   .3 sex: "1" male, "2" female            standard forms (代替文字, fold_variants in common/text.h)
//   .4 date of birth: era digit (1 明治 … 5 令和) + Gregorian YYYYMMDD, e.g. "319800115"
//   .5 address (住所)                     .6 the address with variant characters replaced
//
// Certificate policies (J-LIS's arc 1.2.392.200149.8.5.1; the numbers after it are this
// implementation's): signature card .1.1.10, authentication card .1.3.10, signature smartphone
// .1.1.30, authentication smartphone .1.3.30.
#pragma once

#include <cstdint>
#include <string>

#include "common/date.h"
#include "common/romaji.h"
#include "common/status.h"
#include "pki/openssl.h"
#include "registry/resident.h"

namespace jlis::pki {

// The two certification authorities of JPKI.
enum class CertificateKind { signature, authentication };
// Where the end-entity key lives.
enum class Device { card, smartphone };

std::string_view kind_name(CertificateKind kind);  // "signature", "authentication"
Result<CertificateKind> parse_kind(std::string_view text);
std::string_view device_name(Device device);  // "card", "smartphone"

inline constexpr const char* kBasicFourArc = "1.2.392.200149.8.5.5";

// The basic four as the signature certificate carries them (values of .1 to .6).
struct BasicFourValues {
  std::string name, name_substitute, sex, date_of_birth, address, address_substitute;
  bool operator==(const BasicFourValues&) const = default;
};
// From the register's record, with the address certified_address() gives.
Result<BasicFourValues> basic_four_values(const registry::Resident& resident);
// The address a signature certificate carries: the domestic one, or the address abroad for a
// resident abroad.
const std::string& certified_address(const registry::Resident& resident);

struct CaCertificateParams {
  CertificateKind kind = CertificateKind::signature;
  EVP_PKEY* key = nullptr;  // the CA's key pair (signs itself)
  int64_t not_before = 0, not_after = 0;
  bool test_hierarchy = false;  // O=JPKI-TEST (a simulation) instead of O=JPKI
};
Result<X509Ptr> make_ca_certificate(const CaCertificateParams& params);

struct ResponderCertificateParams {
  X509* ca = nullptr;
  EVP_PKEY* ca_key = nullptr;
  EVP_PKEY* responder_public_key = nullptr;
  int64_t not_before = 0, not_after = 0;
  std::string serial_hex;  // unpredictable, from new_serial()
};
Result<X509Ptr> make_responder_certificate(const ResponderCertificateParams& params);

struct EndEntityParams {
  CertificateKind kind = CertificateKind::signature;
  Device device = Device::card;
  X509* ca = nullptr;
  EVP_PKEY* ca_key = nullptr;
  std::string_view rsa_public_key;  // RSAPublicKey DER (rsa_public_key_from_pem), from the card or smartphone
  std::string serial_hex;
  int64_t not_before = 0, not_after = 0;
  std::string public_url;  // "http://127.0.0.1:8080": CRL DP <url>/crl/<kind>.crl, OCSP <url>/ocsp
  const BasicFourValues* basic_four = nullptr;  // signature only (required there)
  const RomajiLocality* locality = nullptr;     // signature only (required there): where it is issued
  std::string_view municipality_code = {};     // signature only (required there): its CRL partition
  // The name of the issuing generation's CRLs (ca_internal.h crl_name): "signature",
  // "signature-g2"...; empty: kind_name(kind). The CRL DP is <url>/crl/<name>.crl, or for a
  // signature certificate <url>/crl/<name>/<code>.crl.
  std::string crl_name = {};
};
// The DER of the signed end-entity certificate: subject C=JP (a signature certificate then its
// locality's prefecture and municipality as L, L), CN issuance_identifier(); the issuer the CA's
// subject; extensions keyUsage, (authentication: extKeyUsage clientAuth), certificatePolicies,
// cRLDistributionPoints (signature: its municipality's partition), authorityInfoAccess (OCSP),
// authorityKeyIdentifier, (signature: subjectAltName with the basic four), subjectKeyIdentifier;
// sha256WithRSAEncryption by the CA's RSA key. Assembled as DER from parts OpenSSL encodes once
// per CA (the issuer and the shared extensions) and the holder's own, which costs a fraction of
// building OpenSSL's objects for each certificate; tests/pki/end_entity_der_test.cpp compares it
// byte for byte with the same certificate built from OpenSSL's objects. internal for parameters
// the CA never passes (a signature certificate without its basic four, a CA key that is not RSA),
// invalid_argument for a bad serial or time.
Result<std::string> make_end_entity_der(const EndEntityParams& params);

// The directoryName of the CRL partition of the municipality `municipality_code` (6 digits) in the
// prefecture `prefecture` (romaji) under the CA `ca` (profile above).
Result<X509NamePtr> crl_partition_name(const X509* ca, std::string_view prefecture, std::string_view municipality_code);
// "<public_url>/crl/<crl_name>/<municipality_code>.crl": where that partition is served
// (crl_name "signature" for the first generation of the signature CA).
std::string crl_partition_url(std::string_view public_url, std::string_view crl_name,
                              std::string_view municipality_code);

// A link certificate between two generations of one CA (ca.h, new_generation): `subject_ca`'s
// public key and name, certified by `issuer_ca`'s key (`issuer_key`): issuer = subject = the CA's
// name, authorityKeyIdentifier = the issuer's subjectKeyIdentifier, subjectKeyIdentifier = the
// subject's; basicConstraints CA:TRUE and keyUsage keyCertSign, cRLSign, both critical.
struct LinkCertificateParams {
  X509* issuer_ca = nullptr;
  EVP_PKEY* issuer_key = nullptr;
  X509* subject_ca = nullptr;
  int64_t not_before = 0, not_after = 0;
};
Result<X509Ptr> make_link_certificate(const LinkCertificateParams& params);

// The CN of an end-entity certificate (発行番号): the day its validity starts, in Japan, as
// YYYYMMDD, then the first 16 hex digits (upper case) of SHA-256 over the serial's text (32
// lower-case hex digits), e.g. "202612026215B668D05B7381". Stable (the same certificate always
// gives the same identifier, so an operator can recompute it from the register), the same length
// for every certificate, carries nothing about the holder, and is not the serial itself, which
// relying parties read from its own field.
std::string issuance_identifier(std::string_view serial_hex, int64_t not_before);

// A fresh unpredictable serial: 16 bytes from OpenSSL's DRBG, the top bit cleared and the first
// nibble never zero, so every serial is positive and exactly 32 hex digits long (which makes text
// order equal numeric order). That leaves 126.75 bits of entropy (at least 126 bits of
// min-entropy: no serial is likelier than 2^-126), well above the 64 bits CA/B BR 7.1 asks for.
Result<std::string> new_serial();

}  // namespace jlis::pki
