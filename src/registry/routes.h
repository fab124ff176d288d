// The registry's HTTP API (docs/openapi.yaml):
//   POST /v1/municipalities/{code}/events         a municipality submits a change of its own
//   GET  /v1/residents/{resident_code}?purpose=    identity information by resident code
//   GET  /v1/residents?my_number=&purpose=         ... by My Number
//   POST /v1/residents/search?purpose=             basic-four search
//   GET  /v1/residents/{resident_code}/history     the change history
//   GET  /v1/residents/{resident_code}/provisions  the disclosure record (the resident's municipality):
//                                                  provisions, and what DisclosureDecorator adds
// Agencies read for a granted purpose, and every resident they receive is recorded as a provision
// before the answer leaves. Municipalities read their own residents.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "auth/directory.h"
#include "http/server.h"
#include "registry/registry.h"

namespace jlis::registry {

// The caller of a reading route and, for an agency, the purpose it reads for.
struct Reader {
  auth::Principal principal;
  std::string purpose;

  bool is_agency() const { return principal.role == auth::Role::agency; }
};
// Who may read identity information: an agency for a purpose it names and was granted (403
// otherwise), a municipality (its scope is the route's to check); any other role 403, no token 401.
// The token is read on `conn` (the request's read transaction).
Result<Reader> authorize_read(store::Connection& conn, auth::Directory& directory, const http::Request& req,
                              const std::string& purpose);

// What a reading route answers: the response, and for an agency the residents it provides.
struct Provided {
  Reader reader;
  std::vector<ResidentCode> residents;
  http::Response response;
};
// A reading route as the server runs it: `read` runs inside one read transaction (its connection
// passed in: the token, the record and what decorates it read in one snapshot); an agency's answer
// leaves only once the provision of `information` (kIdentityInformation, kFuhyoInformation) to it
// of every resident answered is committed; the worker does not wait for that commit, the writer's
// thread sends the answer.
using ProvidingRead = std::function<Result<Provided>(store::Connection& conn, const http::Request&)>;
http::DeferredHandler providing(Registry& registry, ProvidingRead read,
                                std::string_view information = kIdentityInformation);

// Adds fields of other components to a resident's JSON (the card component adds card_id), read on
// `conn` (the request's read transaction).
using ResidentDecorator = std::function<void(store::Connection& conn, const Resident& resident, nlohmann::json& json)>;

// Adds other components' records to a resident's disclosure answer (the municipal issuance log).
using DisclosureDecorator = std::function<Status(const ResidentCode& code, nlohmann::json& disclosure)>;

// A resident's disclosure record: {"resident_code", "provisions": [{agency_id, agency_name, purpose,
// information, provided_at, request_id, client_request_id?}]} and what `disclose` (optional) adds.
// GET /v1/residents/{code}/provisions answers it to the resident's municipality; the resident's own
// page (portal) shows the same to the resident. The caller decides who may see it.
Result<nlohmann::json> disclosure(Registry& registry, const ResidentCode& code, const DisclosureDecorator& disclose);

void add_routes(http::Server& server, Registry& registry, auth::Directory& directory,
                ResidentDecorator decorate = nullptr, DisclosureDecorator disclose = nullptr);

}  // namespace jlis::registry
