// The issuance centre's HTTP API for kiosk terminals (docs/openapi.yaml, tag kiosk). Every route
// takes the terminal's own credential as `Authorization: Bearer <secret>` (an unknown or disabled
// terminal: 401, checked in the transaction of the step). A session of another terminal answers
// 404 as an unknown one; an ended session answers 410 to everything.
//
//   POST /v1/kiosk/sessions                      201 {session_id, challenge, expires_at}
//   POST /v1/kiosk/sessions/{session_id}/login   {certificate (PEM), signature (base64 of the
//        card's RSA PKCS#1 v1.5 SHA-256 signature over the challenge's bytes)}: 200 {session_id,
//        municipality_code, documents: [{type, fee}]}; 403 {error, refusal: {reason, message}}
//        for a certificate or signature that does not log in (centre.h); 409 once logged in
//   POST /v1/kiosk/sessions/{session_id}/documents  {type, options?, copies?}: 201 {session_id,
//        issuance_number, type, fee, copies}; 403 with the municipality's refusal; 409 while a
//        request is in flight or once a document was issued; 502 bad_gateway when the
//        municipality did not answer, 502 subject_mismatch when its document was not the holder's
//        (discarded, recorded, the session ended)
//   GET  /v1/kiosk/sessions/{session_id}/document   the PDF, once (X-Issuance-Number, X-Fee); 409
//        for a second fetch or before a document was issued
//   POST /v1/kiosk/sessions/{session_id}/printed    200 {session_id, reason, ended_at,
//        issuance_number, fee}: the session ends
//
// The log-in and the document request call out over HTTP: they are deferred routes whose work runs
// on the centre's threads (centre.h), never on the server's workers.
#pragma once

#include "http/server.h"
#include "kiosk/centre.h"

namespace jlis::kiosk {

// Not owned: `centre` must outlive the server.
void add_routes(http::Server& server, Centre& centre);

}  // namespace jlis::kiosk
