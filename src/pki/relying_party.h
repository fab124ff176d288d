// What a relying party checks of someone else's certificate, in one place: its chain to trusted
// roots at a given time, its status by OCSP (RFC 6960) with the answer's signature, subject and
// age checked, and a CA's place in a revocation list (RFC 5280 §6.3: an ARL). Used by the card
// log-ins (card_login.h: JPKI's authentication certificates) and by the linkage platform for the
// bodies' signing certificates (LGPKI's).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <openssl/x509_vfy.h>

#include "common/status.h"
#include "pki/openssl.h"

namespace jlis::pki {

using X509StorePtr = std::unique_ptr<X509_STORE, OpensslDeleter<X509_STORE_free>>;

// A store trusting exactly `roots`. internal when OpenSSL fails.
Result<X509StorePtr> trust_store_of(const std::vector<X509*>& roots);

// `cert`'s chain in `store` at `now` (seconds since the epoch), with `untrusted` as further
// intermediates: X509_V_OK and the issuer's certificate, or why no chain verifies (X509_V_ERR_*:
// expired, not yet valid, unknown issuer, a bad signature...; X509_verify_cert_error_string says
// it in words). internal only when OpenSSL itself fails.
struct ChainCheck {
  int error = X509_V_OK;
  X509Ptr issuer;  // when error is X509_V_OK
};
Result<ChainCheck> verify_chain(X509_STORE* store, X509* cert, const std::vector<X509*>& untrusted, int64_t now);

// The DER OCSPRequest for `cert` issued by `issuer` (a SHA-1 CertID, as RFC 5019 clients send).
Result<std::string> ocsp_request_for(X509* cert, X509* issuer);

struct OcspCheck {
  enum class Status { good, revoked, unknown };
  Status status = Status::unknown;
  int reason = -1;           // the CRL reason of a revoked certificate (OCSP_REVOKED_STATUS_*), or -1
  int64_t this_update = 0;   // seconds since the epoch
  int64_t next_update = 0;   // 0 when the answer has none
};

// Reads the DER OCSPResponse `der` about `cert` (issued by `issuer`): successful, signed by a
// responder `store` trusts (the issuer itself or its delegate), naming the certificate, and current
// at `now` (thisUpdate not more than 5 minutes ahead, nextUpdate not passed). The status
// `unauthorized` (the responder does not serve the certificate) reads as `unknown`, with no times.
// unavailable, saying why, for an answer that says nothing usable (another error status such as
// tryLater, a bad signature, another certificate, out of date).
Result<OcspCheck> read_ocsp_answer(std::string_view der, X509* cert, X509* issuer, X509_STORE* store, int64_t now);

// Whether the CRL `der` (DER; an ARL when `cert` is a CA) lists `cert`: the list must be issued and
// signed by `crl_issuer` (its name and key) and current at `now` (thisUpdate not more than 5
// minutes ahead, nextUpdate, when it has one, not passed). unavailable, saying why, for a list that
// is not all of that.
Result<bool> crl_lists(std::string_view der, X509* cert, X509* crl_issuer, int64_t now);

}  // namespace jlis::pki
