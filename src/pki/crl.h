// Certificate revocation lists (RFC 5280 §5): a full CRL of one CA, built from its revoked
// certificates and signed with the CA's key. Revocation reasons are RFC 5280 CRLReason codes; the
// table that maps JPKI events to them is in ca.h.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
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
  // A full CRL: when not empty, a freshestCRL extension (RFC 5280 §5.2.6) with this URL, where
  // the delta CRLs are published.
  std::string freshest_crl_url;
  // A delta CRL (RFC 5280 §5.2.4): the cRLNumber of its base CRL, as the critical
  // deltaCRLIndicator extension.
  std::optional<int64_t> delta_base;
  // A partition of the CA's CRL (RFC 5280 §5.2.5): when `idp_url` is not empty, a critical
  // issuingDistributionPoint whose distributionPoint is the fullName {directoryName
  // `idp_directory_name` (when not null), URI `idp_url`} (distribution_point_names: exactly what
  // the certificates of the partition carry in their cRLDistributionPoints) with
  // onlyContainsUserCerts. Not owned: the caller keeps the name alive while the CRL is built.
  const X509_NAME* idp_directory_name = nullptr;
  std::string idp_url;
};

using GeneralNamesPtr = std::unique_ptr<GENERAL_NAMES, OpensslDeleter<GENERAL_NAMES_free>>;
// The fullName of a distribution point: the directoryName `name` (skipped when null), then the
// URI `url`. A certificate's cRLDistributionPoints and its partition CRL's
// issuingDistributionPoint are both built from it, so that relying parties (RFC 5280 §6.3.3
// (b)(2)) find the same names in both.
Result<GeneralNamesPtr> distribution_point_names(const X509_NAME* name, const std::string& url);
using CrlDistPointsPtr = std::unique_ptr<CRL_DIST_POINTS, OpensslDeleter<CRL_DIST_POINTS_free>>;
// CRLDistributionPoints (also the freshestCRL syntax) with one distribution point, its fullName
// distribution_point_names(name, url).
Result<CrlDistPointsPtr> distribution_points(const X509_NAME* name, const std::string& url);

// Builds and signs a v2 CRL listing `entries` (any order; duplicates are a caller bug), with the
// authorityKeyIdentifier and cRLNumber extensions (and freshestCRL or deltaCRLIndicator as the
// params say), entries sorted by serial. Answers its DER. Holds every entry as an OpenSSL object:
// the reference for assemble_crl, and fine for small lists.
Result<std::string> build_crl(const CrlParams& params, const std::vector<RevokedEntry>& entries);

// The DER of one CRL entry (the revokedCertificate SEQUENCE: serial, revocationDate, and a
// reasonCode entry extension unless the reason is unspecified), encoded by OpenSSL
// (i2d_X509_REVOKED). invalid_argument for a bad serial, time or reason.
Result<std::string> encode_crl_entry(const RevokedEntry& entry);

// Appends the DER identifier and definite length octets of a constructed universal SEQUENCE
// whose contents are `content_length` bytes (der::append_header). invalid_argument when
// the length does not fit OpenSSL's int lengths.
Status append_sequence_header(std::string& out, size_t content_length);

// Numeric order of two serials given as big-endian magnitude bytes (leading zero bytes ignored):
// the order of a CRL's entries. True when a < b.
bool serial_less(std::string_view a, std::string_view b);

// Signs a v2 CRL whose revokedCertificates are `entries_der`: the concatenated DER of the entries
// (from encode_crl_entry), already in increasing serial order without duplicates (the caller's
// promise; not checked). The outer parts of the tbsCertList are OpenSSL's encoding of the same CRL
// without entries; only the SEQUENCE headers around them are written here. Byte for byte what
// build_crl answers for the same entries; the only large buffers are `entries_der` and the answer.
Result<std::string> assemble_crl(const CrlParams& params, std::string_view entries_der);

}  // namespace jlis::pki
