// The one database interface every component uses. SQLite (embedded, the default, sqlite.cpp) and
// PostgreSQL (production, postgresql.cpp) implement it, so components write portable SQL once:
//   - placeholders are `?` (a PostgreSQL backend rewrites them to $1, $2 ...);
//   - integers are 64-bit; text is UTF-8; dates are ISO-8601 text, which sorts correctly;
//   - migrations may use {{id}} for an auto-assigned 64-bit primary key column type.
//
// Threading: a Connection is used by one thread at a time. Pool hands connections out to many
// threads. All writes of a process go through one Writer (single writer, group commit).
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/status.h"

namespace jlis::store {

using Value = std::variant<std::nullptr_t, int64_t, std::string>;
using Params = std::vector<Value>;

// One row of a query result; valid only inside the row callback.
class Row {
 public:
  virtual ~Row() = default;
  virtual int columns() const = 0;
  virtual bool is_null(int column) const = 0;
  virtual int64_t int64(int column) const = 0;  // 0 when NULL
  virtual std::string text(int column) const = 0;  // "" when NULL
  std::optional<std::string> optional_text(int column) const {
    if (is_null(column)) return std::nullopt;
    return text(column);
  }
};

class Connection {
 public:
  virtual ~Connection() = default;

  // Runs one statement with `?` parameters; answers the number of rows changed. Statements are
  // prepared once per connection and cached by their text. A unique-constraint violation fails
  // with Code::conflict, anything else with Code::internal.
  virtual Result<int64_t> execute(std::string_view sql, const Params& params = {}) = 0;
  // Runs a query and calls `on_row` for each row, in order. `on_row` returns false to stop early.
  virtual Status query(std::string_view sql, const Params& params,
                       const std::function<bool(const Row&)>& on_row) = 0;
  // Runs one or more statements without parameters (schema changes).
  virtual Status execute_script(std::string_view sql) = 0;
  // "sqlite" or "postgresql".
  virtual std::string_view dialect() const = 0;

