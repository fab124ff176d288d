#include "municipal/routes.h"

#include <type_traits>
#include <variant>

#include <nlohmann/json.hpp>

#include "http/json_body.h"
#include "municipal/fuhyo.h"
#include "municipal/koseki_json.h"

namespace jlis::municipal {
namespace {

using http::answering;
using http::json_response;
using http::Request;
using http::Response;
using nlohmann::json;

Result<LocalGovernmentCode> municipality_param(const Request& req) {
  auto code = LocalGovernmentCode::parse(req.path_params.at("code"));
  if (!code.ok()) return invalid_argument("the municipality code must be 6 digits with a valid check digit");
  return *code;
}

Result<ResidentCode> resident_code_param(const Request& req) {
  auto code = ResidentCode::parse(req.path_params.at("resident_code"));
  if (!code.ok()) return invalid_argument("the resident code must be 11 digits with a valid check digit");
  return *code;
}

Result<int64_t> register_id_param(const Request& req) {
  const std::string& text = req.path_params.at("register_id");
  if (text.empty() || text.size() > 18 || text.find_first_not_of("0123456789") != std::string::npos)
    return invalid_argument("the register id must be a positive integer");
  return std::stoll(text);
}

// The municipality of the path, called by its own token (401, 400, 403 in that order).
Result<LocalGovernmentCode> own_municipality(const Services& s, const Request& req) {
  JLIS_ASSIGN_OR_RETURN(auth::Principal p, s.directory.authenticate(req.bearer_token()));
  JLIS_ASSIGN_OR_RETURN(LocalGovernmentCode code, municipality_param(req));
  if (!p.is_municipality(code)) return permission_denied("only the municipality itself keeps these records");
  return code;
}

// The municipality of the path, asked by the issuance centre (401, 403, 400, 404).
Result<LocalGovernmentCode> issuing_municipality(const Services& s, const Request& req) {
  JLIS_ASSIGN_OR_RETURN(auth::Principal p, s.directory.authenticate(req.bearer_token()));
  if (p.role != auth::Role::issuance_centre)
    return permission_denied("only the issuance centre asks a municipality's issuance server");
  JLIS_ASSIGN_OR_RETURN(LocalGovernmentCode code, municipality_param(req));
  if (!s.registry.reference().find(code)) return not_found("no municipality has the code " + code.str());
  return code;
}

Result<Response> issue_document(const Services& s, const Request& req) {
  JLIS_ASSIGN_OR_RETURN(LocalGovernmentCode code, issuing_municipality(s, req));
  JLIS_ASSIGN_OR_RETURN(json body, http::object_body(req));
  JLIS_ASSIGN_OR_RETURN(IssuanceRequest request, issuance_request_from_json(body));
  if (request.certificate_serial.empty())
    return invalid_argument("certificate_serial is required: the holder's user-authentication certificate");
  if (request.session.empty()) return invalid_argument("session is required: the kiosk session the document is for");
  request.channel = "kiosk";
  JLIS_ASSIGN_OR_RETURN(IssuanceOutcome outcome, s.issuance.issue(code, request));
  if (outcome.refusal) {
    return json_response(403, {{"error", {{"code", "permission_denied"},
                                          {"message", "the document is refused (" + outcome.refusal->reason + ")"}}},
                               {"refusal", {{"reason", outcome.refusal->reason}, {"message", outcome.refusal->message}}}});
  }
  IssuedDocument& doc = *outcome.document;
  Response r;
  r.content_type = "application/pdf";
  // X-Subject-Resident: whose document it is, for the centre's check against the card holder of
  // its session (kiosk/centre.h); the centre never passes it on to the terminal.
  r.headers = {{"X-Issuance-Number", doc.issuance_number},
               {"X-Fee", std::to_string(doc.fee)},
               {"X-Subject-Resident", doc.subject_resident.str()}};
  r.body = std::move(doc.pdf);
  return r;
}

// The centre returns what a kiosk session got here and never reached its terminal: {"delivered"?}
// (the number the terminal fetched, kept) → 200 {"session", "returned": [numbers now undelivered]}.
Result<Response> returned_documents(const Services& s, const Request& req) {
  JLIS_ASSIGN_OR_RETURN(LocalGovernmentCode code, issuing_municipality(s, req));
  JLIS_ASSIGN_OR_RETURN(json body, http::object_body(req));
  for (const auto& [k, v] : body.items())
    if (k != "delivered" || !v.is_string() || v.get<std::string>().empty())
      return invalid_argument(
          "a return is {\"delivered\"?}: the issuance number the session's terminal fetched, if any");
  const std::string& session = req.path_params.at("session");
  JLIS_ASSIGN_OR_RETURN(auto numbers, s.issuance.returned(code, session, body.value("delivered", std::string())));
  return json_response(200, {{"session", session}, {"returned", numbers}});
}

Result<Response> kiosk_offer(const Services& s, const Request& req) {
  JLIS_ASSIGN_OR_RETURN(LocalGovernmentCode code, issuing_municipality(s, req));
  JLIS_ASSIGN_OR_RETURN(KioskOffer offer, s.issuance.offer(code));
  json documents = json::array();
  for (DocumentType type : offer.documents)
    documents.push_back({{"type", std::string(document_type_name(type))}, {"fee", offer.fees.count(type) ? offer.fees.at(type) : 0}});
  return json_response(200, {{"municipality_code", code.str()},
                             {"shared_function", offer.shared_function},
                             {"documents", documents}});
}

// A seal write's answer: 201 for a new registration or abolition, 200 for a retry.
Response seal_applied(const SealApplied& applied) {
  return json_response(applied.replay ? 200 : 201, to_json(applied.registration));
}

// 附票本人確認情報 for an agency: the purpose named and granted, as for the basic four.
Result<registry::Reader> fuhyo_reader(store::Connection& conn, const Services& s, const Request& req,
                                      const std::string& purpose) {
  JLIS_ASSIGN_OR_RETURN(registry::Reader reader, registry::authorize_read(conn, s.directory, req, purpose));
  if (!reader.is_agency()) return permission_denied("附票本人確認情報 is provided to agencies");
  return reader;
}

// The identities of those of `codes` who have a 附票 (in the order given).
Result<std::vector<FuhyoIdentity>> fuhyo_identities(store::Connection& conn, const std::vector<ResidentCode>& codes) {
  std::vector<FuhyoIdentity> out;
  for (const ResidentCode& code : codes) {
    auto id = Fuhyo::identity(conn, code);
    if (id.ok()) out.push_back(std::move(*id));
    else if (id.status().code() != Code::not_found) return id.status();
  }
  return out;
}

// One person's 附票本人確認情報, or the answer of an unknown resident.
Result<registry::Provided> one_fuhyo(store::Connection& conn, registry::Reader reader, const ResidentCode& code) {
  JLIS_ASSIGN_OR_RETURN(auto found, fuhyo_identities(conn, {code}));
  if (found.empty()) return registry::unknown_resident();
  return registry::Provided{std::move(reader), {found[0].resident_code}, json_response(200, to_json(found[0]))};
}

Status another_municipalitys_register() { return not_found("no such family register in this municipality"); }

// Applies a family-register notice of municipality `code` as one writer job, so that every check
// (Koseki's, and for a link the register's holder and the resident record) runs in the transaction
// that writes.
Result<KosekiOutcome> apply_notice(const Services& s, const LocalGovernmentCode& code, const KosekiNotice& notice) {
  return store::run_for<KosekiOutcome>(s.writer, [&](store::Connection& conn) -> Result<KosekiOutcome> {
    return std::visit(
        [&](const auto& n) -> Result<KosekiOutcome> {
          using Notice = std::decay_t<decltype(n)>;
          if constexpr (std::is_same_v<Notice, OpenRegister>) return Koseki::open_register(conn, code, n);
          else if constexpr (std::is_same_v<Notice, BirthNotice>) return Koseki::birth(conn, code, n);
          else if constexpr (std::is_same_v<Notice, MarriageNotice>) return Koseki::marriage(conn, code, n);
          else if constexpr (std::is_same_v<Notice, DivorceNotice>) return Koseki::divorce(conn, code, n);
          else if constexpr (std::is_same_v<Notice, AdoptionNotice>) return Koseki::adoption(conn, code, n);
          else if constexpr (std::is_same_v<Notice, DeathNotice>) return Koseki::death(conn, code, n);
          else if constexpr (std::is_same_v<Notice, TransferNotice>) return Koseki::transfer(conn, code, n);
          else if constexpr (std::is_same_v<Notice, BranchNotice>) return Koseki::branch(conn, code, n);
          else if constexpr (std::is_same_v<Notice, OldSurnameNotice>) return Koseki::record_old_surname(conn, code, n);
          else {
            static_assert(std::is_same_v<Notice, KosekiLinkRequest>);
            // The register first: a municipality that does not hold it learns nothing of the
            // resident code (404 either way, with the same message).
            JLIS_ASSIGN_OR_RETURN(KosekiRegister reg, Koseki::get(conn, n.member.register_id));
            if (reg.municipality != code) return another_municipalitys_register();
            JLIS_ASSIGN_OR_RETURN(registry::Resident resident, s.registry.get(conn, n.resident_code));
            return Fuhyo::link(conn, code, LinkNotice{n.event_id, n.member, std::move(resident), n.since});
          }
        },
        notice);
  });
}

}  // namespace

void add_routes(http::Server& server, const Services& s) {
  // The handlers keep copies of `s` (its references): the caller's Services may be a temporary.
  server.route("POST", "/v1/issuance/{code}/documents", answering([s](const Request& req) { return issue_document(s, req); }));
  server.route("GET", "/v1/issuance/{code}/offer", answering([s](const Request& req) { return kiosk_offer(s, req); }));
  server.route("POST", "/v1/issuance/{code}/sessions/{session}/returned",
               answering([s](const Request& req) { return returned_documents(s, req); }));

  server.route("GET", "/v1/municipalities/{code}/households/{resident_code}",
               answering([s](const Request& req) -> Result<Response> {
                 JLIS_ASSIGN_OR_RETURN(LocalGovernmentCode code, own_municipality(s, req));
                 JLIS_ASSIGN_OR_RETURN(ResidentCode resident, resident_code_param(req));
                 JLIS_ASSIGN_OR_RETURN(Household household, s.households.of(resident, code));
                 return json_response(200, to_json(household));
               }));
  server.route("POST", "/v1/municipalities/{code}/households/events", answering([s](const Request& req) -> Result<Response> {
                 JLIS_ASSIGN_OR_RETURN(LocalGovernmentCode code, own_municipality(s, req));
                 JLIS_ASSIGN_OR_RETURN(json body, http::object_body(req));
                 JLIS_ASSIGN_OR_RETURN(HouseholdEvent event, household_event_from_json(body));
                 JLIS_ASSIGN_OR_RETURN(std::vector<Household> after, s.households.submit(code, event));
                 json households = json::array();
                 for (const Household& h : after) households.push_back(to_json(h));
                 return json_response(200, {{"households", households}});
               }));

  server.route("GET", "/v1/municipalities/{code}/seals/{resident_code}", answering([s](const Request& req) -> Result<Response> {
                 JLIS_ASSIGN_OR_RETURN(LocalGovernmentCode code, own_municipality(s, req));
                 JLIS_ASSIGN_OR_RETURN(ResidentCode resident, resident_code_param(req));
                 JLIS_ASSIGN_OR_RETURN(auto history, s.seals.history(code, resident));
                 json list = json::array();
                 for (const SealRegistration& r : history) list.push_back(to_json(r));
                 return json_response(200, {{"resident_code", resident.str()}, {"registrations", list}});
               }));
  auto seal_write = [s](auto write) {
    return answering([s, write](const Request& req) -> Result<Response> {
      JLIS_ASSIGN_OR_RETURN(LocalGovernmentCode code, own_municipality(s, req));
      JLIS_ASSIGN_OR_RETURN(json body, http::object_body(req));
      JLIS_ASSIGN_OR_RETURN(SealApplied applied, write(code, body));
      return seal_applied(applied);
    });
  };
  server.route("POST", "/v1/municipalities/{code}/seals",
               seal_write([s](const LocalGovernmentCode& code, const json& body) -> Result<SealApplied> {
                 JLIS_ASSIGN_OR_RETURN(auto request, seal_registration_request_from_json(body));
                 return s.seals.register_seal(code, request);
               }));
  server.route("POST", "/v1/municipalities/{code}/seals/change",
               seal_write([s](const LocalGovernmentCode& code, const json& body) -> Result<SealApplied> {
                 JLIS_ASSIGN_OR_RETURN(auto request, seal_registration_request_from_json(body));
                 return s.seals.change(code, request);
               }));
  server.route("POST", "/v1/municipalities/{code}/seals/abolish",
               seal_write([s](const LocalGovernmentCode& code, const json& body) -> Result<SealApplied> {
                 JLIS_ASSIGN_OR_RETURN(auto request, seal_abolition_request_from_json(body));
                 return s.seals.abolish(code, request);
               }));

  server.route("POST", "/v1/municipalities/{code}/family-registers/events",
               answering([s](const Request& req) -> Result<Response> {
                 JLIS_ASSIGN_OR_RETURN(LocalGovernmentCode code, own_municipality(s, req));
                 JLIS_ASSIGN_OR_RETURN(json body, http::object_body(req));
                 JLIS_ASSIGN_OR_RETURN(KosekiNotice notice, koseki_notice_from_json(body));
                 JLIS_ASSIGN_OR_RETURN(KosekiOutcome outcome, apply_notice(s, code, notice));
                 return json_response(outcome.replay ? 200 : 201, {{"register_id", outcome.ref.register_id},
                                                                   {"member", outcome.ref.member},
                                                                   {"replay", outcome.replay}});
               }));
  server.route("GET", "/v1/municipalities/{code}/family-registers/{register_id}",
               answering([s](const Request& req) -> Result<Response> {
                 JLIS_ASSIGN_OR_RETURN(LocalGovernmentCode code, own_municipality(s, req));
                 JLIS_ASSIGN_OR_RETURN(int64_t id, register_id_param(req));
                 JLIS_ASSIGN_OR_RETURN(auto conn, s.pool.acquire());
                 JLIS_ASSIGN_OR_RETURN(KosekiRegister reg, Koseki::get(*conn, id));
                 if (reg.municipality != code) return another_municipalitys_register();
                 return json_response(200, to_json(reg));
               }));

  const auto information = registry::kFuhyoInformation;
  server.route_deferred("GET", "/v1/fuhyo/{resident_code}", registry::providing(s.registry, [s](store::Connection& conn, const Request& req) -> Result<registry::Provided> {
    JLIS_ASSIGN_OR_RETURN(registry::Reader reader, fuhyo_reader(conn, s, req, req.query_param("purpose")));
    JLIS_ASSIGN_OR_RETURN(ResidentCode code, resident_code_param(req));
    return one_fuhyo(conn, std::move(reader), code);
  }, information));
  server.route_deferred("GET", "/v1/fuhyo", registry::providing(s.registry, [s](store::Connection& conn, const Request& req) -> Result<registry::Provided> {
    JLIS_ASSIGN_OR_RETURN(registry::Reader reader, fuhyo_reader(conn, s, req, req.query_param("purpose")));
    const std::string text = req.query_param("my_number");
    if (text.empty()) return invalid_argument("my_number is required");
    auto number = MyNumber::parse(text);
    if (!number.ok()) return invalid_argument("my_number must be 12 digits with a valid check digit");
    JLIS_ASSIGN_OR_RETURN(registry::Resident r, s.registry.find_by_my_number(*number));
    return one_fuhyo(conn, std::move(reader), r.resident_code);
  }, information));
  server.route_deferred("POST", "/v1/fuhyo/search", registry::providing(s.registry, [s](store::Connection& conn, const Request& req) -> Result<registry::Provided> {
    JLIS_RETURN_IF_ERROR(s.directory.authenticate(conn, req.bearer_token()).status());
    JLIS_ASSIGN_OR_RETURN(json body, http::object_body(req));
    std::string purpose = req.query_param("purpose");
    if (purpose.empty() && body.contains("purpose") && body["purpose"].is_string())
      purpose = body["purpose"].get<std::string>();
    JLIS_ASSIGN_OR_RETURN(registry::Reader reader, fuhyo_reader(conn, s, req, purpose));
    JLIS_ASSIGN_OR_RETURN(auto query, registry::search_query_from_json(body));
    JLIS_ASSIGN_OR_RETURN(auto found, s.registry.search(query));
    std::vector<ResidentCode> codes;
    for (const auto& r : found.residents) codes.push_back(r.resident_code);
    JLIS_ASSIGN_OR_RETURN(auto identities, fuhyo_identities(conn, codes));
    json results = json::array();
    codes.clear();
    for (const FuhyoIdentity& id : identities) {
      results.push_back(to_json(id));
      codes.push_back(id.resident_code);
    }
    return registry::Provided{std::move(reader), std::move(codes),
                              json_response(200, {{"results", results}, {"truncated", found.truncated}})};
  }, information));
}

registry::DisclosureDecorator disclosure(IssuanceServer& issuance) {
  return [&issuance](const ResidentCode& code, json& out) -> Status {
    JLIS_ASSIGN_OR_RETURN(auto records, issuance.records_of(code));
    json list = json::array();
    for (const IssuanceRecord& r : records) {
      list.push_back({{"issuance_number", r.issuance_number.empty() ? json(nullptr) : json(r.issuance_number)},
                      {"municipality_code", r.municipality.str()},
                      {"type", std::string(document_type_name(r.type))},
                      {"channel", r.channel},
                      {"session", r.session},
                      {"outcome", r.outcome},
                      {"recorded_at", r.recorded_at}});
    }
    out["issuances"] = std::move(list);
    return Status::ok();
  };
}

}  // namespace jlis::municipal
