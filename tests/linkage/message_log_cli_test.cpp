// `jlis linkage log` through the real binary (linkage/commands.h): the state says since when the head
// is unstamped; `stamp` uses J-LIS's LGPKI time-stamp authority; `verify` checks the chain and the
// stamps against LGPKI's root (and fails, exit 1, against another root or after a change); `archive`
// moves the stamped entries to a file the next verify still checks. On SQLite and PostgreSQL.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <ctime>
#include <filesystem>
#include <fstream>
#include <thread>

#include "../e2e/data_dir_store.h"
#include "../e2e/jlis_process.h"
#include "../e2e/template_dir.h"
#include "../http/client.h"
#include "../pki/test_ca.h"
#include "common/clock.h"
#include "common/date.h"
#include "linkage/message_log.h"
#include "store/database.h"

namespace jlis::linkage {
namespace {

namespace fs = std::filesystem;
using e2e::jlis;
using e2e::Output;

class LinkageLogCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = e2e::temp_dir("linkage-log-cli");
    ::setenv("JLIS_CA_PASSPHRASE", "linkage log test passphrase", 1);
    const auto out = e2e::prepared_dir(
        dir_, {{"init", "--data", "{dir}"},
               {"ca", "init", "--data", "{dir}"},  // jlis serve's pki component, which serves LGPKI
               {"lgpki", "init", "--data", "{dir}", "--public-url", "http://lgpki.example.jp"}});
    ASSERT_EQ(out.size(), 3u) << out.back().err;
    for (const auto& o : out) ASSERT_EQ(o.exit_code, 0) << o.err;
    auto conn = e2e::connect_data_dir(dir_);
    ASSERT_TRUE(conn);
    ASSERT_TRUE(conn->query("SELECT certificate FROM lgpki_authorities WHERE name = 'root' AND generation = 1", {},
                            [&](const store::Row& r) {
                              root_pem_ = r.text(0);
                              return false;
                            })
                    .is_ok());
    ASSERT_FALSE(root_pem_.empty());
    pki::testing::write_file(dir_ + "-root.pem", root_pem_);
  }
  void TearDown() override {
    fs::remove_all(dir_);
    fs::remove(dir_ + "-root.pem");
  }
  Output log(std::vector<std::string> args) {
    args.insert(args.begin() + 1, {"--data", dir_});
    args.insert(args.begin(), {"linkage", "log"});
    return jlis(args);
  }
  // Three messages as the platform logs them (in a transaction of their own here).
  void append_three(const std::string& logged_at) {
    auto conn = e2e::connect_data_dir(dir_);
    ASSERT_TRUE(conn);
    auto tx = store::Transaction::begin(*conn);
    ASSERT_TRUE(tx.ok());
    for (int i = 0; i < 3; ++i)
      ASSERT_TRUE(append_message(*conn, "pension-service-1011105003233", "query", "{\"q\":" + std::to_string(i) + "}",
                                 "signature", logged_at)
                      .ok());
    ASSERT_TRUE(tx->commit().is_ok());
  }

  std::string dir_, root_pem_;
};

