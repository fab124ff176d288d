// The OCSP responder (RFC 6960, with the RFC 5019 lightweight profile): answers requests about the
// certificates of one or more CAs, each through its delegated responder certificate (extended key
// usage OCSPSigning, id-pkix-ocsp-nocheck).
//
// Responses are pre-produced: the first request for a certificate signs its response and every
// later request is answered with the same bytes until it is refreshed; refresh_due() re-signs the
// responses past half their validity (run on schedule by the refresher thread), and refresh() re-
// signs one certificate's at once (on revocation). A response found past half its validity by a
// request (no refresher, or one that is behind) is re-signed by that request, while concurrent
// requests keep getting the old one as long as it is valid. No nonce is echoed (RFC 5019 §2.2.1:
// responses are pre-produced). A request for several certificates is answered on the fly, uncached.
// A request about a certificate the lookup does not know (a serial never issued, a negative
// serial) answers the unsigned `unauthorized` response (RFC 5019 §2.2.3: the responder is not
// authoritative for it), built once: unknown serials never cost a signature.
//
// The cache holds one response per certificate and CertID as sent (hash algorithm and its
// parameters: the response echoes the CertID), at most four CertIDs per certificate; a
// certificate nobody asked about for a whole validity period is dropped, not re-signed.
//
// Never fails and never throws on bad input: a request that is not DER OCSPRequest (or asks about
// more than 64 certificates) answers malformedRequest; a CertID of an issuer not served here, or
// CertIDs of two issuers in one request, answer unauthorized; a failed status lookup answers
// tryLater (or the cached response, while it is still valid). Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "pki/crl.h"
#include "pki/openssl.h"

namespace jlis::http {
class Server;
}

namespace jlis::pki {

// One CA as the responder serves it. The pointers must outlive the responder.
struct OcspIssuer {
  X509* ca = nullptr;
  X509* responder = nullptr;           // the delegated responder certificate, issued by `ca`
  EVP_PKEY* responder_key = nullptr;   // its private key; signs with SHA-256
};

struct CertificateStatus {
  enum class Kind { good, revoked, unknown };
  Kind kind = Kind::unknown;
  int64_t revoked_at = 0;  // revoked: seconds since the epoch
  RevocationReason reason = RevocationReason::unspecified;
};

// The status of the certificate with `serial_hex` (lower-case, no leading zeros) of issuer number
// `issuer` (its index in the responder's issuer list).
using StatusLookup = std::function<Result<CertificateStatus>(size_t issuer, const std::string& serial_hex)>;

// A DER OCSPResponse with what the HTTP caching headers need.
struct OcspAnswer {
  std::string der;
  bool successful = false;   // false: an error status (malformedRequest, ...), not to be cached
  int64_t produced_at = 0;   // seconds since the epoch (successful only)
  int64_t this_update = 0;
  int64_t next_update = 0;
  // The RFC 5019 caching headers' fixed values, filled by the responder when it signs so that
  // serving a cached answer formats nothing; caching_headers() computes any that are empty.
  std::string etag;           // "\"<hex SHA-256 of der>\""
  std::string last_modified;  // HTTP date of this_update
  std::string expires;        // HTTP date of next_update
};

struct OcspOptions {
  std::chrono::seconds validity{std::chrono::hours(24)};  // nextUpdate - thisUpdate (>= 2 s)
  std::chrono::seconds refresh_period{std::chrono::seconds(60)};  // how often the refresher runs
  std::function<int64_t()> clock = {};  // seconds since the epoch; time(nullptr) when empty (tests)
  // The prefix of the metrics' names (metrics()): one per responder a server runs, so that JPKI's
  // and LGPKI's counters do not collide.
  std::string metrics_prefix = "jlis_ocsp";
};

class OcspResponder {
 public:
  OcspResponder(std::vector<OcspIssuer> issuers, StatusLookup lookup, OcspOptions options = {});
  ~OcspResponder();  // stops the refresher

