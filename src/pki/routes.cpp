#include "pki/routes.h"

#include <ctime>
#include <memory>

#include <nlohmann/json.hpp>

#include "card/routes.h"
#include "common/clock.h"
#include "common/rate_limit.h"
#include "http/json_body.h"
#include "pki/ca_internal.h"

namespace jlis::pki {
namespace {

using http::json_response;
using http::object_body;
using http::Request;
using http::Response;
using nlohmann::json;

json to_json(const CertificateRecord& c, int64_t now) {
  json j = {{"serial", c.serial},
            {"kind", kind_name(c.kind)},
            {"device", device_name(c.device)},
            {"status", c.status(now)},
            {"not_before", iso8601_seconds(c.not_before)},
            {"not_after", iso8601_seconds(c.not_after)},
            {"card_id", c.card_id},
            {"next", c.next_serial ? json(*c.next_serial) : json(nullptr)}};
  if (c.revoked_at) {
    j["revoked_at"] = iso8601_seconds(*c.revoked_at);
    j["reason"] = reason_name(c.reason);
  }
  return j;
}

// {"challenge_id", "requests": {"signature"?, "authentication"?}, "authorisation"? (base64)}
Result<CertificateAuthority::CertificateRequests> requests_body(const Request& req) {
  JLIS_ASSIGN_OR_RETURN(json body, object_body(req));
  if (body.contains("public_keys"))
    return invalid_argument("public keys alone are not accepted: send certification requests (PKCS#10, signed by the "
                            "new keys, challengePassword = a challenge from POST /v1/cards/{card_id}/certificate-challenges)");
  CertificateAuthority::CertificateRequests out;
  for (const auto& [k, v] : body.items()) {
    if (k == "challenge_id" && v.is_string()) {
      out.challenge_id = v.get<std::string>();
    } else if (k == "authorisation" && v.is_string()) {
      auto raw = base64_decode(v.get<std::string>());
      if (!raw.ok() || raw->empty()) return invalid_argument("authorisation must be base64");
      out.authorisation = std::move(*raw);
    } else if (k == "requests" && v.is_object()) {
      for (const auto& [kind, r] : v.items()) {
        if (!r.is_string()) return invalid_argument("requests." + kind + " must be a PEM string");
        if (kind == "signature") out.signature = r.get<std::string>();
        else if (kind == "authentication") out.authentication = r.get<std::string>();
        else return invalid_argument("unknown request kind '" + kind + "' (signature, authentication)");
      }
    } else {
      return invalid_argument("unknown or malformed field '" + k + "' (challenge_id, requests, authorisation)");
    }
  }
  if (out.challenge_id.empty()) return invalid_argument("challenge_id is required (a string)");
  return out;
}

// Authenticates, then runs `f(principal)`, which answers a Response or a failed Status.
template <class F>
Response with_caller(auth::Directory& directory, const Request& req, F&& f) {
  auto by = directory.authenticate(req.bearer_token());
  if (!by.ok()) return Response::error(by.status());
  Result<Response> r = f(*by);
  return r.ok() ? std::move(*r) : Response::error(r.status());
}

json certificate_list(const std::vector<CertificateRecord>& list, int64_t now) {
  json out = json::array();
  for (const auto& c : list) out.push_back(to_json(c, now));
  return out;
}

}  // namespace

Status add_routes(http::Server& server, CertificateAuthority& ca, auth::Directory& directory,
                  const RouteOptions& options) {
  JLIS_ASSIGN_OR_RETURN(OcspResponder * responder, ca.responder());
  add_ocsp_routes(server, *responder, options.ocsp_unknown_per_minute);
  auto now = [] { return static_cast<int64_t>(std::time(nullptr)); };

  server.route("GET", "/v1/pki/ca", [&ca](const Request&) {
    json list = json::array();
    for (const auto& p : ca.published()) list.push_back({{"kind", p.kind}, {"pem", p.pem}});
    return json_response(200, {{"certificates", list}});
  });

  server.route("GET", "/crl/{file}", [&ca](const Request& req) {
    const std::string& file = req.path_params.at("file");
    const size_t dot = file.rfind(".crl");
    if (dot == std::string::npos || dot + 4 != file.size()) return Response::error(not_found("no such CRL"));
    // <name>.crl, the full CRL; <name>-delta.crl, the delta CRL its freshestCRL names; <name> is
    // a CA generation's (signature, signature-g2, ...).
    std::string name = file.substr(0, dot);
    const bool delta = name.size() > 6 && name.ends_with("-delta");
    if (delta) name.resize(name.size() - 6);
    auto der = ca.crl_named(name, delta);
    if (!der.ok()) return Response::error(der.status());
    Response r;
    r.content_type = "application/pkix-crl";
    r.body = std::move(*der);
    return r;
  });

  // The partition of one municipality (profile.h), named by its code in the signature
  // certificates' CRL distribution point: /crl/<name>/<code>.crl, <name> the signature CA
  // generation's (signature, signature-g2, ...).
  server.route("GET", "/crl/{crl}/{file}", [&ca](const Request& req) {
    const std::string& file = req.path_params.at("file");
    auto scope = ca.parse_crl_name(req.path_params.at("crl"));
    if (!scope.ok() || scope->first != CertificateKind::signature || file.size() != 10 || !file.ends_with(".crl"))
      return Response::error(not_found("no such CRL partition"));
    auto der = ca.partition_crl(file.substr(0, 6), scope->second);
    if (!der.ok()) return Response::error(der.status());
    Response r;
    r.content_type = "application/pkix-crl";
    r.body = std::move(*der);
    return r;
  });

  server.route("GET", "/v1/pki/certificates/{serial}", [&, now](const Request& req) {
    return with_caller(directory, req, [&](const auth::Principal& by) -> Result<Response> {
      JLIS_ASSIGN_OR_RETURN(auto rec, ca.certificate(by, req.path_params.at("serial"), req.server_request_id));
      if (by.role == auth::Role::verifier) {
        // Status only (ca.h: who may see what); the certificate comes with the holder's consent.
        json j = to_json(rec, now());
        j.erase("card_id");
        return json_response(200, j);
      }
      Response r;
      if (req.header("accept").find("application/x-pem-file") != std::string::npos) {
        JLIS_ASSIGN_OR_RETURN(auto cert, x509_from_der(rec.der));
        JLIS_ASSIGN_OR_RETURN(r.body, x509_pem(cert.get()));
        r.content_type = "application/x-pem-file";
      } else {
        r.body = rec.der;
        r.content_type = "application/pkix-cert";
      }
      r.headers.emplace_back("X-Certificate-Status", std::string(rec.status(now())));
      return r;
    });
  });

  server.route("POST", "/v1/pki/certificates/{serial}/revoke", [&, now](const Request& req) {
    return with_caller(directory, req, [&](const auth::Principal& by) -> Result<Response> {
      JLIS_ASSIGN_OR_RETURN(json body, object_body(req));
      RevocationReason reason = RevocationReason::unspecified;
      for (const auto& [k, v] : body.items()) {
        if (k != "reason") return invalid_argument("unknown field '" + k + "' (reason)");
        if (!v.is_string()) return invalid_argument("reason must be \"unspecified\" or \"keyCompromise\"");
        JLIS_ASSIGN_OR_RETURN(reason, parse_reason(v.get<std::string>()));
      }
      JLIS_ASSIGN_OR_RETURN(auto rec, ca.revoke(by, req.path_params.at("serial"), reason));
      return json_response(200, to_json(rec, now()));
    });
  });

  server.route("GET", "/v1/pki/linkage/{serial}", [&](const Request& req) {
    return with_caller(directory, req, [&](const auth::Principal& by) -> Result<Response> {
      JLIS_ASSIGN_OR_RETURN(auto next, ca.linkage(by, req.path_params.at("serial")));
      JLIS_ASSIGN_OR_RETURN(std::string serial, normalise_serial(req.path_params.at("serial")));
      return json_response(200, {{"serial", serial}, {"next", next ? json(*next) : json(nullptr)}});
    });
  });

  server.route("GET", "/v1/residents/{resident_code}/certificates", [&, now](const Request& req) {
    return with_caller(directory, req, [&](const auth::Principal& by) -> Result<Response> {
      auto code = ResidentCode::parse(req.path_params.at("resident_code"));
      if (!code.ok()) return invalid_argument("the resident code must be 11 digits with a valid check digit");
      JLIS_ASSIGN_OR_RETURN(auto list, ca.certificates_of(by, *code, req.query_param("purpose"), req.server_request_id));
      return json_response(200, {{"certificates", certificate_list(list, now())}});
    });
  });

  server.route("POST", "/v1/cards/{card_id}/certificates", [&, now](const Request& req) {
    return with_caller(directory, req, [&](const auth::Principal& by) -> Result<Response> {
      JLIS_ASSIGN_OR_RETURN(auto requests, requests_body(req));
      JLIS_ASSIGN_OR_RETURN(auto list, ca.renew(by, req.path_params.at("card_id"), requests));
      return json_response(201, {{"certificates", certificate_list(list, now())}});
    });
  });

  server.route("POST", "/v1/cards/{card_id}/smartphone-certificates", [&, now](const Request& req) {
    return with_caller(directory, req, [&](const auth::Principal& by) -> Result<Response> {
      JLIS_ASSIGN_OR_RETURN(auto requests, requests_body(req));
      JLIS_ASSIGN_OR_RETURN(auto list, ca.issue_smartphone(by, req.path_params.at("card_id"), requests));
      return json_response(201, {{"certificates", certificate_list(list, now())}});
    });
  });

  server.route("POST", "/v1/cards/{card_id}/certificate-challenges", [&](const Request& req) {
    return with_caller(directory, req, [&](const auth::Principal& by) -> Result<Response> {
      JLIS_ASSIGN_OR_RETURN(json body, object_body(req));
      if (!body.empty()) return invalid_argument("the body must be empty or {}");
      JLIS_ASSIGN_OR_RETURN(auto c, ca.new_issuance_challenge(by, req.path_params.at("card_id")));
      return json_response(201, {{"challenge_id", c.challenge_id},
                                 {"challenge", c.challenge},
                                 {"expires_at", iso8601_seconds(c.expires_at)}});
    });
  });

  server.route("POST", "/v1/pki/consent/challenges", [&](const Request& req) {
    return with_caller(directory, req, [&](const auth::Principal& by) -> Result<Response> {
      JLIS_ASSIGN_OR_RETURN(auto c, ca.new_challenge(by));
      return json_response(201, {{"challenge_id", c.challenge_id},
                                 {"challenge", c.challenge},
                                 {"expires_at", iso8601_seconds(c.expires_at)}});
    });
  });

  server.route("POST", "/v1/pki/consent/basic-four", [&](const Request& req) {
    return with_caller(directory, req, [&](const auth::Principal& by) -> Result<Response> {
      JLIS_ASSIGN_OR_RETURN(json body, object_body(req));
      for (const char* f : {"challenge_id", "serial", "signature"})
        if (!body.contains(f) || !body[f].is_string()) return invalid_argument(std::string(f) + " is required (a string)");
      for (const auto& [k, v] : body.items())
        if (k != "challenge_id" && k != "serial" && k != "signature")
          return invalid_argument("unknown field '" + k + "' (challenge_id, serial, signature)");
      JLIS_ASSIGN_OR_RETURN(auto p, ca.consent_provision(by, body["challenge_id"], body["serial"], body["signature"],
                                                         req.server_request_id));
      const registry::Person& person = p.resident.person;
      json latest = nullptr;
      if (p.latest_certificate) {
        JLIS_ASSIGN_OR_RETURN(auto cert, x509_from_der(p.latest_certificate->der));
        JLIS_ASSIGN_OR_RETURN(std::string pem, x509_pem(cert.get()));
        latest = {{"serial", p.latest_certificate->serial}, {"pem", pem}};
      }
      return json_response(200, {{"serial", p.serial},
                                 {"latest_certificate", latest},
                                 {"basic_four",
                                  {{"name", person.name},
                                   {"name_kana", person.name_kana},
                                   {"date_of_birth", person.date_of_birth.to_iso()},
                                   {"sex", registry::sex_name(person.sex)},
                                   {"address", certified_address(p.resident)}}},
                                 {"status", registry::status_name(p.resident.status)}});
    });
  });

  // A smartphone found again: the holder's own app releases the hold of its user-authentication
  // certificate. No token: the proof is the signature by that certificate's key over the challenge.
  auto answer = [](Result<Response> r) { return r.ok() ? std::move(*r) : Response::error(r.status()); };
  // Any well-formed serial gets a challenge, whether it names a releasable certificate on hold or
  // nothing at all, so the route tells a stranger nothing; each address gets a few a minute.
  auto release_limiter = std::make_shared<RateLimiter>(options.release_challenges_per_minute);
  server.route("POST", "/v1/pki/certificates/{serial}/release/challenges", [&, answer, release_limiter](const Request& req) {
    if (!release_limiter->allow(req.peer)) {
      Response r = Response::error(429, "too_many_requests", "too many release challenges from this address; try later");
      r.headers.emplace_back("Retry-After", std::to_string(release_limiter->retry_after_seconds()));
      return r;
    }
    return answer([&]() -> Result<Response> {
      JLIS_ASSIGN_OR_RETURN(json body, object_body(req));
      if (!body.empty()) return invalid_argument("the body must be empty");
      JLIS_ASSIGN_OR_RETURN(auto c, ca.new_release_challenge(req.path_params.at("serial")));
      return json_response(201, {{"challenge_id", c.challenge_id},
                                 {"challenge", c.challenge},
                                 {"expires_at", iso8601_seconds(c.expires_at)}});
    }());
  });
  server.route("POST", "/v1/pki/certificates/{serial}/release", [&, answer, now](const Request& req) {
    return answer([&]() -> Result<Response> {
      JLIS_ASSIGN_OR_RETURN(json body, object_body(req));
      for (const char* f : {"challenge_id", "signature"})
        if (!body.contains(f) || !body[f].is_string()) return invalid_argument(std::string(f) + " is required (a string)");
      for (const auto& [k, v] : body.items())
        if (k != "challenge_id" && k != "signature")
          return invalid_argument("unknown field '" + k + "' (challenge_id, signature)");
      JLIS_ASSIGN_OR_RETURN(auto rec, ca.release_hold(body["challenge_id"], req.path_params.at("serial"),
                                                      body["signature"]));
      return json_response(200, to_json(rec, now()));
    }());
  });

  server.add_metrics_source([&ca] { return ca.metrics(); });
  return Status::ok();
}

}  // namespace jlis::pki
