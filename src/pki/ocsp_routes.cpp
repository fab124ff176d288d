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
  // Not owned: the caller keeps the responder alive as long as the server.
  std::shared_ptr<OcspResponder> same(&responder, [](OcspResponder*) {});
  add_ocsp_routes(server, [same] { return same; }, "/ocsp", unknown_per_minute, /*source_never_blocks=*/true);
}

void add_ocsp_routes(http::Server& server, OcspResponderSource source, std::string_view path,
                     uint32_t unknown_per_minute, bool source_never_blocks, OcspResponderSource made) {
  // Unknown serials cost no signature, but a stranger may still sweep them: per address, at most
  // `unknown_per_minute` such answers, then tryLater.
  auto limiter = std::make_shared<RateLimiter>(unknown_per_minute);
  auto admit = [limiter](const http::Request& req) {
    return [limiter, &req] { return limiter->allow(req.peer); };
  };
  auto answer = [source, admit](const http::Request& req, std::string_view der) {
    std::shared_ptr<OcspResponder> responder = source();
    if (!responder) return http::Response::error(unavailable("the OCSP responder cannot answer now"));
    return ocsp_response(*responder->answer(der, admit(req)));
  };
  server.route("POST", std::string(path), [answer](const http::Request& req) { return answer(req, req.body); });
  // The router has decoded each segment ("%2F" and "%2B" included, '+' kept as '+') and joined
  // raw slashes back, so the parameter is the base64 text itself.
  auto get = [answer](const http::Request& req) {
    auto der = base64_decode(req.path_params.at("request"));
    // Not base64: answered like any request that is not an OCSPRequest, malformedRequest.
    return answer(req, der.ok() ? std::string_view(*der) : std::string_view());
  };
  // A response already made for these bytes leaves from the I/O thread (RFC 5019's GETs repeat).
  http::FastHandler cached_get;
  if (source_never_blocks)
    cached_get = [source](const http::Request& req) -> std::optional<http::Response> {
      std::shared_ptr<OcspResponder> responder = source();
      if (!responder) return std::nullopt;
      auto der = base64_decode(req.path_params.at("request"));
      if (!der.ok()) return std::nullopt;
      std::shared_ptr<const OcspAnswer> cached = responder->cached(*der);
      if (!cached) return std::nullopt;
      return ocsp_response(*cached);
    };
  server.route("GET", std::string(path) + "/{request...}", get, cached_get);
  server.add_metrics_source([made = made ? std::move(made) : source] {
    std::shared_ptr<OcspResponder> responder = made();
    return responder ? responder->metrics() : std::string();
  });
}

}  // namespace jlis::pki
