// The centre's public verification page (証明書の真正性確認): anyone holding a printed document
// (a bank clerk, a landlord) enters the code printed on it and learns whether it was issued, by
// which municipality, on which date, what kind of document it is and whether it came from a kiosk
// or a window; never whom it is about. The code is the issuance number (131016-2026-0000001) or
// the payload its QR code carries (JLIS1:…, whose signature is checked). No log-in.
//
//   GET /verify                 the form (HTML, Japanese and English); ?code=… answers as below
//   GET /verify/{code...}       the answer (HTML)
//   GET /v1/verify/{code...}    the answer (JSON, docs/openapi.yaml: VerificationAnswer)
//
// The issuance numbers are sequential, so a stranger could sweep them: each client address gets at
// most `per_minute` answers a minute (then 429 with Retry-After). The pages carry a strict
// Content-Security-Policy (no script; the one inline style allowed by its hash).
#pragma once

#include <cstdint>

#include "http/server.h"
#include "municipal/issuance.h"

namespace jlis::kiosk {

void add_verify_routes(http::Server& server, municipal::IssuanceServer& issuance, uint32_t per_minute = 60);

}  // namespace jlis::kiosk
