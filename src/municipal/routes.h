// The municipal records' HTTP API (docs/openapi.yaml). Who may call each route:
//
//   issuance centre (証明書交付センター), for a card holder it authenticated at a kiosk:
//     POST /v1/issuance/{code}/documents      a document of municipality {code} for the holder of the
//                                             user-authentication certificate named in the body:
//                                             the PDF, or 403 with the refusal's reason code
//     GET  /v1/issuance/{code}/offer          the documents {code} offers at kiosks, with their fees
//     POST /v1/issuance/{code}/sessions/{session}/returned   交付中止: the session's kiosk documents
//                                             here that never reached its terminal become undelivered
//   the municipality itself, for its own residents and households (others get 404, as for an
//   unknown resident):
//     GET  /v1/municipalities/{code}/households/{resident_code}   the resident's household
//     POST /v1/municipalities/{code}/households/events            a household notice (世帯変更届)
//     GET  /v1/municipalities/{code}/seals/{resident_code}         the resident's seal registrations
//     POST /v1/municipalities/{code}/seals                         印鑑登録
//     POST /v1/municipalities/{code}/seals/change                  印鑑登録の変更
//     POST /v1/municipalities/{code}/seals/abolish                 廃止
//   the municipality itself, as the 本籍 municipality of its family registers (another's register
//   answers 404, as an unknown one):
//     POST /v1/municipalities/{code}/family-registers/events       a family-register notice (届出),
//                                                                   or the link of a member to a resident
//     GET  /v1/municipalities/{code}/family-registers/{register_id} the whole register (戸籍)
//   agencies, for a purpose they name and were granted (each person answered is recorded as a
//   provision of 附票本人確認情報 before the answer leaves, as for the basic four):
//     GET  /v1/fuhyo/{resident_code}?purpose=   附票本人確認情報 by resident code
//     GET  /v1/fuhyo?my_number=&purpose=        ... by My Number
//     POST /v1/fuhyo/search?purpose=            ... by a basic-four search
//
// The issuance log joins the resident's disclosure (GET /v1/residents/{code}/provisions) through
// disclosure().
#pragma once

#include "auth/directory.h"
#include "http/server.h"
#include "municipal/household.h"
#include "municipal/issuance.h"
#include "municipal/seal_registration.h"
#include "registry/routes.h"
#include "store/database.h"
#include "store/writer.h"

namespace jlis::municipal {

struct Services {
  store::Pool& pool;
  store::Writer& writer;  // the family-register notices run as its jobs
  registry::Registry& registry;
  auth::Directory& directory;
  Households& households;
  SealRegistrations& seals;
  IssuanceServer& issuance;
};

// Not owned: everything in `services` must outlive the server.
void add_routes(http::Server& server, const Services& services);

// Adds "issuances" (the resident's issuance log, newest first) to a resident's disclosure.
registry::DisclosureDecorator disclosure(IssuanceServer& issuance);

}  // namespace jlis::municipal
