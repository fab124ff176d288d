// Auth migration 2: a data directory made before tokens expired keeps its tokens, each now expiring
// one year after its creation, so a token older than a year is refused at once.
#include <sqlite3.h>

#include <ctime>

#include "world.h"

namespace jlis::security {
namespace {

void exec(const std::string& db_path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(db_path.c_str(), &db), SQLITE_OK);
  char* err = nullptr;
  EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "");
  sqlite3_free(err);
  sqlite3_close(db);
}

// SQLite's CURRENT_TIMESTAMP format, `days` before now.
std::string days_ago(int days) {
  const time_t t = std::time(nullptr) - static_cast<time_t>(days) * 86400;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

// Rule: tokens of a directory from before migration 2 expire one year after their creation.
TEST(TokenMigration, ExistingTokensExpireAYearAfterTheirCreation) {
  const std::string dir =
      (fs::temp_directory_path() / ("jlis-security-migration-" + std::to_string(::getpid()))).string();
  fs::remove_all(dir);
  ASSERT_EQ(jlis({"init", "--data", dir}).exit_code, 0);
  const std::string old_token =
      jlis({"token", "create", "--data", dir, "--role", "card-centre", "--name", "old"}).last_line();
  const std::string recent_token =
      jlis({"token", "create", "--data", dir, "--role", "card-centre", "--name", "recent"}).last_line();
  // Back to the schema of auth migration 1: no id, expiry or revocation; SQLite timestamps.
  const std::string db = (fs::path(dir) / "jlis.db").string();
  exec(db, "DROP INDEX tokens_id; ALTER TABLE tokens DROP COLUMN token_id; ALTER TABLE tokens DROP COLUMN expires_at;"
           "ALTER TABLE tokens DROP COLUMN revoked_at; DROP TABLE auth_changes; DROP TABLE auth_version;"
           "DELETE FROM schema_migrations WHERE component = 'auth' AND version >= 2;"
           "UPDATE tokens SET created_at = '" + days_ago(400) + "' WHERE name = 'old';"
           "UPDATE tokens SET created_at = '" + days_ago(10) + "' WHERE name = 'recent';");
  Output list = jlis({"token", "list", "--data", dir});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  std::istringstream in(list.out);
  int rows = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("tk-", 0) != 0) continue;
    ++rows;
    std::vector<std::string> f;
    std::istringstream l(line);
    for (std::string x; std::getline(l, x, ',');) f.push_back(x);
    ASSERT_GE(f.size(), 6u) << line;
    std::tm c{}, e{};
    ASSERT_TRUE(strptime(f[4].c_str(), "%Y-%m-%dT%H:%M:%SZ", &c)) << line;
    ASSERT_TRUE(strptime(f[5].c_str(), "%Y-%m-%dT%H:%M:%SZ", &e)) << line;
    EXPECT_EQ(timegm(&e) - timegm(&c), 365 * 86400) << line;
  }
  EXPECT_EQ(rows, 2);
  {
    e2e::Server server(dir);
    ASSERT_NE(server.port(), 0);
    auto get = [&](const std::string& token) {
      return Client(server.port()).get("/v1/cards/applications?late=true", {{"Authorization", "Bearer " + token}});
    };
    EXPECT_TRUE(is_error_json(get(old_token), 401));
    EXPECT_EQ(get(recent_token).result_int(), 200);
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace jlis::security
