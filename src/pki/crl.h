// Certificate revocation lists (RFC 5280 §5): a full CRL of one CA, built from its revoked
// certificates and signed with the CA's key. Revocation reasons are RFC 5280 CRLReason codes; the
// table that maps JPKI events to them is in ca.h.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "pki/openssl.h"

namespace jlis::pki {

// RFC 5280 CRLReason. `unspecified` is written as no reasonCode entry extension (§5.3.1 SHOULD).
enum class RevocationReason : int {
  unspecified = 0,
  key_compromise = 1,
  ca_compromise = 2,
  affiliation_changed = 3,
  superseded = 4,
  cessation_of_operation = 5,
  certificate_hold = 6,
  remove_from_crl = 8,
  privilege_withdrawn = 9,
  aa_compromise = 10,
};
// "unspecified", "keyCompromise", ... as RFC 5280 spells them; parse accepts those names only.
std::string_view reason_name(RevocationReason reason);
Result<RevocationReason> parse_reason(std::string_view name);

struct RevokedEntry {
  std::string serial;       // big-endian magnitude bytes of the serial (no sign byte), non-empty
  int64_t revoked_at = 0;   // seconds since the Unix epoch
  RevocationReason reason = RevocationReason::unspecified;
};

struct CrlParams {
  X509* issuer = nullptr;     // the CA certificate (issuer name, authority key identifier)
  EVP_PKEY* key = nullptr;    // the CA's private key; signs with SHA-256
  int64_t this_update = 0;    // seconds since the epoch
  int64_t next_update = 0;
  int64_t crl_number = 1;     // the cRLNumber extension, increasing per CA
};

// Builds and signs a v2 CRL listing `entries` (any order; duplicates are a caller bug), with the
// authorityKeyIdentifier and cRLNumber extensions, entries sorted by serial. Answers its DER.
Result<std::string> build_crl(const CrlParams& params, const std::vector<RevokedEntry>& entries);

}  // namespace jlis::pki
