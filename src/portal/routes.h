// The resident's own page over HTTP (docs/openapi.yaml, tag portal; portal.h says the steps).
// JSON, for the card reader's software and apps:
//
//   POST /v1/portal/sessions                       201 {session_id, challenge, expires_at}: a log-in
//        opened. No credential: limited per client address (429 with Retry-After past the limit).
//   POST /v1/portal/sessions/{session_id}/login    {certificate (PEM), signature (base64 of the
//        card's RSA PKCS#1 v1.5 SHA-256 signature over the challenge's bytes)}: 200 {session_id,
//        secret, expires_at} and the same secret as the cookie jlis_portal (HttpOnly,
//        SameSite=Strict, Path=/); 403 {error, refusal: {reason, message}} for a certificate or
//        signature that does not log in (pki/card_login.h); 404 for a log-in not open (expired,
//        already tried: one try per challenge)
//   GET  /v1/portal/me                             the holder's own record (Portal::record), with
//        the session's secret as `Authorization: Bearer` or the cookie; 401 without a live session
//   POST /v1/portal/sessions/{session_id}/logout   200 {session_id, ended: true}: the session ends
//
// Pages (Japanese, server-rendered, strict CSP, no script): GET /portal (the challenge and the
// log-in form that the card reader's software fills: a browser cannot reach the card), POST
// /portal/login, GET /portal/me (identity, provisions, issuances, linkage records), POST
// /portal/logout. Form posts from another site (http::foreign_post) are refused (403).
// Nothing takes a resident code from the request: the session says whose record it is.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "http/server.h"
#include "portal/portal.h"

namespace jlis::portal {

struct RouteOptions {
  uint32_t logins_per_minute = 60;  // log-ins opened per client address (0: no limit)
  // The display name of a linkage body by its id ("" when unknown): the page names the requesting
  // and providing bodies (none: their ids).
  std::function<std::string(const std::string& body_id)> body_name = {};
  // The names of a procedure (事務) and of an item (特定個人情報) by their codes ("" when unknown).
  std::function<std::string(const std::string& procedure)> procedure_name = {};
  std::function<std::string(const std::string& item)> item_name = {};
};

// Not owned: `portal` must outlive the server.
void add_routes(http::Server& server, Portal& portal, RouteOptions options = {});

}  // namespace jlis::portal
