// The operator console (`/console`, web/console.h) in headless Chromium as an operator uses it: log
// in with an operator token, read the figures (a chart's table says what the store counts), watch
// them move when events are submitted, revoke a token (the API refuses it at once) and find the
// revocation recorded with the operator's name. (Its refusals: tests/security/console_attacks_test.cpp.)
//
// With JLIS_SCREENSHOTS=DIR the browser test saves the console's pages there (docs/images).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "../http/chromium.h"
#include "../http/client.h"
#include "common/identifiers.h"
#include "data_dir_store.h"
#include "jlis_process.h"
#include "pki/openssl.h"
#include "template_dir.h"
#include "web/charts.h"

namespace jlis::e2e {
namespace {

namespace fs = std::filesystem;
using http::testing::Chromium;
namespace bhttp = boost::beast::http;

class ConsoleE2E : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = temp_dir("console");
    ::setenv("JLIS_CA_PASSPHRASE", "e2e passphrase, not a real one", 1);
    const auto out = prepared_dir(
        dir_, {{"init", "--data", "{dir}", "--simulation"},
               {"ca", "init", "--data", "{dir}"},
               {"population", "generate", "--data", "{dir}", "--count", "120", "--key-pool", "2"},
               {"token", "create", "--data", "{dir}", "--role", "operator", "--name", "Ops One"},
               {"token", "create", "--data", "{dir}", "--role", "call-centre", "--name", "Call centre A"},
               {"municipality", "token", "--data", "{dir}", "--code", "131016"},
               {"agency", "add", "--data", "{dir}", "--name", "Pension Office", "--purposes", "pension,tax"}});
    ASSERT_EQ(out.size(), 7u) << out.back().err;
    for (const auto& o : out) ASSERT_EQ(o.exit_code, 0) << o.err;
    operator_ = last_line(out[3].out);
    call_centre_ = last_line(out[4].out);
    municipality_ = last_line(out[5].out);
    agency_ = last_line(out[6].out);
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }
  static std::string last_line(std::string s) {
    while (!s.empty() && s.back() == '\n') s.pop_back();
    return s.substr(s.rfind('\n') + 1);
  }
  static int64_t count(const std::string& sql) {
    auto conn = connect_data_dir(dir_);
    auto n = conn->query_int64(sql);
    return n.ok() ? n->value_or(-1) : -1;
  }
  // The token id of the token whose holder is `name`.
  static std::string token_id(const std::string& name) {
    std::string id;
    auto conn = connect_data_dir(dir_);
    (void)conn->query("SELECT token_id FROM tokens WHERE name = ?", {name}, [&](const store::Row& r) {
      id = r.text(0);
      return false;
    });
    return id;
  }

  // The console open and logged in, in `browser`, on the server at `base`.
  static void log_in(Chromium& browser, const std::string& base) {
    browser.open(base + "/console/login");
    browser.evaluate("document.querySelector('#token').value = " + nlohmann::json(operator_).dump());
    browser.click("button[type=submit]");
    ASSERT_TRUE(browser.wait_until("location.pathname === '/console' && document.querySelector('#events')"));
  }
  // With JLIS_SCREENSHOTS=DIR, saves the page as DIR/console-<name>.png; checks its policy first.
  static void shot(Chromium& browser, const std::string& name) {
    EXPECT_EQ(browser.violations(), std::vector<std::string>{}) << name;
    const char* shots = std::getenv("JLIS_SCREENSHOTS");
    if (shots == nullptr || *shots == 0) return;
    auto png = pki::base64_decode(browser.screenshot_base64());
    ASSERT_TRUE(png.ok());
    std::ofstream(std::string(shots) + "/console-" + name + ".png", std::ios::binary) << *png;
  }
  // The text of the table of the figure captioned with `caption`'s words.
  static std::string figure_table(const std::string& caption) {
    return "([...document.querySelectorAll('figure')].find(f => f.querySelector('figcaption').innerText.includes(" +
           nlohmann::json(caption).dump() + ")) || {querySelector: () => ({innerText: ''})}).querySelector('table').innerText";
  }

