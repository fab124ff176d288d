// The kiosk's touch screen (`jlis kiosk screen`): the pages a resident sees at the store, served
// by the terminal itself and driving the same terminal as `jlis kiosk simulate`
// (terminal_client.h) against the centre. One terminal, one resident at a time, so the screen has
// one state, kept here, never in the browser: the steps are
//
//   insert card → PIN pad → choose the document → its options and copies → confirm the fee →
//   printing → done (the printed PDF can be looked at until the resident finishes)
//
// with a message page for a refusal, a wrong PIN and a locked card. Every page is Japanese with
// large touch targets, plain HTML forms (no script; a strict Content-Security-Policy); the PIN
// pad's keys post one digit each and the digits stay on the terminal (the page shows dots). The
// reader is simulated: the cards on offer are virtual cards (virtual_card.h) given on the command
// line, and a wrong PIN costs a try in the card file as on the chip.
//
// Who may use it: whoever stands at the kiosk. It listens on loopback by default; a POST whose
// Origin is another site is refused (403), so no web page can press its keys. After "finish", or
// when nobody has touched it for `idle_timeout`, the screen forgets the resident: the offer, the
// choices and the printed PDF (served at /printed.pdf only in the done step) are dropped.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"

namespace jlis::kiosk {

struct ScreenOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;                    // 0: a free port (Screen::port())
  std::string centre_url;               // http://HOST:PORT of `jlis serve`
  std::string credential_file;          // the terminal's (`jlis kiosk terminal add --output`)
  std::vector<std::string> card_files;  // virtual cards the resident may place on the reader
  std::chrono::seconds idle_timeout{120};
  std::chrono::milliseconds print_time{2000};  // the simulated printer's time for a document
};

class Screen {
 public:
  explicit Screen(ScreenOptions options);
  ~Screen();
  // Reads the credential and checks the card files, then serves. invalid_argument for a missing
  // credential or card file.
  Status start();
  uint16_t port() const;
  // Blocks until SIGINT or SIGTERM (or stop()).
  void wait();
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace jlis::kiosk
