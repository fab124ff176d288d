#include "store/migrations.h"

#include <algorithm>

namespace jlis::store {
namespace {

std::string portable(const Connection& conn, std::string sql) {
  const std::string id = conn.dialect() == "sqlite" ? "INTEGER PRIMARY KEY" : "BIGSERIAL PRIMARY KEY";
  for (size_t pos; (pos = sql.find("{{id}}")) != std::string::npos;) sql.replace(pos, 6, id);
  return sql;
}

Status ensure_table(Connection& conn) {
  return conn.execute_script(
      "CREATE TABLE IF NOT EXISTS schema_migrations ("
      " component TEXT NOT NULL, version BIGINT NOT NULL, applied_at TEXT NOT NULL,"
      " PRIMARY KEY (component, version))");
}

}  // namespace

Result<int> schema_version(Connection& conn, const std::string& component) {
  JLIS_RETURN_IF_ERROR(ensure_table(conn));
  JLIS_ASSIGN_OR_RETURN(auto v, conn.query_int64(
      "SELECT MAX(version) FROM schema_migrations WHERE component = ?", {component}));
  return static_cast<int>(v.value_or(0));
}

Status migrate(Connection& conn, const std::string& component, const std::vector<Migration>& migrations) {
  JLIS_ASSIGN_OR_RETURN(int current, schema_version(conn, component));
  int known = 0;
  for (const auto& m : migrations) known = std::max(known, m.version);
  if (current > known) {
    return conflict("the " + component + " schema is at version " + std::to_string(current) +
                    ", newer than this binary knows (" + std::to_string(known) +
                    "); use a newer jlis");
  }
  for (const auto& m : migrations) {
    if (m.version <= current) continue;
    JLIS_ASSIGN_OR_RETURN(auto tx, Transaction::begin(conn));
    JLIS_RETURN_IF_ERROR(conn.execute_script(portable(conn, m.sql)));
    JLIS_RETURN_IF_ERROR(conn.execute(
        "INSERT INTO schema_migrations (component, version, applied_at) VALUES (?, ?, "
        "CURRENT_TIMESTAMP)", {component, static_cast<int64_t>(m.version)}).status());
    JLIS_RETURN_IF_ERROR(tx.commit());
  }
  return Status::ok();
}

}  // namespace jlis::store
