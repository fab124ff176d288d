// RFC 3161 time-stamps (タイムスタンプ): a time-stamp authority that answers TimeStampReq with
// TimeStampResp, and the client's two halves (make a query over some data, take the token out of
// an answer). What the signed documents' PAdES signatures carry (pdf_signature.h): a time-stamp
// over the signature value, so a verifier knows the signature existed at that time even after the
// signer's certificate expires or is revoked.
//
// The authority signs with SHA-256 and its certificate must carry extendedKeyUsage timeStamping,
// critical (RFC 3161 §2.3); every answer names its certificate by an ESS signing-certificate-v2
// (SHA-256) and, when the query asks (certReq), carries it and the chain given. Queries over
// SHA-256, SHA-384 and SHA-512 digests are answered; others are rejected (badAlg), as are queries
// OpenSSL cannot parse (badDataFormat) — a rejection is an answer, not an error. Serial numbers are
// 128 random bits. The time (genTime) is the caller's, to the second, with an accuracy of one
// second.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "pki/openssl.h"

namespace jlis::pki {

class TimeStampAuthority {
 public:
  // `cert_pem` and `key_pem`: the authority's certificate and private key; `chain_pem`: the
  // certificates above it, sent when a query asks; `policy`: the TSA policy answered when the query
  // names none (dotted OID). invalid_argument when the certificate is not a time-stamping one (no
  // critical timeStamping EKU), the key does not match it, or the policy is not an OID.
  static Result<TimeStampAuthority> make(std::string_view cert_pem, std::string_view key_pem,
                                         const std::vector<std::string>& chain_pem, std::string policy);
  // The same with the objects (a key from the KeyStore: keys.h).
  static Result<TimeStampAuthority> make(X509Ptr cert, EvpPkeyPtr key, std::vector<X509Ptr> chain, std::string policy);

  // The TimeStampResp (DER) to a TimeStampReq (DER), with genTime `now` (Unix seconds). Granted,
  // or a rejection whose status says why; an error only when OpenSSL itself fails.
  Result<std::string> respond(std::string_view query_der, int64_t now) const;

  X509* certificate() const { return cert_.get(); }

 private:
  TimeStampAuthority() = default;
  X509Ptr cert_;
  EvpPkeyPtr key_;
  std::vector<X509Ptr> chain_;
  std::string policy_;
};

// A TimeStampReq (DER) for `data`: its SHA-256, a random nonce, certReq true.
Result<std::string> timestamp_query(std::string_view data);

// The TimeStampToken (a CMS ContentInfo, DER) of a TimeStampResp (DER) that answers `query`:
// unavailable with the authority's status text when it was not granted; invalid_argument
// when the answer is malformed, or its nonce or message imprint is not the query's.
Result<std::string> timestamp_token(std::string_view response_der, std::string_view query_der);

// Verifies a TimeStampToken (DER) over `data`: its signature by a time-stamping certificate that
// chains to one of `trusted` (the certificates the token carries are the only intermediates), and
// its message imprint, the hash of `data`; the chain is checked at the token's own genTime, so a
// stamp made while the authority's certificate was valid verifies after it expired. Answers the
// genTime (Unix seconds).
// invalid_argument when the token is not one or does not verify.
Result<int64_t> verify_timestamp_token(std::string_view token_der, std::string_view data,
                                       const std::vector<X509*>& trusted);

}  // namespace jlis::pki
