// The store's promises to its callers, each through the public interface: a failed commit fails
// every job of its batch, a held write lock answers `unavailable` after the busy timeout, and the
// data directory is private to its owner.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>

#include "store/data_dir.h"
#include "store/database.h"
#include "store/writer.h"
#include "test_store.h"

namespace jlis::store {
namespace {

std::filesystem::path fresh_dir(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() / ("jlis-store-rules-" + std::to_string(::getpid()) + "-" + name);
  std::filesystem::remove_all(dir);
  return dir;
}

int64_t count(Connection& conn, const char* sql) { return conn.query_int64(sql).value().value_or(-1); }

TEST(StoreRules, AFailedCommitFailsEveryJobOfItsBatchAndWritesNothing) {
  auto dir = fresh_dir("commit");
  std::filesystem::create_directories(dir);
  testing::TestStore store;
  auto db = store.open((dir / "t.db").string()).value();
  auto conn = db->connect().value();
  // A deferred foreign key is checked at COMMIT only: each job succeeds, the commit fails.
  ASSERT_TRUE(conn->execute_script("CREATE TABLE parent (k BIGINT PRIMARY KEY);"
                                   "CREATE TABLE child (k BIGINT REFERENCES parent (k) DEFERRABLE INITIALLY DEFERRED);"
                                   "CREATE TABLE t (k BIGINT PRIMARY KEY)").is_ok());
  auto writer = Writer::start(*db).value();
  auto results = writer->run_all({
      [](Connection& c) { return c.execute("INSERT INTO t VALUES (1)").status(); },
      [](Connection& c) { return c.execute("INSERT INTO child VALUES (42)").status(); },  // orphan
      [](Connection& c) { return c.execute("INSERT INTO t VALUES (2)").status(); },
  });
  ASSERT_EQ(results.size(), 3u);
  for (const auto& r : results) EXPECT_FALSE(r.is_ok()) << "a job of a batch whose commit failed reported done";
  EXPECT_EQ(count(*conn, "SELECT COUNT(*) FROM t"), 0);
  EXPECT_EQ(count(*conn, "SELECT COUNT(*) FROM child"), 0);
  // The writer is not left inside the failed transaction: the next batch commits.
  EXPECT_TRUE(writer->run([](Connection& c) { return c.execute("INSERT INTO t VALUES (3)").status(); }).is_ok());
  EXPECT_EQ(count(*conn, "SELECT COUNT(*) FROM t"), 1);
  writer.reset();
  conn.reset();
  db.reset();
  std::filesystem::remove_all(dir);
}

TEST(StoreRules, AWriteLockHeldPastTheBusyTimeoutAnswersUnavailableAndWritesNothing) {
  if (testing::testing_on_postgresql()) GTEST_SKIP() << "SQLite's database-wide write lock";
  auto dir = fresh_dir("busy");
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "t.db").string();
  auto db = open_sqlite(path, {.create = true, .busy_timeout_ms = 200}).value();
  auto conn = db->connect().value();
  ASSERT_TRUE(conn->execute_script("CREATE TABLE t (k BIGINT PRIMARY KEY)").is_ok());
  auto writer = Writer::start(*db).value();
  // Another holder of the database (as a second process would be) takes the write lock.
  auto other_db = open_sqlite(path).value();
  auto other = other_db->connect().value();
  ASSERT_TRUE(other->execute("BEGIN IMMEDIATE").ok());
  Status s = writer->run([](Connection& c) { return c.execute("INSERT INTO t VALUES (1)").status(); });
  EXPECT_EQ(s.code(), Code::unavailable) << s.to_string();
  ASSERT_TRUE(other->execute("ROLLBACK").ok());
  EXPECT_EQ(count(*conn, "SELECT COUNT(*) FROM t"), 0);
  // Once the lock is released, writes go through again.
  EXPECT_TRUE(writer->run([](Connection& c) { return c.execute("INSERT INTO t VALUES (2)").status(); }).is_ok());
  EXPECT_EQ(count(*conn, "SELECT COUNT(*) FROM t"), 1);
  writer.reset();
  other.reset();
  other_db.reset();
  conn.reset();
  db.reset();
  std::filesystem::remove_all(dir);
}

TEST(StoreRules, TheDataDirectoryIsCreatedOwnerOnly0700) {
  auto base = fresh_dir("datadir");
  const auto dir = base / "nested" / "data";
  const mode_t old_mask = ::umask(022);  // the usual umask would leave it 0755
  Status s = init_data_dir(dir.string());
  ::umask(old_mask);
  ASSERT_TRUE(s.is_ok()) << s.to_string();
  struct stat st {};
  ASSERT_EQ(::stat(dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  std::filesystem::remove_all(base);
}

}  // namespace
}  // namespace jlis::store
