// The data directory (--data DIR): everything the system keeps. `jlis init` creates it; every other
// command refuses a directory that it does not recognise by its marker file.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"
#include "store/database.h"

namespace jlis::store {

// Creates DIR (and parents) with its marker. An existing data directory is accepted as it is (so
// init can upgrade); an existing non-empty directory without the marker is refused.
// `simulation` creates a simulation's directory (DIR/simulation): generated populations may
// share key pairs there, its CA is named under the JPKI test hierarchy and /healthz says so. It is
// fixed at creation: init never turns an existing directory into a simulation or back.
// `store` is empty for the embedded SQLite store (DIR/jlis.db) or a PostgreSQL URI
// (postgresql://…), recorded in DIR/store; keys, CRLs and configuration stay in DIR either way. The
// store is fixed at creation: init refuses to point an existing directory at another store.
Status init_data_dir(const std::string& dir, bool simulation = false, const std::string& store = "");
// The store of a data directory: its PostgreSQL URI, or "" for the embedded SQLite store.
std::string data_dir_store(const std::string& dir);
// True when DIR was created as a simulation.
bool is_simulation(const std::string& dir);
// Checks that DIR is a data directory; fails with invalid_argument and a hint otherwise.
Status check_data_dir(const std::string& dir);
// The SQLite database inside a data directory.
std::string database_path(const std::string& dir);

// How the SQLite store syncs the register and the provision record (jlis.db and audit.db) at each
// commit: NORMAL (the default) survives a crash of the process, FULL also a power loss or an
// operating-system crash (SQLite's PRAGMA synchronous; docs/ARCHITECTURE.md §2 "Durability").
enum class SqliteSync { normal, full };
std::string_view sqlite_sync_name(SqliteSync sync);  // "normal", "full"
// "normal" or "full", in any case; invalid_argument otherwise.
Result<SqliteSync> parse_sqlite_sync(std::string_view text);
// The setting DIR records (DIR/sqlite-synchronous; normal when absent). A file that says anything
// else is invalid_argument, so a damaged setting never silently weakens durability.
Result<SqliteSync> data_dir_sqlite_sync(const std::string& dir);
// Records the setting in DIR, a data directory on SQLite (written to a temporary file, fsynced,
// then renamed). Refused (invalid_argument) for a PostgreSQL store, whose durability is its
// server's (synchronous_commit).
Status set_data_dir_sqlite_sync(const std::string& dir, SqliteSync sync);

// Opens the data directory's store, the one place that decides which: on SQLite jlis.db, with
// audit.db (the provision record, an append-only log written on every read of personal data)
// attached as schema `audit`, both synced as data_dir_sqlite_sync says; on PostgreSQL the recorded database, with the schema `audit`.
Result<std::unique_ptr<Database>> open_data_dir_database(const std::string& dir, bool create);

}  // namespace jlis::store
