// The security test harness: a data directory with a CA, a token of every role, a resident with a
// handed-over card and both certificates, and `jlis serve` on 127.0.0.1. Attacks go through HTTP
// and the CLI only, as an attacker's would; each asserts the refusal (4xx JSON), that nothing
// changed (table_digest before == after) and, where data would have left, that no provision was
// recorded (provision_count).
//
// Usage (one world per test suite: it is slow to build, RSA keys and a CA):
//   class MyAttacks : public ::testing::Test {
//    protected:
//     static void SetUpTestSuite() { world_ = World::create("my-attacks").release(); }
//     static void TearDownTestSuite() { delete world_; }
//     static inline World* world_ = nullptr;
//   };
//   TEST_F(MyAttacks, ...) {
//     const std::string before = world_->table_digest();
//     auto r = world_->get("/v1/residents/" + world_->resident().resident_code, world_->tokens().chuo);
//     EXPECT_TRUE(is_error_json(r, 403));
//     EXPECT_EQ(world_->table_digest(), before);
//   }
#pragma once

#include <csignal>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <set>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "../e2e/card_key.h"
#include "../e2e/data_dir_store.h"
#include "../e2e/jlis_process.h"
#include "../e2e/template_dir.h"
#include "../http/client.h"
#include "common/digest.h"

namespace jlis::security {

using e2e::CardKey;
using e2e::jlis;
using e2e::Output;
using http::testing::Client;
using http::testing::Reply;
using nlohmann::json;
namespace bhttp = boost::beast::http;
namespace fs = std::filesystem;

// One token of every role (each printed by the CLI on the last line).
struct Tokens {
  std::string chiyoda;                // municipality 131016 (千代田区): holds the world's resident
  std::string chuo;                   // municipality 131024 (中央区): holds none of them
  std::string agency;                 // agency "Pension" granted the purpose World::kPurpose only
  std::string card_centre;            // card-centre
  std::string call_centre;            // call-centre
  std::string verifier;               // a verifier registered with the CA, with consent provision
  std::string unregistered_verifier;  // role verifier, never registered with `jlis verifier add`
  std::string operator_;              // operator (its power is the CLI, not HTTP)
  std::string issuance_centre;        // issuance-centre (the convenience-store centre)

  // Every role's token by a readable name, for table-driven tests.
  std::map<std::string, std::string> by_name() const {
    return {{"municipality", chiyoda},          {"other-municipality", chuo},
            {"agency", agency},                 {"card-centre", card_centre},
            {"call-centre", call_centre},       {"verifier", verifier},
            {"unregistered-verifier", unregistered_verifier}, {"operator", operator_},
            {"issuance-centre", issuance_centre}};
  }
};

// A resident of 千代田区 with a handed-over card and both certificates.
struct Resident {
  std::string resident_code, my_number, card_id, application_id, signature_serial, authentication_serial;
};

// Answers success when `r` is a 4xx (exactly `status` when non-zero) with the JSON body
// {"error": {"code": "...", "message": "..."}} and no token in it.
inline ::testing::AssertionResult is_error_json(const Reply& r, int status = 0) {
  const int got = r.result_int();
  if (got < 400 || got > 499 || (status != 0 && got != status))
    return ::testing::AssertionFailure() << "status " << got << " (want " << (status ? std::to_string(status) : "4xx")
                                         << "): " << r.body();
  if (std::string(r[bhttp::field::content_type]).rfind("application/json", 0) != 0)
    return ::testing::AssertionFailure() << "content type '" << r[bhttp::field::content_type] << "'";
  json body = json::parse(r.body(), nullptr, false);
  if (body.is_discarded() || !body.is_object() || !body.contains("error") || !body["error"].is_object())
    return ::testing::AssertionFailure() << "not {\"error\": {...}}: " << r.body();
  const json& e = body["error"];
  if (!e.contains("code") || !e["code"].is_string() || e["code"].get<std::string>().empty() ||
      !e.contains("message") || !e["message"].is_string() || e["message"].get<std::string>().empty())
    return ::testing::AssertionFailure() << "error without a code and a message: " << r.body();
  if (r.body().find("jlis_") != std::string::npos)
    return ::testing::AssertionFailure() << "a token in the answer: " << r.body();
  return ::testing::AssertionSuccess();
}

class World {
 public:
  static constexpr const char* kPurpose = "pension";
  static constexpr const char* kPassphrase = "security test passphrase, not a real one";

