// Records every statement a process runs through SQLite, with its bound values, for
// replay_statements (the bulk load's bound: its own statements through SQLite alone).
// Usage: SQLITE_STATEMENT_LOG=FILE LD_PRELOAD=build/bench/libsqlite_statement_log.so COMMAND...
//
// It interposes the calls the store makes through the dynamic linker: sqlite3_bind_int64,
// sqlite3_bind_text and sqlite3_bind_null collect a statement's values; sqlite3_step counts its rows;
// sqlite3_reset (or sqlite3_finalize) ends the execution and writes it. sqlite3_exec writes its
// script as one record, and the statements it runs inside are not recorded again.
//
// The file, little-endian, record after record:
//   'D' u32 id, u32 length, SQL          a statement's text, before its first execution
//   'S' u64 connection, u32 id, u32 rows, u32 values, then each value:
//       'i' i64 | 't' u32 length, bytes | 'n'
//   'X' u64 connection, u32 length, SQL  a script (sqlite3_exec)
//   'O' u64 connection                   a connection opened (sqlite3_open_v2)
// A connection is its sqlite3* in the recorded process; a closed one's may be reused by the next
// opened, so the records of one connection are those between its 'O' and the next 'O' of the same.
#include <dlfcn.h>
#include <sqlite3.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

namespace {

using Value = std::variant<std::monostate, int64_t, std::string>;
struct Execution {
  std::vector<Value> values;
  uint32_t rows = 0;
  bool stepped = false;
};

std::mutex mu;
FILE* out = nullptr;
std::unordered_map<sqlite3_stmt*, Execution> executions;
std::unordered_map<std::string, uint32_t> ids;
thread_local int in_exec = 0;

template <typename F>
F next(const char* name) {
  return reinterpret_cast<F>(dlsym(RTLD_NEXT, name));
}

void put(const void* p, size_t n) { std::fwrite(p, 1, n, out); }
void put_u32(uint32_t v) { put(&v, 4); }
void put_text(const std::string& s) {
  put_u32(static_cast<uint32_t>(s.size()));
  put(s.data(), s.size());
}

bool open_log() {
  if (out) return true;
  const char* path = std::getenv("SQLITE_STATEMENT_LOG");
  if (!path) return false;
  out = std::fopen(path, "wb");
  return out != nullptr;
}

// Writes the execution of `s` that has stepped, and forgets its values. Under `mu`.
void finish(sqlite3_stmt* s) {
  auto it = executions.find(s);
  if (it == executions.end() || !it->second.stepped || !open_log()) return;
  const std::string sql = sqlite3_sql(s) ? sqlite3_sql(s) : "";
  auto [id, fresh] = ids.try_emplace(sql, static_cast<uint32_t>(ids.size()));
  if (fresh) {
    put("D", 1);
    put_u32(id->second);
    put_text(sql);
  }
  const uint64_t connection = reinterpret_cast<uintptr_t>(sqlite3_db_handle(s));
  put("S", 1);
  put(&connection, 8);
  put_u32(id->second);
  put_u32(it->second.rows);
  put_u32(static_cast<uint32_t>(it->second.values.size()));
  for (const Value& v : it->second.values) {
    if (auto* n = std::get_if<int64_t>(&v)) {
      put("i", 1);
      put(n, 8);
    } else if (auto* t = std::get_if<std::string>(&v)) {
      put("t", 1);
      put_text(*t);
    } else {
      put("n", 1);
    }
  }
  executions.erase(it);
}

void bind(sqlite3_stmt* s, int index, Value v) {
  if (in_exec || index < 1) return;
  std::lock_guard lock(mu);
  auto& values = executions[s].values;
  if (values.size() < static_cast<size_t>(index)) values.resize(static_cast<size_t>(index));
  values[static_cast<size_t>(index) - 1] = std::move(v);
}

}  // namespace

extern "C" {

int sqlite3_bind_int64(sqlite3_stmt* s, int index, sqlite3_int64 v) {
  static auto real = next<int (*)(sqlite3_stmt*, int, sqlite3_int64)>("sqlite3_bind_int64");
  bind(s, index, static_cast<int64_t>(v));
  return real(s, index, v);
}

int sqlite3_bind_text(sqlite3_stmt* s, int index, const char* text, int n, void (*destructor)(void*)) {
  static auto real = next<int (*)(sqlite3_stmt*, int, const char*, int, void (*)(void*))>("sqlite3_bind_text");
  bind(s, index, text ? Value(n < 0 ? std::string(text) : std::string(text, static_cast<size_t>(n))) : Value());
  return real(s, index, text, n, destructor);
}

int sqlite3_bind_null(sqlite3_stmt* s, int index) {
  static auto real = next<int (*)(sqlite3_stmt*, int)>("sqlite3_bind_null");
  bind(s, index, Value());
  return real(s, index);
}

int sqlite3_step(sqlite3_stmt* s) {
  static auto real = next<int (*)(sqlite3_stmt*)>("sqlite3_step");
  const int rc = real(s);
  if (!in_exec) {
    std::lock_guard lock(mu);
    Execution& e = executions[s];
    e.stepped = true;
    if (rc == SQLITE_ROW) ++e.rows;
  }
  return rc;
}

int sqlite3_reset(sqlite3_stmt* s) {
  static auto real = next<int (*)(sqlite3_stmt*)>("sqlite3_reset");
  if (!in_exec) {
    std::lock_guard lock(mu);
    finish(s);
  }
  return real(s);
}

int sqlite3_finalize(sqlite3_stmt* s) {
  static auto real = next<int (*)(sqlite3_stmt*)>("sqlite3_finalize");
  if (!in_exec) {
    std::lock_guard lock(mu);
    finish(s);
    executions.erase(s);
  }
  return real(s);
}

int sqlite3_open_v2(const char* path, sqlite3** db, int flags, const char* vfs) {
  static auto real = next<int (*)(const char*, sqlite3**, int, const char*)>("sqlite3_open_v2");
  const int rc = real(path, db, flags, vfs);
  std::lock_guard lock(mu);
  if (*db && open_log()) {
    const uint64_t connection = reinterpret_cast<uintptr_t>(*db);
    put("O", 1);
    put(&connection, 8);
  }
  return rc;
}

int sqlite3_exec(sqlite3* db, const char* sql, int (*callback)(void*, int, char**, char**), void* arg,
                 char** error) {
  static auto real = next<int (*)(sqlite3*, const char*, int (*)(void*, int, char**, char**), void*, char**)>(
      "sqlite3_exec");
  if (!in_exec && sql) {
    std::lock_guard lock(mu);
    if (open_log()) {
      const uint64_t connection = reinterpret_cast<uintptr_t>(db);
      put("X", 1);
      put(&connection, 8);
      put_text(sql);
    }
  }
  ++in_exec;
  const int rc = real(db, sql, callback, arg, error);
  --in_exec;
  return rc;
}

}  // extern "C"

namespace {
struct Flush {
  ~Flush() {
    std::lock_guard lock(mu);
    if (out) std::fclose(out);
    out = nullptr;
  }
} flush_at_exit;
}  // namespace
