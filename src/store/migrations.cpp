#include "store/migrations.h"

#include <algorithm>
#include <optional>

namespace jlis::store {
namespace {

// The one place where the two dialects' SQL differs (migrations.h lists the tokens).
struct Token {
  const char* name;
  const char* sqlite;
  const char* postgresql;  // $ stands for the token's argument
};
constexpr Token kTokens[] = {
    {"id", "INTEGER PRIMARY KEY", "BIGSERIAL PRIMARY KEY"},
    {"random_hex16", "lower(hex(randomblob(8)))", "substr(md5(CAST(gen_random_uuid() AS TEXT)), 1, 16)"},
    {"unix_seconds", "CAST(strftime('%s', $) AS INTEGER)", "CAST(EXTRACT(EPOCH FROM CAST($ AS TIMESTAMP)) AS BIGINT)"},
    {"iso_utc", "strftime('%Y-%m-%dT%H:%M:%SZ', $)", "to_char(CAST($ AS TIMESTAMP), 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"},
};

// {{index_on:SCHEMA.INDEX:TABLE}}: SQLite names an attached database's index by its schema and its
// table without; PostgreSQL the other way round.
std::optional<std::string> index_on(bool sqlite, const std::string& arg) {
  auto dot = arg.find('.');
  auto colon = arg.find(':');
  if (dot == std::string::npos || colon == std::string::npos || colon < dot) return std::nullopt;
  std::string schema = arg.substr(0, dot), index = arg.substr(dot + 1, colon - dot - 1), table = arg.substr(colon + 1);
  if (sqlite) return schema + "." + index + " ON " + table;
  return index + " ON " + schema + "." + table;
}

}  // namespace

std::string expand_dialect_tokens(std::string_view dialect, std::string sql) {
  const bool sqlite = dialect == "sqlite";
  for (size_t pos = 0; (pos = sql.find("{{", pos)) != std::string::npos;) {
    size_t end = sql.find("}}", pos);
    if (end == std::string::npos) break;
    std::string inner = sql.substr(pos + 2, end - pos - 2);
    std::string arg;
    if (auto colon = inner.find(':'); colon != std::string::npos) {
      arg = inner.substr(colon + 1);
      inner.resize(colon);
    }
    std::optional<std::string> found;
    if (inner == "index_on") found = index_on(sqlite, arg);
    for (const auto& t : kTokens) {
      if (inner != t.name) continue;
      std::string r = sqlite ? t.sqlite : t.postgresql;
      for (size_t a; (a = r.find('$')) != std::string::npos;) r.replace(a, 1, arg);
      found = std::move(r);
    }
    std::string replacement = found.value_or("");
    if (!found) {
      pos = end + 2;  // not a token of ours: leave it
      continue;
    }
    sql.replace(pos, end + 2 - pos, replacement);
    pos += replacement.size();
  }
  return sql;
}

namespace {

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
    JLIS_RETURN_IF_ERROR(conn.execute_script(expand_dialect_tokens(conn.dialect(), m.sql)));
    JLIS_RETURN_IF_ERROR(conn.execute(
        "INSERT INTO schema_migrations (component, version, applied_at) VALUES (?, ?, "
        "CURRENT_TIMESTAMP)", {component, static_cast<int64_t>(m.version)}).status());
    JLIS_RETURN_IF_ERROR(tx.commit());
  }
  return Status::ok();
}

}  // namespace jlis::store
