// A kiosk terminal's side of the centre's API (routes.h), over HTTP as a real terminal talks to it:
// open a session, have the card sign its challenge after the PIN (the card, not the centre, checks
// the PIN: virtual_card.h), log in, ask for a document, fetch the PDF once, confirm the print.
// `jlis kiosk simulate` and the touch screen (screen.h) both play a terminal through it. One
// session at a time; not thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "kiosk/terminals.h"
#include "kiosk/virtual_card.h"

namespace jlis::kiosk {

// What the holder's municipality offers at kiosks, as the log-in answered it.
struct KioskOfferShown {
  std::string municipality_code;
  std::vector<std::pair<std::string, int64_t>> documents;  // type (as `jlis documents render`), fee in yen
  bool offers(std::string_view type) const;
  int64_t fee(std::string_view type) const;  // 0 when not offered
};

struct PrintedDocument {
  std::string issuance_number, type;
  int64_t fee = 0;  // yen, all copies
  int copies = 1;
  std::string pdf;
};

class TerminalClient {
 public:
  // centre_url: http://HOST:PORT of `jlis serve`; the credential `jlis kiosk terminal add` wrote.
  TerminalClient(std::string centre_url, TerminalCredential credential);

  const TerminalCredential& credential() const { return credential_; }
  // The centre's base URL, without a trailing '/'.
  const std::string& centre_url() const { return base_; }
  // The session in progress ("" before log_in and after printed()).
  const std::string& session_id() const { return session_id_; }

  // Opens a session and logs the card in: the card verifies `pin` and signs the challenge; the
  // card is saved to `card_file` after the try, right or wrong, as the chip keeps its count. A
  // wrong or locked PIN: permission_denied "the card refused the PIN: …" (VirtualCard::verify). A refusal by the
  // centre: refused() with its reason (sessions.h: outside_service_hours, certificate_on_hold, ...).
  Result<KioskOfferShown> log_in(VirtualCard& card, const std::string& card_file, std::string_view pin);

  // Asks for a document in the logged-in session ({type, options?, copies?, municipality?}), fetches
  // its PDF, hands it to `printer` and, when that printed it, confirms the print, which ends the
  // session (a session not confirmed ends at its deadline). A municipality's refusal: refused()
  // with its reason (not_resident, support_measure, ...).
  Result<PrintedDocument> print(const nlohmann::json& request,
                                const std::function<Status(const PrintedDocument&)>& printer);

 private:
  // The centre's answer to one step; a status other than `expected` as a Status of its kind.
  Result<std::string> call(const std::string& step, const std::string& method, const std::string& path, int expected,
                           const std::string& body = "");
  std::string base_;
  TerminalCredential credential_;
  std::string session_id_;
};

}  // namespace jlis::kiosk
