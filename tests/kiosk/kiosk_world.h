// The kiosk centre's test world: the security harness's `jlis serve` (tests/security/world.h: a
// CA, tokens, a resident with a card) plus an operator, terminals with their credentials, and
// virtual cards of the world's residents. Shared by tests/kiosk (the centre's rules) and
// tests/security (the attacks on the kiosk sessions).
#pragma once

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "../http/client.h"
#include "../security/world.h"
#include "kiosk/terminals.h"
#include "kiosk/virtual_card.h"
#include "pki/openssl.h"

namespace jlis::kiosk::testing {

using security::Resident;
using security::World;
using nlohmann::json;
namespace bhttp = boost::beast::http;

inline constexpr const char* kPin = "1234";

class KioskWorld {
 public:
  explicit KioskWorld(World& world) : w_(world) {
    auto op = w_.cli({"kiosk", "operator", "add", "--data", w_.dir(), "--name", "テスト・マート"});
    EXPECT_EQ(op.exit_code, 0) << op.err;
    // Open at any hour of any day, so that the tests pass whenever they run (the hours' own test
    // sets them relative to the time it runs).
    auto hours = w_.cli({"kiosk", "hours", "--data", w_.dir(), "--opens", "00:00", "--closes", "24:00", "--closed", "none"});
    EXPECT_EQ(hours.exit_code, 0) << hours.err;
  }

  World& world() { return w_; }

  // A new terminal's credential secret (its id in *terminal_id when asked).
  std::string terminal(const std::string& store, std::string* terminal_id = nullptr) {
    const std::string file = w_.dir() + "/terminal-" + store + ".json";
    auto o = w_.cli({"kiosk", "terminal", "add", "--data", w_.dir(), "--operator", "テスト・マート", "--store", store,
                     "--output", file});
    EXPECT_EQ(o.exit_code, 0) << o.err;
    auto c = read_credential(file);
    EXPECT_TRUE(c.ok()) << c.status().to_string();
    if (!c.ok()) return "";
    if (terminal_id) *terminal_id = c->terminal.terminal_id;
    return c->secret;
  }

  // The PEM of a certificate, as the holder's municipality fetches it.
  std::string certificate_pem(const std::string& serial) {
    auto r = w_.request(bhttp::verb::get, "/v1/pki/certificates/" + serial, "", w_.tokens().chiyoda,
                        {{"Accept", "application/x-pem-file"}});
    EXPECT_EQ(r.result_int(), 200) << r.body();
    return r.body();
  }

  // A virtual card of `resident` whose keys are `auth` and `sig`, guarded by kPin (and a password).
  VirtualCard card(const Resident& resident, const e2e::CardKey& auth, const e2e::CardKey& sig) {
    auto made = VirtualCard::make(resident.card_id, certificate_pem(resident.authentication_serial),
                                  pki::private_key_pem(auth.key.get()).value(), kPin,
                                  certificate_pem(resident.signature_serial), pki::private_key_pem(sig.key.get()).value(),
                                  "PASSWORD1");
    EXPECT_TRUE(made.ok()) << made.status().to_string();
    return std::move(*made);
  }
  VirtualCard world_card() { return card(w_.resident(), w_.authentication_key(), w_.signature_key()); }

  http::testing::Reply call(bhttp::verb method, const std::string& target, const std::string& secret,
                            const std::string& body = "") {
    return w_.request(method, target, body, secret);
  }
  // POST /v1/kiosk/sessions: the session's JSON (empty on failure).
  json open(const std::string& secret) {
    auto r = call(bhttp::verb::post, "/v1/kiosk/sessions", secret);
    EXPECT_EQ(r.result_int(), 201) << r.body();
    return r.result_int() == 201 ? json::parse(r.body()) : json::object();
  }
  // The card's signature (PIN kPin) over the session's challenge, base64.
  static std::string sign(VirtualCard& card, const json& session, card::CardSecret which = card::CardSecret::authentication_pin) {
    const std::string secret = which == card::CardSecret::authentication_pin ? kPin : "PASSWORD1";
    auto bytes = pki::base64_decode(session.value("challenge", ""));
    EXPECT_TRUE(bytes.ok());
    auto sig = card.sign(which, secret, bytes.ok() ? *bytes : "");
    EXPECT_TRUE(sig.ok()) << sig.status().to_string();
    return pki::base64_encode(sig.ok() ? *sig : "");
  }
  http::testing::Reply login(const std::string& secret, const std::string& session_id, const std::string& pem,
                             const std::string& signature) {
    return call(bhttp::verb::post, "/v1/kiosk/sessions/" + session_id + "/login", secret,
                json{{"certificate", pem}, {"signature", signature}}.dump());
  }
  // Opens a session and logs the card in with its user-authentication key: the session's id.
  std::string logged_in(const std::string& secret, VirtualCard& card) {
    json s = open(secret);
    const auto* slot = card.slot(card::CardSecret::authentication_pin);
    auto r = login(secret, s.value("session_id", ""), slot ? slot->certificate_pem : "", sign(card, s));
    EXPECT_EQ(r.result_int(), 200) << r.body();
    return s.value("session_id", "");
  }
  http::testing::Reply request(const std::string& secret, const std::string& session_id, const json& body) {
    return call(bhttp::verb::post, "/v1/kiosk/sessions/" + session_id + "/documents", secret, body.dump());
  }
  http::testing::Reply fetch(const std::string& secret, const std::string& session_id) {
    return call(bhttp::verb::get, "/v1/kiosk/sessions/" + session_id + "/document", secret);
  }
  http::testing::Reply printed(const std::string& secret, const std::string& session_id) {
    return call(bhttp::verb::post, "/v1/kiosk/sessions/" + session_id + "/printed", secret);
  }

