// The OCSP responder over HTTP (RFC 6960 appendix A, RFC 5019 §5 and §6).
#include <ctime>
#include <memory>

#include "common/rate_limit.h"
#include "http/server.h"
#include "pki/ocsp.h"

namespace jlis::pki {

namespace {

http::Response ocsp_response(const OcspAnswer& answer) {
  http::Response r;
  r.status = 200;
  r.content_type = "application/ocsp-response";
  r.body = answer.der;
  if (answer.successful) r.headers = caching_headers(answer, static_cast<int64_t>(std::time(nullptr)));
  return r;
}

}  // namespace

void add_ocsp_routes(http::Server& server, OcspResponder& responder, uint32_t unknown_per_minute) {
  // Unknown serials cost no signature, but a stranger may still sweep them: per address, at most
  // `unknown_per_minute` such answers, then tryLater.
  auto limiter = std::make_shared<RateLimiter>(unknown_per_minute);
  auto admit = [limiter](const http::Request& req) {
    return [limiter, &req] { return limiter->allow(req.peer); };
  };
  server.route("POST", "/ocsp", [&responder, admit](const http::Request& req) {
    return ocsp_response(*responder.answer(req.body, admit(req)));
  });
  // The router has decoded each segment ("%2F" and "%2B" included, '+' kept as '+') and joined
  // raw slashes back, so the parameter is the base64 text itself.
  server.route("GET", "/ocsp/{request...}", [&responder, admit](const http::Request& req) {
    auto der = base64_decode(req.path_params.at("request"));
    // Not base64: answered like any request that is not an OCSPRequest, malformedRequest.
    return ocsp_response(*responder.answer(der.ok() ? std::string_view(*der) : std::string_view(), admit(req)));
  });
  server.add_metrics_source([&responder] { return responder.metrics(); });
}

}  // namespace jlis::pki
