// The kiosk screen's pages (screen.h), one function a step: the HTML of the whole page, Japanese,
// with the one style screen_style() (the Content-Security-Policy allows it by hash). Pure: they
// show what they are given and keep nothing.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "kiosk/terminal_client.h"

namespace jlis::kiosk::screen {

// What the resident chose for the document.
struct Choice {
  std::string type;                 // as the offer names it (juminhyo, ...)
  bool whole_household = false;     // juminhyo, kisai-jiko: 世帯全員 (else 本人のみ)
  bool head_and_relationship = false, honseki = false, my_number = false;  // their optional items
  bool individual = false;          // koseki: 個人事項証明書 (else 全部事項証明書)
  int copies = 1;                   // 1 to 10
};
// The centre's document request ({type, options, copies}) for `choice`.
nlohmann::json document_request(const Choice& choice);

std::string_view screen_style();

std::string insert_card_page(const std::vector<std::string>& cards);  // a label per card on offer
std::string pin_page(size_t digits_entered, std::string_view notice);
std::string choose_page(const KioskOfferShown& offer);
std::string options_page(const KioskOfferShown& offer, const Choice& choice);
std::string confirm_page(const KioskOfferShown& offer, const Choice& choice);
std::string printing_page();
// `verify_url`: the centre's verification page for the printed number.
std::string done_page(const PrintedDocument& printed, std::string_view verify_url);
std::string message_page(std::string_view title, std::string_view text);

// The heading and the words a resident reads for a refusal's reason (sessions.h, the municipal
// issuance server's), never more than the reason itself says: a DV support measure reads as any
// other "ask at the window".
std::pair<std::string, std::string> refusal_words(std::string_view reason);

}  // namespace jlis::kiosk::screen
