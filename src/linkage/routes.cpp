#include "linkage/routes.h"

#include <spdlog/spdlog.h>

#include <ctime>
#include <nlohmann/json.hpp>

#include "http/json_body.h"

namespace jlis::linkage {
namespace {

using http::answering;
using http::json_response;
using http::Request;
using http::Response;
using nlohmann::json;

// The body the token is of: 401 without a good token, 403 for any other role.
Result<std::string> calling_body(const Services& s, const Request& req) {
  JLIS_ASSIGN_OR_RETURN(auth::Principal p, s.directory.authenticate(req.bearer_token()));
  if (p.role != auth::Role::linkage_body)
    return permission_denied("only a body registered with the information-linkage platform may call it");
  return p.subject;
}

// A non-negative integer query parameter of at most `max` (`fallback` when absent).
Result<int64_t> count_param(const Request& req, const std::string& name, int64_t fallback, int64_t min, int64_t max) {
  const std::string text = req.query_param(name);
  if (text.empty()) return fallback;
  if (text.size() > 9 || text.find_first_not_of("0123456789") != std::string::npos || std::stoll(text) < min ||
      std::stoll(text) > max)
    return invalid_argument(name + " must be " + std::to_string(min) + " to " + std::to_string(max));
  return std::stoll(text);
}

// The request's body as the calling body signed it (signatures.h): verified, or the refusal.
Result<SignedMessage> signed_body(const Services& s, const Request& req) {
  if (!s.verifier)
    return unavailable("the platform verifies the bodies' signatures against LGPKI, which this data directory does "
                       "not have (jlis lgpki init)");
  return s.verifier->verify(req.body, req.header("jlis-signature"));
}

json to_json(const BulkJob& j) {
  return {{"job_id", j.job_id}, {"state", j.state()},   {"total", j.total},
          {"done", j.done},     {"failed", j.failed},   {"submitted_at", j.submitted_at},
          {"day", j.day},       {"finished_at", j.finished_at.empty() ? json(nullptr) : json(j.finished_at)}};
}

json to_json(const ProvisionRecord& r) {
  json j = {{"query_id", r.query_id},       {"requester", r.requester},     {"provider", r.provider},
            {"procedure", r.procedure},     {"items", r.items},             {"requested_at", r.requested_at},
            {"answered_at", r.answered_at}, {"outcome", r.outcome}};
  if (!r.reason.empty()) j["reason"] = r.reason;
  if (!r.layout_version.empty()) j["layout_version"] = r.layout_version;
  return j;
}

Result<Response> code_by_my_number(const Services& s, const Request& req) {
  JLIS_ASSIGN_OR_RETURN(std::string body, calling_body(s, req));
  JLIS_ASSIGN_OR_RETURN(SignedMessage message, signed_body(s, req));
  JLIS_ASSIGN_OR_RETURN(json in, http::object_body(req));
  auto text = in.find("my_number");
  if (text == in.end() || !text->is_string())
    return invalid_argument("my_number is required: the person's My Number (12 digits)");
  auto number = MyNumber::parse(text->get<std::string>());
  if (!number.ok()) return invalid_argument("my_number must be 12 digits with a valid check digit");
  JLIS_ASSIGN_OR_RETURN(std::string code,
                        s.platform.codes().code_by_my_number(s.registry, body, *number, req.server_request_id, &message));
  return json_response(200, {{"body", body}, {"code", code}});
}

Result<Response> put_replica(const Services& s, const Request& req) {
  JLIS_ASSIGN_OR_RETURN(std::string body, calling_body(s, req));
  JLIS_ASSIGN_OR_RETURN(SignedMessage message, signed_body(s, req));
  JLIS_ASSIGN_OR_RETURN(json in, http::object_body(req));
  auto items = in.find("items");
  if (items == in.end() || !items->is_object() || items->empty())
    return invalid_argument("items is required: an object of item code to value (an empty value withdraws the item)");
  ItemValues values;
  for (const auto& [item, value] : items->items()) {
    if (!value.is_string()) return invalid_argument("item " + item + ": a value is a string");
    values[item] = value.get<std::string>();
  }
  const std::string& code = req.path_params.at("code");
  JLIS_ASSIGN_OR_RETURN(std::string version, s.platform.replicas().put(body, code, values, s.today(), &message));
  return json_response(200, {{"code", code}, {"layout_version", version}});
}

Result<Response> put_live(const Services& s, const Request& req) {
  JLIS_ASSIGN_OR_RETURN(std::string body, calling_body(s, req));
  JLIS_ASSIGN_OR_RETURN(SignedMessage message, signed_body(s, req));
  JLIS_ASSIGN_OR_RETURN(json in, http::object_body(req));
  auto live = in.find("live");
  if (live == in.end() || !live->is_boolean())
    return invalid_argument("live is required: true when the body answers this person's queries itself");
  const std::string& code = req.path_params.at("code");
  JLIS_RETURN_IF_ERROR(s.platform.replicas().set_live(body, code, live->get<bool>(), &message));
  return json_response(200, {{"code", code}, {"live", live->get<bool>()}});
}

Result<Response> get_replica(const Services& s, const Request& req) {
  JLIS_ASSIGN_OR_RETURN(std::string body, calling_body(s, req));
  const std::string& code = req.path_params.at("code");
  JLIS_ASSIGN_OR_RETURN(ItemValues items, s.platform.replicas().get(body, code));
  return json_response(200, {{"code", code}, {"items", items}});
}

Result<Response> ask(const Services& s, const Request& req) {
  JLIS_ASSIGN_OR_RETURN(std::string body, calling_body(s, req));
  JLIS_ASSIGN_OR_RETURN(SignedMessage message, signed_body(s, req));
  JLIS_ASSIGN_OR_RETURN(json in, http::object_body(req));
  JLIS_ASSIGN_OR_RETURN(Query q, query_from_json(in, body));
  q.signed_by = std::move(message);
  Result<Answer> asked = s.platform.queries().ask(q, s.today());
  // The provider's own system failed a forwarded query: a gateway's failure, not the caller's.
  if (!asked.ok() && asked.status().message().ends_with("[" + std::string(kProviderUnavailable) + "]"))
    return Response::error(502, "bad_gateway", asked.status().message());
  JLIS_ASSIGN_OR_RETURN(Answer a, std::move(asked));
  return json_response(200, {{"query_id", a.query_id},
                             {"layout_version", a.layout_version},
                             {"items", a.items},
                             {"not_registered", a.not_registered},
                             {"answered_by", a.answered_by}});
}

Result<Response> records(const Services& s, const Request& req) {
  JLIS_ASSIGN_OR_RETURN(std::string body, calling_body(s, req));
  JLIS_ASSIGN_OR_RETURN(int64_t limit, count_param(req, "limit", 100, 1, 1000));
  JLIS_ASSIGN_OR_RETURN(auto list, s.platform.queries().records_of_body(body, static_cast<int>(limit)));
  json out = json::array();
  for (const ProvisionRecord& r : list) out.push_back(to_json(r));
  return json_response(200, {{"body", body}, {"records", out}});
}

Result<Response> bodies(const Services& s, const Request& req) {
  JLIS_RETURN_IF_ERROR(calling_body(s, req).status());
  JLIS_ASSIGN_OR_RETURN(auto list, s.platform.bodies().list());
  json out = json::array();
  for (const Body& b : list)
    out.push_back({{"body_id", b.body_id}, {"kind", std::string(body_kind_name(b.kind))}, {"name", b.name},
                   {"active", b.active}});
  return json_response(200, {{"bodies", out}});
}

Result<Response> submit_bulk(const Services& s, const Request& req) {
  JLIS_ASSIGN_OR_RETURN(std::string body, calling_body(s, req));
  JLIS_ASSIGN_OR_RETURN(SignedMessage message, signed_body(s, req));
  JLIS_ASSIGN_OR_RETURN(BulkJob job, s.platform.bulk_jobs().submit(body, req.body, s.today(), &message));
  if (s.bulk_runner) s.bulk_runner->wake();
  return json_response(202, to_json(job));
}

Result<Response> bulk_job(const Services& s, const Request& req) {
  JLIS_ASSIGN_OR_RETURN(std::string body, calling_body(s, req));
  JLIS_ASSIGN_OR_RETURN(BulkJob job, s.platform.bulk_jobs().get(body, req.path_params.at("job")));
  return json_response(200, to_json(job));
}

Result<Response> bulk_results(const Services& s, const Request& req) {
  JLIS_ASSIGN_OR_RETURN(std::string body, calling_body(s, req));
  JLIS_ASSIGN_OR_RETURN(int64_t after, count_param(req, "after", 0, 0, 999'999'999));
  JLIS_ASSIGN_OR_RETURN(int64_t limit, count_param(req, "limit", 1000, 1, 10000));
  const std::string failed = req.query_param("failed");
  if (!failed.empty() && failed != "true" && failed != "false") return invalid_argument("failed must be true or false");
  const std::string& job = req.path_params.at("job");
  JLIS_ASSIGN_OR_RETURN(auto results,
                        s.platform.bulk_jobs().results(body, job, after, static_cast<int>(limit), failed == "true"));
  json out = {{"job_id", job}, {"results", results}};
  // Where the next page starts: after the last line listed, while the page was full.
  out["next_after"] = static_cast<int64_t>(results.size()) == limit ? json(results.back()["line"]) : json(nullptr);
  return json_response(200, out);
}

// The answer, signed by the platform when the caller is a registered body (routes.h).
Response signed_answer(const Services& s, const Request& req, const http::Handler& handle) {
  if (!s.answer_key) return handle(req);
  auto caller = s.directory.authenticate(req.bearer_token());
  if (!caller.ok() || caller->role != auth::Role::linkage_body) return handle(req);
  auto key = s.answer_key();
  if (!key.ok())
    return Response::error(unavailable("the platform cannot sign its answers: " + key.status().message()));
  Response out = handle(req);
  auto signature = (*key)->sign(out.body, static_cast<int64_t>(std::time(nullptr)));
  if (!signature.ok()) {
    spdlog::error("linkage: signing an answer failed: {}", signature.status().to_string());
    return Response::error(internal_error("the platform could not sign its answer"));
  }
  out.headers.emplace_back(kSignatureHeader, pki::base64_encode(*signature));
  return out;
}

}  // namespace

void add_routes(http::Server& server, const Services& services) {
  // The handlers keep copies of `services` (its references): the caller's may be a temporary.
  auto route = [&](const char* method, const char* pattern, Result<Response> (*handle)(const Services&, const Request&)) {
    http::Handler answer = answering([s = services, handle](const Request& req) { return handle(s, req); });
    server.route(method, pattern, [s = services, answer = std::move(answer)](const Request& req) {
      return signed_answer(s, req, answer);
    });
  };
  route("POST", "/v1/linkage/codes", code_by_my_number);
  route("PUT", "/v1/linkage/replicas/{code}", put_replica);
  route("GET", "/v1/linkage/replicas/{code}", get_replica);
  route("PUT", "/v1/linkage/replicas/{code}/live", put_live);
  route("POST", "/v1/linkage/queries", ask);
  route("GET", "/v1/linkage/records", records);
  route("GET", "/v1/linkage/bodies", bodies);
  route("POST", "/v1/linkage/bulk-jobs", submit_bulk);
  route("GET", "/v1/linkage/bulk-jobs/{job}", bulk_job);
  route("GET", "/v1/linkage/bulk-jobs/{job}/results", bulk_results);
  // A bulk file is read only from a registered body: anyone else's large body is 413 unread.
  server.allow_body_bytes("/v1/linkage/bulk-jobs", kBulkBodyBytes, [&directory = services.directory](const std::string& t) {
    auto p = directory.authenticate(t);
    return p.ok() && p->role == auth::Role::linkage_body;
  });
}

registry::DisclosureDecorator disclosure(Platform& platform) {
  return [&platform](const ResidentCode& code, json& out) -> Status {
    JLIS_ASSIGN_OR_RETURN(auto list, platform.queries().records_about(code));
    json records = json::array();
    for (const ProvisionRecord& r : list) records.push_back(to_json(r));
    out["linkage_records"] = std::move(records);
    return Status::ok();
  };
}

}  // namespace jlis::linkage
