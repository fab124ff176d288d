#include "kiosk/simulate.h"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <ostream>

#include <nlohmann/json.hpp>

#include "http/client.h"
#include "kiosk/terminals.h"
#include "kiosk/virtual_card.h"
#include "pki/openssl.h"

namespace jlis::kiosk {
namespace {

using nlohmann::json;

// The centre's JSON error as a Status of the same kind, with the refusal's reason when there is one.
Status centre_error(const std::string& step, const http::ClientResponse& r) {
  json body = json::parse(r.body, nullptr, false);
  std::string message = "HTTP " + std::to_string(r.status);
  if (body.is_object() && body.contains("error") && body["error"].is_object())
    message = body["error"].value("code", "") + ": " + body["error"].value("message", "");
  if (body.is_object() && body.contains("refusal") && body["refusal"].is_object())
    return permission_denied(step + " refused (" + body["refusal"].value("reason", "") + "): " +
                             body["refusal"].value("message", ""));
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

}  // namespace

Status simulate_kiosk(const SimulateOptions& o, std::ostream& out) {
  if (o.copies < 1 || o.copies > 10) return invalid_argument("--copies is 1 to 10");
  JLIS_RETURN_IF_ERROR(check_secret_form(card::CardSecret::authentication_pin, o.pin));
  if (std::filesystem::exists(o.output)) return invalid_argument(o.output + " exists: the PDF is written to a new file only");
  JLIS_ASSIGN_OR_RETURN(TerminalCredential credential, read_credential(o.credential_file));
  JLIS_ASSIGN_OR_RETURN(VirtualCard card, VirtualCard::load(o.card_file));
  std::string base = o.centre_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  auto call = [&](const std::string& method, const std::string& path, const std::string& body = "") {
    http::ClientRequest r;
    r.method = method;
    r.url = base + path;
    r.body = body;
    r.headers = {{"Authorization", "Bearer " + credential.secret}};
    return http::fetch(r);
  };

  JLIS_ASSIGN_OR_RETURN(http::ClientResponse opened, call("POST", "/v1/kiosk/sessions"));
  if (opened.status != 201) return centre_error("opening a session", opened);
  const json session = json::parse(opened.body, nullptr, false);
  if (!session.is_object() || !session.contains("session_id") || !session.contains("challenge"))
    return unavailable("the centre's session is not what a terminal expects");
  const std::string id = session["session_id"], path = "/v1/kiosk/sessions/" + session["session_id"].get<std::string>();
  out << "terminal " << credential.terminal.terminal_id << ": session " << id << "\n";

  // The card checks the PIN and signs; its tries are kept in the card file, right or wrong.
  JLIS_ASSIGN_OR_RETURN(std::string challenge, pki::base64_decode(session["challenge"].get<std::string>()));
  Result<std::string> signature = card.sign(card::CardSecret::authentication_pin, o.pin, challenge);
  JLIS_RETURN_IF_ERROR(card.save(o.card_file));
  if (!signature.ok()) return permission_denied("the card refused the PIN: " + signature.status().message());

  const auto* slot = card.slot(card::CardSecret::authentication_pin);
  JLIS_ASSIGN_OR_RETURN(http::ClientResponse in,
                        call("POST", path + "/login",
                             json{{"certificate", slot->certificate_pem}, {"signature", pki::base64_encode(*signature)}}.dump()));
  if (in.status != 200) return centre_error("the log-in", in);
  const json offer = json::parse(in.body, nullptr, false);
  bool offered = false;
  for (const auto& d : offer.value("documents", json::array())) offered |= d.value("type", "") == o.document;
  out << "logged in; " << offer.value("municipality_code", "") << " offers "
      << offer.value("documents", json::array()).size() << " documents\n";
  // The offer shown is the holder's municipality's; another municipality (the 本籍地) says its own.
  if (!offered && o.municipality.empty())
    return permission_denied("the holder's municipality does not offer '" + o.document + "' at kiosks");

  json request = {{"type", o.document}, {"copies", o.copies}};
  if (!o.municipality.empty()) request["municipality"] = o.municipality;
  JLIS_ASSIGN_OR_RETURN(http::ClientResponse requested, call("POST", path + "/documents", request.dump()));
  if (requested.status != 201) return centre_error("the document", requested);
  const json issued = json::parse(requested.body, nullptr, false);
  JLIS_ASSIGN_OR_RETURN(http::ClientResponse pdf, call("GET", path + "/document"));
  if (pdf.status != 200) return centre_error("fetching the document", pdf);

  const int fd = ::open(o.output.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return invalid_argument("cannot create " + o.output);
  bool ok = ::write(fd, pdf.body.data(), pdf.body.size()) == static_cast<ssize_t>(pdf.body.size());
  ok = ::close(fd) == 0 && ok;
  if (!ok) return internal_error("cannot write " + o.output);

  JLIS_ASSIGN_OR_RETURN(http::ClientResponse done, call("POST", path + "/printed"));
  if (done.status != 200) return centre_error("the print confirmation", done);
  out << "printed " << o.document << " x" << o.copies << ", issuance number " << issued.value("issuance_number", "")
      << ", fee " << issued.value("fee", 0) << " yen, to " << o.output << "\n";
  return Status::ok();
}

}  // namespace jlis::kiosk
