// The PostgreSQL backend's own promises (run in test_store_pg, skipped on SQLite): `?` is a
// parameter only outside literals, SQLite's attached aliases are schemas, and a lost connection is
// reported as `unavailable`: reconnected outside a transaction, never silently inside one, and a
// COMMIT whose outcome is unknown says so.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <thread>
#include <utility>

#include "store/data_dir.h"
#include "store/database.h"
#include "store/writer.h"
#include "test_store.h"

namespace jlis::store {
namespace {

class PostgresqlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!store_.postgresql()) GTEST_SKIP() << "PostgreSQL only (JLIS_TEST_STORE)";
    db_ = open_postgresql(store_.url()).value();
    conn_ = db_->connect().value();
    admin_ = db_->connect().value();
    ASSERT_TRUE(conn_->execute_script("CREATE TABLE t (k BIGINT PRIMARY KEY, v TEXT)").is_ok());
  }
  // Ends the server session of `conn`, as a server restart or a network failure would.
  void kill_session(Connection& conn) {
    int64_t pid = conn.query_int64("SELECT pg_backend_pid()").value().value();
    ASSERT_TRUE(admin_->execute("SELECT pg_terminate_backend(CAST(? AS INTEGER))", {pid}).ok());
    for (int i = 0; i < 1000; ++i) {  // wait until the session is gone (bounded generously)
      if (admin_->query_int64("SELECT COUNT(*) FROM pg_stat_activity WHERE pid = ?", {pid}).value().value() == 0) return;
      ::usleep(10000);
    }
    FAIL() << "the session did not end";
  }
  int64_t count() { return admin_->query_int64("SELECT COUNT(*) FROM t").value().value(); }

  testing::TestStore store_;
  std::unique_ptr<Database> db_;
  std::unique_ptr<Connection> conn_, admin_;
};

TEST_F(PostgresqlTest, AQuestionMarkInsideALiteralOrCommentIsNotAParameter) {
  ASSERT_TRUE(conn_->execute("INSERT INTO t VALUES (?, 'why? it''s ?') -- really?", {int64_t{1}}).ok());
  std::string v;
  ASSERT_TRUE(conn_->query("SELECT v FROM t WHERE k = ? AND v <> '?'", {int64_t{1}}, [&](const Row& r) {
    v = r.text(0);
    return true;
  }).is_ok());
  EXPECT_EQ(v, "why? it's ?");
  // The same text with other parameter kinds is prepared again, not misread.
  EXPECT_EQ(conn_->query_int64("SELECT COUNT(*) FROM t WHERE k = ? OR v = ?", {int64_t{1}, nullptr}).value(), 1);
  EXPECT_EQ(conn_->query_int64("SELECT COUNT(*) FROM t WHERE k = ? OR v = ?", {int64_t{2}, std::string("x")}).value(), 0);
}

