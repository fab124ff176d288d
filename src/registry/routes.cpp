#include "registry/routes.h"

#include <nlohmann/json.hpp>

#include "http/json_body.h"

namespace jlis::registry {
namespace {

using http::json_response;
using http::Request;
using http::Response;
using nlohmann::json;

}  // namespace

Result<Reader> authorize_read(store::Connection& conn, auth::Directory& directory, const Request& req,
                              const std::string& purpose) {
  JLIS_ASSIGN_OR_RETURN(auth::Principal p, directory.authenticate(conn, req.bearer_token()));
  if (p.role == auth::Role::agency) {
    if (purpose.empty()) return permission_denied("an agency must name the purpose of its query (purpose=)");
    if (!p.purposes.count(purpose)) return permission_denied("the purpose '" + purpose + "' is not granted to this agency");
    return Reader{p, purpose};
  }
  if (p.role == auth::Role::municipality) return Reader{p, ""};
  return permission_denied("this role may not read identity information");
}

namespace {

// A municipality reads the residents it holds, and a resident moving in to it; anyone else's gets the
// answer of an unknown code.
Status check_municipality_reads(const Reader& reader, const Resident& r) {
  if (reader.is_agency()) return Status::ok();
  const std::string& own = reader.principal.subject;
  if (r.municipality_code.str() == own || (r.moving_to && r.moving_to->str() == own)) return Status::ok();
  return unknown_resident();
}

Result<ResidentCode> resident_code_param(const Request& req) {
  auto code = ResidentCode::parse(req.path_params.at("resident_code"));
  if (!code.ok()) return invalid_argument("the resident code must be 11 digits with a valid check digit");
  return *code;
}

// The resident named in the path, for a caller allowed to read it: token and purpose (401/403), code
// (400), then existence and, for a municipality, its scope as one answer (404, unknown_resident()).
Result<std::pair<Reader, Resident>> read_resident(store::Connection& conn, auth::Directory& directory,
                                                  Registry& registry, const Request& req) {
  JLIS_ASSIGN_OR_RETURN(Reader reader, authorize_read(conn, directory, req, req.query_param("purpose")));
  JLIS_ASSIGN_OR_RETURN(ResidentCode code, resident_code_param(req));
  JLIS_ASSIGN_OR_RETURN(Resident resident, reader.is_agency()
                                               ? registry.get(conn, code)
                                               : registry.get_for_municipality(conn, code, reader.principal.subject, true));
  return std::make_pair(std::move(reader), std::move(resident));
}

}  // namespace

http::DeferredHandler providing(Registry& registry, ProvidingRead read, std::string_view information) {
  return [&registry, read = std::move(read), information](const Request& req, http::Reply reply) {
    std::optional<Provided> p;
    Status s = registry.pool().read([&](store::Connection& conn) -> Status {
      JLIS_ASSIGN_OR_RETURN(Provided got, read(conn, req));
      p = std::move(got);
      return Status::ok();
    });
    if (!s.is_ok()) return reply.send(Response::error(s));
    if (!p->reader.is_agency()) return reply.send(std::move(p->response));
    const auth::Principal& agency = p->reader.principal;
    registry.record_provision_then(agency.subject, agency.name, p->reader.purpose, p->residents,
                                   req.server_request_id, req.client_request_id,
                                   [reply, response = std::move(p->response)](Status s) mutable {
                                     reply.send(s.is_ok() ? std::move(response) : Response::error(s));
                                   },
                                   information);
  };
}

Result<json> disclosure(Registry& registry, const ResidentCode& code, const DisclosureDecorator& disclose) {
  JLIS_ASSIGN_OR_RETURN(auto list, registry.provisions(code));
  json out = json::array();
  for (const auto& p : list) {
    out.push_back({{"agency_id", p.agency_id}, {"agency_name", p.agency_name}, {"purpose", p.purpose},
                   {"information", p.information}, {"provided_at", p.provided_at}, {"request_id", p.request_id}});
    if (!p.client_request_id.empty()) out.back()["client_request_id"] = p.client_request_id;
  }
  json answer = {{"resident_code", code.str()}, {"provisions", out}};
  if (disclose) JLIS_RETURN_IF_ERROR(disclose(code, answer));
  return answer;
}

void add_routes(http::Server& server, Registry& registry, auth::Directory& directory, ResidentDecorator decorate,
                DisclosureDecorator disclose) {
  // The resident as the API shows it, with what other components add.
  auto view = [decorate](store::Connection& conn, const Resident& r) {
    json j = to_json(r);
    if (decorate) decorate(conn, r, j);
    return j;
  };
  server.route("POST", "/v1/municipalities/{code}/events", [&, view](const Request& req) {
    auto principal = directory.authenticate(req.bearer_token());
    if (!principal.ok()) return Response::error(principal.status());
    auto code = LocalGovernmentCode::parse(req.path_params.at("code"));
    if (!code.ok()) return Response::error(invalid_argument("the municipality code must be 6 digits with a valid check digit"));
    if (!principal->is_municipality(*code))
      return Response::error(permission_denied("only the municipality itself may submit its events"));
    json body = json::parse(req.body, nullptr, false);
    if (body.is_discarded()) return Response::error(invalid_argument("the body is not valid JSON"));
    auto event = event_from_json(body);
    if (!event.ok()) return Response::error(event.status());
    auto applied = registry.submit(*code, *event);
    if (!applied.ok()) return Response::error(applied.status());
    json answer;
    Status read = registry.pool().read([&](store::Connection& conn) {
      answer = view(conn, applied->resident);
      return Status::ok();
    });
    if (!read.is_ok()) return Response::error(read);
    return json_response(applied->replay ? 200 : 201, answer);
  });

  server.route_deferred("GET", "/v1/residents/{resident_code}", providing(registry, [&, view](store::Connection& conn, const Request& req) -> Result<Provided> {
    JLIS_ASSIGN_OR_RETURN(auto found, read_resident(conn, directory, registry, req));
    return Provided{found.first, {found.second.resident_code}, json_response(200, view(conn, found.second))};
  }));

  server.route_deferred("GET", "/v1/residents", providing(registry, [&, view](store::Connection& conn, const Request& req) -> Result<Provided> {
    JLIS_ASSIGN_OR_RETURN(Reader reader, authorize_read(conn, directory, req, req.query_param("purpose")));
    const std::string text = req.query_param("my_number");
    if (text.empty()) return invalid_argument("my_number is required");
    auto number = MyNumber::parse(text);
    if (!number.ok()) return invalid_argument("my_number must be 12 digits with a valid check digit");
    auto r = registry.find_by_my_number(*number);
    if (!r.ok() && r.status().code() == Code::not_found && !reader.is_agency()) return unknown_resident();
    if (!r.ok()) return r.status();
    JLIS_RETURN_IF_ERROR(check_municipality_reads(reader, *r));
    return Provided{reader, {r->resident_code}, json_response(200, view(conn, *r))};
  }));

  server.route_deferred("POST", "/v1/residents/search", providing(registry, [&, view](store::Connection& conn, const Request& req) -> Result<Provided> {
    JLIS_RETURN_IF_ERROR(directory.authenticate(conn, req.bearer_token()).status());
    json body = json::parse(req.body, nullptr, false);
    if (body.is_discarded()) return invalid_argument("the body is not valid JSON");
    std::string purpose = req.query_param("purpose");
    if (purpose.empty() && body.is_object() && body.contains("purpose") && body["purpose"].is_string())
      purpose = body["purpose"].get<std::string>();
    JLIS_ASSIGN_OR_RETURN(Reader reader, authorize_read(conn, directory, req, purpose));
    if (!reader.is_agency()) return permission_denied("the basic-four search is for agencies");
    JLIS_ASSIGN_OR_RETURN(auto query, search_query_from_json(body));
    JLIS_ASSIGN_OR_RETURN(auto found, registry.search(query));
    json results = json::array();
    std::vector<ResidentCode> codes;
    for (const auto& r : found.residents) {
      results.push_back(view(conn, r));
      codes.push_back(r.resident_code);
    }
    return Provided{reader, codes, json_response(200, {{"results", results}, {"truncated", found.truncated}})};
  }));

  server.route_deferred("GET", "/v1/residents/{resident_code}/history", providing(registry, [&](store::Connection& conn, const Request& req) -> Result<Provided> {
    JLIS_ASSIGN_OR_RETURN(auto found, read_resident(conn, directory, registry, req));
    const ResidentCode code = found.second.resident_code;
    JLIS_ASSIGN_OR_RETURN(auto history, registry.history(code));
    json events = json::array();
    for (const auto& h : history) {
      events.push_back({{"seq", h.seq}, {"event_id", h.event_id}, {"type", event_type_name(h.type)},
                        {"date", h.date.to_iso()}, {"recorded_at", h.recorded_at},
                        {"municipality_code", h.municipality.str()}, {"event", json::parse(h.event_json)},
                        {"resident", json::parse(h.resident_json)}});
    }
    return Provided{found.first, {code}, json_response(200, {{"resident_code", code.str()}, {"events", events}})};
  }));

  server.route("GET", "/v1/residents/{resident_code}/provisions", [&, disclose](const Request& req) {
    auto principal = directory.authenticate(req.bearer_token());
    if (!principal.ok()) return Response::error(principal.status());
    if (principal->role != auth::Role::municipality)
      return Response::error(permission_denied("the disclosure record is given to the resident through their municipality"));
    auto code = resident_code_param(req);
    if (!code.ok()) return Response::error(code.status());
    auto r = registry.get_for_municipality(*code, principal->subject);
    if (!r.ok()) return Response::error(r.status());
    auto answer = disclosure(registry, *code, disclose);
    if (!answer.ok()) return Response::error(answer.status());
    return json_response(200, *answer);
  });

  server.add_metrics_source([&] { return registry.metrics(); });
}

}  // namespace jlis::registry