  // Builds the world under the temporary directory, named `name` and the process id. Failures are
  // reported with ADD_FAILURE; check ok() before using it. `extra`: more set-up steps (jlis
  // arguments, "{dir}" the data directory), run after the world's own and kept in its template.
  static std::unique_ptr<World> create(const std::string& name,
                                       const std::vector<std::vector<std::string>>& extra = {}) {
    std::unique_ptr<World> w(new World());
    w->dir_ = (fs::temp_directory_path() / ("jlis-security-" + name + "-" + std::to_string(::getpid()))).string();
    fs::remove_all(w->dir_);
    ::setenv("JLIS_CA_PASSPHRASE", kPassphrase, 1);
    // init, ca init and the tokens: prepared once per build and copied (tests/e2e/template_dir.h).
    std::vector<std::vector<std::string>> steps = {{"init", "--data", "{dir}"},
                  {"ca", "init", "--data", "{dir}"},
                  {"municipality", "token", "--data", "{dir}", "--code", "131016"},
                  {"municipality", "token", "--data", "{dir}", "--code", "131024"},
                  {"agency", "add", "--data", "{dir}", "--name", "Pension", "--purposes", kPurpose},
                  {"token", "create", "--data", "{dir}", "--role", "card-centre"},
                  {"token", "create", "--data", "{dir}", "--role", "call-centre"},
                  {"verifier", "add", "--data", "{dir}", "--name", "Bank", "--consent"},
                  {"token", "create", "--data", "{dir}", "--role", "verifier", "--name", "Unregistered"},
                  {"token", "create", "--data", "{dir}", "--role", "operator"},
                  {"token", "create", "--data", "{dir}", "--role", "issuance-centre", "--name", "Kiosk centre"},
                  {"linkage", "key", "--data", "{dir}"}};  // the code key, made once here, not at each serve
    const size_t own = steps.size();
    steps.insert(steps.end(), extra.begin(), extra.end());
    const auto outs = e2e::prepared_dir(w->dir_, steps);
    for (size_t i = own; i < steps.size(); ++i)
      if (!w->cli_ok(outs, i, "an extra set-up step")) return w;
    if (!w->cli_ok(outs, 0, "init") || !w->cli_ok(outs, 1, "ca init")) return w;
    Tokens& t = w->tokens_;
    std::string* const slots[] = {&t.chiyoda,     &t.chuo,     &t.agency,
                                  &t.card_centre, &t.call_centre, &t.verifier,
                                  &t.unregistered_verifier, &t.operator_, &t.issuance_centre};
    for (size_t i = 0; i < std::size(slots); ++i) *slots[i] = token(outs.size() > i + 2 ? outs[i + 2] : Output{-1, "", ""});
    w->start();
    if (w->port() == 0) return w;
    w->resident_ = w->resident_with_card("world-1", "1985-04-02", w->sig_key_, w->auth_key_);
    w->ok_ = !::testing::Test::HasFailure();
    return w;
  }
  ~World() {
    if (server_) {
      EXPECT_EQ(server_->stop(), 0);
    }
    server_.reset();
    fs::remove_all(dir_);
  }

  bool ok() const { return ok_; }
  const std::string& dir() const { return dir_; }
  uint16_t port() const { return server_ ? server_->port() : 0; }
  const Tokens& tokens() const { return tokens_; }
  // The world's resident, with its card and certificates.
  const Resident& resident() const { return resident_; }
  const CardKey& signature_key() const { return sig_key_; }
  const CardKey& authentication_key() const { return auth_key_; }

  // (Re)starts `jlis serve` on the data directory, with `extra` serve options.
  void start(const std::vector<std::string>& extra = {}) {
    if (server_) server_->stop();
    server_ = std::make_unique<e2e::Server>(dir_, extra);
    EXPECT_NE(server_->port(), 0) << "jlis serve did not start";
  }

  // Kills `jlis serve` as a crash would (SIGKILL: no shutdown code runs); start() brings it back.
  void crash() {
    if (server_) server_->kill(SIGKILL);
    server_.reset();
  }

  // Runs `jlis ARGS` (add "--data", dir() yourself).
  Output cli(const std::vector<std::string>& args) const { return jlis(args); }
  // Runs a token-making command and answers the token on its last line.
  std::string token(const std::vector<std::string>& args) { return token(jlis(args)); }
  static std::string token(const Output& o) {
    EXPECT_EQ(o.exit_code, 0) << o.err;
    std::string t = o.last_line();
    EXPECT_EQ(t.rfind("jlis_", 0), 0u) << o.out;
    return t;
  }

