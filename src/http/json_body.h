// JSON bodies of the routes: every component's handlers read and answer JSON the same way.
#pragma once

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "http/server.h"

namespace jlis::http {

// An answer with `body` serialised as JSON.
inline Response json_response(int status, const nlohmann::json& body) { return Response::json(status, body.dump()); }

// The request body as a JSON object; an empty body is {}. invalid_argument when it is not JSON
// or not an object.
inline Result<nlohmann::json> object_body(const Request& req) {
  if (req.body.empty()) return nlohmann::json::object();
  nlohmann::json body = nlohmann::json::parse(req.body, nullptr, false);
  if (body.is_discarded()) return invalid_argument("the body is not valid JSON");
  if (!body.is_object()) return invalid_argument("the body must be a JSON object");
  return body;
}

// A handler that answers a Result: its value, or its error as the JSON error of its code.
template <class F>
Handler answering(F handle) {
  return [handle](const Request& req) {
    Result<Response> r = handle(req);
    return r.ok() ? std::move(*r) : Response::error(r.status());
  };
}

}  // namespace jlis::http