  static inline std::string dir_, operator_, call_centre_, municipality_, agency_;
};

// Rule: the operator's visit. Log-in sets an HttpOnly, SameSite=Strict cookie; the cards chart's
// table gives the store's count of active cards; the change-events chart moves after events are
// submitted; revoking the call centre's token from the console makes the API answer 401 at once;
// the audit lists the revocation by the operator; no page breaks its policy.
TEST_F(ConsoleE2E, AnOperatorLogsInWatchesTheFiguresAndRevokesAToken) {
  Server server(dir_, {"--console-sample-seconds", "0.5"});
  ASSERT_NE(server.port(), 0);
  const std::string base = "http://127.0.0.1:" + std::to_string(server.port());
  http::testing::Client api(server.port());
  ASSERT_EQ(api.get("/v1/cards/0000000000000000", {{"Authorization", "Bearer " + call_centre_}}).result_int(), 404)
      << "the call centre's token works before";

  Chromium browser(dir_ + "/chromium", 1280, 900);

  browser.open(base + "/console");
  ASSERT_TRUE(browser.wait_until("location.pathname === '/console/login'")) << "no session: the log-in form";
  browser.evaluate("document.querySelector('#token').value = " + nlohmann::json(operator_).dump());
  browser.click("button[type=submit]");
  ASSERT_TRUE(browser.wait_until("location.pathname === '/console' && document.querySelector('#events')"));
  auto cookies = browser.call("Network.getCookies", {{"urls", {base + "/console"}}});
  ASSERT_EQ(cookies["cookies"].size(), 1u);
  EXPECT_EQ(cookies["cookies"][0]["name"], "jlis_console");
  EXPECT_EQ(cookies["cookies"][0]["httpOnly"], true);
  EXPECT_EQ(cookies["cookies"][0]["sameSite"], "Strict");

  const int64_t active = count("SELECT COUNT(*) FROM card_cards WHERE status = 'active'");
  ASSERT_GT(active, 0);
  const std::string cards = browser.evaluate(
      "[...document.querySelectorAll('figure')].find(f => f.innerText.includes('Cards by state'))"
      ".querySelector('table').innerText");
  EXPECT_NE(cards.find("active\t" + std::to_string(active)), std::string::npos) << cards;

  // Events submitted now show in the events chart within a few samples.
  for (int i = 0; i < 3; ++i) {
    auto r = api.request(bhttp::verb::post, "/v1/municipalities/131016/events",
                         nlohmann::json{{"event_id", "console-" + std::to_string(i)},
                                        {"type", "birth"},
                                        {"date", "1990-06-15"},
                                        {"person",
                                         {{"name", "青木　蓮"},
                                          {"name_kana", "アオキ　レン"},
                                          {"date_of_birth", "1990-06-15"},
                                          {"sex", "male"},
                                          {"address", "東京都千代田区丸の内一丁目1番1号"}}}}
                             .dump(),
                         {{"Authorization", "Bearer " + municipality_}});
    ASSERT_EQ(r.result_int(), 201) << r.body();
  }
  EXPECT_TRUE(browser.wait_until(
      "(() => { const row = [...document.querySelectorAll('#events tbody tr')].find(r => r.cells[0].innerText === 'birth');"
      " return row && parseFloat(row.cells[2].innerText) > 0; })()",
      std::chrono::seconds(20)))
      << browser.text("#events");
  EXPECT_EQ(browser.violations(), std::vector<std::string>{});

  browser.open(base + "/console/tokens");
  const std::string id = token_id("Call centre A");
  ASSERT_FALSE(id.empty());
  ASSERT_TRUE(browser.wait_until("document.querySelector('input[name=token_id][value=\"" + id + "\"]')"));
  shot(browser, "tokens");
  browser.click("input[name=token_id][value=\"" + id + "\"] ~ button");
  ASSERT_TRUE(browser.wait_until("document.body.innerText.includes('失効 ')"));
  EXPECT_EQ(api.get("/v1/cards/0000000000000000", {{"Authorization", "Bearer " + call_centre_}}).result_int(), 401)
      << "revoked from the console: refused at once";

  // An LGPKI registration sub-authority's token is its local government's: named by its code.
  for (const std::string holder : {"清瀬市", "132217"}) {
    browser.open(base + "/console/tokens");
    browser.evaluate("document.querySelector('#role').value = 'lgpki-registration'");
    browser.evaluate("document.querySelector('#holder').value = '" + holder + "'");
    browser.click("form[action='/console/tokens/create'] button");
    ASSERT_TRUE(browser.wait_until("document.querySelector('.secret, [role=alert]')")) << browser.text("main");
  }
  EXPECT_EQ(count("SELECT COUNT(*) FROM tokens WHERE role = 'lgpki-registration'"), 1);
  EXPECT_EQ(count("SELECT COUNT(*) FROM tokens WHERE role = 'lgpki-registration' AND subject = '132217'"), 1);

  browser.open(base + "/console/audit");
  const std::string audit = browser.text("table");
  EXPECT_NE(audit.find("token.revoke"), std::string::npos) << audit;
  EXPECT_NE(audit.find("console:Ops One"), std::string::npos) << audit;
  shot(browser, "audit");
}

