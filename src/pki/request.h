// Certification requests: how a card or a smartphone proves, at the window, that it holds the
// private key of the public key it asks the CA to certify.
//
// A request is a PKCS#10 CertificationRequest (RFC 2986), PEM ("CERTIFICATE REQUEST") or DER,
// signed with sha256WithRSAEncryption by the key it carries (the proof of possession) and carrying
// a one-time challenge of the CA in its PKCS#9 challengePassword attribute (so a request, once
// used, cannot be replayed; see CertificateAuthority::new_issuance_challenge). The subject name and
// any other attribute are ignored: the CA writes the certificate's contents from the register.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"
#include "pki/openssl.h"

namespace jlis::pki {

struct CertificationRequest {
  std::string der;                 // the request, DER
  RsaPublicKeyDer key;             // the key it asks to certify (RSA-2048)
  std::string challenge_password;  // its challengePassword attribute; empty when it has none
};

// Parses a request, PEM or DER (at most 64 KiB), checks that it is signed with
// sha256WithRSAEncryption by its own RSA-2048 key, and reads the key and the challengePassword.
// invalid_argument, with the reason, for anything else. The one parser of requests: a fuzz target
// may call it with any bytes. Thread-safe.
Result<CertificationRequest> parse_certification_request(std::string_view pem_or_der);

// A request (PEM) for `key`'s public key with the subject CN=`common_name`, signed by `key` with
// sha256WithRSAEncryption: how a key made in the key store is put to a CA. internal on failure.
Result<std::string> make_certification_request(EVP_PKEY* key, const std::string& common_name);

// A SubjectPublicKeyInfo DER as PEM ("PUBLIC KEY").
std::string spki_pem(std::string_view spki_der);

}  // namespace jlis::pki
