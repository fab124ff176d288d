// The data directory (--data DIR): everything the system keeps. `jlis init` creates it; every other
// command refuses a directory that it does not recognise by its marker file.
#pragma once

#include <string>

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

// Opens the data directory's store, the one place that decides which: on SQLite jlis.db, with
// audit.db (the provision record, an append-only log written on every read of personal data)
// attached as schema `audit`; on PostgreSQL the recorded database, with the schema `audit`.
Result<std::unique_ptr<Database>> open_data_dir_database(const std::string& dir, bool create);

}  // namespace jlis::store
