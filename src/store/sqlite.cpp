// SQLite backend: WAL, one cached prepared statement per SQL text and connection.
#include <sqlite3.h>

#include <string>
#include <unordered_map>

#include "store/database.h"

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

class SqliteConnection final : public Connection {
 public:
  explicit SqliteConnection(DbPtr db) : db_(std::move(db)) {}

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
  DbPtr db_;
  std::unordered_map<std::string, StmtPtr, Hash, std::equal_to<>> cache_;
};

class SqliteDatabase final : public Database {
 public:
  SqliteDatabase(std::string path, SqliteOptions options) : path_(std::move(path)), options_(options) {}

  Result<std::unique_ptr<Connection>> connect() override {
    sqlite3* raw = nullptr;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
    if (options_.create) flags |= SQLITE_OPEN_CREATE;
    int rc = sqlite3_open_v2(path_.c_str(), &raw, flags, nullptr);
    DbPtr db(raw);
    if (rc != SQLITE_OK)
      return unavailable("cannot open database " + path_ + ": " + sqlite3_errstr(rc));
    sqlite3_busy_timeout(db.get(), options_.busy_timeout_ms);
    sqlite3_extended_result_codes(db.get(), 1);
    auto conn = std::make_unique<SqliteConnection>(std::move(db));
    std::string pragmas = "PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON; PRAGMA synchronous=" +
                          std::string(options_.synchronous_full ? "FULL" : "NORMAL") +
                          "; PRAGMA cache_size=-" + std::to_string(options_.cache_mib * 1024) +
                          "; PRAGMA temp_store=MEMORY;";
    JLIS_RETURN_IF_ERROR(conn->execute_script(pragmas));
    for (const auto& [alias, path] : options_.attach) {
      JLIS_RETURN_IF_ERROR(conn->execute("ATTACH DATABASE ? AS " + alias, {path}).status());
      JLIS_RETURN_IF_ERROR(conn->execute_script("PRAGMA " + alias + ".journal_mode=WAL; PRAGMA " + alias +
                                                ".synchronous=" + (options_.synchronous_full ? "FULL" : "NORMAL")));
    }
    return std::unique_ptr<Connection>(std::move(conn));
  }

 private:
  std::string path_;
  SqliteOptions options_;
};

}  // namespace

int64_t sqlite_memory_used() { return sqlite3_memory_used(); }

void limit_sqlite_memory(int64_t mib) { sqlite3_soft_heap_limit64(mib * 1024 * 1024); }

Result<std::unique_ptr<Database>> open_sqlite(const std::string& path, SqliteOptions options) {
  auto db = std::make_unique<SqliteDatabase>(path, options);
  // Open one connection now so that a missing or unreadable file fails here, not later.
  JLIS_ASSIGN_OR_RETURN(auto probe, db->connect());
  (void)probe;
  return std::unique_ptr<Database>(std::move(db));
}

}  // namespace jlis::store
