// Detached CAdES signatures (CMS SignedData, RFC 5652, with ESS signing-certificate-v2, RFC 5035):
// the one way this code signs bytes for someone else to check. The PDF seals carry one in
// /Contents (pdf_signature.h); the messages between bodies (the linkage platform's requests and
// answers) travel with one over their canonical bytes, made with the sender's LGPKI certificate.
//
// A signature: SHA-256 with the signer's RSA key; the signer's certificate and its chain embedded;
// the signed attributes content-type, message-digest, signing-time and ESS signing-certificate-v2
// (SHA-256 of the signer's certificate); with a time-stamper, the unsigned attribute
// signature-time-stamp (an RFC 3161 token over the signature value: CAdES-T).
//
// Verification (cades_verify) is OpenSSL's CMS_verify: the digest and the signature over the
// given bytes, the ESS binding to the signer's certificate, and the signer's chain to one of the
// trusted roots at the given time with the S/MIME signing purpose (a certificate with an extended
// key usage must allow emailProtection: the LGPKI organisation, position and document-signing
// certificates do; server and time-stamping ones do not). Whether the signer is revoked is the
// caller's to ask (its CRL or OCSP, with the freshness the caller needs).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "pki/openssl.h"

namespace jlis::pki {

// Who signs: the certificate (keyUsage digitalSignature or nonRepudiation), its private key, and
// the certificates up to (not including) the root, embedded so a verifier can build the chain.
struct CadesSigner {
  X509* certificate = nullptr;
  EVP_PKEY* key = nullptr;
  std::vector<X509*> chain;
};

// Given the signature value, answers an RFC 3161 TimeStampToken (DER) over it
// (timestamp.h: timestamp_query, a time-stamp authority, timestamp_token).
using TimeStamper = std::function<Result<std::string>(std::string_view signature_value)>;

// The detached signature (DER) over `data`, signed at `signing_time` (Unix seconds), time-stamped
// when `stamp` is set. invalid_argument when the key does not match the certificate; the
// time-stamper's own Status when it fails; internal when OpenSSL fails.
Result<std::string> cades_sign(std::string_view data, const CadesSigner& signer, int64_t signing_time,
                               const TimeStamper& stamp = {});

struct CadesVerified {
  X509Ptr signer;             // the signer's certificate, as the signature carries it
  int64_t signing_time = 0;   // its signed signing-time (Unix seconds)
  bool time_stamped = false;  // it carries a signature-time-stamp (not verified here: timestamp.h)
};
// Verifies `signature` (DER) over `data` at `at` (Unix seconds) against `trusted` roots, with
// `untrusted` as further intermediates (link certificates across a root rollover) beside those the
// signature carries. invalid_argument, with OpenSSL's reason, when it is not one signer's detached
// CMS signature, does not verify, or the chain does not.
Result<CadesVerified> cades_verify(std::string_view signature, std::string_view data, const std::vector<X509*>& trusted,
                                   const std::vector<X509*>& untrusted, int64_t at);

}  // namespace jlis::pki
