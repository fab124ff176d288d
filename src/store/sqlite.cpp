// SQLite backend: WAL, one cached prepared statement per SQL text and connection.
#include <sqlite3.h>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>

#include "store/database.h"
#include "store/wal_vfs.h"

namespace jlis::store {
namespace {

struct StmtDeleter {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using StmtPtr = std::unique_ptr<sqlite3_stmt, StmtDeleter>;

struct DbDeleter {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using DbPtr = std::unique_ptr<sqlite3, DbDeleter>;

class SqliteRow final : public Row {
 public:
  explicit SqliteRow(sqlite3_stmt* s) : s_(s) {}
  int columns() const override { return sqlite3_column_count(s_); }
  bool is_null(int c) const override { return sqlite3_column_type(s_, c) == SQLITE_NULL; }
  int64_t int64(int c) const override { return sqlite3_column_int64(s_, c); }
  std::string text(int c) const override {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s_, c));
    return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(s_, c))) : std::string();
  }

 private:
  sqlite3_stmt* s_;
};

// Resets a statement when a call is done with it, so the next call starts clean.
struct ResetGuard {
  sqlite3_stmt* s;
  ~ResetGuard() {
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
  }
};

// Checkpoints (copying the WAL back into the database file, with an fsync) run on a thread of their
// own. SQLite's default runs them inside the commit that takes the WAL past 1,000 pages, which in a
// server is the single writer's: about a tenth of the server's CPU under lookups, paid on the one
// thread every change waits for. Each connection's WAL hook asks for a checkpoint instead; a
// connection far past the threshold (the checkpointer starved) still checkpoints itself.
//
// The threshold is about 64 MB of WAL (the size the file is cut back to, kWalKeepBytes), not SQLite's
// 4 MB: a checkpoint copies each page once however often it was rewritten since the last, so the
// pages a stream of small commits keeps dirtying again (the provision index's leaves under lookups,
// the certificates' under issuance) are written back a sixteenth as often, with a sixteenth of the
// fsyncs and wake-ups. Measured: the checkpointer's share of the server's CPU under lookups 12 % ->
// 3.4 %; issuance's system CPU per certificate about halved (docs/PERFORMANCE.md). The price: with
// synchronous=NORMAL the WAL is fsynced at checkpoints, so a power loss may roll back up to this much.
class Checkpointer {
 public:
  using Opener = std::function<DbPtr()>;
  explicit Checkpointer(Opener open) : open_(std::move(open)) {}
  ~Checkpointer() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

  // The WAL hook of every connection (sqlite3_wal_hook).
  static int hook(void* self, sqlite3* db, const char* schema, int pages) {
    if (pages >= kHardPages) {
      sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    } else if (pages >= kPages) {
      static_cast<Checkpointer*>(self)->request(schema);
    }
    return SQLITE_OK;
  }

 private:
  static constexpr int kPages = 16000;       // 62.5 MiB of 4 KiB pages
  static constexpr int kHardPages = 100000;  // about 400 MB of WAL

  void request(const char* schema) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      wanted_.insert(schema);
      if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
    }
    cv_.notify_one();
  }

  void run() {
    DbPtr db = open_();
    std::unique_lock lock(mu_);
    for (;;) {
      cv_.wait(lock, [&] { return stopping_ || !wanted_.empty(); });
      if (stopping_) return;
      std::set<std::string> schemas = std::move(wanted_);
      wanted_.clear();
      lock.unlock();
      for (const auto& schema : schemas) {
        if (db) sqlite3_wal_checkpoint_v2(db.get(), schema.c_str(), SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
      }
      lock.lock();
    }
  }

  Opener open_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::set<std::string> wanted_;
  bool stopping_ = false;
  std::thread thread_;
};

class SqliteConnection final : public Connection {
 public:
  SqliteConnection(DbPtr db, std::shared_ptr<Checkpointer> checkpointer)
      : checkpointer_(std::move(checkpointer)), db_(std::move(db)) {}

  Result<int64_t> execute(std::string_view sql, const Params& params) override {
    JLIS_ASSIGN_OR_RETURN(sqlite3_stmt * s, prepare(sql, params));
    ResetGuard guard{s};
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    }
    if (rc != SQLITE_DONE) return error(rc);
    return static_cast<int64_t>(sqlite3_changes(db_.get()));
  }

  Status query(std::string_view sql, const Params& params,
               const std::function<bool(const Row&)>& on_row) override {
    JLIS_ASSIGN_OR_RETURN(sqlite3_stmt * s, prepare(sql, params));
    ResetGuard guard{s};
    SqliteRow row(s);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
      if (!on_row(row)) return Status::ok();
    }
    if (rc != SQLITE_DONE) return error(rc);
    return Status::ok();
  }

  Status execute_script(std::string_view sql) override {
    std::string text(sql);
    char* message = nullptr;
    int rc = sqlite3_exec(db_.get(), text.c_str(), nullptr, nullptr, &message);
    if (rc != SQLITE_OK) {
      std::string m = message ? message : sqlite3_errstr(rc);
      sqlite3_free(message);
      return internal_error("sqlite: " + m);
    }
    return Status::ok();
  }

  std::string_view dialect() const override { return "sqlite"; }

 private:
  Result<sqlite3_stmt*> prepare(std::string_view sql, const Params& params) {
    auto it = cache_.find(sql);
    if (it == cache_.end()) {
      sqlite3_stmt* raw = nullptr;
      int rc = sqlite3_prepare_v3(db_.get(), sql.data(), static_cast<int>(sql.size()),
                                  SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
      if (rc != SQLITE_OK) return error(rc);
      it = cache_.emplace(std::string(sql), StmtPtr(raw)).first;
    }
    sqlite3_stmt* s = it->second.get();
    if (static_cast<int>(params.size()) != sqlite3_bind_parameter_count(s))
      return internal_error("sqlite: wrong number of parameters");
    for (size_t i = 0; i < params.size(); ++i) {
      int idx = static_cast<int>(i) + 1;
      int rc = SQLITE_OK;
      if (const auto* v = std::get_if<int64_t>(&params[i])) {
        rc = sqlite3_bind_int64(s, idx, *v);
      } else if (const auto* t = std::get_if<std::string>(&params[i])) {
        rc = sqlite3_bind_text(s, idx, t->data(), static_cast<int>(t->size()), SQLITE_TRANSIENT);
      } else {
        rc = sqlite3_bind_null(s, idx);
      }
      if (rc != SQLITE_OK) return error(rc);
    }
    return s;
  }

  Status error(int rc) const {
    std::string m = std::string("sqlite: ") + sqlite3_errmsg(db_.get());
    if ((rc & 0xff) == SQLITE_CONSTRAINT) return conflict(m);
    if ((rc & 0xff) == SQLITE_BUSY) return unavailable(m);
    return internal_error(m);
  }

  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };
  std::shared_ptr<Checkpointer> checkpointer_;  // outlives db_, whose hook points to it
  DbPtr db_;
  std::unordered_map<std::string, StmtPtr, Hash, std::equal_to<>> cache_;
};

