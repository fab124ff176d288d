// Defect 6 (tokens lived for ever): tokens expire, can be listed without their secrets and revoked,
// an agency's purposes can be changed and withdrawn, and every change is recorded with who made it.
// A revoked or expired token, or a withdrawn purpose, is refused at once by a server already running.
#include <ctime>
#include <sstream>
#include <thread>

#include "world.h"

namespace jlis::security {
namespace {

// The CSV of `jlis token list` as rows of fields (header first).
std::vector<std::vector<std::string>> csv(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    std::vector<std::string> row;
    std::istringstream l(line);
    for (std::string f; std::getline(l, f, ',');) row.push_back(f);
    if (!line.empty() && line.back() == ',') row.push_back("");
    rows.push_back(row);
  }
  return rows;
}

int64_t epoch(const std::string& iso) {  // "YYYY-MM-DDTHH:MM:SSZ"
  std::tm tm{};
  if (!strptime(iso.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm)) return -1;
  return static_cast<int64_t>(timegm(&tm));
}

class Tokens : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { world_ = World::create("tokens").release(); }
  static void TearDownTestSuite() {
    delete world_;
    world_ = nullptr;
  }
  void SetUp() override { ASSERT_TRUE(world_ && world_->ok()) << "the world was not built"; }

  // The `jlis token list` row of the token named `name`.
  static std::map<std::string, std::string> listed(const std::string& name) {
    Output o = jlis({"token", "list", "--data", world_->dir()});
    EXPECT_EQ(o.exit_code, 0) << o.err;
    auto rows = csv(o.out);
    std::map<std::string, std::string> found;
    if (rows.empty()) return found;
    for (size_t i = 1; i < rows.size(); ++i) {
      std::map<std::string, std::string> row;
      for (size_t c = 0; c < rows[0].size() && c < rows[i].size(); ++c) row[rows[0][c]] = rows[i][c];
      if (row["name"] == name) found = row;
    }
    return found;
  }
  static std::string card_url() { return "/v1/cards/" + world_->resident().card_id; }

  static inline World* world_ = nullptr;
};

// Rule: `jlis token revoke` takes effect at once in a running `jlis serve` (401 JSON on the very
// next request, no restart), and the revocation is recorded with who did it.
TEST_F(Tokens, RevokedTokenIsRefusedAtOnceByARunningServer) {
  const std::string token =
      world_->token({"token", "create", "--data", world_->dir(), "--role", "call-centre", "--name", "revoke-me",
                     "--by", "alice"});
  EXPECT_EQ(world_->get(card_url(), token).result_int(), 200);
  auto row = listed("revoke-me");
  ASSERT_FALSE(row["id"].empty());
  EXPECT_EQ(row["revoked"], "");
  Output revoked = jlis({"token", "revoke", "--data", world_->dir(), "--id", row["id"], "--by", "bob"});
  ASSERT_EQ(revoked.exit_code, 0) << revoked.err;
  auto r = world_->get(card_url(), token);
  EXPECT_TRUE(is_error_json(r, 401));
  EXPECT_NE(listed("revoke-me")["revoked"], "");
  // Revoking twice is refused and changes nothing.
  const std::string before = world_->table_digest();
  Output again = jlis({"token", "revoke", "--data", world_->dir(), "--id", row["id"], "--by", "bob"});
  EXPECT_NE(again.exit_code, 0);
  EXPECT_NE(again.err.find("already revoked"), std::string::npos) << again.err;
  EXPECT_EQ(world_->table_digest(), before);
  // Who did what is recorded.
  Output log = jlis({"token", "log", "--data", world_->dir()});
  ASSERT_EQ(log.exit_code, 0) << log.err;
  EXPECT_NE(log.out.find(",operator:alice,token.create," + row["id"]), std::string::npos) << log.out;
  EXPECT_NE(log.out.find(",operator:bob,token.revoke," + row["id"]), std::string::npos) << log.out;
}

