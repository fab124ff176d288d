#include "card/routes.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "common/digest.h"
#include "http/json_body.h"

namespace jlis::card {
namespace {

using http::json_response;
using http::object_body;
using http::Request;
using http::Response;
using nlohmann::json;

// Refuses fields other than `allowed`.
Status only_fields(const json& body, std::initializer_list<std::string_view> allowed, std::string_view action) {
  for (const auto& [k, v] : body.items()) {
    bool known = false;
    for (auto a : allowed) known = known || k == a;
    if (!known) return invalid_argument("unknown field '" + k + "' for " + std::string(action));
  }
  return Status::ok();
}

Result<int64_t> application_id_param(const Request& req) {
  const std::string& text = req.path_params.at("application_id");
  if (text.empty() || text.size() > 18 || text.find_first_not_of("0123456789") != std::string::npos)
    return invalid_argument("the application id must be a positive integer");
  return std::stoll(text);
}

// Performs a card action from its HTTP request.
Result<Card> perform(CardSystem& cards, const auth::Principal& by, const std::string& card_id, CardAction action,
                     const json& body, KeyedRequest* keyed) {
  switch (action) {
    case CardAction::handover: {
      JLIS_RETURN_IF_ERROR(only_fields(body, {"identity_checked", "public_keys"}, "handover"));
      bool checked = false;
      if (body.contains("identity_checked")) {
        if (!body["identity_checked"].is_boolean()) return invalid_argument("identity_checked must be true or false");
        checked = body["identity_checked"].get<bool>();
      }
      std::optional<CardKeys> keys;
      if (body.contains("public_keys")) {
        JLIS_ASSIGN_OR_RETURN(keys, card_keys_from_json(body["public_keys"]));
      }
      return cards.handover(by, card_id, checked, keys, keyed);
    }
    case CardAction::report_lost: {
      JLIS_RETURN_IF_ERROR(only_fields(body, {"reason"}, "report-lost"));
      LossReason reason = LossReason::lost;
      if (body.contains("reason")) {
        if (!body["reason"].is_string()) return invalid_argument("reason must be \"lost\" or \"stolen\"");
        JLIS_ASSIGN_OR_RETURN(reason, parse_loss_reason(body["reason"].get<std::string>()));
      }
      return cards.report_lost(by, card_id, reason, keyed);
    }
    case CardAction::suspend:
    {
      JLIS_RETURN_IF_ERROR(only_fields(body, {"smartphone"}, "suspend"));
      bool smartphone = false;
      if (body.contains("smartphone")) {
        if (!body["smartphone"].is_boolean()) return invalid_argument("smartphone must be true or false");
        smartphone = body["smartphone"].get<bool>();
      }
      return cards.suspend(by, card_id, smartphone, keyed);
    }
    case CardAction::resume:
      JLIS_RETURN_IF_ERROR(only_fields(body, {}, "resume"));
      return cards.resume(by, card_id, keyed);
    case CardAction::return_:
      JLIS_RETURN_IF_ERROR(only_fields(body, {}, "return"));
      return cards.return_card(by, card_id, keyed);
    case CardAction::pin_reset: {
      JLIS_RETURN_IF_ERROR(only_fields(body, {"secret"}, "pin-reset"));
      if (!body.contains("secret") || !body["secret"].is_string())
        return invalid_argument("secret is required: \"authentication_pin\" or \"signature_password\"");
      JLIS_ASSIGN_OR_RETURN(CardSecret secret, parse_card_secret(body["secret"].get<std::string>()));
      return cards.reset_pin(by, card_id, secret, keyed);
    }
  }
  return internal_error("unknown card action");
}

// The Idempotency-Key of a card action or an application, if the caller sent one: 1-128 printable
// ASCII characters. The fingerprint covers `what` (the card and the action, or "applications") and
// the body (canonical: keys sorted).
Result<std::optional<KeyedRequest>> keyed_request(const Request& req, const std::string& what, const json& body) {
  const std::string key = req.header("idempotency-key");
  if (!req.headers.contains("idempotency-key")) return std::optional<KeyedRequest>();
  if (key.empty() || key.size() > 128 ||
      !std::all_of(key.begin(), key.end(), [](unsigned char c) { return c > ' ' && c < 0x7f; }))
    return invalid_argument("Idempotency-Key must be 1 to 128 printable ASCII characters without spaces");
  KeyedRequest keyed;
  keyed.key = key;
  keyed.fingerprint = sha256_hex(what + "\n" + body.dump());
  return std::optional<KeyedRequest>(std::move(keyed));
}

// The answer to an application, from its JSON: 201 with it when accepted; when rejected (the
// record is kept), the error that says why, naming the record.
Response application_answer(const json& a) {
  if (a.value("status", "") != "rejected") return json_response(201, a);
  const json& reason = a["reason"];
  Response r = Response::error(Status(parse_code_name(reason.value("code", "")).value_or(Code::internal),
                                      reason.value("message", "")));
  json error = json::parse(r.body);
  error["application_id"] = a["application_id"];
  error["status"] = "rejected";
  r.body = error.dump();
  return r;
}

}  // namespace

registry::ResidentDecorator resident_decorator(CardSystem& cards) {
  return [&cards](store::Connection& conn, const registry::Resident& r, json& j) { cards.decorate(conn, r, j); };
}

void add_routes(http::Server& server, CardSystem& cards, auth::Directory& directory) {
  server.route("POST", "/v1/cards/applications", [&](const Request& req) {
    auto by = directory.authenticate(req.bearer_token());
    if (!by.ok()) return Response::error(by.status());
    json body = json::parse(req.body, nullptr, false);
    if (body.is_discarded()) return Response::error(invalid_argument("the body is not valid JSON"));
    auto request = application_request_from_json(body);
    if (!request.ok()) return Response::error(request.status());
    auto keyed = keyed_request(req, "applications", body);
    if (!keyed.ok()) return Response::error(keyed.status());
    KeyedRequest* key = *keyed ? &**keyed : nullptr;
    auto outcome = cards.apply(*by, *request, key);
    if (!outcome.ok()) return Response::error(outcome.status());
    if (!key) return application_answer(to_json(outcome->application, cards.today()));
    // The answer recorded with the first request under the key, also when this is that request.
    Response r = application_answer(json::parse(key->answer));
    if (key->replay) r.headers.emplace_back("Idempotent-Replayed", "true");
    return r;
  });

  // The continued-use procedure before a move abroad: {"resident_code", "departure_on"}.
  server.route("POST", "/v1/cards/continued-use", [&](const Request& req) {
    auto by = directory.authenticate(req.bearer_token());
    if (!by.ok()) return Response::error(by.status());
    json body = json::parse(req.body, nullptr, false);
    if (!body.is_object() || !body.contains("resident_code") || !body["resident_code"].is_string() ||
        !body.contains("departure_on") || !body["departure_on"].is_string() || body.size() != 2)
      return Response::error(invalid_argument("the body is {\"resident_code\": \"...\", \"departure_on\": \"YYYY-MM-DD\"}"));
    auto code = ResidentCode::parse(body["resident_code"].get<std::string>());
    if (!code.ok()) return Response::error(invalid_argument("resident_code is not a valid 11-digit resident code"));
    auto departure = Date::parse_iso(body["departure_on"].get<std::string>());
    if (!departure.ok()) return Response::error(invalid_argument("departure_on must be a date YYYY-MM-DD"));
    Status s = cards.request_continued_use(*by, *code, *departure);
    if (!s.is_ok()) return Response::error(s);
    return json_response(201, {{"resident_code", code->str()}, {"departure_on", departure->to_iso()},
                               {"requested_on", cards.today().to_iso()}});
  });

  server.route("GET", "/v1/cards/applications", [&](const Request& req) {
    auto by = directory.authenticate(req.bearer_token());
    if (!by.ok()) return Response::error(by.status());
    if (req.query_param("late") != "true")
      return Response::error(invalid_argument("only late=true is supported: express applications past due"));
    size_t limit = 100;
    if (std::string l = req.query_param("limit"); !l.empty()) {
      if (l.size() > 4 || l.find_first_not_of("0123456789") != std::string::npos)
        return Response::error(invalid_argument("limit must be between 1 and 1000"));
      limit = std::stoul(l);
    }
    auto late = cards.late_applications(*by, limit);
    if (!late.ok()) return Response::error(late.status());
    json list = json::array();
    for (const auto& a : *late) list.push_back(to_json(a, cards.today()));
    return json_response(200, {{"applications", list}});
  });

  server.route("GET", "/v1/cards/applications/{application_id}", [&](const Request& req) {
    auto by = directory.authenticate(req.bearer_token());
    if (!by.ok()) return Response::error(by.status());
    auto id = application_id_param(req);
    if (!id.ok()) return Response::error(id.status());
    auto a = cards.application(*by, *id);
    if (!a.ok()) return Response::error(a.status());
    return json_response(200, to_json(*a, cards.today()));
  });

  server.route("GET", "/v1/cards/{card_id}", [&](const Request& req) {
    auto by = directory.authenticate(req.bearer_token());
    if (!by.ok()) return Response::error(by.status());
    auto c = cards.card(*by, req.path_params.at("card_id"));
    if (!c.ok()) return Response::error(c.status());
    return json_response(200, to_json(*c, cards.today()));
  });

  server.route("POST", "/v1/cards/{card_id}/{action}", [&](const Request& req) {
    auto action = parse_card_action(req.path_params.at("action"));
    if (!action.ok())
      return Response::error(not_found("unknown card action '" + req.path_params.at("action") +
                                       "' (handover, suspend, resume, report-lost, return)"));
    auto by = directory.authenticate(req.bearer_token());
    if (!by.ok()) return Response::error(by.status());
    auto body = object_body(req);
    if (!body.ok()) return Response::error(body.status());
    auto keyed = keyed_request(req, req.path_params.at("card_id") + "\n" + req.path_params.at("action"), *body);
    if (!keyed.ok()) return Response::error(keyed.status());
    KeyedRequest* key = *keyed ? &**keyed : nullptr;
    auto c = perform(cards, *by, req.path_params.at("card_id"), *action, *body, key);
    if (!c.ok()) return Response::error(c.status());
    if (!key) return json_response(200, to_json(*c, cards.today()));
    // The answer recorded with the first request under the key, also when this is that request.
    Response r = Response::json(200, key->answer);
    if (key->replay) r.headers.emplace_back("Idempotent-Replayed", "true");
    return r;
  });

  server.add_metrics_source([&cards] { return cards.metrics(); });
}

}  // namespace jlis::card
