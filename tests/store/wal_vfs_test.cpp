// The buffered WAL (store/wal_vfs.h), through the store's own SQLite connections: a transaction's
// frames reach the WAL file in a few large writes, and a commit is in the file, for every other
// connection and process, before it returns.
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "store/database.h"

namespace jlis::store {
namespace {

class BufferedWal : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("jlis-wal-" + std::to_string(::getpid()) + "-" +
                                                     ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    db_ = open_sqlite(path(), {.create = true}).value();
    conn_ = db_->connect().value();
    ASSERT_TRUE(conn_->execute_script("CREATE TABLE t (k BIGINT PRIMARY KEY, txn BIGINT NOT NULL, v TEXT)").is_ok());
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string path() const { return (dir_ / "test.db").string(); }

  // One transaction of `rows` rows of `bytes` each, keys from `first`, all marked `txn`.
  static Status insert(Connection& c, int64_t first, int rows, size_t bytes, int64_t txn) {
    JLIS_RETURN_IF_ERROR(c.execute_script("BEGIN"));
    for (int64_t k = first; k < first + rows; ++k)
      JLIS_RETURN_IF_ERROR(
          c.execute("INSERT INTO t VALUES (?, ?, ?)", {k, txn, std::string(bytes, static_cast<char>('a' + k % 26))})
              .status());
    return c.execute_script("COMMIT");
  }
  // The rows and their total length, as a plain SQLite connection of this process reads them (the
  // default VFS, not the store's).
  static std::pair<int64_t, int64_t> read_plainly(const std::string& file) {
    sqlite3* db = nullptr;
    sqlite3_stmt* s = nullptr;
    std::pair<int64_t, int64_t> out{-1, -1};
    if (sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK &&
        sqlite3_prepare_v2(db, "SELECT COUNT(*), TOTAL(LENGTH(v)) FROM t", -1, &s, nullptr) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW)
      out = {sqlite3_column_int64(s, 0), static_cast<int64_t>(sqlite3_column_double(s, 1))};
    sqlite3_finalize(s);
    sqlite3_close(db);
    return out;
  }
  // Write system calls this thread has made (Linux's per-thread I/O accounting).
  static int64_t write_calls() {
    std::ifstream io("/proc/thread-self/io");
    std::string name;
    int64_t value = 0;
    while (io >> name >> value)
      if (name == "syscw:") return value;
    return -1;
  }

  std::filesystem::path dir_;
  std::unique_ptr<Database> db_;
  std::unique_ptr<Connection> conn_;
};

// Rule: a transaction's frames are written together, not two system calls a frame: a commit of
// 2,000 pages (8 MB, SQLite's own VFS: 4,000 writes) takes fewer than 200, and a plain SQLite
// connection reads every row of it once COMMIT has returned.
TEST_F(BufferedWal, ACommitReachesTheWalInAFewLargeWrites) {
  const auto wal = dir_ / "test.db-wal";
  const auto before_bytes = std::filesystem::exists(wal) ? std::filesystem::file_size(wal) : 0;
  const int64_t before = write_calls();
  ASSERT_GE(before, 0) << "/proc/thread-self/io";
  ASSERT_TRUE(insert(*conn_, 0, 2000, 3000, 1).is_ok());
  const int64_t writes = write_calls() - before;
  EXPECT_GT(std::filesystem::file_size(wal), before_bytes + 2000 * 4096) << "2,000 pages, one a row";
  EXPECT_LT(writes, 200);
  EXPECT_EQ(read_plainly(path()), std::make_pair(int64_t{2000}, int64_t{2000} * 3000));
}

// Rule: a process killed right after its commits returned loses none of them: each was in the WAL
// file (the operating system's cache) when COMMIT returned; small, larger than what is held before
// a write (4 MiB), and larger than the page cache (1 MiB: pages spilled, then changed again and
// rewritten in place).
TEST_F(BufferedWal, AProcessKilledAfterItsCommitsLosesNoneOfThem) {
  conn_.reset();
  db_.reset();
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto db = open_sqlite(path(), {.cache_mib = 1});
    auto c = db.ok() ? db.value()->connect() : Result<std::unique_ptr<Connection>>(internal_error("open"));
    bool ok = c.ok() && insert(**c, 0, 1, 10, 1).is_ok() && insert(**c, 1, 1500, 4000, 2).is_ok();
    // Spilled, then every row changed again in the same transaction.
    ok = ok && (*c)->execute_script("BEGIN").is_ok();
    for (int64_t k = 2000; ok && k < 2600; ++k)
      ok = (*c)->execute("INSERT INTO t VALUES (?, 3, ?)", {k, std::string(3000, 'x')}).ok();
    ok = ok && (*c)->execute("UPDATE t SET v = v || 'y' WHERE txn = 3", {}).ok() &&
         (*c)->execute_script("COMMIT").is_ok();
    if (!ok) ::_exit(1);
    ::kill(::getpid(), SIGKILL);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "the child committed all three, then was killed";
  EXPECT_EQ(read_plainly(path()), std::make_pair(int64_t{1 + 1500 + 600}, int64_t{10 + 1500 * 4000 + 600 * 3001}));
  db_ = open_sqlite(path()).value();
  EXPECT_EQ(db_->connect().value()->query_text("PRAGMA integrity_check").value(), "ok");
}

// Rule: a reader never sees part of a transaction, nor fails reading a frame not yet written: each
// of 200 transactions writes 10 rows (some large), and a reader on another connection, reading all
// the while, counts a multiple of 10 rows of each transaction every time.
TEST_F(BufferedWal, AReaderSeesWholeTransactionsOnly) {
  std::atomic<bool> done{false};
  std::atomic<int> reads{0}, torn{0}, failed{0};
  std::thread reader([&] {
    auto c = db_->connect().value();
    while (!done) {
      const Status s = c->query("SELECT txn, COUNT(*), MIN(LENGTH(v)) FROM t GROUP BY txn", {}, [&](const Row& r) {
        if (r.int64(1) != 10 || r.int64(2) < 100) ++torn;
        return true;
      });
      if (!s.is_ok()) ++failed;
      ++reads;
    }
  });
  for (int64_t txn = 0; txn < 200; ++txn)
    ASSERT_TRUE(insert(*conn_, txn * 10, 10, txn % 7 == 0 ? 50'000 : 100, txn).is_ok());
  done = true;
  reader.join();
  EXPECT_GT(reads.load(), 0);
  EXPECT_EQ(torn.load(), 0);
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(conn_->query_int64("SELECT COUNT(*) FROM t").value(), 2000);
}

}  // namespace
}  // namespace jlis::store
