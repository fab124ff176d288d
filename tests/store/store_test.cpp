#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <future>
#include <mutex>
#include <set>
#include <thread>

#include "store/database.h"
#include "store/migrations.h"
#include "store/writer.h"
#include "test_store.h"

namespace jlis::store {
namespace {

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("jlis-store-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    auto db = store_.open((dir_ / "test.db").string());
    ASSERT_TRUE(db.ok()) << db.status().to_string();
    db_ = std::move(db).value();
    auto c = db_->connect();
    ASSERT_TRUE(c.ok());
    conn_ = std::move(c).value();
    ASSERT_TRUE(conn_->execute_script("CREATE TABLE t (k BIGINT PRIMARY KEY, v TEXT)").is_ok());
  }
  void TearDown() override {
    conn_.reset();
    db_.reset();
    std::filesystem::remove_all(dir_);
  }
  int64_t count() { return conn_->query_int64("SELECT COUNT(*) FROM t").value().value(); }

  testing::TestStore store_;  // SQLite, or a fresh PostgreSQL database (JLIS_TEST_STORE)
  std::filesystem::path dir_;
  std::unique_ptr<Database> db_;
  std::unique_ptr<Connection> conn_;
};

TEST_F(StoreTest, ExecuteAndQueryWithParameters) {
  ASSERT_EQ(conn_->execute("INSERT INTO t VALUES (?, ?)", {int64_t{1}, std::string("一")}).value(), 1);
  ASSERT_TRUE(conn_->execute("INSERT INTO t VALUES (?, ?)", {int64_t{2}, nullptr}).ok());
  std::vector<std::pair<int64_t, std::optional<std::string>>> rows;
  ASSERT_TRUE(conn_->query("SELECT k, v FROM t ORDER BY k", {}, [&](const Row& r) {
    rows.emplace_back(r.int64(0), r.optional_text(1));
    return true;
  }).is_ok());
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].second, "一");
  EXPECT_FALSE(rows[1].second.has_value());
}

TEST_F(StoreTest, UniqueViolationIsConflictAndBadSqlIsInternal) {
  ASSERT_TRUE(conn_->execute("INSERT INTO t VALUES (1, 'a')").ok());
  auto dup = conn_->execute("INSERT INTO t VALUES (1, 'b')");
  EXPECT_EQ(dup.status().code(), Code::conflict);
  EXPECT_EQ(conn_->execute("SELEC nonsense").status().code(), Code::internal);
  EXPECT_EQ(conn_->execute("INSERT INTO t VALUES (?, ?)", {int64_t{5}}).status().code(), Code::internal);
  EXPECT_EQ(count(), 1);
}

TEST_F(StoreTest, TransactionRollsBackUnlessCommitted) {
  {
    auto tx = Transaction::begin(*conn_);
    ASSERT_TRUE(tx.ok());
    ASSERT_TRUE(conn_->execute("INSERT INTO t VALUES (1, 'a')").ok());
  }
  EXPECT_EQ(count(), 0);
  {
    auto tx = Transaction::begin(*conn_);
    ASSERT_TRUE(conn_->execute("INSERT INTO t VALUES (1, 'a')").ok());
    ASSERT_TRUE(tx->commit().is_ok());
  }
  EXPECT_EQ(count(), 1);
}

TEST_F(StoreTest, WriterRollsBackAFailedJobAloneAndCommitsTheRest) {
  auto writer = Writer::start(*db_);
  ASSERT_TRUE(writer.ok());
  std::vector<Writer::Job> jobs;
  jobs.push_back([](Connection& c) { return c.execute("INSERT INTO t VALUES (1, 'a')").status(); });
  jobs.push_back([](Connection& c) {
    // Writes, then fails: its write must not survive.
    JLIS_RETURN_IF_ERROR(c.execute("INSERT INTO t VALUES (2, 'b')").status());
    return conflict("refused");
  });
  jobs.push_back([](Connection& c) { return c.execute("INSERT INTO t VALUES (3, 'c')").status(); });
  auto results = (*writer)->run_all(std::move(jobs));
  ASSERT_EQ(results.size(), 3u);
  EXPECT_TRUE(results[0].is_ok());
  EXPECT_EQ(results[1].code(), Code::conflict);
  EXPECT_TRUE(results[2].is_ok());
  EXPECT_EQ(count(), 2);
  EXPECT_EQ(conn_->query_int64("SELECT COUNT(*) FROM t WHERE k = 2").value().value(), 0);
}

