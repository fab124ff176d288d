// The card system's HTTP API (bearer tokens; who may do what is in card_system.h):
//   POST /v1/cards/applications                   apply: 201 with the application, or the rejection
//                                                 as a JSON error with "application_id" and
//                                                 "status": "rejected" beside it
//   GET  /v1/cards/applications?late=true[&limit=] express applications past due, not handed over
//   GET  /v1/cards/applications/{application_id}
//   GET  /v1/cards/{card_id}                      the card with its history
//   POST /v1/cards/{card_id}/{action}             handover {"identity_checked": true, "public_keys":
//                                                 {"signature": PEM, "authentication": PEM}} (the
//                                                 keys the card generated; see card_keys_from_json),
//                                                 suspend, resume, report-lost {"reason": "lost" |
//                                                 "stolen"} (default lost), return; an unknown
//                                                 action answers 404. The body of the others is
//                                                 empty or {}.
#pragma once

#include "auth/directory.h"
#include "card/card_system.h"
#include "http/server.h"
#include "registry/routes.h"

namespace jlis::card {

void add_routes(http::Server& server, CardSystem& cards, auth::Directory& directory);


// CardSystem::decorate as a registry::ResidentDecorator: adds "card_id" to resident JSON.
registry::ResidentDecorator resident_decorator(CardSystem& cards);

}  // namespace jlis::card
