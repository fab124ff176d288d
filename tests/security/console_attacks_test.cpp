// Attacks on the operator console (`/console`, web/console.h): every role but the operator, an
// unknown, revoked or expired token at the log-in; no session; a form without its CSRF token or
// posted from another site; an operator token revoked or expired while its session is open.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "world.h"

namespace jlis::security {
namespace {

namespace bhttp = boost::beast::http;

class ConsoleAttacks : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { world_ = World::create("console").release(); }
  static void TearDownTestSuite() {
    delete world_;
    world_ = nullptr;
  }
  void SetUp() override { ASSERT_TRUE(world_ && world_->ok()); }

  static Reply form(const std::string& path, const std::string& body, const http::testing::Headers& extra = {}) {
    http::testing::Headers h = {{"Content-Type", "application/x-www-form-urlencoded"}};
    h.insert(h.end(), extra.begin(), extra.end());
    return world_->request(bhttp::verb::post, path, body, "", h);
  }
  // Logs in with `token`: the session's cookie ("jlis_console=…"), or "" when refused.
  static std::string log_in(const std::string& token) {
    auto r = form("/console/login", "token=" + token);
    if (r.result_int() != 303) return "";
    const std::string set(r[bhttp::field::set_cookie]);
    return set.substr(0, set.find(';'));
  }
  static Reply get(const std::string& path, const std::string& cookie) {
    return world_->request(bhttp::verb::get, path, "", "", {{"Cookie", cookie}});
  }
  static std::string csrf(const std::string& cookie) {
    const std::string page = get("/console/tokens", cookie).body();
    const size_t at = page.find("name=\"csrf\" value=\"");
    return at == std::string::npos ? "" : page.substr(at + 19, 64);
  }
  static std::string token_id(const std::string& holder) {
    auto o = world_->cli({"token", "list", "--data", world_->dir()});
    for (size_t at = o.out.find('\n'); at != std::string::npos && at + 1 < o.out.size(); at = o.out.find('\n', at + 1)) {
      const std::string line = o.out.substr(at + 1, o.out.find('\n', at + 1) - at - 1);
      if (line.find("," + holder + ",") != std::string::npos) return line.substr(0, line.find(','));
    }
    return "";
  }