TEST_F(StoreTest, WriterGroupsConcurrentJobsAndEveryCallerSeesItsCommit) {
  auto writer = std::move(Writer::start(*db_).value());
  Pool pool(std::shared_ptr<Database>(db_.get(), [](Database*) {}));
  constexpr int kThreads = 8, kPerThread = 200;
  std::atomic<int> visible{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto reader = pool.acquire().value();
      for (int i = 0; i < kPerThread; ++i) {
        int64_t k = t * kPerThread + i;
        Status s = writer->run([k](Connection& c) {
          return c.execute("INSERT INTO t VALUES (?, 'x')", {k}).status();
        });
        ASSERT_TRUE(s.is_ok()) << s.to_string();
        // Committed before run() returned: another connection sees it at once.
        if (reader->query_int64("SELECT COUNT(*) FROM t WHERE k = ?", {k}).value().value() == 1) ++visible;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(visible.load(), kThreads * kPerThread);
  EXPECT_EQ(count(), kThreads * kPerThread);
  EXPECT_LT(writer->commits(), static_cast<uint64_t>(kThreads * kPerThread));  // grouped
}

// Rule: submit() answers through its callback, on the writer's thread, only after the job's batch
// committed (another connection sees the row when the callback runs), and a failed job's callback
// gets its failure while the rest of its batch still commits.
TEST_F(StoreTest, SubmittedJobsAnswerFromTheWritersThreadAfterTheirCommit) {
  auto writer = std::move(Writer::start(*db_).value());
  Pool pool(std::shared_ptr<Database>(db_.get(), [](Database*) {}));
  auto reader = pool.acquire().value();
  std::promise<void> release;
  auto held = writer->enqueue({[f = release.get_future().share()](Connection&) {
    f.wait();  // the writer is busy: what follows queues into one batch
    return Status::ok();
  }});
  constexpr int kJobs = 20;
  std::mutex mu;
  std::vector<std::pair<int, Status>> answers;
  std::vector<int64_t> seen;
  std::set<std::thread::id> threads;
  for (int i = 0; i < kJobs; ++i) {
    writer->submit(
        [i](Connection& c) {
          JLIS_RETURN_IF_ERROR(c.execute("INSERT INTO t VALUES (?, 'x')", {int64_t{100 + i}}).status());
          return i == 7 ? conflict("job 7 refuses") : Status::ok();
        },
        [&, i](Status s) {
          const int64_t visible = reader->query_int64("SELECT COUNT(*) FROM t WHERE k = ?", {int64_t{100 + i}}).value().value();
          std::lock_guard lock(mu);
          answers.emplace_back(i, std::move(s));
          seen.push_back(visible);
          threads.insert(std::this_thread::get_id());
        });
  }
  {
    std::lock_guard lock(mu);
    EXPECT_TRUE(answers.empty());  // nothing answered while the batch cannot have committed
  }
  release.set_value();
  ASSERT_TRUE(held.wait()[0].is_ok());
  ASSERT_TRUE(writer->run([](Connection&) { return Status::ok(); }).is_ok());  // after every callback above
  std::lock_guard lock(mu);
  ASSERT_EQ(answers.size(), static_cast<size_t>(kJobs));
  for (int i = 0; i < kJobs; ++i) {
    EXPECT_EQ(answers[i].first, i);  // in order
    EXPECT_EQ(answers[i].second.code(), i == 7 ? Code::conflict : Code::ok) << i;
    EXPECT_EQ(seen[i], i == 7 ? 0 : 1) << i;  // committed before its answer; the failed job's row never
  }
  EXPECT_EQ(threads.size(), 1u);
  EXPECT_EQ(threads.count(std::this_thread::get_id()), 0u);
  EXPECT_EQ(count(), kJobs - 1);
}

TEST_F(StoreTest, MigrationsApplyOnceAndRefuseANewerSchema) {
  std::vector<Migration> v1 = {{1, "CREATE TABLE a (id {{id}}, x TEXT)"}};
  std::vector<Migration> v2 = {v1[0], {2, "ALTER TABLE a ADD COLUMN y TEXT"}};
  ASSERT_TRUE(migrate(*conn_, "demo", v1).is_ok());
  ASSERT_TRUE(migrate(*conn_, "demo", v1).is_ok());  // idempotent
  EXPECT_EQ(schema_version(*conn_, "demo").value(), 1);
  ASSERT_TRUE(migrate(*conn_, "demo", v2).is_ok());
  EXPECT_EQ(schema_version(*conn_, "demo").value(), 2);
  ASSERT_TRUE(conn_->execute("INSERT INTO a (x, y) VALUES ('1', '2')").ok());
  // The old binary (knows only v1) refuses the newer database.
  Status old = migrate(*conn_, "demo", v1);
  EXPECT_EQ(old.code(), Code::conflict);
  EXPECT_NE(old.message().find("newer"), std::string::npos);
  // Another component's versions are independent.
  EXPECT_EQ(schema_version(*conn_, "other").value(), 0);
}

TEST_F(StoreTest, AFailedMigrationLeavesTheSchemaVersionUnchanged) {
  std::vector<Migration> bad = {{1, "CREATE TABLE b (x TEXT); CREATE TABLE b (x TEXT)"}};
  EXPECT_FALSE(migrate(*conn_, "bad", bad).is_ok());
  EXPECT_EQ(schema_version(*conn_, "bad").value(), 0);
  EXPECT_FALSE(conn_->execute("INSERT INTO b VALUES ('x')").ok());  // rolled back
}

// Rule: the WAL file does not keep the size of the largest transaction ever written (SQLite reuses
// the file without shrinking it): once a checkpoint has copied it back, the next commit cuts it to at
// most 64 MiB, so the disk a bulk load's WAL took (as large as the register) is given back.
TEST_F(StoreTest, TheWalShrinksOnceALargeTransactionIsCheckpointed) {
  if (store_.postgresql()) GTEST_SKIP() << "SQLite's WAL";
  const auto wal = dir_ / "test.db-wal";
  constexpr uintmax_t kLimit = uintmax_t{64} << 20;
  const std::string value(100'000, 'x');
  ASSERT_TRUE(conn_->execute_script("BEGIN").is_ok());
  for (int64_t k = 0; k < 1000; ++k) ASSERT_TRUE(conn_->execute("INSERT INTO t VALUES (?, ?)", {k, value}).ok());
  ASSERT_TRUE(conn_->execute_script("COMMIT").is_ok());
  ASSERT_GT(std::filesystem::file_size(wal), kLimit) << "one transaction of 100 MB is in the WAL";

  // Checkpointed whole (the store's background checkpointer may be at it already: then again).
  bool whole = false;
  for (int tries = 0; !whole && tries < 500; ++tries) {
    ASSERT_TRUE(conn_->query("PRAGMA wal_checkpoint(PASSIVE)", {}, [&](const Row& r) {
      whole = r.int64(0) == 0 && r.int64(1) == r.int64(2);
      return false;
    }).is_ok());
    if (!whole) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(whole) << "no reader holds the WAL, so a checkpoint copies it all back";
  EXPECT_GT(std::filesystem::file_size(wal), kLimit) << "a checkpoint alone leaves the file as it was";
  ASSERT_TRUE(conn_->execute("INSERT INTO t VALUES (?, 'small')", {int64_t{1000}}).ok());
  EXPECT_LE(std::filesystem::file_size(wal), kLimit);
  EXPECT_EQ(count(), 1001);
}

// A held transaction (a bulk load) on SQLite, larger than its page cache. The database is the
// writer's alone (the bulk load closes the pool's idle connections first), or `other` keeps one open.
class SqliteHeldTransaction : public ::testing::Test {
 protected:
  void SetUp() override {
    if (testing::testing_on_postgresql()) GTEST_SKIP() << "SQLite's journal";
    dir_ = std::filesystem::temp_directory_path() / ("jlis-held-" + std::to_string(::getpid()) + "-" +
                                                     ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    db_ = open_sqlite(path("test.db"), {.create = true, .cache_mib = 1}).value();
    ASSERT_TRUE(db_->connect().value()->execute_script("CREATE TABLE t (k BIGINT PRIMARY KEY, v TEXT)").is_ok());
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string path(const char* name) const { return (dir_ / name).string(); }
  uintmax_t size(const char* name) const {
    std::error_code ec;
    auto n = std::filesystem::file_size(dir_ / name, ec);
    return ec ? 0 : n;
  }
  // 20 MB in the held transaction, twenty times the page cache.
  static Status load(Writer& writer) {
    return writer.run([](Connection& conn) -> Status {
      const std::string value(100'000, 'x');
      for (int64_t k = 0; k < 200; ++k)
        JLIS_RETURN_IF_ERROR(conn.execute("INSERT INTO t VALUES (?, ?)", {k, value}).status());
      return Status::ok();
    });
  }
  std::string journal_mode() { return db_->connect().value()->query_text("PRAGMA journal_mode").value().value(); }
  int64_t count() { return db_->connect().value()->query_int64("SELECT COUNT(*) FROM t").value().value(); }

  std::filesystem::path dir_;
  std::unique_ptr<Database> db_;
};

// Rule: the pages a held transaction cannot keep in its cache spill to the database file, not into
// the WAL (whose every later cache miss would search an index as large as the load: a bulk load of
// millions slowed quadratically); the journal beside it stays small, since a page new to the file
// needs no entry; after the commit the database is in WAL mode again.
TEST_F(SqliteHeldTransaction, SpillsToTheDatabaseFileNotTheWal) {
  auto writer = Writer::start(*db_).value();
  ASSERT_TRUE(writer->hold().is_ok());
  ASSERT_TRUE(load(*writer).is_ok());
  EXPECT_EQ(size("test.db-wal"), 0u);
  EXPECT_GT(size("test.db"), uintmax_t{10} << 20) << "spilled pages are in the database file";
  EXPECT_GT(size("test.db-journal"), 0u);
  EXPECT_LT(size("test.db-journal"), uintmax_t{1} << 20);
  ASSERT_TRUE(writer->release(true).is_ok());
  writer.reset();
  EXPECT_EQ(journal_mode(), "wal");
  EXPECT_EQ(count(), 200);
}

// Rule: released without a commit, the held transaction leaves nothing, the database file is cut
// back to its size before, and the database is in WAL mode again.
TEST_F(SqliteHeldTransaction, ARollbackLeavesTheDatabaseAsItWas) {
  const auto before = size("test.db");
  auto writer = Writer::start(*db_).value();
  ASSERT_TRUE(writer->hold().is_ok());
  ASSERT_TRUE(load(*writer).is_ok());
  ASSERT_TRUE(writer->release(false).is_ok());
  writer.reset();
  EXPECT_EQ(count(), 0);
  EXPECT_EQ(journal_mode(), "wal");
  EXPECT_EQ(size("test.db"), before);
  EXPECT_FALSE(std::filesystem::exists(dir_ / "test.db-journal"));
}

// Rule: a process killed inside the held transaction commits nothing: the next open rolls the
// journal back (the spilled pages included) and the database opens in WAL mode, intact.
TEST_F(SqliteHeldTransaction, AProcessKilledInsideItLeavesNothingCommitted) {
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto db = open_sqlite(path("test.db"), {.cache_mib = 1});
    auto writer = db.ok() ? Writer::start(**db) : Result<std::unique_ptr<Writer>>(internal_error("open"));
    const bool loaded = writer.ok() && (*writer)->hold().is_ok() && load(**writer).is_ok();
    ::_exit(loaded && size("test.db-journal") > 0 ? 0 : 1);  // no destructor: as a kill would leave it
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "the child loaded and left its journal";
  ASSERT_TRUE(std::filesystem::exists(dir_ / "test.db-journal"));
  db_ = open_sqlite(path("test.db")).value();
  EXPECT_EQ(count(), 0);
  EXPECT_EQ(journal_mode(), "wal");
  EXPECT_EQ(db_->connect().value()->query_text("PRAGMA integrity_check").value(), "ok");
  EXPECT_FALSE(std::filesystem::exists(dir_ / "test.db-journal"));
}

// Rule: while another connection is open (a server on the same directory) SQLite keeps the WAL, and
// the held transaction runs there as before: committed whole.
TEST_F(SqliteHeldTransaction, WithAnotherConnectionOpenItStaysInTheWal) {
  auto other = db_->connect().value();
  auto writer = Writer::start(*db_).value();
  ASSERT_TRUE(writer->hold().is_ok());
  ASSERT_TRUE(load(*writer).is_ok());
  EXPECT_GT(size("test.db-wal"), uintmax_t{10} << 20);
  EXPECT_FALSE(std::filesystem::exists(dir_ / "test.db-journal"));
  ASSERT_TRUE(writer->release(true).is_ok());
  writer.reset();
  EXPECT_EQ(other->query_int64("SELECT COUNT(*) FROM t").value(), 200);
}

// Rule: SQLite's memory statistics are turned off only before SQLite's first use in the process (as
// every command but `jlis serve` does): then nothing SQLite allocates is counted; once SQLite is in
// use the call changes nothing. In a process of its own (a death test's), which has not used SQLite.
TEST(SqliteMemoryStatistics, OffBeforeTheFirstUseNothingIsCountedAndAfterItTheCallChangesNothing) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");  // the child runs this test alone, from the start
  const auto dir = std::filesystem::temp_directory_path() / ("jlis-memstat-" + std::to_string(::getpid()));
  EXPECT_EXIT(
      {
        std::filesystem::create_directories(dir);
        const bool off = skip_sqlite_memory_statistics();
        auto db = open_sqlite((dir / "m.db").string(), {.create = true});
        auto conn = db.ok() ? (*db)->connect() : Result<std::unique_ptr<Connection>>(db.status());
        const bool wrote = conn.ok() && (*conn)->execute_script("CREATE TABLE t (x); INSERT INTO t VALUES "
                                                                "(randomblob(100000))").is_ok();
        std::exit(off && wrote && sqlite_memory_used() == 0 && !skip_sqlite_memory_statistics() ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
  std::filesystem::remove_all(dir);
}

TEST(Sqlite, OpeningAMissingDatabaseWithoutCreateFails) {
  if (testing::testing_on_postgresql()) GTEST_SKIP() << "SQLite only";
  auto db = open_sqlite("/nonexistent-dir/none.db");
  EXPECT_FALSE(db.ok());
  EXPECT_EQ(db.status().code(), Code::unavailable);
}

}  // namespace
}  // namespace jlis::store
