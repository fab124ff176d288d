// Numbered schema migrations, per component.
//
// Each component owns its tables and a list of migrations numbered 1, 2, 3 ... The table
// schema_migrations records which have been applied. migrate() applies the missing ones in order,
// each in its own transaction, and refuses to run when the database is newer than the binary
// (a migration number it does not know has been applied): an old binary never touches a newer schema.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "store/database.h"

namespace jlis::store {

struct Migration {
  int version;
  std::string sql;  // portable SQL, with the tokens of expand_dialect_tokens where the dialects differ
};

// The one place that says how SQLite and PostgreSQL differ, as tokens a migration writes instead of
// dialect-specific SQL (components never test dialect() themselves):
//   {{id}}                  an auto-assigned 64-bit primary key column type
//   {{random_hex16}}        16 random lowercase hex digits (an identifier, not a secret)
//   {{unix_seconds:EXPR}}   the UTC timestamp text EXPR as seconds since the epoch
//   {{iso_utc:EXPR}}        the UTC timestamp text EXPR as YYYY-MM-DDTHH:MM:SSZ
//   {{index_on:S.I:T}}      after CREATE INDEX: index I on table T of schema S (an attached database)
// Everything else is written once for both: upserts as INSERT … ON CONFLICT (…) DO NOTHING / DO
// UPDATE, new ids as INSERT … RETURNING, integers as BIGINT (PostgreSQL's INTEGER is 32-bit).
std::string expand_dialect_tokens(std::string_view dialect, std::string sql);

// An index a bulk load may drop at its start and build again at its end, inside the load's
// transaction (registry/bulk_load.h), because nothing a load's writes check reads through it.
// `create` is the statement of the component's migration, so the index comes back as the schema
// defines it.
struct DeferrableIndex {
  const char* name;
  const char* create;
};

// Applies the migrations of `component` that are missing. Fails with Code::conflict when the
// database holds a newer schema of the component than `migrations` describe.
Status migrate(Connection& conn, const std::string& component, const std::vector<Migration>& migrations);

// The highest applied migration of `component` (0 when none).
Result<int> schema_version(Connection& conn, const std::string& component);

}  // namespace jlis::store
