// The issuance centre's kiosk operators (the convenience-store chains: 41 in FY2024) and their
// terminals (マルチコピー機, 55,758 stores), each terminal with a credential of its own.
//
// A terminal's credential is a secret given once, when the terminal is added (`jlis kiosk terminal
// add ... --output FILE` writes it to a file of mode 0600); the centre keeps only its SHA-256. The
// terminal sends it as `Authorization: Bearer <secret>`. A disabled terminal is refused from the
// next request on (the check reads the register in the request's own transaction), for good: a
// terminal taken out of service gets a new credential by being added again.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "store/database.h"
#include "store/writer.h"

namespace jlis::kiosk {

struct Terminal {
  std::string terminal_id;    // "kt-" and 16 hex digits
  std::string operator_name;
  std::string store_id;       // the operator's own id of the store (1 to 64 printable ASCII)
  std::string added_at;       // ISO 8601 UTC
  std::optional<std::string> disabled_at = {};
};

// What `jlis kiosk terminal add` writes for the terminal: JSON {"terminal_id", "operator",
// "store_id", "secret"}.
struct TerminalCredential {
  Terminal terminal;
  std::string secret;  // "kts-" and 64 hex digits; shown once
};

class Terminals {
 public:
  // Creates or upgrades the tables (component "kiosk": kiosk_operators, kiosk_terminals).
  static Status migrate(store::Connection& conn);
  Terminals(store::Pool& pool, store::Writer& writer);

  // An operator by its name (1 to 100 characters, unique): conflict when it exists.
  Status add_operator(const std::string& name);
  Result<std::vector<std::string>> operators();
  // A terminal of a registered operator (not_found otherwise) at `store_id`, with a fresh credential.
  Result<TerminalCredential> add_terminal(const std::string& operator_name, const std::string& store_id);
  // not_found for an unknown terminal; conflict when it was disabled already.
  Status disable_terminal(const std::string& terminal_id);
  Result<std::vector<Terminal>> terminals();

  // The enabled terminal whose credential is `secret`, read on `conn` (the request's transaction);
  // unauthenticated for an unknown secret and a disabled terminal alike.
  static Result<Terminal> authenticate(store::Connection& conn, std::string_view secret);

 private:
  store::Pool& pool_;
  store::Writer& writer_;
};

// Writes `credential` as JSON to `path`, a new file of mode 0600 (an existing file is refused:
// already_exists is not overwritten); reads one back.
Status write_credential(const std::string& path, const TerminalCredential& credential);
Result<TerminalCredential> read_credential(const std::string& path);

}  // namespace jlis::kiosk
