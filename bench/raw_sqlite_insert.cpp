// The ceiling for population generation: the rows that `jlis population generate --register-only`
// wrote (every table it fills: the register's residents and events, the numbering's resident codes,
// pools and My Numbers, the municipalities' households and their members), inserted again into a
// fresh database with the same schema and settings by a plain prepared-statement loop, with none of
// the register's checks. Usage: raw_sqlite_insert SOURCE.db TARGET.db [--indexes-after]
// --indexes-after: what the bulk load (`jlis population generate --bulk`) does with the same rows:
// the register's secondary indexes dropped first, every row in one transaction, the indexes built
// at its end (registry::BulkLoad::secondary_indexes()). Without it: transactions of 100,000 rows,
// every index in place.
#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <variant>
#include <vector>

#include "municipal/household.h"
#include "numbering/numbering.h"
#include "registry/registry.h"
#include "store/database.h"

namespace {

// The tables a register-stage load writes, in the order the load fills them.
constexpr const char* kTables[] = {"numbering_pools",        "numbering_resident_codes",  "numbering_my_numbers",
                                   "residents",              "change_events",             "municipal_households",
                                   "municipal_household_members"};

using Value = std::variant<std::monostate, int64_t, double, std::string>;  // a cell, as SQLite stored it
struct Table {
  std::string name;
  int columns = 0;
  std::vector<Value> cells;  // row after row
  size_t rows() const { return columns ? cells.size() / static_cast<size_t>(columns) : 0; }
};

Table read_all(sqlite3* db, const std::string& name) {
  Table t;
  t.name = name;
  sqlite3_stmt* s = nullptr;
  sqlite3_prepare_v2(db, ("SELECT * FROM " + name + " ORDER BY rowid").c_str(), -1, &s, nullptr);
  t.columns = sqlite3_column_count(s);
  while (sqlite3_step(s) == SQLITE_ROW) {
    for (int c = 0; c < t.columns; ++c) {
      switch (sqlite3_column_type(s, c)) {
        case SQLITE_NULL: t.cells.emplace_back(); break;
        case SQLITE_INTEGER: t.cells.emplace_back(static_cast<int64_t>(sqlite3_column_int64(s, c))); break;
        case SQLITE_FLOAT: t.cells.emplace_back(sqlite3_column_double(s, c)); break;
        default: t.cells.emplace_back(std::string(reinterpret_cast<const char*>(sqlite3_column_text(s, c))));
      }
    }
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
void insert_all(sqlite3* db, const Table& t, size_t per_transaction) {
  std::string sql = "INSERT INTO " + t.name + " VALUES (";
  for (int i = 0; i < t.columns; ++i) sql += i ? ",?" : "?";
  sql += ")";
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr) != SQLITE_OK) {
    std::fprintf(stderr, "prepare: %s\n", sqlite3_errmsg(db));
    std::exit(1);
  }
  for (size_t i = 0; i < t.rows(); ++i) {
    if (per_transaction && i % per_transaction == 0) exec(db, "BEGIN");
    for (int c = 0; c < t.columns; ++c) {
      const Value& v = t.cells[i * static_cast<size_t>(t.columns) + static_cast<size_t>(c)];
      if (auto* n = std::get_if<int64_t>(&v)) sqlite3_bind_int64(s, c + 1, *n);
      else if (auto* d = std::get_if<double>(&v)) sqlite3_bind_double(s, c + 1, *d);
      else if (auto* text = std::get_if<std::string>(&v))
        sqlite3_bind_text(s, c + 1, text->data(), static_cast<int>(text->size()), SQLITE_STATIC);
      else sqlite3_bind_null(s, c + 1);
    }
    if (sqlite3_step(s) != SQLITE_DONE) {
      std::fprintf(stderr, "insert into %s: %s\n", t.name.c_str(), sqlite3_errmsg(db));
      std::exit(1);
    }
    sqlite3_reset(s);
    if (per_transaction && ((i + 1) % per_transaction == 0 || i + 1 == t.rows())) exec(db, "COMMIT");
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
  std::vector<Table> tables;
  for (const char* name : kTables) tables.push_back(read_all(src, name));
  sqlite3_close(src);

  {  // The same schema and connection settings as the register's.
    auto db = jlis::store::open_sqlite(argv[2], {.create = true, .attach = {{"audit", std::string(argv[2]) + "-audit"}}}).value();
    auto conn = db->connect().value();
    if (!jlis::registry::Registry::migrate(*conn).is_ok() || !jlis::numbering::Numbering::migrate(*conn).is_ok() ||
        !jlis::municipal::Households::migrate(*conn).is_ok())
      return 1;
  }
  sqlite3* dst = nullptr;
  sqlite3_open(argv[2], &dst);
  sqlite3_exec(dst, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-1048576;"
                    "PRAGMA temp_store=MEMORY;", nullptr, nullptr, nullptr);
  auto is_register = [](const Table& t) { return t.name == "residents" || t.name == "change_events"; };
  size_t rows = 0, register_rows = 0;
  double residents = 0;
  for (const Table& t : tables) {
    rows += t.rows();
    if (is_register(t)) register_rows += t.rows();
    if (t.name == "residents") residents = static_cast<double>(t.rows());
  }
  auto start = std::chrono::steady_clock::now();
  auto seconds = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };
  double register_secs = 0;  // the register's two tables alone, index build and commit included (the old reference)
  if (indexes_after) {
    exec(dst, "BEGIN");  // one transaction, as the bulk load's
    for (const auto& index : jlis::registry::BulkLoad::secondary_indexes())
      exec(dst, std::string("DROP INDEX ") + index.name);
  }
  for (const Table& t : tables) {
    const double before = seconds();
    insert_all(dst, t, indexes_after ? 0 : 100000);
    if (is_register(t)) register_secs += seconds() - before;
  }
  if (indexes_after) {
    const double before = seconds();
    for (const auto& index : jlis::registry::BulkLoad::secondary_indexes()) exec(dst, index.create);
    exec(dst, "COMMIT");
    register_secs += seconds() - before;
  }
  const double secs = seconds();
  sqlite3_close(dst);
  std::printf("raw sqlite%s: %zu rows of %zu tables in %.1f s (%.0f residents/s); the register's %zu residents "
              "and events alone %.1f s (%.0f residents/s)\n",
              indexes_after ? " (indexes after)" : "", rows, std::size(kTables), secs, residents / secs,
              register_rows, register_secs, residents / register_secs);
  return 0;
}
