// What a test reads or changes in a data directory's store directly, on SQLite (jlis.db with
// audit.db attached) and on PostgreSQL alike: the connection the CLI would open beside a running
// server, and the tables of both schemas.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "store/data_dir.h"

namespace jlis::e2e {

// A connection to the store of data directory `dir`; null (with a test failure) when it cannot.
inline std::unique_ptr<store::Connection> connect_data_dir(const std::string& dir) {
  auto db = store::open_data_dir_database(dir, /*create=*/false);
  if (!db.ok()) {
    ADD_FAILURE() << "cannot open the store of " << dir << ": " << db.status().message();
    return nullptr;
  }
  auto conn = (*db)->connect();  // a connection outlives its Database
  if (!conn.ok()) {
    ADD_FAILURE() << "cannot connect to the store of " << dir << ": " << conn.status().message();
    return nullptr;
  }
  return std::move(*conn);
}

// Every table of the register and of the provision record, as (schema, table) sorted: the schemas
// are "main" and "audit" on SQLite, "public" and "audit" on PostgreSQL.
inline std::vector<std::pair<std::string, std::string>> store_tables(store::Connection& conn) {
  std::vector<std::pair<std::string, std::string>> tables;
  Status s = conn.query(
      conn.dialect() == "postgresql"
          ? "SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema IN ('public', 'audit') "
            "AND table_type = 'BASE TABLE' ORDER BY 1, 2"
          : "SELECT 'main', name FROM main.sqlite_master WHERE type = 'table' UNION ALL "
            "SELECT 'audit', name FROM audit.sqlite_master WHERE type = 'table' ORDER BY 1, 2",
      {}, [&](const store::Row& r) {
        tables.emplace_back(r.text(0), r.text(1));
        return true;
      });
  if (!s.is_ok()) ADD_FAILURE() << "listing the tables: " << s.message();
  return tables;
}

}  // namespace jlis::e2e
