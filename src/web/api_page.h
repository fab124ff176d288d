// The API description rendered readably, `GET /api`: docs/openapi.yaml (the document /openapi.yaml
// serves) as one HTML page, for a person rather than a tool: the introduction, the operations by
// tag with who may call each (its security), its parameters, request body and responses, and the
// schemas with their properties. Rendered once, when the server starts; no script.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"
#include "http/server.h"

namespace jlis::web {

// The page's HTML for an OpenAPI 3 document; invalid_argument when the YAML does not parse or is not
// an OpenAPI document.
Result<std::string> render_api_page(std::string_view openapi_yaml);

// Adds GET /api answering render_api_page(openapi_yaml) (rendered here, once).
Status add_api_page(http::Server& server, std::string_view openapi_yaml);

}  // namespace jlis::web
