// The simulated card's subcommands, under `jlis cards` (also spelt `jlis card`):
//   jlis card virtual --data DIR --card ID --pin PIN [--password PASSWORD] --output CARD_FILE
//     Writes a virtual card (virtual_card.h) for a simulated card of DIR: its newest user-
//     authentication certificate (and, with --password, its newest signature certificate) with the
//     private keys from DIR's card key pool (card_key_pool.h), guarded by the PIN (4 digits) and
//     the password (6 to 16 of A-Z, 0-9). Refused for a card whose keys are not in the pool.
//   jlis card pin-reset --data DIR --municipality CODE --card-file CARD_FILE
//        --secret authentication_pin|signature_password --new-secret SECRET
//     The municipal window's reset of a locked or forgotten secret: recorded by the card system
//     (CardSystem::reset_pin: the holder must be CODE's resident, the card active), then written to
//     the card with its tries back to full.
//
// The issuance centre's subcommands, `jlis kiosk`:
//   jlis kiosk operator add --data DIR --name NAME       a kiosk operator (a convenience-store chain)
//   jlis kiosk operator list --data DIR
//   jlis kiosk terminal add --data DIR --operator NAME --store STORE_ID --output CREDENTIAL_FILE
//     a terminal with a credential of its own, written to a new file (mode 0600); prints its id
//   jlis kiosk terminal disable --data DIR --terminal ID  refused at once, for good
//   jlis kiosk terminal list --data DIR                   CSV: terminal_id,operator,store_id,added_at,disabled_at
//   jlis kiosk municipal-server --data DIR --code CODE --url http://HOST:PORT
//     where the centre asks municipality CODE's issuance server (default: the centre's own URL)
//   jlis kiosk hours --data DIR [--opens HH:MM --closes HH:MM --closed MM-DD..MM-DD,...|none]
//     shows the service hours (service_hours.h), or sets them (all three options together)
//   jlis kiosk stats --data DIR --month YYYY-MM
//     the month's documents per municipality, document type and operator, as CSV (stats.h)
//   jlis kiosk simulate --centre URL --terminal-credential FILE --card CARD_FILE --pin PIN
//        --document TYPE [--copies N] [--municipality CODE] --output FILE.pdf
//     plays a terminal against a running centre (simulate.h); no data directory
//   jlis kiosk screen --centre URL --terminal-credential FILE --card CARD_FILE [--card ...]
//        [--listen HOST:PORT] [--idle-timeout SECONDS] [--print-seconds SECONDS]
//     serves the kiosk's touch screen (screen.h) for a person to use in a browser; no data directory
#pragma once

#include <functional>
#include <iosfwd>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "card/card_system.h"
#include "pki/ca.h"
#include "store/database.h"
#include "store/writer.h"

namespace jlis::kiosk {

class CardCommands {
 public:
  // Adds the subcommands to `cards` (the `jlis cards` group); `add_data` adds the data-directory
  // options to each.
  CardCommands(CLI::App& cards, const std::function<void(CLI::App*)>& add_data);
  CardCommands(const CardCommands&) = delete;
  CardCommands& operator=(const CardCommands&) = delete;
  ~CardCommands();

  // True when the command line chose one of them (after parsing).
  bool chosen() const;
  // Checks what needs no data directory (the secrets' forms): invalid_argument when wrong.
  Status check_arguments() const;
  // Runs the chosen one; a refusal or a failure is the Status (the caller prints it and exits 1).
  Status run(const std::string& data_dir, store::Pool& pool, card::CardSystem& cards, pki::CertificateAuthority* ca,
             std::ostream& out);

 private:
  struct Options;
  std::unique_ptr<Options> o_;
};

class KioskCommands {
 public:
  KioskCommands(CLI::App& cli, const std::function<void(CLI::App*)>& add_data);
  KioskCommands(const KioskCommands&) = delete;
  KioskCommands& operator=(const KioskCommands&) = delete;
  ~KioskCommands();

  bool chosen() const;
  // True for `jlis kiosk simulate` and `jlis kiosk screen`, which need no data directory: run them
  // with run_standalone() (the screen serves until SIGINT or SIGTERM).
  bool standalone() const;
  Status run_standalone(std::ostream& out);
  // Runs the chosen one on the data directory's store; a refusal or a failure is the Status.
  Status run(store::Pool& pool, store::Writer& writer, std::ostream& out);

 private:
  struct Options;
  std::unique_ptr<Options> o_;
};

}  // namespace jlis::kiosk
