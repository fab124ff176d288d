// LGPKI's public revocation information over HTTP (routes.h: add_lgpki_routes).
#include <spdlog/spdlog.h>

#include "pki/routes.h"

namespace jlis::pki {
namespace {

// "<name><suffix>" → name, when name is 1..32 of [a-z0-9-]; else empty.
std::string strip(const std::string& file, std::string_view suffix) {
  if (file.size() <= suffix.size() || file.size() > 32 + suffix.size() || !file.ends_with(suffix)) return "";
  std::string name = file.substr(0, file.size() - suffix.size());
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return "";
  return name;
}

}  // namespace

void add_lgpki_routes(http::Server& server, LgpkiAuthority& lgpki, uint32_t ocsp_unknown_per_minute) {
  add_ocsp_routes(
      server,
      [&lgpki]() -> std::shared_ptr<OcspResponder> {
        auto responder = lgpki.ocsp_responder();
        if (!responder.ok()) {
          spdlog::warn("lgpki: no OCSP responder: {}", responder.status().message());
          return nullptr;
        }
        return std::move(*responder);
      },
      "/lgpki/ocsp", ocsp_unknown_per_minute, /*source_never_blocks=*/false,
      [&lgpki] { return lgpki.ocsp_responder_made(); });
  server.route("GET", "/lgpki/crl/{file}", [&lgpki](const http::Request& req) {
    const std::string name = strip(req.path_params.at("file"), ".crl");
    if (name.empty()) return http::Response::error(not_found("no such LGPKI CRL"));
    auto der = lgpki.published_crl(name);
    if (!der.ok()) return http::Response::error(der.status());
    http::Response r;
    r.content_type = "application/pkix-crl";
    r.body = std::move(*der);
    return r;
  });
  server.route("GET", "/lgpki/ca/{file}", [&lgpki](const http::Request& req) {
    const std::string name = strip(req.path_params.at("file"), ".cer");
    if (name.empty()) return http::Response::error(not_found("no such LGPKI CA certificate"));
    auto der = lgpki.ca_certificate_der(name);
    if (!der.ok()) return http::Response::error(der.status());
    http::Response r;
    r.content_type = "application/pkix-cert";
    r.body = std::move(*der);
    return r;
  });
}

}  // namespace jlis::pki
