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

#include "../http/chromium.h"
#include "../http/client.h"
#include "data_dir_store.h"
#include "jlis_process.h"
#include "pki/openssl.h"
#include "template_dir.h"

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
               {"municipality", "token", "--data", "{dir}", "--code", "131016"}});
    ASSERT_EQ(out.size(), 6u) << out.back().err;
    for (const auto& o : out) ASSERT_EQ(o.exit_code, 0) << o.err;
    operator_ = last_line(out[3].out);
    call_centre_ = last_line(out[4].out);
    municipality_ = last_line(out[5].out);
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

  static inline std::string dir_, operator_, call_centre_, municipality_;
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
  const char* shots = std::getenv("JLIS_SCREENSHOTS");
  auto shot = [&](const std::string& name) {
    EXPECT_EQ(browser.violations(), std::vector<std::string>{}) << name;
    if (shots == nullptr || *shots == 0) return;
    auto png = pki::base64_decode(browser.screenshot_base64());
    ASSERT_TRUE(png.ok());
    std::ofstream(std::string(shots) + "/console-" + name + ".png", std::ios::binary) << *png;
  };

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
  shot("overview");

  browser.open(base + "/console/tokens");
  const std::string id = token_id("Call centre A");
  ASSERT_FALSE(id.empty());
  ASSERT_TRUE(browser.wait_until("document.querySelector('input[name=token_id][value=\"" + id + "\"]')"));
  shot("tokens");
  browser.click("input[name=token_id][value=\"" + id + "\"] ~ button");
  ASSERT_TRUE(browser.wait_until("document.body.innerText.includes('失効 ')"));
  EXPECT_EQ(api.get("/v1/cards/0000000000000000", {{"Authorization", "Bearer " + call_centre_}}).result_int(), 401)
      << "revoked from the console: refused at once";

  browser.open(base + "/console/audit");
  const std::string audit = browser.text("table");
  EXPECT_NE(audit.find("token.revoke"), std::string::npos) << audit;
  EXPECT_NE(audit.find("console:Ops One"), std::string::npos) << audit;
  shot("audit");
}

}  // namespace
}  // namespace jlis::e2e