  Reply request(bhttp::verb method, const std::string& target, const std::string& body, const std::string& token,
                const http::testing::Headers& extra = {}) const {
    http::testing::Headers h = extra;
    if (!token.empty()) h.emplace_back("Authorization", "Bearer " + token);
    return Client(port()).request(method, target, body, h);
  }
  Reply get(const std::string& target, const std::string& token) const {
    return request(bhttp::verb::get, target, "", token);
  }
  Reply post(const std::string& target, const std::string& body, const std::string& token) const {
    return request(bhttp::verb::post, target, body, token);
  }

  // A resident of 千代田区 born on `dob` (ISO), registered by birth under `event_id`, whose card is
  // applied for, produced and handed over with `sig` (signature, optional) and `auth`; named `name`
  // (kana タカハシ　ハナコ whatever the name: only the name tells holders apart).
  Resident resident_with_card(const std::string& event_id, const std::string& dob, const CardKey& sig,
                              const CardKey& auth, const std::string& name = "髙橋　花子") {
    Resident out;
    json e = {{"event_id", event_id}, {"type", "birth"}, {"date", dob},
              {"person", {{"name", name}, {"name_kana", "タカハシ　ハナコ"}, {"date_of_birth", dob},
                          {"sex", "female"}, {"address", "東京都千代田区丸の内一丁目1番1号"}}}};
    auto r = post("/v1/municipalities/131016/events", e.dump(), tokens_.chiyoda);
    EXPECT_EQ(r.result_int(), 201) << r.body();
    if (r.result_int() != 201) return out;
    json resident = json::parse(r.body());
    out.resident_code = resident["resident_code"].get<std::string>();
    if (resident.contains("my_number") && resident["my_number"].is_string()) out.my_number = resident["my_number"].get<std::string>();
    auto applied = post("/v1/cards/applications",
                        json{{"resident_code", out.resident_code}, {"channel", "window"}, {"photo", true}}.dump(),
                        tokens_.chiyoda);
    EXPECT_EQ(applied.result_int(), 201) << applied.body();
    if (applied.result_int() != 201) return out;
    out.application_id = std::to_string(json::parse(applied.body())["application_id"].get<int64_t>());
    Output produced = jlis({"cards", "produce", "--data", dir_});
    EXPECT_EQ(produced.exit_code, 0) << produced.err;
    auto a = get("/v1/cards/applications/" + out.application_id, tokens_.chiyoda);
    EXPECT_EQ(a.result_int(), 200) << a.body();
    out.card_id = json::parse(a.body())["card_id"].get<std::string>();
    json keys = {{"authentication", auth.public_pem}, {"signature", sig.public_pem}};
    auto h = post("/v1/cards/" + out.card_id + "/handover",
                  json{{"identity_checked", true}, {"public_keys", keys}}.dump(), tokens_.chiyoda);
    EXPECT_EQ(h.result_int(), 200) << h.body();
    auto certs = get("/v1/residents/" + out.resident_code + "/certificates", tokens_.chiyoda);
    EXPECT_EQ(certs.result_int(), 200) << certs.body();
    const json list = json::parse(certs.body())["certificates"];
    for (const auto& c : list)
      (c["kind"] == "signature" ? out.signature_serial : out.authentication_serial) = c["serial"].get<std::string>();
    EXPECT_FALSE(out.signature_serial.empty()) << certs.body();
    EXPECT_FALSE(out.authentication_serial.empty());
    return out;
  }

  // One line per table of the register and the provision record, its row count and a SHA-256 over
  // its rows (one read snapshot, through the data directory's store: SQLite in WAL mode or
  // PostgreSQL, beside the running server). Rows are hashed in a canonical order, so the digest
  // changes exactly when some row was added, removed or changed, and a failed comparison names the
  // table.
  // `except` names tables left out (for attacks that, by design, spend a one-time challenge).
  std::string table_digest(const std::set<std::string>& except = {}) const {
    auto conn = e2e::connect_data_dir(dir_);
    if (!conn) return "";
    const bool pg = conn->dialect() == "postgresql";
    const auto tables = e2e::store_tables(*conn);
    if (std::count(tables.begin(), tables.end(), std::pair<std::string, std::string>(pg ? "public" : "main", "pki_crls")))
      wait_for_crls(*conn);
    std::string all;
    exec(*conn, pg ? "BEGIN ISOLATION LEVEL REPEATABLE READ" : "BEGIN");
    for (const auto& [schema, table] : tables) {
      if (except.count(table)) continue;
      std::vector<std::string> rows;
      each_row(*conn, "SELECT * FROM " + schema + ".\"" + table + "\"", [&](const store::Row& r) {
        std::string row;
        for (int i = 0; i < r.columns(); ++i) {
          const std::string v = r.text(i);
          row += (r.is_null(i) ? "N" : "V") + std::to_string(v.size()) + ":" + v + ";";
        }
        rows.push_back(std::move(row));
      });
      std::sort(rows.begin(), rows.end());
      std::string hashes;
      for (const auto& r : rows) hashes += sha256_hex(r) + "\n";
      all += schema + "." + table + " " + std::to_string(rows.size()) + " rows " + sha256_hex(hashes) + "\n";
    }
    exec(*conn, "COMMIT");
    return all;
  }

