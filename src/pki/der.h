// DER written directly, for the hot paths that assemble a signed object from parts encoded once
// (a CRL from its entries, crl.cpp; an end-entity certificate from its CA's shared parts,
// profile.cpp), and the SHA-256 signing of src/pki. Each assembly has a reference built from
// OpenSSL's objects that its tests compare byte for byte. Private to src/pki.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "pki/openssl.h"

namespace jlis::pki::der {

// Identifier octets (class, constructed bit and tag number in one octet) of the elements written here.
inline constexpr unsigned char kInteger = 0x02, kBitString = 0x03, kOctetString = 0x04, kUtf8String = 0x0c,
                               kUtcTime = 0x17, kGeneralizedTime = 0x18, kSequence = 0x30, kSet = 0x31,
                               kContext0 = 0xa0, kContext3 = 0xa3;

// Appends the identifier octet and the definite length octets of an element of `content_length`
// content octets (X.690 §8.1.3: one octet below 128, else 0x80 | n and n big-endian octets).
void append_header(std::string& out, unsigned char identifier, size_t content_length);

// Appends a whole element: header and `content`.
void append(std::string& out, unsigned char identifier, std::string_view content);

// The whole element, header and `content`.
std::string element(unsigned char identifier, std::string_view content);

// The content octets of an INTEGER of the non-negative number `hex` (1 to 40 hex digits): minimal
// big-endian, with a leading zero octet when the first bit is set. invalid_argument for other text.
Result<std::string> integer_content(std::string_view hex);

// A certificate's Time (RFC 5280 §4.1.2.5): UTCTime YYMMDDHHMMSSZ for 1950 to 2049, GeneralizedTime
// YYYYMMDDHHMMSSZ otherwise (what ASN1_TIME_set chooses). invalid_argument outside years 0 to 9999.
Result<std::string> time_element(int64_t unix_seconds);

// A context that signs SHA-256 digests with `key` (EVP_DigestSignInit): for OpenSSL's own signing
// of a CRL or an OCSP response (X509_CRL_sign_ctx, OCSP_basic_sign_ctx), and sha256_signature's.
Result<EvpMdCtxPtr> sha256_signer(EVP_PKEY* key);

// The signature of SHA-256 over the concatenation of `pieces` with `key`, streaming (EVP_DigestSign).
Result<std::string> sha256_signature(EVP_PKEY* key, const std::vector<std::string_view>& pieces);

}  // namespace jlis::pki::der