  // Convenience: the first column of the first row as an integer, or nullopt when no row.
  Result<std::optional<int64_t>> query_int64(std::string_view sql, const Params& params = {});
  // The same as text (nullopt also for a NULL).
  Result<std::optional<std::string>> query_text(std::string_view sql, const Params& params = {});
};

// Opens connections to one database. Thread-safe.
class Database {
 public:
  virtual ~Database() = default;
  virtual Result<std::unique_ptr<Connection>> connect() = 0;
};

// SQLite in WAL mode at `path` (created when missing when `create` is true). Durability: every
// commit is written to the WAL before the caller hears "done" (synchronous=NORMAL: a committed
// change survives a crash of the process; FULL additionally survives power loss and is what
// `synchronous_full` selects).
struct SqliteOptions {
  bool create = false;
  // Further database files attached to every connection under an alias (schema name), each with
  // its own WAL: a commit to one does not invalidate the readers' page caches of the others.
  std::vector<std::pair<std::string, std::string>> attach = {};  // alias, path
  bool synchronous_full = false;
  int64_t cache_mib = 1024;  // page cache per connection; pages are only allocated as used
  // How long a statement waits for another connection's (or process's) write lock before it fails
  // with Code::unavailable.
  int busy_timeout_ms = 10000;
};
Result<std::unique_ptr<Database>> open_sqlite(const std::string& path, SqliteOptions options = {});
// Bytes SQLite holds in this process, every connection's page cache included (0 on PostgreSQL).
// /metrics reports it as jlis_store_sqlite_memory_bytes.
int64_t sqlite_memory_used();
// Bounds what SQLite holds in this process, every connection's page cache together, at `mib` MiB
// (sqlite3_soft_heap_limit64; 0: no bound beyond cache_mib per connection): near it, connections
// recycle their least recently used clean pages instead of allocating more. A server's caches
// otherwise grow with the database (each pooled reader and the writer keep every page they touch,
// up to cache_mib each); the OS's file cache keeps the rest, and a page not cached costs a read.
// `jlis serve` sets it (--sqlite-memory); bulk commands keep the per-connection bound alone.
void limit_sqlite_memory(int64_t mib);
// Turns SQLite's memory statistics off in this process, which keeps SQLite from taking one global
// mutex around every allocation it makes (Debian's SQLite is built without lookaside memory, so
// every statement allocates through it): about 5 % of a bulk load's time. The bound above and
// sqlite_memory_used() need them, so `jlis serve` keeps them and every other command turns them
// off. Only before SQLite's first use in the process: answers false (and changes nothing) after.
bool skip_sqlite_memory_statistics();

// PostgreSQL 15 through libpq at `url` (a libpq connection URI, postgresql://user@host:port/db).
// The same SQL as SQLite runs here: `?` placeholders are rewritten to $1, $2 ... once per statement
// text (outside string literals, quoted identifiers and comments) and the statement is prepared once
// per connection (cached by its text and its parameters' kinds); parameters travel as text, an
// integer typed bigint, a string or NULL left for the server to infer from the column. SQLite's
// attached databases are PostgreSQL schemas of the same name (`audit.provisions` on both). Text
// compares byte by byte on both: the database must have the C collation (CREATE DATABASE …
// TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C'); open_postgresql refuses any other.
// Errors: a constraint violation (SQLSTATE class 23: unique, foreign key, check, not null) fails
// with Code::conflict, as on SQLite; a serialization failure or deadlock (40001, 40P01) and a lost
// connection fail with Code::unavailable. A connection lost outside a transaction reconnects on its
// next statement (a session the server ended while the connection sat idle is noticed before the
// statement is sent, and the statement runs on the new session); one lost inside a transaction
// keeps failing until ROLLBACK (a ROLLBACK TO SAVEPOINT stays inside it; a ROLLBACK that finds the
// session gone ends it), so that no statement of a half-done transaction ever runs outside it; a
// COMMIT whose connection was lost fails with Code::unavailable and a message saying that its
// outcome is unknown (never retry it blindly).
// Unlike SQLite, a failed statement aborts the whole transaction on PostgreSQL: a Writer job must
// return the failure (the Writer then reruns the batch with a savepoint per job), never carry on.
// A lost connection and a write refused by a standby (SQLSTATE 25006: the server was demoted by a
// switchover) fail with Code::unavailable; the connection reconnects before its next statement
// outside a transaction, through every host of a multi-host URI (postgresql://h1,h2/db?
// target_session_attrs=read-write reaches whichever is primary now). A query (SELECT, WITH) outside
// a transaction whose connection was lost runs once more on the new connection.
struct PostgresqlOptions {
  // Schemas created when missing (the SQLite attach aliases), e.g. {"audit"}.
  std::vector<std::string> schemas = {};
  // The sessions' synchronous_commit ("" keeps the server's): "remote_apply" makes COMMIT wait
  // until the synchronous standby has applied the change, so a read from that standby after "done"
  // sees it (the two-centre configuration, store/centre.h).
  std::string synchronous_commit = {};
  // A read store listing the local node first (postgresql://local,other/db): a connection that fell
  // back to another host while the first was down tries the first again before a statement outside
  // a transaction, at most every 5 s, so that reads return to the local node once it is back.
  bool prefer_first_host = false;
};
Result<std::unique_ptr<Database>> open_postgresql(const std::string& url, PostgresqlOptions options = {});
// True when `location` names a PostgreSQL database (postgresql:// or postgres:// URI).
bool is_postgresql_url(std::string_view location);

// Connections for many threads: acquire() reuses an idle one or opens a new one.
class Pool {
 public:
  explicit Pool(std::shared_ptr<Database> db) : db_(std::move(db)) {}
  using Lease = std::unique_ptr<Connection, std::function<void(Connection*)>>;
  Result<Lease> acquire();
  // Runs `reads` on one pooled connection inside one read transaction (one snapshot: on SQLite a
  // deferred BEGIN, on PostgreSQL REPEATABLE READ READ ONLY), so the several reads of one request
  // take one connection and one transaction, not one each. Answers what `reads` answered.
  Status read(const std::function<Status(Connection&)>& reads);
  Database& database() { return *db_; }
  // Closes the idle connections (a bulk load's writer needs SQLite's database to itself).
  void close_idle();

 private:
  std::shared_ptr<Database> db_;
  std::mutex mu_;
  std::vector<std::unique_ptr<Connection>> idle_;
};

// RAII transaction on one connection: rolls back unless commit() succeeded.
// For writes, use Writer instead; Transaction is for the writer thread and for tools.
class Transaction {
 public:
  static Result<Transaction> begin(Connection& conn);
  Transaction(Transaction&& other) noexcept : conn_(other.conn_) { other.conn_ = nullptr; }
  Transaction& operator=(Transaction&&) = delete;
  ~Transaction();
  Status commit();

 private:
  explicit Transaction(Connection* conn) : conn_(conn) {}
  Connection* conn_;
};

}  // namespace jlis::store
