// The CA's HTTP API (docs/openapi.yaml). Bearer tokens; who may do what is in ca.h.
//   GET  /v1/pki/ca                                 the CA and responder certificates, PEM, with kind (public)
//   GET  /v1/pki/certificates/{serial}              DER (application/pkix-cert), or PEM with
//                                                   Accept: application/x-pem-file
//   POST /v1/pki/certificates/{serial}/revoke       {"reason": "unspecified" | "keyCompromise"} (optional)
//   GET  /v1/pki/linkage/{serial}                   {"serial", "next"} (next: null when none)
//   GET  /v1/residents/{resident_code}/certificates [?purpose=] the resident's certificates
//   POST /v1/cards/{card_id}/certificates           renewal: {"public_keys": {"signature", "authentication"}}
//   POST /v1/cards/{card_id}/smartphone-certificates  the same keys, from the smartphone
//   POST /v1/pki/consent/challenges                 a verifier's challenge for the holder to sign
//   POST /v1/pki/consent/basic-four                 {"challenge_id", "serial", "signature"}: the latest
//                                                   basic four, recorded as a provision
//   POST /v1/pki/certificates/{serial}/release/challenges  a release challenge for the holder's
//                                                   app (no token; the same answer for any serial;
//                                                   per-client limit, 429 past it)
//   POST /v1/pki/certificates/{serial}/release      {"challenge_id", "signature"}: a smartphone
//                                                   authentication certificate's hold released
//   GET  /crl/{kind}.crl                            the newest full CRL, DER (public)
//   POST /ocsp, GET /ocsp/{request...}              the OCSP responder (ocsp.h; public)
// Serials are lower-case hex in answers; any case is accepted in paths.
#pragma once

#include "auth/directory.h"
#include "http/server.h"
#include "pki/ca.h"
#include "pki/lgpki.h"

namespace jlis::pki {

// Per-client limits (per peer address, token buckets of common/rate_limit.h; 0 = no limit) on the
// answers a stranger gets without a token: unknown-serial OCSP answers (tryLater past the limit;
// certificates the CA issued are never limited) and release challenges (429 past the limit).
struct RouteOptions {
  uint32_t ocsp_unknown_per_minute = 100;
  uint32_t release_challenges_per_minute = 10;
};

// Needs the CA's keys (the OCSP responder signs): call after load_keys() succeeded.
Status add_routes(http::Server& server, CertificateAuthority& ca, auth::Directory& directory,
                  const RouteOptions& options = {});

// LGPKI's public revocation information (lgpki.h; no token, no personal data), at the URLs its
// certificates' CRL distribution points and caIssuers name:
//   GET /lgpki/crl/{name}.crl   an issuing CA's CRL (organisation, position-g2, ...) or a
//                               generation's ARL (arl, arl-g2), DER (LgpkiAuthority::published_crl)
//   GET /lgpki/ca/{name}.cer    a CA certificate (root, root-g2, position, root-link-1-2, ...), DER
//   POST /lgpki/ocsp, GET /lgpki/ocsp/{request...}   the OCSP responder of every issuing CA of
//                               every generation (LgpkiAuthority::ocsp_responder; add_ocsp_routes:
//                               the same answers and limits as JPKI's /ocsp, with
//                               `ocsp_unknown_per_minute` as RouteOptions'), metrics jlis_lgpki_ocsp_*
void add_lgpki_routes(http::Server& server, LgpkiAuthority& lgpki, uint32_t ocsp_unknown_per_minute = 100);

}  // namespace jlis::pki