// Rule: a token past its expiry answers 401 JSON, in a server already running.
TEST_F(Tokens, ExpiredTokenIsRefused) {
  const std::string token = world_->token(
      {"token", "create", "--data", world_->dir(), "--role", "call-centre", "--name", "short", "--expires", "2s"});
  auto row = listed("short");
  EXPECT_EQ(epoch(row["expires"]) - epoch(row["created"]), 2) << row["created"] << " " << row["expires"];
  Reply r;
  for (int i = 0; i < 150; ++i) {  // waits for the expiry, at most 15 s
    r = world_->get(card_url(), token);
    if (r.result_int() != 200) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(is_error_json(r, 401));
  EXPECT_NE(r.body().find("expired"), std::string::npos) << r.body();
}

// Rule: a token lives one year by default; --expires takes 90d, 1y or an ISO date.
TEST_F(Tokens, DefaultExpiryIsOneYearAndExpiresIsParsed) {
  world_->token({"token", "create", "--data", world_->dir(), "--role", "card-centre", "--name", "default"});
  auto d = listed("default");
  EXPECT_EQ(epoch(d["expires"]) - epoch(d["created"]), 365 * 86400) << d["created"] << " " << d["expires"];
  world_->token({"token", "create", "--data", world_->dir(), "--role", "card-centre", "--name", "ninety", "--expires",
                 "90d"});
  auto n = listed("ninety");
  EXPECT_EQ(epoch(n["expires"]) - epoch(n["created"]), 90 * 86400);
  // An ISO date: valid through that day (UTC).
  const time_t in_ten_days = std::time(nullptr) + 10 * 86400;
  std::tm tm{};
  gmtime_r(&in_ten_days, &tm);
  char date[16];
  std::strftime(date, sizeof date, "%Y-%m-%d", &tm);
  world_->token({"municipality", "token", "--data", world_->dir(), "--code", "131016", "--expires", date});
  world_->token({"token", "create", "--data", world_->dir(), "--role", "card-centre", "--name", "dated", "--expires",
                 date});
  EXPECT_EQ(epoch(listed("dated")["expires"]), epoch(std::string(date) + "T00:00:00Z") + 86400);
}

// Rule: a malformed or past expiry is refused with a message and creates nothing.
TEST_F(Tokens, BadExpiryIsRefusedAndCreatesNothing) {
  const std::string before = world_->table_digest();
  for (const std::string bad : {"0d", "-1d", "soon", "2001-01-01", "1x", "99999999y"}) {
    Output o = jlis({"token", "create", "--data", world_->dir(), "--role", "card-centre", "--expires", bad});
    EXPECT_NE(o.exit_code, 0) << bad;
    EXPECT_NE(o.err.find("--expires"), std::string::npos) << bad << ": " << o.err;
    EXPECT_EQ(o.out.find("jlis_"), std::string::npos) << bad;
  }
  EXPECT_EQ(world_->table_digest(), before);
}

// Rule: `jlis token list` shows no secret: neither a token nor its hash.
TEST_F(Tokens, ListShowsNoSecrets) {
  Output o = jlis({"token", "list", "--data", world_->dir()});
  ASSERT_EQ(o.exit_code, 0) << o.err;
  auto rows = csv(o.out);
  ASSERT_FALSE(rows.empty());
  EXPECT_EQ(rows[0], (std::vector<std::string>{"id", "role", "subject", "name", "created", "expires", "revoked"}));
  EXPECT_GE(rows.size(), 9u);  // the world's eight tokens and more
  for (const auto& [role, token] : world_->tokens().by_name()) {
    EXPECT_EQ(o.out.find(token), std::string::npos) << role;
    EXPECT_EQ(o.out.find(sha256_hex(token)), std::string::npos) << role;
    EXPECT_EQ(o.out.find(sha256_hex(token).substr(0, 16)), std::string::npos) << role;
  }
}

// Rule: an agency's purposes can be set, added, removed and withdrawn; a running server applies the
// change at once, a refused read records no provision and changes nothing, and each change is
// recorded with who made it.
TEST_F(Tokens, AgencyPurposesChangeAtOnce) {
  Output added = jlis({"agency", "add", "--data", world_->dir(), "--name", "Tax", "--purposes", "tax,benefit"});
  ASSERT_EQ(added.exit_code, 0) << added.err;
  const std::string token = added.last_line();
  const std::string agency = added.out.substr(7, added.out.find(' ', 7) - 7);  // "agency ag-... (Tax)"
  ASSERT_EQ(agency.rfind("ag-", 0), 0u) << added.out;
  const std::string url = "/v1/residents/" + world_->resident().resident_code + "?purpose=";
  EXPECT_EQ(world_->get(url + "benefit", token).result_int(), 200);

  auto refused = [&](const std::string& purpose) {
    const std::string before = world_->table_digest();
    const int64_t provisions = world_->provision_count();
    auto r = world_->get(url + purpose, token);
    EXPECT_TRUE(is_error_json(r, 403)) << purpose;
    EXPECT_EQ(world_->provision_count(), provisions) << purpose;
    EXPECT_EQ(world_->table_digest(), before) << purpose;
  };
  auto purposes = [&](const std::vector<std::string>& args) {
    std::vector<std::string> all = {"agency", "purposes", "--data", world_->dir(), "--agency", agency, "--by", "carol"};
    all.insert(all.end(), args.begin(), args.end());
    Output o = jlis(all);
    EXPECT_EQ(o.exit_code, 0) << o.err;
  };
  purposes({"--remove", "benefit"});
  refused("benefit");
  EXPECT_EQ(world_->get(url + "tax", token).result_int(), 200);
  purposes({"--add", "child"});
  EXPECT_EQ(world_->get(url + "child", token).result_int(), 200);
  purposes({"--set", "pension"});
  refused("tax");
  refused("child");
  EXPECT_EQ(world_->get(url + "pension", token).result_int(), 200);
  purposes({"--remove", "pension"});  // withdrawn: no purpose left
  refused("pension");
  Output list = jlis({"agency", "list", "--data", world_->dir()});
  EXPECT_NE(list.out.find(agency + "\tTax\t\n"), std::string::npos) << list.out;
  // An unknown agency or a bad purpose is refused with a message, and changes nothing.
  const std::string before = world_->table_digest();
  EXPECT_NE(jlis({"agency", "purposes", "--data", world_->dir(), "--agency", "ag-0000000000000000", "--add", "x"})
                .exit_code, 0);
  EXPECT_NE(jlis({"agency", "purposes", "--data", world_->dir(), "--agency", agency, "--add", "Bad Purpose"}).exit_code,
            0);
  EXPECT_EQ(world_->table_digest(), before);
  Output log = jlis({"token", "log", "--data", world_->dir()});
  EXPECT_NE(log.out.find(",operator:carol,agency.purposes," + agency + ",\"child,tax -> pension\""), std::string::npos)
      << log.out;
}

}  // namespace
}  // namespace jlis::security