// Reads through a shared memory map of the database file (up to the library's own limit, 2 GiB in
// Debian's build): every connection then reads the OS's one copy of a page instead of a pread into
// a private cache of its own, which at first touch cost each reader of a large register a system
// call per page. Writes still go through the WAL.
constexpr int64_t kMmapBytes = int64_t{1} << 40;

// SQLite keeps the WAL file as large as the largest transaction ever written into it, reusing it
// rather than shrinking it: after a bulk load (one transaction, as large as the register: tens of GB
// at national size) the file would hold that disk for good beside the database. With this limit the
// first commit after a checkpoint has copied the WAL back cuts the file down to it.
constexpr int64_t kWalKeepBytes = int64_t{64} << 20;

std::string sql_literal(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

// A configured connection, its attachments included; with `checkpointer`, its checkpoints go there.
Result<DbPtr> open_connection(const std::string& path, const SqliteOptions& options, Checkpointer* checkpointer) {
  sqlite3* raw = nullptr;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
  if (options.create) flags |= SQLITE_OPEN_CREATE;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, buffered_wal_vfs());
  DbPtr db(raw);
  if (rc != SQLITE_OK) return unavailable("cannot open database " + path + ": " + sqlite3_errstr(rc));
  sqlite3_busy_timeout(db.get(), options.busy_timeout_ms);
  sqlite3_extended_result_codes(db.get(), 1);
  const std::string synchronous = options.synchronous_full ? "FULL" : "NORMAL";
  std::string pragmas = "PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON; PRAGMA synchronous=" + synchronous +
                        "; PRAGMA cache_size=-" + std::to_string(options.cache_mib * 1024) +
                        "; PRAGMA temp_store=MEMORY; PRAGMA mmap_size=" + std::to_string(kMmapBytes) +
                        "; PRAGMA journal_size_limit=" + std::to_string(kWalKeepBytes) + ";";
  for (const auto& [alias, file] : options.attach) {
    pragmas += "ATTACH DATABASE " + sql_literal(file) + " AS " + alias + "; PRAGMA " + alias +
               ".journal_mode=WAL; PRAGMA " + alias + ".synchronous=" + synchronous + "; PRAGMA " + alias +
               ".journal_size_limit=" + std::to_string(kWalKeepBytes) + ";";
  }
  char* message = nullptr;
  rc = sqlite3_exec(db.get(), pragmas.c_str(), nullptr, nullptr, &message);
  if (rc != SQLITE_OK) {
    std::string m = message ? message : sqlite3_errstr(rc);
    sqlite3_free(message);
    return internal_error("sqlite: " + m);
  }
  if (checkpointer) sqlite3_wal_hook(db.get(), &Checkpointer::hook, checkpointer);
  return db;
}

class SqliteDatabase final : public Database {
 public:
  SqliteDatabase(std::string path, SqliteOptions options)
      : path_(std::move(path)),
        options_(options),
        checkpointer_(std::make_shared<Checkpointer>([path = path_, options]() -> DbPtr {
          auto db = open_connection(path, options, nullptr);
          return db.ok() ? std::move(*db) : nullptr;
        })) {}

  Result<std::unique_ptr<Connection>> connect() override {
    JLIS_ASSIGN_OR_RETURN(DbPtr db, open_connection(path_, options_, checkpointer_.get()));
    return std::unique_ptr<Connection>(std::make_unique<SqliteConnection>(std::move(db), checkpointer_));
  }

 private:
  std::string path_;
  SqliteOptions options_;
  std::shared_ptr<Checkpointer> checkpointer_;
};

}  // namespace

int64_t sqlite_memory_used() { return sqlite3_memory_used(); }

void limit_sqlite_memory(int64_t mib) { sqlite3_soft_heap_limit64(mib * 1024 * 1024); }

bool skip_sqlite_memory_statistics() { return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0) == SQLITE_OK; }

Result<std::unique_ptr<Database>> open_sqlite(const std::string& path, SqliteOptions options) {
  auto db = std::make_unique<SqliteDatabase>(path, options);
  // Open one connection now so that a missing or unreadable file fails here, not later.
  JLIS_ASSIGN_OR_RETURN(auto probe, db->connect());
  (void)probe;
  return std::unique_ptr<Database>(std::move(db));
}

}  // namespace jlis::store
