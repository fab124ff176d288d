#include "kiosk/terminals.h"

#include <fcntl.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "common/digest.h"
#include "common/text.h"
#include "store/migrations.h"

namespace jlis::kiosk {
namespace {

using nlohmann::json;
using store::Connection;
using store::Row;

const std::vector<store::Migration> kTerminalMigrations = {{1, R"(
  CREATE TABLE kiosk_operators (
    name TEXT PRIMARY KEY, added_at TEXT NOT NULL);
  CREATE TABLE kiosk_terminals (
    terminal_id TEXT PRIMARY KEY,
    operator_name TEXT NOT NULL REFERENCES kiosk_operators (name),
    store_id TEXT NOT NULL, secret_sha256 TEXT NOT NULL UNIQUE,
    added_at TEXT NOT NULL, disabled_at TEXT);
)"},
                                                   {2, R"(
  -- 2: kiosk sessions (sessions.h), the incidents of a document that was not the holder's, and
  -- where each municipality's issuance server answers (centre.h).
  CREATE TABLE kiosk_sessions (
    session_id TEXT PRIMARY KEY,
    terminal_id TEXT NOT NULL REFERENCES kiosk_terminals (terminal_id),
    challenge TEXT NOT NULL,
    opened_at BIGINT NOT NULL, expires_at BIGINT NOT NULL,
    state TEXT NOT NULL,              -- open, authenticated, requesting, issued, ended
    certificate_serial TEXT, resident_code TEXT, municipality_code TEXT,
    issuance_number TEXT, document_type TEXT, fee BIGINT, copies BIGINT,
    fetched_at BIGINT, ended_at BIGINT, end_reason TEXT);
  CREATE INDEX kiosk_sessions_terminal ON kiosk_sessions (terminal_id, opened_at);
  CREATE TABLE kiosk_incidents (
    incident_id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES kiosk_sessions (session_id),
    issuance_number TEXT NOT NULL, detail TEXT NOT NULL, recorded_at TEXT NOT NULL);
  CREATE TABLE kiosk_municipal_servers (
    municipality_code TEXT PRIMARY KEY, base_url TEXT NOT NULL, set_at TEXT NOT NULL);
)"},
                                                   {3, R"(
  -- 3: a month's sessions for the statistics (stats.h) without reading every month's.
  CREATE INDEX kiosk_sessions_opened ON kiosk_sessions (opened_at);
)"},
                                                   {4, R"(
  -- 4: a municipality's document that never reached its terminal is returned to its issuance
  -- server (sessions.h, unreturned); returned_at: when that server recorded it undelivered. The
  -- index holds only the documents not fetched and not returned: those held now, and those to return.
  ALTER TABLE kiosk_sessions ADD COLUMN returned_at BIGINT;
  CREATE INDEX kiosk_sessions_unfetched ON kiosk_sessions (session_id)
    WHERE issuance_number IS NOT NULL AND fetched_at IS NULL AND returned_at IS NULL;
)"},
                                                   {5, R"(
  -- 5: a document request whose answer never came (no answer in time, a lost connection, an
  -- error) may have been issued all the same, and one whose answer was discarded (an incident)
  -- was: `return_to` lists the municipalities so asked (codes, space-separated), and what they
  -- issued for the session is returned with the rest once it has ended. The index holds the
  -- sessions with something to return, or to watch.
  ALTER TABLE kiosk_sessions ADD COLUMN return_to TEXT;
  DROP INDEX kiosk_sessions_unfetched;
  CREATE INDEX kiosk_sessions_to_return ON kiosk_sessions (session_id)
    WHERE returned_at IS NULL AND (return_to IS NOT NULL OR (issuance_number IS NOT NULL AND fetched_at IS NULL));
)"},
                                                   {6, R"(
  -- 6: `asking`, the municipality a document request is being relayed to, from the request's start
  -- to its answer. When the centre stops while it relays (a crash), the answer never comes and the
  -- municipality may have issued: the sweep ends such a session (reason lost) once no relay can be
  -- in flight, and returns it there. The index holds the sessions being relayed too.
  ALTER TABLE kiosk_sessions ADD COLUMN asking TEXT;
  DROP INDEX kiosk_sessions_to_return;
  CREATE INDEX kiosk_sessions_to_return ON kiosk_sessions (session_id)
    WHERE returned_at IS NULL AND (return_to IS NOT NULL OR asking IS NOT NULL
                                   OR (issuance_number IS NOT NULL AND fetched_at IS NULL));
)"}};

constexpr const char* kTerminalColumns = "terminal_id, operator_name, store_id, added_at, disabled_at";

Terminal read_terminal(const Row& r) {
  Terminal t{r.text(0), r.text(1), r.text(2), r.text(3)};
  if (!r.is_null(4)) t.disabled_at = r.text(4);
  return t;
}

bool printable_ascii(std::string_view s) {
  for (unsigned char c : s)
    if (c <= ' ' || c >= 0x7f) return false;
  return true;
}

}  // namespace

Status Terminals::migrate(Connection& conn) { return store::migrate(conn, "kiosk", kTerminalMigrations); }

Terminals::Terminals(store::Pool& pool, store::Writer& writer) : pool_(pool), writer_(writer) {}

Status Terminals::add_operator(const std::string& name) {
  if (name.empty() || utf8_length(name) > 100 || name.find_first_of("\r\n\t") != std::string::npos)
    return invalid_argument("an operator's name is 1 to 100 characters on one line");
  return writer_.run([&](Connection& conn) -> Status {
    JLIS_ASSIGN_OR_RETURN(auto exists, conn.query_int64("SELECT 1 FROM kiosk_operators WHERE name = ?", {name}));
    if (exists) return conflict("the operator '" + name + "' is registered already");
    return conn.execute("INSERT INTO kiosk_operators (name, added_at) VALUES (?, ?)", {name, now_iso8601()}).status();
  });
}

Result<std::vector<std::string>> Terminals::operators() {
  std::vector<std::string> out;
  JLIS_ASSIGN_OR_RETURN(auto conn, pool_.acquire());
  JLIS_RETURN_IF_ERROR(conn->query("SELECT name FROM kiosk_operators ORDER BY name", {}, [&](const Row& r) {
    out.push_back(r.text(0));
    return true;
  }));
  return out;
}

Result<TerminalCredential> Terminals::add_terminal(const std::string& operator_name, const std::string& store_id) {
  if (store_id.empty() || store_id.size() > 64 || !printable_ascii(store_id))
    return invalid_argument("a store id is 1 to 64 printable ASCII characters without spaces");
  TerminalCredential c;
  JLIS_ASSIGN_OR_RETURN(std::string id, random_hex(8));
  JLIS_ASSIGN_OR_RETURN(std::string secret, random_hex(32));
  c.terminal = {"kt-" + id, operator_name, store_id, now_iso8601()};
  c.secret = "kts-" + secret;
  JLIS_RETURN_IF_ERROR(writer_.run([&](Connection& conn) -> Status {
    JLIS_ASSIGN_OR_RETURN(auto known, conn.query_int64("SELECT 1 FROM kiosk_operators WHERE name = ?", {operator_name}));
    if (!known) return not_found("no operator is registered as '" + operator_name + "' (jlis kiosk operator add)");
    return conn
        .execute("INSERT INTO kiosk_terminals (terminal_id, operator_name, store_id, secret_sha256, added_at) "
                 "VALUES (?, ?, ?, ?, ?)",
                 {c.terminal.terminal_id, operator_name, store_id, sha256_hex(c.secret), c.terminal.added_at})
        .status();
  }));
  return c;
}

Status Terminals::disable_terminal(const std::string& terminal_id) {
  return writer_.run([&](Connection& conn) -> Status {
    std::optional<Terminal> t;
    JLIS_RETURN_IF_ERROR(conn.query(std::string("SELECT ") + kTerminalColumns + " FROM kiosk_terminals WHERE terminal_id = ?",
                                    {terminal_id}, [&](const Row& r) {
                                      t = read_terminal(r);
                                      return false;
                                    }));
    if (!t) return not_found("no terminal has the id " + terminal_id);
    if (t->disabled_at) return conflict("the terminal " + terminal_id + " was disabled at " + *t->disabled_at);
    return conn.execute("UPDATE kiosk_terminals SET disabled_at = ? WHERE terminal_id = ?", {now_iso8601(), terminal_id})
        .status();
  });
}

Result<std::vector<Terminal>> Terminals::terminals() {
  std::vector<Terminal> out;
  JLIS_ASSIGN_OR_RETURN(auto conn, pool_.acquire());
  JLIS_RETURN_IF_ERROR(conn->query(std::string("SELECT ") + kTerminalColumns + " FROM kiosk_terminals ORDER BY operator_name, "
                                   "store_id, terminal_id",
                                   {}, [&](const Row& r) {
                                     out.push_back(read_terminal(r));
                                     return true;
                                   }));
  return out;
}

Result<Terminal> Terminals::authenticate(Connection& conn, std::string_view secret) {
  std::optional<Terminal> t;
  if (secret.size() == 68 && secret.substr(0, 4) == "kts-") {
    JLIS_RETURN_IF_ERROR(conn.query(std::string("SELECT ") + kTerminalColumns + " FROM kiosk_terminals WHERE secret_sha256 = ?",
                                    {sha256_hex(secret)}, [&](const Row& r) {
                                      t = read_terminal(r);
                                      return false;
                                    }));
  }
  if (!t || t->disabled_at) return unauthenticated("no enabled kiosk terminal has this credential");
  return *t;
}

Status write_credential(const std::string& path, const TerminalCredential& c) {
  const std::string text = json{{"terminal_id", c.terminal.terminal_id},
                                {"operator", c.terminal.operator_name},
                                {"store_id", c.terminal.store_id},
                                {"secret", c.secret}}
                               .dump(2) +
                           "\n";
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return invalid_argument("cannot create " + path + " (an existing file is not overwritten)");
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ok = ::close(fd) == 0 && ok;
  if (!ok) return internal_error("cannot write " + path);
  return Status::ok();
}

Result<TerminalCredential> read_credential(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return invalid_argument("cannot read the terminal credential " + path);
  std::stringstream text;
  text << in.rdbuf();
  const json j = json::parse(text.str(), nullptr, false);
  for (const char* k : {"terminal_id", "operator", "store_id", "secret"})
    if (!j.is_object() || !j.contains(k) || !j[k].is_string())
      return invalid_argument(path + " is not a terminal credential (it lacks " + k + ")");
  TerminalCredential c;
  c.terminal = {j["terminal_id"], j["operator"], j["store_id"], ""};
  c.secret = j["secret"];
  return c;
}

}  // namespace jlis::kiosk
