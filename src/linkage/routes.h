// The information-linkage platform's HTTP API (docs/openapi.yaml, issue 11). Every route is for the
// registered bodies (情報照会者・情報提供者) alone: a token of role linkage-body, whose subject is the
// body's id (bodies.h); any other role is 403, no token 401. A body acts only as itself: the body of
// the token is the requester, the provider or the code's holder, never one named in the request.
//
//   POST /v1/linkage/codes              {"my_number"}: the body's own linkage code for the person
//                                       (codes.h: code_by_my_number; the registry's provision of the
//                                       resident code to the platform recorded first). A ministry 403.
//   PUT  /v1/linkage/replicas/{code}    {"items": {item code: value}}: registers the body's replica
//                                       of the person it knows by {code} (replicas.h); 400 naming the
//                                       item, rule and layout version that failed, nothing written
//   PUT  /v1/linkage/replicas/{code}/live  {"live": true|false}: the body answers the person's
//                                       queries itself (自動応答不可, replicas.h: set_live); 409
//                                       when the body has no endpoint
//   GET  /v1/linkage/replicas/{code}    what the body registered of the person (404 for a code the
//                                       body does not hold, another body's included)
//   POST /v1/linkage/queries            {"code", "procedure", "provider", "items"}: a query by the
//                                       body's own code (queries.h); the answer in the layout version
//                                       in force, or the refusal (403 the legal table, 400 an item not
//                                       in the layout, 404 an unknown code), recorded before it leaves;
//                                       "answered_by": "provider" when forwarded to the provider's own
//                                       system (queries.h), 502 [provider-unavailable] when it failed,
//                                       503 [provider-busy] past the limits of forwards in flight
//   GET  /v1/linkage/records?limit=     the provision records (情報提供等記録) naming the body as
//                                       requester or provider, newest first
//   GET  /v1/linkage/bodies             the registered bodies (id, kind, name, active): whom to ask
//   POST /v1/linkage/bulk-jobs          a file of queries (JSON Lines, up to 1,000,000, the body up
//                                       to kBulkBodyBytes, read only when the token is a body's: else
//                                       a body over 1 MiB is 413 unread) as a bulk job (bulk_jobs.h):
//                                       202 and the job
//   GET  /v1/linkage/bulk-jobs/{job}    its progress (404 for another body's job)
//   GET  /v1/linkage/bulk-jobs/{job}/results?after=&limit=&failed=true
//                                       the results of its lines in order, or only the failed ones
//
// Every route that takes a message (codes, PUT replicas and live, queries, bulk-jobs) takes it signed
// by the body (signatures.h): the header JLIS-Signature carries the CMS signature over the exact body; a
// message unsigned, badly signed, or signed by a certificate revoked, of unknown or stale status
// (the OCSP freshness limit) or not registered to the calling body is 403 naming the rule, before
// anything is written; the message is logged with its signature in the transaction acting on it.
//
// Every answer to a registered body is signed by the platform (signatures.h: the platform's
// message-signing key), the CMS signature over the answer's exact body in the same header,
// JLIS-Signature; 503 before the request is acted on when the platform has no key to sign with.
// Answers to a caller that is not a registered body (401, 403) are not signed: the platform spends
// no signature on a caller it does not know.
//
// No answer carries a resident code, a My Number or another body's code for a person.
//
// The person's own view: disclosure() adds the linkage records about a resident (queries and
// provisions, both sides) to the registry's disclosure (GET /v1/residents/{code}/provisions).
#pragma once

#include <functional>

#include "auth/directory.h"
#include "common/date.h"
#include "http/server.h"
#include "linkage/platform.h"
#include "linkage/signatures.h"
#include "registry/registry.h"
#include "registry/routes.h"

namespace jlis::linkage {

// The largest bulk-job file a body may post: 1,000,000 queries of about 150 bytes.
inline constexpr size_t kBulkBodyBytes = size_t{160} << 20;

struct Services {
  auth::Directory& directory;
  registry::Registry& registry;  // records the resident code's provision to the platform
  Platform& platform;
  BulkRunner* bulk_runner = nullptr;  // woken when a job is submitted (none: the jobs wait for one)
  // Verifies the messages' signatures (none: every route that takes a message answers 503).
  const MessageVerifier* verifier = nullptr;
  // The key the platform signs its answers with (none: they go unsigned).
  AnswerKey answer_key = {};
  std::function<Date()> today = Date::today;  // the day that picks the layout version (Japan's)
};

// Not owned: everything in `services` must outlive the server.
void add_routes(http::Server& server, const Services& services);

// Adds "linkage_records" (the provision records about the resident, newest first) to a resident's
// disclosure.
registry::DisclosureDecorator disclosure(Platform& platform);

}  // namespace jlis::linkage
