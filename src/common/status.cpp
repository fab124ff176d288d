#include "common/status.h"

namespace jlis {

std::string_view code_name(Code code) {
  switch (code) {
    case Code::ok: return "ok";
    case Code::invalid_argument: return "invalid_argument";
    case Code::unauthenticated: return "unauthenticated";
    case Code::permission_denied: return "permission_denied";
    case Code::not_found: return "not_found";
    case Code::conflict: return "conflict";
    case Code::unavailable: return "unavailable";
    case Code::internal: return "internal";
  }
  return "internal";
}

std::optional<Code> parse_code_name(std::string_view name) {
  for (Code c : {Code::ok, Code::invalid_argument, Code::unauthenticated, Code::permission_denied, Code::not_found,
                 Code::conflict, Code::unavailable, Code::internal})
    if (code_name(c) == name) return c;
  return std::nullopt;
}

int code_http_status(Code code) {
  switch (code) {
    case Code::ok: return 200;
    case Code::invalid_argument: return 400;
    case Code::unauthenticated: return 401;
    case Code::permission_denied: return 403;
    case Code::not_found: return 404;
    case Code::conflict: return 409;
    case Code::unavailable: return 503;
    case Code::internal: return 500;
  }
  return 500;
}

std::string Status::to_string() const {
  if (is_ok()) return "ok";
  return std::string(code_name(code_)) + ": " + message_;
}

}  // namespace jlis