  // The response to a DER OCSPRequest. `admit_unknown`, when given, is asked before a certificate
  // the lookup does not know is answered `unauthorized`: when it says no (the client's limit of
  // such answers is spent), the answer is the unsigned `tryLater` (RFC 6960 §2.3) instead, counted
  // as outcome "limited". It is never asked about a certificate the lookup knows.
  std::shared_ptr<const OcspAnswer> answer(std::string_view der_request,
                                           const std::function<bool()>& admit_unknown = {});
  // What answer() gives these exact request bytes when it is a cached response in the first half
  // of its validity (not yet due for re-signing), else null: a shared lock and one lookup, never a
  // parse, a signature or a status lookup, so that the HTTP server can answer it on its I/O thread
  // (http::FastHandler). Counted as outcome "cached", as answer() counts it.
  std::shared_ptr<const OcspAnswer> cached(std::string_view der_request);
  // Re-signs the cached responses of one certificate now (after it was revoked), so the next
  // request sees the new status, and makes sure no answer looked up before this call is cached
  // afterwards. A certificate not cached is left for its first request; one whose lookup fails
  // (or that is now unknown) is dropped from the cache, so that its next request looks it up.
  void refresh(size_t issuer, const std::string& serial_hex);
  // Re-signs the cached responses past half their validity, and drops those of certificates
  // nobody asked about for a whole validity period; answers how many were re-signed.
  size_t refresh_due();
  // Starts the thread that calls refresh_due() every refresh_period; stopped by the destructor.
  void start_refresher();

  // Prometheus text, each name after OcspOptions::metrics_prefix (here the default jlis_ocsp):
  // jlis_ocsp_requests_total{outcome="cached|signed|malformed|unauthorized|error|limited"} (error:
  // tryLater or internalError; limited: tryLater for a client over its limit of unknown-serial
  // answers), jlis_ocsp_signatures_total (requests and refreshes) and the gauge
  // jlis_ocsp_cached_responses.
  std::string metrics() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// RFC 5019 §6 HTTP headers of a successful answer: Last-Modified (thisUpdate), Expires
// (nextUpdate), ETag (a digest of the DER), Cache-Control max-age (seconds to nextUpdate), public,
// no-transform, must-revalidate.
std::vector<std::pair<std::string, std::string>> caching_headers(const OcspAnswer& answer, int64_t now);

// Adds the responder's HTTP routes, open to anyone (revocation status is public):
//   POST /ocsp               body: DER OCSPRequest (Content-Type application/ocsp-request)
//   GET  /ocsp/{request...}  the base64 DER request, URL-encoded or not (RFC 6960 A.1, RFC 5019 §5)
// `unknown_per_minute` limits the unknown-serial answers per client address (a token bucket,
// common/rate_limit.h; 0 = no limit): past it a client gets tryLater for unknown serials, while
// certificates the CA issued are always answered.
// Both answer 200 application/ocsp-response, with the caching headers when successful; a body
// that is not an OCSPRequest answers 200 with the malformedRequest response, as RFC 6960 asks.
// Also adds the responder's metrics() to the server's /metrics. A GET whose response is cached and
// fresh (OcspResponder::cached) is answered on the server's I/O thread, without a worker.
void add_ocsp_routes(http::Server& server, OcspResponder& responder, uint32_t unknown_per_minute = 100);

// The responder that answers a request, asked once per request (and per scrape of /metrics): one
// that may be replaced while the server runs (LGPKI's, rebuilt when a generation adds issuers).
// Null when none can be made now (its keys do not load): the request answers 503.
using OcspResponderSource = std::function<std::shared_ptr<OcspResponder>()>;

// The same routes at `path` (e.g. "/lgpki/ocsp": POST <path>, GET <path>/{request...}), each
// request answered by the responder `source` gives. Cached GETs are answered on the I/O thread only
// when `source_never_blocks` (a source that may make its responder, loading keys, must not run there).
// /metrics asks `made` (null: `source`), which answers the responder only once made: a scrape does
// not make it.
void add_ocsp_routes(http::Server& server, OcspResponderSource source, std::string_view path,
                     uint32_t unknown_per_minute = 100, bool source_never_blocks = false,
                     OcspResponderSource made = nullptr);

}  // namespace jlis::pki
