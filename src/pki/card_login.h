// A card's log-in (利用者証明用電子証明書によるログイン), as a relying party verifies it: the card, after
// its PIN, signs a challenge the server made with its user-authentication key (RSA PKCS#1 v1.5,
// SHA-256), and presents the certificate with the signature. One place for every relying party of
// this process (the kiosk centre, the resident's own page):
//
//   1. CardAuthenticator::verify, before any write: the signature with the certificate's key over
//      the challenge's bytes; the chain to the JPKI authentication CA (any of its generations) at
//      the caller's time; the status by OCSP (a request for the certificate put to the CA's
//      responder, the answer's signature checked against the CA: on hold, revoked, unknown or
//      expired is refused).
//   2. check_register, in the writer transaction that records the log-in (DESIGN.md: a check made
//      before queuing the write is a race): the certificate must be the register's byte for byte, a
//      user-authentication certificate, good at that instant. A card suspended, or a certificate
//      revoked, between the two steps is refused here.
//
// Refusals are permission_denied statuses made by refused(), with one of the reasons below; the
// routes answer them as 403 {"error", "refusal": {"reason", "message"}}.
// Thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"
#include "pki/ca.h"
#include "store/database.h"

namespace jlis::pki {

// A refusal with a reason code the caller shows (HTTP 403 with {"refusal": {"reason", "message"}}).
Status refused(std::string_view reason, std::string message);
// The reason of a refused() status; "" for any other status.
std::string refusal_reason(const Status& status);

// Refusal reasons of a log-in.
inline constexpr std::string_view kRefusedSignature = "signature_invalid";        // not the challenge's signature
inline constexpr std::string_view kRefusedNotAuthentication = "not_authentication_certificate";
inline constexpr std::string_view kRefusedUntrusted = "untrusted_certificate";    // no chain to the JPKI CA
inline constexpr std::string_view kRefusedUnknown = "unknown_certificate";        // not in the register
inline constexpr std::string_view kRefusedOnHold = "certificate_on_hold";
inline constexpr std::string_view kRefusedRevoked = "certificate_revoked";
inline constexpr std::string_view kRefusedExpired = "certificate_expired";

// What a log-in presents, after its signature, chain and OCSP status were verified.
struct VerifiedLogin {
  std::string challenge;        // the challenge the signature covers (base64, as the server made it)
  std::string certificate_der;  // the certificate presented
  std::string serial;           // its serial (lower-case hex)
};

class CardAuthenticator {
 public:
  // `ca` is not owned and must outlive this. Its published CA certificates are read at the first
  // verification (a new CA generation is published by a restart: ca.h).
  explicit CardAuthenticator(CertificateAuthority& ca);
  ~CardAuthenticator();
  CardAuthenticator(const CardAuthenticator&) = delete;
  CardAuthenticator& operator=(const CardAuthenticator&) = delete;

  // Step 1 at `now` (seconds since the epoch). `challenge` is the base64 the server issued,
  // `certificate_pem` the card's user-authentication certificate, `signature_base64` the card's
  // signature over the challenge's bytes. Errors: invalid_argument (not a PEM certificate, not
  // base64), refused() with the reasons above, unavailable (the responder could not answer).
  Result<VerifiedLogin> verify(const std::string& challenge, const std::string& certificate_pem,
                               const std::string& signature_base64, int64_t now);

  // Step 2, on the writer's connection of the transaction that records the log-in: the register's
  // record of the certificate (its holder is record.resident_code), or refused().
  static Result<CertificateRecord> check_register(store::Connection& conn, const VerifiedLogin& login, int64_t now);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace jlis::pki
