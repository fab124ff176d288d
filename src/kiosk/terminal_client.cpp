#include "kiosk/terminal_client.h"

#include "http/client.h"
#include "kiosk/sessions.h"
#include "pki/openssl.h"

namespace jlis::kiosk {
namespace {

using nlohmann::json;

// The centre's JSON error as a Status of the same kind; a refusal keeps its reason (refused()).
Status centre_error(const std::string& step, const http::ClientResponse& r) {
  json body = json::parse(r.body, nullptr, false);
  std::string message = "HTTP " + std::to_string(r.status);
  if (body.is_object() && body.contains("error") && body["error"].is_object())
    message = body["error"].value("code", "") + ": " + body["error"].value("message", "");
  if (body.is_object() && body.contains("refusal") && body["refusal"].is_object())
    return refused(body["refusal"].value("reason", ""), step + ": " + body["refusal"].value("message", ""));
  const std::string text = step + " failed: " + message;
  switch (r.status) {
    case 400: return invalid_argument(text);
    case 401: return unauthenticated(text);
    case 403: return permission_denied(text);
    case 404: return not_found(text);
    case 409: case 410: return conflict(text);
    default: return unavailable(text);
  }
}

json object_or_null(const std::string& body) {
  json j = json::parse(body, nullptr, false);
  return j.is_object() ? j : json();
}

}  // namespace

bool KioskOfferShown::offers(std::string_view type) const {
  for (const auto& [t, fee] : documents)
    if (t == type) return true;
  return false;
}

int64_t KioskOfferShown::fee(std::string_view type) const {
  for (const auto& [t, fee] : documents)
    if (t == type) return fee;
  return 0;
}

TerminalClient::TerminalClient(std::string centre_url, TerminalCredential credential)
    : base_(std::move(centre_url)), credential_(std::move(credential)) {
  while (!base_.empty() && base_.back() == '/') base_.pop_back();
}

Result<std::string> TerminalClient::call(const std::string& step, const std::string& method, const std::string& path,
                                         int expected, const std::string& body) {
  http::ClientRequest r;
  r.method = method;
  r.url = base_ + path;
  r.body = body;
  r.headers = {{"Authorization", "Bearer " + credential_.secret}};
  JLIS_ASSIGN_OR_RETURN(http::ClientResponse answer, http::fetch(r));
  if (answer.status != expected) return centre_error(step, answer);
  return std::move(answer.body);
}

Result<KioskOfferShown> TerminalClient::log_in(VirtualCard& card, const std::string& card_file, std::string_view pin) {
  session_id_.clear();
  JLIS_ASSIGN_OR_RETURN(std::string opened, call("opening a session", "POST", "/v1/kiosk/sessions", 201));
  const json session = object_or_null(opened);
  if (!session.contains("session_id") || !session.contains("challenge") || !session["session_id"].is_string() ||
      !session["challenge"].is_string())
    return unavailable("the centre's session is not what a terminal expects");
  const std::string id = session["session_id"];

  // The card checks the PIN and signs; its tries are kept in the card file, right or wrong.
  JLIS_ASSIGN_OR_RETURN(std::string challenge, pki::base64_decode(session["challenge"].get<std::string>()));
  Result<std::string> signature = card.sign(card::CardSecret::authentication_pin, pin, challenge);
  JLIS_RETURN_IF_ERROR(card.save(card_file));
  if (!signature.ok()) return permission_denied("the card refused the PIN: " + signature.status().message());

  const auto* slot = card.slot(card::CardSecret::authentication_pin);
  JLIS_ASSIGN_OR_RETURN(std::string in, call("the log-in", "POST", "/v1/kiosk/sessions/" + id + "/login", 200,
                                             json{{"certificate", slot->certificate_pem},
                                                  {"signature", pki::base64_encode(*signature)}}
                                                 .dump()));
  const json offer = object_or_null(in);
  KioskOfferShown shown;
  shown.municipality_code = offer.value("municipality_code", "");
  for (const auto& d : offer.value("documents", json::array()))
    if (d.is_object()) shown.documents.emplace_back(d.value("type", ""), d.value("fee", int64_t{0}));
  session_id_ = id;
  return shown;
}

Result<PrintedDocument> TerminalClient::print(const json& request,
                                              const std::function<Status(const PrintedDocument&)>& printer) {
  if (session_id_.empty()) return conflict("no session is logged in");
  const std::string path = "/v1/kiosk/sessions/" + session_id_;
  JLIS_ASSIGN_OR_RETURN(std::string requested, call("the document", "POST", path + "/documents", 201, request.dump()));
  const json issued = object_or_null(requested);
  PrintedDocument printed;
  printed.issuance_number = issued.value("issuance_number", "");
  printed.type = issued.value("type", "");
  printed.fee = issued.value("fee", int64_t{0});
  printed.copies = issued.value("copies", 1);
  JLIS_ASSIGN_OR_RETURN(printed.pdf, call("fetching the document", "GET", path + "/document", 200));
  JLIS_RETURN_IF_ERROR(printer(printed));
  JLIS_RETURN_IF_ERROR(call("the print confirmation", "POST", path + "/printed", 200).status());
  session_id_.clear();
  return printed;
}

}  // namespace jlis::kiosk
