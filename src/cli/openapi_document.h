// docs/openapi.yaml as it was at build time (embedded by src/cli/embed_openapi.cmake); `jlis serve`
// answers it at GET /openapi.yaml. Its info.version is the binary's version (the build checks it).
#pragma once

#include <string_view>

namespace jlis::cli {

std::string_view openapi_document();

}  // namespace jlis::cli
