#include "kiosk/routes.h"

#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "http/json_body.h"

namespace jlis::kiosk {
namespace {

using http::json_response;
using http::Request;
using http::Response;
using nlohmann::json;

// The answer of a failed step (routes.h): 410 for an ended session, 403 with the refusal's reason,
// 502 for an incident or (`relay`) a municipality or responder that did not answer.
Response failure(const Status& s, bool relay = false) {
  if (is_session_ended(s)) return Response::error(410, "gone", s.message());
  if (const std::string reason = refusal_reason(s); !reason.empty()) {
    const std::string message = s.message().substr(s.message().find(": ") + 2);
    return json_response(403, {{"error", {{"code", "permission_denied"}, {"message", s.message()}}},
                               {"refusal", {{"reason", reason}, {"message", message}}}});
  }
  if (is_incident(s)) return Response::error(502, "subject_mismatch", s.message().substr(s.message().find(": ") + 2));
  if (relay && s.code() == Code::unavailable) return Response::error(502, "bad_gateway", s.message());
  return Response::error(s);
}

template <class T>
Response answer(const Result<T>& r, const std::function<Response(const T&)>& ok, bool relay = false) {
  return r.ok() ? ok(*r) : failure(r.status(), relay);
}

}  // namespace

void add_routes(http::Server& server, Centre& centre) {
  server.route("POST", "/v1/kiosk/sessions", [&centre](const Request& req) {
    return answer<OpenedSession>(centre.sessions().open(req.bearer_token()), [](const OpenedSession& s) {
      return json_response(201, {{"session_id", s.session_id},
                                 {"challenge", s.challenge},
                                 {"expires_at", iso8601_seconds(s.expires_at)}});
    });
  });

  server.route_deferred("POST", "/v1/kiosk/sessions/{session_id}/login", [&centre](const Request& req, http::Reply reply) {
    auto body = http::object_body(req);
    if (!body.ok()) return reply.send(Response::error(body.status()));
    for (const auto& [k, v] : body->items())
      if ((k != "certificate" && k != "signature") || !v.is_string())
        return reply.send(Response::error(
            invalid_argument("a log-in is {\"certificate\": PEM, \"signature\": base64}: '" + k + "' is not right")));
    if (!body->contains("certificate") || !body->contains("signature"))
      return reply.send(Response::error(invalid_argument("certificate and signature are required")));
    // Copied: the request is not touched once the work is handed over.
    centre.post([&centre, reply, secret = req.bearer_token(), id = req.path_params.at("session_id"),
                 pem = (*body)["certificate"].get<std::string>(), sig = (*body)["signature"].get<std::string>()] {
      reply.send(answer<json>(centre.log_in(secret, id, pem, sig), [](const json& j) { return json_response(200, j); },
                              true));
    });
  });

  server.route_deferred("POST", "/v1/kiosk/sessions/{session_id}/documents",
                        [&centre](const Request& req, http::Reply reply) {
                          auto body = http::object_body(req);
                          if (!body.ok()) return reply.send(Response::error(body.status()));
                          centre.post([&centre, reply, secret = req.bearer_token(),
                                       id = req.path_params.at("session_id"), body = std::move(*body)] {
                            reply.send(answer<DocumentIssued>(
                                centre.request_document(secret, id, body),
                                [](const DocumentIssued& d) {
                                  return json_response(201, {{"session_id", d.session_id},
                                                             {"issuance_number", d.issuance_number},
                                                             {"type", d.type},
                                                             {"fee", d.fee},
                                                             {"copies", d.copies}});
                                },
                                true));
                          });
                        });

  server.route("GET", "/v1/kiosk/sessions/{session_id}/document", [&centre](const Request& req) {
    auto doc = centre.sessions().fetch(req.bearer_token(), req.path_params.at("session_id"));
    if (!doc.ok()) return failure(doc.status());
    Response r;
    r.content_type = "application/pdf";
    r.headers = {{"X-Issuance-Number", doc->issuance_number},
                 {"X-Fee", std::to_string(doc->fee)},
                 {"X-Copies", std::to_string(doc->copies)}};
    r.body = std::move(doc->pdf);
    return r;
  });

  server.route("POST", "/v1/kiosk/sessions/{session_id}/printed", [&centre](const Request& req) {
    return answer<EndedSession>(centre.sessions().printed(req.bearer_token(), req.path_params.at("session_id")),
                                [](const EndedSession& e) {
                                  return json_response(200, {{"session_id", e.session_id},
                                                             {"reason", e.reason},
                                                             {"ended_at", iso8601_seconds(e.ended_at)},
                                                             {"issuance_number", e.issuance_number
                                                                                     ? json(*e.issuance_number)
                                                                                     : json(nullptr)},
                                                             {"fee", e.fee}});
                                });
  });

  server.add_metrics_source([&centre] { return centre.metrics(); });
}

}  // namespace jlis::kiosk