  // The 403 refusal's reason ("" when `r` is not one).
  static std::string refusal(const http::testing::Reply& r) {
    if (r.result_int() != 403) return "";
    json j = json::parse(r.body(), nullptr, false);
    if (!j.is_object() || !j.contains("refusal")) return "";
    return j["refusal"].value("reason", "");
  }

  // The text of a PDF as pdftotext reads it.
  std::string pdf_text(const std::string& pdf) {
    const std::string file = w_.dir() + "/read-back.pdf";
    std::ofstream(file, std::ios::binary) << pdf;
    std::string out;
    if (FILE* p = ::popen(("pdftotext -enc UTF-8 '" + file + "' - 2>/dev/null").c_str(), "r")) {
      char buf[4096];
      for (size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
      ::pclose(p);
    }
    return out;
  }

  // Rows of a table of the data directory's store that satisfy `where`.
  int64_t count(const std::string& table, const std::string& where = "1 = 1") {
    auto conn = e2e::connect_data_dir(w_.dir());
    if (!conn) return -1;
    auto n = conn->query_int64("SELECT COUNT(*) FROM " + table + " WHERE " + where);
    EXPECT_TRUE(n.ok()) << n.status().message();
    return n.ok() ? n->value_or(-1) : -1;
  }

  // The rows of a table that satisfy `where`, one line each, `columns` as text: for a failure's message.
  std::string rows(const std::string& table, const std::string& columns, const std::string& where) {
    auto conn = e2e::connect_data_dir(w_.dir());
    if (!conn) return "(no store)";
    std::string out;
    auto s = conn->query("SELECT " + columns + " FROM " + table + " WHERE " + where, {}, [&](const store::Row& r) {
      for (int c = 0; c < r.columns(); ++c) out += (c ? " | " : "") + (r.is_null(c) ? "NULL" : r.text(c));
      out += "\n";
      return true;
    });
    return s.is_ok() ? out : s.message();
  }

  // Where the centre asks the issuance server of `code` (the world's resident lives in 131016).
  void municipal_server(const std::string& url, const std::string& code = "131016") {
    auto o = w_.cli({"kiosk", "municipal-server", "--data", w_.dir(), "--code", code, "--url", url});
    EXPECT_EQ(o.exit_code, 0) << o.err;
  }
  std::string own_url() const { return "http://127.0.0.1:" + std::to_string(w_.port()); }

 private:
  World& w_;
};

// A test suite over one kiosk world, built once per suite: the suite's SetUpTestSuite calls
// build(name) (then adds its terminals and cards when it answers true); torn down after the suite.
class KioskSuite : public ::testing::Test {
 protected:
  static bool build(const std::string& name) {
    world_ = World::create(name).release();
    if (world_ && world_->ok()) kiosk_ = new KioskWorld(*world_);
    return kiosk_ != nullptr;
  }
  static void TearDownTestSuite() {
    delete kiosk_;
    kiosk_ = nullptr;
    delete world_;
    world_ = nullptr;
  }
  void SetUp() override { ASSERT_TRUE(world_ && world_->ok() && kiosk_) << "the world was not built"; }

  static inline World* world_ = nullptr;
  static inline KioskWorld* kiosk_ = nullptr;
};

// `jlis kiosk screen` for the world's centre, on a port the kernel picks; stopped on destruction.
class ScreenProcess : public e2e::Serving {
 public:
  ScreenProcess(const std::string& centre, const std::string& credential, const std::vector<std::string>& cards,
                const std::string& idle_seconds = "120")
      : e2e::Serving(args(centre, credential, cards, idle_seconds)) {}
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port()) + "/"; }

  // A touch as a form post (no browser): the answer's status.
  int post(const std::string& path, const std::string& form, const http::testing::Headers& headers = {}) {
    http::testing::Client client(port(), false);
    http::testing::Headers h = {{"Content-Type", "application/x-www-form-urlencoded"}};
    h.insert(h.end(), headers.begin(), headers.end());
    return client.request(bhttp::verb::post, path, form, h).result_int();
  }
  http::testing::Reply get(const std::string& path) { return http::testing::Client(port(), false).get(path); }
  std::string heading() {
    const std::string page = get("/").body();
    const size_t from = page.find("<h2>"), to = page.find("</h2>");
    return from == std::string::npos || to == std::string::npos ? "" : page.substr(from + 4, to - from - 4);
  }
  void type_pin(const std::string& pin) {
    for (char d : pin) post("/pin", std::string("key=") + d);
    post("/pin", "key=enter");
  }

 private:
  static std::vector<std::string> args(const std::string& centre, const std::string& credential,
                                       const std::vector<std::string>& cards, const std::string& idle_seconds) {
    std::vector<std::string> a = {"kiosk", "screen", "--centre", centre, "--terminal-credential", credential,
                                  "--listen", "127.0.0.1:0", "--idle-timeout", idle_seconds};
    for (const auto& c : cards) a.insert(a.end(), {"--card", c});
    return a;
  }
};

}  // namespace jlis::kiosk::testing
