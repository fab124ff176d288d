// The ceiling for population generation: the rows that `jlis population generate` wrote, inserted
// again into a fresh database with the same schema and settings by a plain prepared-statement loop,
// with none of the register's checks. Usage: raw_sqlite_insert SOURCE.db TARGET.db [--indexes-after]
// --indexes-after: what the bulk load (`jlis population generate --bulk`) does with the same rows:
// the register's secondary indexes dropped first, every row in one transaction, the indexes built
// at its end (registry::BulkLoad::secondary_indexes()).
#include <sqlite3.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "registry/registry.h"
#include "store/database.h"

namespace {

using Row = std::vector<std::string>;  // every column as text (NULL as a missing value)
struct Table {
  std::vector<Row> rows;
  std::vector<std::vector<bool>> nulls;
  int columns = 0;
};

Table read_all(sqlite3* db, const char* sql) {
  Table t;
  sqlite3_stmt* s = nullptr;
  sqlite3_prepare_v2(db, sql, -1, &s, nullptr);
  t.columns = sqlite3_column_count(s);
  while (sqlite3_step(s) == SQLITE_ROW) {
    Row r;
    std::vector<bool> n;
    for (int c = 0; c < t.columns; ++c) {
      n.push_back(sqlite3_column_type(s, c) == SQLITE_NULL);
      auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s, c));
      r.emplace_back(p ? p : "");
    }
    t.rows.push_back(std::move(r));
    t.nulls.push_back(std::move(n));
  }
  sqlite3_finalize(s);
  return t;
}

void exec(sqlite3* db, const std::string& sql) {
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) {
    std::fprintf(stderr, "%s: %s\n", sql.c_str(), sqlite3_errmsg(db));
    std::exit(1);
  }
}

// In transactions of `per_transaction` rows; 0: inside the caller's transaction.
void insert_all(sqlite3* db, const char* sql, const Table& t, size_t per_transaction) {
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db, sql, -1, &s, nullptr) != SQLITE_OK) {
    std::fprintf(stderr, "prepare: %s\n", sqlite3_errmsg(db));
    std::exit(1);
  }
  for (size_t i = 0; i < t.rows.size(); ++i) {
    if (per_transaction && i % per_transaction == 0) sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr);
    for (int c = 0; c < t.columns; ++c) {
      if (t.nulls[i][c]) sqlite3_bind_null(s, c + 1);
      else sqlite3_bind_text(s, c + 1, t.rows[i][c].data(), static_cast<int>(t.rows[i][c].size()), SQLITE_STATIC);
    }
    if (sqlite3_step(s) != SQLITE_DONE) {
      std::fprintf(stderr, "insert: %s\n", sqlite3_errmsg(db));
      std::exit(1);
    }
    sqlite3_reset(s);
    if (per_transaction && ((i + 1) % per_transaction == 0 || i + 1 == t.rows.size()))
      sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
  }
  sqlite3_finalize(s);
}

}  // namespace

int main(int argc, char** argv) {
  const bool indexes_after = argc == 4 && std::string(argv[3]) == "--indexes-after";
  if (argc != 3 && !indexes_after) {
    std::fprintf(stderr, "usage: raw_sqlite_insert SOURCE.db TARGET.db [--indexes-after]\n");
    return 2;
  }
  sqlite3* src = nullptr;
  sqlite3_open_v2(argv[1], &src, SQLITE_OPEN_READONLY, nullptr);
  // Residents in the order they were created; events in the order they were applied.
  Table residents = read_all(src, "SELECT * FROM residents ORDER BY id");
  Table events = read_all(src, "SELECT * FROM change_events ORDER BY seq");
  sqlite3_close(src);

  {  // The same schema and connection settings as the register's.
    auto db = jlis::store::open_sqlite(argv[2], {.create = true, .attach = {{"audit", std::string(argv[2]) + "-audit"}}}).value();
    auto conn = db->connect().value();
    if (!jlis::registry::Registry::migrate(*conn).is_ok()) return 1;
  }
  sqlite3* dst = nullptr;
  sqlite3_open(argv[2], &dst);
  sqlite3_exec(dst, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-1048576;"
                    "PRAGMA temp_store=MEMORY;", nullptr, nullptr, nullptr);
  auto placeholders = [](int n) {
    std::string p = "(";
    for (int i = 0; i < n; ++i) p += i ? ",?" : "?";
    return p + ")";
  };
  auto start = std::chrono::steady_clock::now();
  // Interleaved like the generator: a batch of residents, then their events.
  const size_t batch = 100000;
  const std::string ins_r = "INSERT INTO residents VALUES " + placeholders(residents.columns);
  const std::string ins_e = "INSERT INTO change_events VALUES " + placeholders(events.columns);
  if (indexes_after) {
    exec(dst, "BEGIN");  // one transaction, as the bulk load's
    for (const auto& index : jlis::registry::BulkLoad::secondary_indexes())
      exec(dst, std::string("DROP INDEX ") + index.name);
    insert_all(dst, ins_r.c_str(), residents, 0);
    insert_all(dst, ins_e.c_str(), events, 0);
    for (const auto& index : jlis::registry::BulkLoad::secondary_indexes()) exec(dst, index.create);
    exec(dst, "COMMIT");
  } else {
    insert_all(dst, ins_r.c_str(), residents, batch);
    insert_all(dst, ins_e.c_str(), events, batch);
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  sqlite3_close(dst);
  std::printf("raw sqlite%s: %zu residents and %zu events in %.1f s (%.0f residents/s)\n",
              indexes_after ? " (indexes after)" : "", residents.rows.size(), events.rows.size(), secs,
              static_cast<double>(residents.rows.size()) / secs);
  return 0;
}
