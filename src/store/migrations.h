// Numbered schema migrations, per component.
//
// Each component owns its tables and a list of migrations numbered 1, 2, 3 ... The table
// schema_migrations records which have been applied. migrate() applies the missing ones in order,
// each in its own transaction, and refuses to run when the database is newer than the binary
// (a migration number it does not know has been applied): an old binary never touches a newer schema.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "store/database.h"

namespace jlis::store {

struct Migration {
  int version;
  std::string sql;  // portable SQL; {{id}} is an auto-assigned 64-bit primary key column type
};

// Applies the migrations of `component` that are missing. Fails with Code::conflict when the
// database holds a newer schema of the component than `migrations` describe.
Status migrate(Connection& conn, const std::string& component, const std::vector<Migration>& migrations);

// The highest applied migration of `component` (0 when none).
Result<int> schema_version(Connection& conn, const std::string& component);

}  // namespace jlis::store