TEST_F(LinkageLogCli, TheLogIsStampedVerifiedBrokenByAChangeAndArchived) {
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  const std::string logged_at = iso8601_seconds(now - 60);
  append_three(logged_at);
  Output state = log({"state"});
  ASSERT_EQ(state.exit_code, 0) << state.err;
  EXPECT_NE(state.out.find("entries 3 ("), std::string::npos) << state.out;
  EXPECT_NE(state.out.find("last entry 3, last stamped 0\n"), std::string::npos) << state.out;
  EXPECT_NE(state.out.find("unstamped since " + logged_at + "\n"), std::string::npos) << state.out;

  Output stamped = log({"stamp"});
  ASSERT_EQ(stamped.exit_code, 0) << stamped.err;
  EXPECT_EQ(stamped.out, "entry 3 stamped\n");
  EXPECT_EQ(log({"stamp"}).out, "nothing to stamp: the head is stamped already\n");
  EXPECT_NE(log({"state"}).out.find("unstamped since -\n"), std::string::npos);

  Output verified = log({"verify", "--trust", dir_ + "-root.pem"});
  ASSERT_EQ(verified.exit_code, 0) << verified.err;
  EXPECT_EQ(verified.out, "intact: 3 entries, 1 time-stamps verified, 0 entries after the last stamp\n");
  // Another root: the stamp does not verify.
  auto other_key = pki::testing::make_key();
  auto other = pki::testing::make_cert({.common_name = "Another Root", .ca = true}, other_key.get());
  pki::testing::write_file(dir_ + "-other.pem", pki::testing::cert_pem(other.get()));
  Output foreign = log({"verify", "--trust", dir_ + "-other.pem"});
  fs::remove(dir_ + "-other.pem");
  EXPECT_EQ(foreign.exit_code, 1);
  EXPECT_NE(foreign.err.find("the message log is broken: the time-stamp of entry 3 does not verify"), std::string::npos)
      << foreign.err;

  // Archived (everything is older than tomorrow), then still intact across the file.
  const std::string tomorrow = Date::today().add_days(1).to_iso();
  Output archived = log({"archive", "--before", tomorrow});
  ASSERT_EQ(archived.exit_code, 0) << archived.err;
  const std::string file = dir_ + "/linkage-log/linkage-log-1-3.jsonl";
  EXPECT_EQ(archived.out, "archived to " + file + "\n");
  EXPECT_EQ(log({"verify", "--trust", dir_ + "-root.pem"}).out,
            "intact: 3 entries, 1 time-stamps verified, 0 entries after the last stamp\n");
  EXPECT_NE(log({"state"}).out.find("entries 0 (0 bytes), archived 3\n"), std::string::npos) << log({"state"}).out;

  // A changed entry in the store breaks the chain there.
  append_three(iso8601_seconds(now));
  {
    auto conn = e2e::connect_data_dir(dir_);
    ASSERT_TRUE(conn->execute("UPDATE linkage_log SET message = '{\"q\":9}' WHERE seq = 5").ok());
  }
  Output broken = log({"verify", "--trust", dir_ + "-root.pem"});
  EXPECT_EQ(broken.exit_code, 1);
  EXPECT_NE(broken.err.find("the message log is broken: entry 5 does not match its hash"), std::string::npos)
      << broken.err;

  // Bad input: a message and exit 1, nothing moved.
  Output bad = log({"archive", "--before", "tomorrow"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("--before must be a date YYYY-MM-DD"), std::string::npos) << bad.err;
  pki::testing::write_file(dir_ + "/not-a-certificate.txt", "hello");
  Output no_roots = log({"verify", "--trust", dir_ + "/not-a-certificate.txt"});
  EXPECT_EQ(no_roots.exit_code, 1);
  EXPECT_NE(no_roots.err.find("holds no PEM certificate"), std::string::npos) << no_roots.err;
}

// The value of the metric line starting with `name` on `server`'s /metrics (-1 when absent).
int64_t metric(const e2e::Server& server, const std::string& name) {
  http::testing::Client client(server.port());
  const std::string body = client.get("/metrics").body();
  const size_t at = body.find("\n" + name + " ");
  return at == std::string::npos ? -1 : std::atoll(body.c_str() + at + name.size() + 2);
}

// Rule: jlis serve time-stamps the log on its timer (--linkage-stamp-seconds) with LGPKI's authority,
// off the writer, and /metrics shows the log's entries and bytes and how long its head has gone
// unstamped: its age while no stamp covers it, 0 once stamped, with the stamps counted; what it
// stamped verifies against LGPKI's root.
TEST_F(LinkageLogCli, JlisServeStampsTheLogOnItsTimerAndItsMetricsShowTheAlarm) {
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  append_three(iso8601_seconds(now - 600));
  {
    e2e::Server server(dir_, {"--components", "pki", "--linkage-stamp-seconds", "3600"});
    ASSERT_NE(server.port(), 0);
    EXPECT_EQ(metric(server, "jlis_linkage_log_entries"), 3);
    EXPECT_GT(metric(server, "jlis_linkage_log_bytes"), 0);
    EXPECT_GE(metric(server, "jlis_linkage_log_unstamped_seconds"), 600);
    EXPECT_EQ(metric(server, "jlis_linkage_log_stamps_total{outcome=\"stamped\"}"), 0);
  }
  e2e::Server server(dir_, {"--components", "pki", "--linkage-stamp-seconds", "0.2"});
  ASSERT_NE(server.port(), 0);
  for (int i = 0; i < 300 && metric(server, "jlis_linkage_log_stamps_total{outcome=\"stamped\"}") < 1; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(metric(server, "jlis_linkage_log_stamps_total{outcome=\"stamped\"}"), 1);
  EXPECT_EQ(metric(server, "jlis_linkage_log_stamps_total{outcome=\"failed\"}"), 0);
  EXPECT_EQ(metric(server, "jlis_linkage_log_unstamped_seconds"), 0);
  EXPECT_EQ(log({"verify", "--trust", dir_ + "-root.pem"}).out,
            "intact: 3 entries, 1 time-stamps verified, 0 entries after the last stamp\n");
}

}  // namespace
}  // namespace jlis::linkage
