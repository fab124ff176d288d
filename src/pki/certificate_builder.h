// The small steps every certificate of the CAs is built from (profile.cpp: JPKI; lgpki_profile.cpp:
// LGPKI), in one place so both profiles build their certificates the same way. Private to src/pki.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"
#include "pki/openssl.h"

namespace jlis::pki::build {

// Appends `field`=`value` (UTF-8) to `name`.
Status add_entry(X509_NAME* name, const char* field, const std::string& value);

// The public key of a certificate: an EVP_PKEY, or the RSAPublicKey DER copied in as it is.
struct PublicKey {
  EVP_PKEY* key = nullptr;
  std::string_view rsa_der = {};
};
Status set_public_key(X509* cert, const PublicKey& pk);

// A certificate with version 3, serial, validity, subject, issuer and public key set.
Result<X509Ptr> skeleton(const std::string& serial_hex, int64_t not_before, int64_t not_after, X509_NAME* subject,
                         X509_NAME* issuer, const PublicKey& public_key);

// Adds an extension from its OpenSSL configuration text ("critical,digitalSignature"); `issuer`
// gives the authorityKeyIdentifier.
Status add_ext(X509* cert, X509* issuer, int nid, const std::string& value);

// certificatePolicies with one policy OID.
Status add_policy(X509* cert, const char* oid);

// Signs with SHA-256.
Status sign(X509* cert, EVP_PKEY* key);

// A self-signed CA certificate of `key` named `name` (a JPKI CA, an LGPKI root): a fresh serial,
// basicConstraints CA:TRUE and keyUsage keyCertSign, cRLSign (both critical), subject key id.
Result<X509Ptr> self_signed_ca(X509_NAME* name, int64_t not_before, int64_t not_after, EVP_PKEY* key);

}  // namespace jlis::pki::build
