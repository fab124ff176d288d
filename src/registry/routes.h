// The registry's HTTP API (docs/openapi.yaml):
//   POST /v1/municipalities/{code}/events         a municipality submits a change of its own
//   GET  /v1/residents/{resident_code}?purpose=    identity information by resident code
//   GET  /v1/residents?my_number=&purpose=         ... by My Number
//   POST /v1/residents/search?purpose=             basic-four search
//   GET  /v1/residents/{resident_code}/history     the change history
//   GET  /v1/residents/{resident_code}/provisions  the disclosure record (the resident's municipality)
// Agencies read for a granted purpose, and every resident they receive is recorded as a provision
// before the answer leaves. Municipalities read their own residents.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include "auth/directory.h"
#include "http/server.h"
#include "registry/registry.h"

namespace jlis::registry {

// Adds fields of other components to a resident's JSON (the card component adds card_id).
using ResidentDecorator = std::function<void(const Resident& resident, nlohmann::json& json)>;

void add_routes(http::Server& server, Registry& registry, auth::Directory& directory,
                ResidentDecorator decorate = nullptr);

}  // namespace jlis::registry