TEST_F(PostgresqlTest, TheAuditAliasOfTheDataDirectoryIsASchema) {
  auto dir = std::filesystem::temp_directory_path() / ("jlis-pg-dir-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  auto db = store_.open_data_dir(dir.string()).value();
  EXPECT_EQ(data_dir_store(dir.string()), store_.url());
  EXPECT_TRUE(check_data_dir(dir.string()).is_ok());  // no jlis.db: the store file names the database
  auto conn = db->connect().value();
  EXPECT_EQ(conn->dialect(), "postgresql");
  ASSERT_TRUE(conn->execute_script("CREATE TABLE audit.provisions (id BIGINT)").is_ok());
  ASSERT_TRUE(conn->execute("INSERT INTO audit.provisions VALUES (?)", {int64_t{7}}).ok());
  EXPECT_EQ(admin_->query_int64("SELECT id FROM audit.provisions").value(), 7);
  conn.reset();
  db.reset();
  std::filesystem::remove_all(dir);
}

// A session ended while its connection sat idle outside a transaction (a node restarted under a
// pooled connection) is noticed before the next statement is sent: that statement runs, once, on a
// new session, and prepares its statements again.
TEST_F(PostgresqlTest, ASessionEndedWhileIdleIsNoticedAndTheNextStatementRunsOnANewOne) {
  ASSERT_TRUE(conn_->execute("INSERT INTO t VALUES (?, 'a')", {int64_t{1}}).ok());
  const int64_t before = conn_->query_int64("SELECT pg_backend_pid()").value().value();
  kill_session(*conn_);
  auto next = conn_->execute("INSERT INTO t VALUES (?, 'b')", {int64_t{2}});
  ASSERT_TRUE(next.ok()) << next.status().to_string();
  EXPECT_NE(conn_->query_int64("SELECT pg_backend_pid()").value().value(), before);
  EXPECT_EQ(count(), 2);
}

// A session that ends while a statement outside a transaction is running: that statement is
// unavailable (its outcome is the caller's to find out), and the next one reconnects.
TEST_F(PostgresqlTest, AStatementWhoseSessionEndsUnderItIsUnavailableThenTheNextReconnects) {
  const int64_t pid = conn_->query_int64("SELECT pg_backend_pid()").value().value();
  Status slept;
  // A write (a query would be run again: PostgresqlTest.AQueryOutsideATransaction…) that sleeps first.
  std::thread sleeper([&] { slept = conn_->execute("INSERT INTO t SELECT 9, 'z' FROM pg_sleep(60)").status(); });
  for (int i = 0; i < 1000; ++i) {  // until the sleep is running (bounded generously)
    const char* running =
        "SELECT COUNT(*) FROM pg_stat_activity WHERE pid = ? AND query LIKE 'INSERT INTO t SELECT 9%'";
    if (admin_->query_int64(running, {pid}).value().value() == 1)
      break;
    ::usleep(10000);
  }
  ASSERT_TRUE(admin_->execute("SELECT pg_terminate_backend(CAST(? AS INTEGER))", {pid}).ok());
  sleeper.join();
  EXPECT_EQ(slept.code(), Code::unavailable) << slept.to_string();
  ASSERT_TRUE(conn_->execute("INSERT INTO t VALUES (?, 'c')", {int64_t{3}}).ok());
  EXPECT_EQ(count(), 1);
}

TEST_F(PostgresqlTest, ALostConnectionInsideATransactionNeverRunsTheRestOutsideIt) {
  ASSERT_TRUE(conn_->execute("BEGIN").ok());
  ASSERT_TRUE(conn_->execute("INSERT INTO t VALUES (1, 'a')").ok());
  kill_session(*conn_);
  EXPECT_EQ(conn_->execute("INSERT INTO t VALUES (2, 'b')").status().code(), Code::unavailable);
  // Still refused: reconnecting here would run this write on its own, outside the transaction.
  EXPECT_EQ(conn_->execute("INSERT INTO t VALUES (3, 'c')").status().code(), Code::unavailable);
  EXPECT_TRUE(conn_->execute("ROLLBACK").ok());
  EXPECT_EQ(count(), 0);
  ASSERT_TRUE(conn_->execute("INSERT INTO t VALUES (4, 'd')").ok());
  EXPECT_EQ(count(), 1);
}

TEST_F(PostgresqlTest, ACommitOnALostConnectionReportsThatItsOutcomeIsUnknown) {
  ASSERT_TRUE(conn_->execute("BEGIN").ok());
  ASSERT_TRUE(conn_->execute("INSERT INTO t VALUES (1, 'a')").ok());
  kill_session(*conn_);
  Status commit = conn_->execute("COMMIT").status();
  EXPECT_EQ(commit.code(), Code::unavailable);
  EXPECT_NE(commit.message().find("unknown"), std::string::npos) << commit.to_string();
}

TEST_F(PostgresqlTest, TheWriterRetriesABatchThatNeverReachedCommitOnANewConnection) {
  auto writer = Writer::start(*db_).value();
  auto pid = run_for<int64_t>(*writer, [](Connection& c) -> Result<int64_t> {
    JLIS_ASSIGN_OR_RETURN(auto v, c.query_int64("SELECT pg_backend_pid()"));
    return v.value_or(0);
  });
  ASSERT_TRUE(pid.ok());
  ASSERT_TRUE(admin_->execute("SELECT pg_terminate_backend(CAST(? AS INTEGER))", {*pid}).ok());
  for (int i = 0; i < 1000 && admin_->query_int64("SELECT COUNT(*) FROM pg_stat_activity WHERE pid = ?", {*pid}).value().value(); ++i)
    ::usleep(10000);
  Status s = writer->run([](Connection& c) { return c.execute("INSERT INTO t VALUES (1, 'a')").status(); });
  EXPECT_TRUE(s.is_ok()) << s.to_string();
  EXPECT_EQ(count(), 1);  // applied exactly once
}

// The session ended while the connection sat idle inside a transaction (a switchover's fast
// shutdown), noticed only by the ROLLBACK: that ROLLBACK ends the transaction, and the next one
// starts on a new session.
TEST_F(PostgresqlTest, ARollbackThatFindsTheSessionGoneEndsTheTransaction) {
  ASSERT_TRUE(conn_->execute("BEGIN").ok());
  ASSERT_TRUE(conn_->execute("INSERT INTO t VALUES (1, 'a')").ok());
  kill_session(*conn_);
  (void)conn_->execute("ROLLBACK");
  ASSERT_TRUE(conn_->execute("BEGIN").ok());
  ASSERT_TRUE(conn_->execute("INSERT INTO t VALUES (2, 'b')").ok());
  ASSERT_TRUE(conn_->execute("COMMIT").ok());
  EXPECT_EQ(count(), 1);
}

// A ROLLBACK TO SAVEPOINT stays inside the transaction: on a lost session it is refused like any
// other statement of it, and what follows never runs outside the transaction.
TEST_F(PostgresqlTest, ARollbackToASavepointOnALostSessionDoesNotEndTheTransaction) {
  ASSERT_TRUE(conn_->execute("BEGIN").ok());
  ASSERT_TRUE(conn_->execute("SAVEPOINT job").ok());
  ASSERT_TRUE(conn_->execute("INSERT INTO t VALUES (1, 'a')").ok());
  kill_session(*conn_);
  EXPECT_EQ(conn_->execute("INSERT INTO t VALUES (2, 'b')").status().code(), Code::unavailable);
  EXPECT_EQ(conn_->execute("ROLLBACK TO SAVEPOINT job").status().code(), Code::unavailable);
  EXPECT_EQ(conn_->execute("INSERT INTO t VALUES (3, 'c')").status().code(), Code::unavailable);
  EXPECT_TRUE(conn_->execute("ROLLBACK").ok());
  EXPECT_EQ(count(), 0);
}

// The same inside the writer: a job refused (without touching the store again) after its session
// had ended; the batch rolls back on a dead session, and the next batch commits on a new one.
TEST_F(PostgresqlTest, TheWriterFollowsOnAfterABatchWhoseSessionEndedUnnoticed) {
  auto writer = Writer::start(*db_).value();
  bool killed = false;  // the writer reruns a failed batch with savepoints: end the session once
  Status refused = writer->run([&](Connection& c) -> Status {
    JLIS_RETURN_IF_ERROR(c.execute("INSERT INTO t VALUES (1, 'a')").status());
    if (!std::exchange(killed, true)) kill_session(c);
    return conflict("refused by a check");
  });
  EXPECT_EQ(refused.code(), Code::conflict) << refused.to_string();
  for (int k = 2; k <= 3; ++k) {
    Status s = writer->run([k](Connection& c) { return c.execute("INSERT INTO t VALUES (?, 'b')", {int64_t{k}}).status(); });
    EXPECT_TRUE(s.is_ok()) << k << ": " << s.to_string();
  }
  EXPECT_EQ(count(), 2);
}

// Two centres (store/centre.h): after a failover a pooled read connection points at a dead server;
// the read it was asked for runs on a new connection instead of failing once per pooled connection.
TEST_F(PostgresqlTest, AQueryOutsideATransactionWhoseConnectionWasLostRunsAgainOnANewConnection) {
  ASSERT_TRUE(conn_->execute("INSERT INTO t VALUES (1, 'a')").ok());
  kill_session(*conn_);
  auto n = conn_->query_int64("SELECT COUNT(*) FROM t");
  ASSERT_TRUE(n.ok()) << n.status().to_string();
  EXPECT_EQ(n->value_or(-1), 1);
}

// A switchover demotes the primary: a session still connected to it reaches a read-only server
// (SQLSTATE 25006). That write is unavailable, and the connection reconnects (through a multi-host
// URI to the new primary) instead of failing every later write. A read-only session stands in for
// the demoted server here.
TEST_F(PostgresqlTest, AWriteRefusedAsReadOnlyIsUnavailableAndTheConnectionReconnects) {
  ASSERT_TRUE(conn_->execute_script("SET default_transaction_read_only = on").is_ok());
  auto refused = conn_->execute("INSERT INTO t VALUES (1, 'a')");
  EXPECT_EQ(refused.status().code(), Code::unavailable) << refused.status().to_string();
  auto written = conn_->execute("INSERT INTO t VALUES (2, 'b')");
  EXPECT_TRUE(written.ok()) << written.status().to_string();
  EXPECT_EQ(count(), 1);
}

// With two centres every write session asks for remote_apply: COMMIT waits until the synchronous
// standby has applied the change, so a read served from the standby after "done" sees it. It
// survives a reconnect (it is a connection option, not a SET).
TEST_F(PostgresqlTest, TheSynchronousCommitOptionIsEverySessionsAlsoAfterAReconnect) {
  auto db = open_postgresql(store_.url(), {.synchronous_commit = "remote_apply"}).value();
  auto conn = db->connect().value();
  auto show = [&] {
    std::string v;
    EXPECT_TRUE(conn->query("SELECT current_setting('synchronous_commit')", {}, [&](const Row& r) {
      v = r.text(0);
      return false;
    }).is_ok());
    return v;
  };
  EXPECT_EQ(show(), "remote_apply");
  kill_session(*conn);
  EXPECT_EQ(show(), "remote_apply");
  EXPECT_EQ(open_postgresql(store_.url(), {.synchronous_commit = "off"}).status().code(), Code::invalid_argument);
}

TEST_F(PostgresqlTest, ConstraintViolationsAreConflicts) {
  ASSERT_TRUE(conn_->execute_script("CREATE TABLE c (k BIGINT NOT NULL CHECK (k > 0))").is_ok());
  EXPECT_EQ(conn_->execute("INSERT INTO c VALUES (?)", {int64_t{-1}}).status().code(), Code::conflict);
  EXPECT_EQ(conn_->execute("INSERT INTO c VALUES (?)", {nullptr}).status().code(), Code::conflict);
}

}  // namespace
}  // namespace jlis::store
