// Two centres (SPEC §4): one PostgreSQL primary and its synchronous hot standby, each in its own
// centre, failed over by pg_auto_failover (docs/OPERATIONS.md). Each centre runs `jlis serve` on
// its own copy of the data directory. Both copies name the same store, a multi-host URI that
// reaches whichever node is primary now (postgresql://h1,h2/db?target_session_attrs=read-write);
// each names its own centre and its read store, the local node (the standby in the second centre),
// which serves the read paths (OCSP, CRL, lookups, search). Writes go to the primary, with
// synchronous_commit = remote_apply, so that a change acknowledged by either centre is in both and
// is already visible to the reads of both.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "store/database.h"

namespace jlis::store {

// What a data directory records about its centre (DIR/centre); both empty for a single site.
struct CentreConfig {
  std::string name;        // e.g. "east": /healthz and `jlis centre status` report it
  std::string read_store;  // PostgreSQL URI of the node the read paths use; "" reads from the store
  bool configured() const { return !name.empty(); }
};

// Records the centre of DIR (an existing data directory whose store is PostgreSQL); may be run again
// to change it (a copy of the data directory becomes the second centre this way). Refuses a name
// that is not [a-z0-9-]{1,32} and a read store that is not a PostgreSQL URI.
Status record_centre(const std::string& dir, const CentreConfig& centre);
// DIR's centre; not configured() when DIR has none.
CentreConfig data_dir_centre(const std::string& dir);
// The database of DIR's read paths: its centre's read store, or null when reads use the store.
Result<std::unique_ptr<Database>> open_data_dir_read_database(const std::string& dir);

// "primary" or "standby" (PostgreSQL: pg_is_in_recovery()), "embedded" (SQLite).
Result<std::string> store_role(Connection& conn);

// One PostgreSQL node of a store, as `jlis centre status` shows it.
struct NodeStatus {
  std::string host, port;
  bool reachable = false;
  std::string error;  // why not reachable
  std::string role;   // primary, standby
  std::string lsn;    // primary: pg_current_wal_lsn(); standby: pg_last_wal_replay_lsn()
  // Standby: how far replay is behind what it received, in bytes, and how long since the last
  // replayed transaction's commit (seconds, -1 when none yet).
  long long replay_gap_bytes = 0;
  double replay_age_seconds = -1;
  // Primary: one entry per standby streaming from it (pg_stat_replication).
  struct Replica {
    std::string name, address, state, sync_state;  // sync_state: sync, quorum, async, potential
    long long lag_bytes = 0;                       // pg_current_wal_lsn() - replay_lsn
    std::string replay_lag;                        // interval text, "" when idle
  };
  std::vector<Replica> replicas;
};
// Connects to each host of `url` (a libpq URI, multi-host or not) on its own and asks it. Fails only
// when `url` cannot be parsed; an unreachable node is reported, not an error.
Result<std::vector<NodeStatus>> postgresql_nodes(const std::string& url);

// `jlis centre status` of data directory DIR: every node of its store asked on its own
// (postgresql_nodes), as text or as one JSON object; `primaries` counts the nodes that answered
// primary (healthy: exactly one). Fails for a directory whose store is SQLite.
struct CentreReport {
  std::string output;
  int primaries = 0;
};
Result<CentreReport> centre_report(const std::string& dir, bool as_json);

}  // namespace jlis::store