// Rule: the console shows who was given what (provisions per minute by agency and purpose), the
// production queue with a late express application marked, and the CRLs with their number and
// size as published; the CRLs generated from the console get the next number, and a verifier
// registered from it gets a working token; both actions are in the audit with the operator's name.
TEST_F(ConsoleE2E, TheFiguresShowProvisionsTheQueueAndTheCrlsAndTheActionsAreRecorded) {
  Server server(dir_, {"--console-sample-seconds", "0.5"});
  ASSERT_NE(server.port(), 0);
  const std::string base = "http://127.0.0.1:" + std::to_string(server.port());
  http::testing::Client api(server.port());
  const std::string agency = "Bearer " + agency_, municipality = "Bearer " + municipality_;

  // A newborn's express application whose due date has passed (its dates moved back in the store).
  const Date today = Date::today();
  auto born = api.request(bhttp::verb::post, "/v1/municipalities/131016/events",
                          nlohmann::json{{"event_id", "console-newborn"},
                                         {"type", "birth"},
                                         {"date", today.add_days(-20).to_iso()},
                                         {"person",
                                          {{"name", "青木　葵"},
                                           {"name_kana", "アオキ　アオイ"},
                                           {"date_of_birth", today.add_days(-20).to_iso()},
                                           {"sex", "female"},
                                           {"address", "東京都千代田区丸の内一丁目1番1号"}}}}
                              .dump(),
                          {{"Authorization", municipality}});
  ASSERT_EQ(born.result_int(), 201) << born.body();
  const std::string baby = nlohmann::json::parse(born.body())["resident_code"];
  auto applied = api.request(bhttp::verb::post, "/v1/cards/applications",
                             nlohmann::json{{"resident_code", baby}, {"channel", "window"}, {"photo", false},
                                            {"express", "newborn"}}
                                 .dump(),
                             {{"Authorization", municipality}});
  ASSERT_EQ(applied.result_int(), 201) << applied.body();
  const int64_t application = nlohmann::json::parse(applied.body())["application_id"];
  {
    auto conn = connect_data_dir(dir_);
    ASSERT_TRUE(conn->execute("UPDATE card_applications SET applied_on = ?, due_on = ? WHERE application_id = ?",
                              {today.add_days(-8).to_iso(), today.add_days(-1).to_iso(), application}).ok());
  }

  Chromium browser(dir_ + "/chromium-figures", 1280, 1700);
  log_in(browser, base);

  // The agency reads two residents for its pension purpose.
  std::vector<std::string> codes;
  {
    auto conn = connect_data_dir(dir_);
    (void)conn->query("SELECT resident_code FROM residents WHERE status = 'resident' ORDER BY resident_code LIMIT 2", {},
                      [&](const store::Row& r) {
                        codes.push_back(ResidentCode::from_body(static_cast<uint64_t>(r.int64(0))).str());
                        return true;
                      });
  }
  ASSERT_EQ(codes.size(), 2u);
  for (const auto& code : codes)
    ASSERT_EQ(api.get("/v1/residents/" + code + "?purpose=pension", {{"Authorization", agency}}).result_int(), 200);
  EXPECT_TRUE(browser.wait_until(
      "(() => { const row = [...document.querySelectorAll('#provisions tbody tr')].find(r => r.cells[0].innerText === "
      "'Pension Office · pension'); return row && parseFloat(row.cells[2].innerText) > 0; })()",
      std::chrono::seconds(20)))
      << browser.text("#provisions");

  // The queue: the late application first (express), marked.
  const std::string queue = browser.evaluate(figure_table("Card production queue"));
  EXPECT_NE(queue.find("遅延 late " + std::to_string(application) + "\tnewborn\t" + today.add_days(-8).to_iso() +
                       "\t" + today.add_days(-1).to_iso()),
            std::string::npos)
      << queue;
  EXPECT_EQ(browser.evaluate("document.querySelectorAll('#figures tr.marked').length"), 1);
  shot(browser, "overview");

  // The CRLs as published: the signature CRL's number and its file's size.
  auto newest = [&](const std::string& ca) {
    auto conn = connect_data_dir(dir_);
    return conn->query_int64("SELECT MAX(crl_number) FROM pki_crls WHERE ca = ? AND published = 1 AND delta_base IS NULL",
                             {ca})
        ->value_or(-1);
  };
  const int64_t before = newest("signature");
  ASSERT_GT(before, 0);
  auto crl_row = [&]() -> std::string {
    return browser.evaluate("(() => { const t = [...document.querySelectorAll('figure')].find(f => "
                            "f.innerText.includes('CRLs')); const row = t && [...t.querySelectorAll('tbody tr')].find(r "
                            "=> r.cells[0].innerText === 'signature'); return row ? row.innerText : ''; })()");
  };
  const std::string row = crl_row();
  const auto size = fs::file_size(dir_ + "/pki/crl/signature.crl");
  EXPECT_EQ(row.rfind("signature\t" + std::to_string(before) + "\t", 0), 0u) << row;
  EXPECT_EQ(row.substr(row.rfind('\t') + 1), web::number(static_cast<double>(size))) << row;

  browser.click("form[action='/console/crl/generate'] button");
  ASSERT_TRUE(browser.wait_until("document.querySelector('.done')")) << browser.text("main");
  // The next full CRL: its delta CRL took the number in between.
  EXPECT_EQ(newest("signature"), before + 2);
  EXPECT_EQ(crl_row().rfind("signature\t" + std::to_string(before + 2) + "\t", 0), 0u) << crl_row();

  // A verifier registered from the console: its token works at once, with the consent it was given.
  browser.open(base + "/console/tokens");
  browser.evaluate("document.querySelector('#verifier').value = 'Shop verifier'");
  browser.click("#consent");
  browser.click("form[action='/console/verifiers/add'] button");
  ASSERT_TRUE(browser.wait_until("document.querySelector('.secret')")) << browser.text("main");
  const std::string secret = browser.text(".secret");
  auto challenge = api.request(bhttp::verb::post, "/v1/pki/consent/challenges", "", {{"Authorization", "Bearer " + secret}});
  EXPECT_EQ(challenge.result_int(), 201) << challenge.body();
  EXPECT_EQ(count("SELECT COUNT(*) FROM pki_verifiers WHERE name = 'Shop verifier' AND consent_provision = 1"), 1);

  browser.open(base + "/console/audit");
  const std::string audit = browser.text("table");
  for (const std::string action : {"crl.generate", "token.create"}) {
    bool found = false;
    std::stringstream lines(audit);
    for (std::string line; std::getline(lines, line);)
      found = found || (line.find("\tconsole:Ops One") != std::string::npos && line.find("\t" + action + "\t") != std::string::npos);
    EXPECT_TRUE(found) << action << " by the operator, in\n" << audit;
  }
  EXPECT_EQ(browser.violations(), std::vector<std::string>{});
}

}  // namespace
}  // namespace jlis::e2e