  // Time passing for one certificate: `jlis serve` has no injectable clock, so the record the CA
  // checks is moved instead, its validity ending `seconds_ago` before now (relative, never a fixed
  // date). Written beside the running server, as the operator's clock would have it.
  void expire_certificate(const std::string& serial, int64_t seconds_ago = 60) const {
    auto conn = e2e::connect_data_dir(dir_);
    if (!conn) return;
    const int64_t now = static_cast<int64_t>(std::time(nullptr));
    auto changed = conn->execute("UPDATE pki_certificates SET not_before = ?, not_after = ? WHERE serial = ?",
                                 {now - seconds_ago - 86400, now - seconds_ago, serial});
    EXPECT_TRUE(changed.ok()) << changed.status().message();
    if (changed.ok()) {
      EXPECT_EQ(*changed, 1) << serial;
    }
  }

  // Rows in the provision record (audit.provisions): what left to whom.
  int64_t provision_count() const {
    auto conn = e2e::connect_data_dir(dir_);
    if (!conn) return -1;
    auto n = conn->query_int64("SELECT COUNT(*) FROM audit.provisions");
    EXPECT_TRUE(n.ok()) << n.status().message();
    return n.ok() ? n->value_or(-1) : -1;
  }

 private:
  World() : sig_key_(CardKey::make()), auth_key_(CardKey::make()) {}

  static bool cli_ok(const std::vector<Output>& outs, size_t i, const char* what) {
    EXPECT_GT(outs.size(), i) << what;
    if (outs.size() <= i) return false;
    EXPECT_EQ(outs[i].exit_code, 0) << what << ": " << outs[i].err;
    return outs[i].exit_code == 0;
  }
  // The server publishes CRLs on its own a few seconds after a revocation (pki/publication.cpp,
  // its ticker): one per CA, one CA after the other. Wait until each CA's published CRLs include
  // every revocation so far and no batch is half done (every CA has as many CRLs, all published),
  // so that a digest pair around an attack sees what the attack did, not a CRL published between.
  static void wait_for_crls(store::Connection& conn) {
    const char* checks[] = {
        // a CA with a revocation its published CRLs do not include yet
        "SELECT COUNT(*) FROM (SELECT ca, MAX(revocation_seq) AS seq FROM pki_certificates GROUP BY ca) c "
        "WHERE c.seq > COALESCE((SELECT MAX(k.revocation_seq) FROM pki_crls k WHERE k.ca = c.ca AND k.published = 1), 0)",
        // a CRL numbered but not yet published
        "SELECT COUNT(*) FROM pki_crls WHERE published = 0",
        // a batch that made one CA's CRL and not yet the other's
        "SELECT COUNT(DISTINCT n) - 1 FROM (SELECT COUNT(*) AS n FROM pki_crls GROUP BY ca) x"};
    for (int i = 0; i < 600; ++i) {  // 60 s: the ticker's debounce is 5 s, longer under sanitizers
      int64_t pending = 0;
      for (const char* sql : checks) {
        auto n = conn.query_int64(sql);
        if (!n.ok()) {
          ADD_FAILURE() << sql << ": " << n.status().message();
          return;
        }
        pending += std::max<int64_t>(0, n->value_or(0));
      }
      if (pending == 0) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ADD_FAILURE() << "the server's CRLs did not catch up with its revocations within 60 s";
  }
  static void exec(store::Connection& conn, const std::string& sql) {
    Status s = conn.execute_script(sql);
    if (!s.is_ok()) ADD_FAILURE() << sql << ": " << s.message();
  }
  template <class F>
  static void each_row(store::Connection& conn, const std::string& sql, F&& f) {
    Status s = conn.query(sql, {}, [&](const store::Row& r) {
      f(r);
      return true;
    });
    if (!s.is_ok()) ADD_FAILURE() << sql << ": " << s.message();
  }

  std::string dir_;
  std::unique_ptr<e2e::Server> server_;
  Tokens tokens_;
  CardKey sig_key_, auth_key_;
  Resident resident_;
  bool ok_ = false;
};

}  // namespace jlis::security