  static inline World* world_ = nullptr;
};

// Attack: every role's token but the operator's is refused at the log-in (403), an unknown one and
// a revoked one too (401); none gets a session cookie.
TEST_F(ConsoleAttacks, OnlyAnOperatorsGoodTokenLogsIn) {
  for (const auto& [role, token] : world_->tokens().by_name()) {
    if (role == "operator") continue;
    auto r = form("/console/login", "token=" + token);
    EXPECT_EQ(r.result_int(), 403) << role;
    EXPECT_EQ(r.find(bhttp::field::set_cookie), r.end()) << role;
  }
  EXPECT_EQ(form("/console/login", "token=jlis_" + std::string(64, '0')).result_int(), 401);
  const std::string revoked_operator =
      world_->token({"token", "create", "--data", world_->dir(), "--role", "operator", "--name", "gone"});
  ASSERT_EQ(world_->cli({"token", "revoke", "--data", world_->dir(), "--id", token_id("gone")}).exit_code, 0);
  EXPECT_EQ(form("/console/login", "token=" + revoked_operator).result_int(), 401);
  EXPECT_FALSE(log_in(world_->tokens().operator_).empty()) << "the operator's own token logs in";
}

// Attack: without a session nothing is read or changed: every page and form answers 303 to the
// log-in, and the token named stays good.
TEST_F(ConsoleAttacks, NoSessionReadsOrChangesNothing) {
  for (const char* page : {"/console", "/console/figures", "/console/tokens", "/console/audit"}) {
    auto r = get(page, "jlis_console=" + std::string(64, 'a'));
    EXPECT_EQ(r.result_int(), 303) << page;
    EXPECT_EQ(std::string(r[bhttp::field::location]), "/console/login") << page;
  }
  const std::string before = world_->table_digest();
  EXPECT_EQ(form("/console/tokens/revoke", "token_id=" + token_id("call-centre")).result_int(), 303);
  EXPECT_EQ(form("/console/verifiers/add", "name=sneaky&consent=yes").result_int(), 303);
  EXPECT_EQ(form("/console/crl/generate", "").result_int(), 303);
  EXPECT_EQ(world_->get("/v1/cards/0000000000000000", world_->tokens().call_centre).result_int(), 404)
      << "the call centre's token still works";
  EXPECT_EQ(world_->table_digest(), before) << "nothing written";
}

// Attack: an operator's session, but a form without its CSRF token, with another session's, or
// posted by another site's page: 403 and nothing revoked.
TEST_F(ConsoleAttacks, AFormWithoutItsCsrfTokenOrFromAnotherSiteChangesNothing) {
  const std::string cookie = log_in(world_->tokens().operator_), other = log_in(world_->tokens().operator_);
  ASSERT_FALSE(cookie.empty());
  const std::string own = csrf(cookie), others = csrf(other);
  ASSERT_EQ(own.size(), 64u);
  const std::string target = "token_id=" + token_id("call-centre");
  EXPECT_EQ(form("/console/tokens/revoke", target, {{"Cookie", cookie}}).result_int(), 403);
  EXPECT_EQ(form("/console/tokens/revoke", "csrf=" + others + "&" + target, {{"Cookie", cookie}}).result_int(), 403);
  EXPECT_EQ(form("/console/tokens/revoke", "csrf=" + own + "&" + target,
                 {{"Cookie", cookie}, {"Origin", "http://evil.example"}})
                .result_int(),
            403);
  EXPECT_EQ(form("/console/tokens/revoke", "csrf=" + own + "&" + target,
                 {{"Cookie", cookie}, {"Sec-Fetch-Site", "cross-site"}})
                .result_int(),
            403);
  EXPECT_EQ(world_->get("/v1/cards/0000000000000000", world_->tokens().call_centre).result_int(), 404)
      << "the call centre's token still works";
  // The CA's actions likewise: no verifier registered, no CRL generated, nothing recorded.
  const std::string before = world_->table_digest();
  for (const std::string path : {"/console/verifiers/add", "/console/crl/generate"}) {
    const std::string fields = "name=sneaky&consent=yes";
    EXPECT_EQ(form(path, fields, {{"Cookie", cookie}}).result_int(), 403) << path;
    EXPECT_EQ(form(path, "csrf=" + others + "&" + fields, {{"Cookie", cookie}}).result_int(), 403) << path;
    EXPECT_EQ(form(path, "csrf=" + own + "&" + fields, {{"Cookie", cookie}, {"Origin", "http://evil.example"}}).result_int(),
              403)
        << path;
  }
  EXPECT_EQ(world_->table_digest(), before) << "nothing written";
}

// Attack: an operator token revoked (by the CLI, another process) or expired while its console
// session is open: the next request finds no session.
TEST_F(ConsoleAttacks, ARevokedOrExpiredOperatorTokenEndsItsSession) {
  const std::string revoked =
      world_->token({"token", "create", "--data", world_->dir(), "--role", "operator", "--name", "revoked-later"});
  const std::string revoked_cookie = log_in(revoked);
  ASSERT_EQ(get("/console", revoked_cookie).result_int(), 200);
  ASSERT_EQ(world_->cli({"token", "revoke", "--data", world_->dir(), "--id", token_id("revoked-later")}).exit_code, 0);
  EXPECT_EQ(get("/console", revoked_cookie).result_int(), 303);

  const std::string expiring = world_->token(
      {"token", "create", "--data", world_->dir(), "--role", "operator", "--name", "expiring", "--expires", "2s"});
  const std::string expiring_cookie = log_in(expiring);
  ASSERT_EQ(get("/console", expiring_cookie).result_int(), 200);
  int status = 200;
  for (int i = 0; i < 150 && status == 200; ++i) {  // waits for the expiry, at most 15 s
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    status = get("/console", expiring_cookie).result_int();
  }
  EXPECT_EQ(status, 303);
}

}  // namespace
}  // namespace jlis::security
