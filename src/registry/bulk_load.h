// 一括登録: the initial load of an empty register (a municipality's or the nation's) in one
// transaction, with the register's secondary indexes built after the rows instead of row by row.
//
// What changes against the normal path, and what does not:
// - Every event still goes through Registry::submit_all: the same preparation, idempotency keys,
//   rules, numbering (resident codes from the pools, My Numbers) and listeners (households ...).
// - The uniqueness constraints stay in place during the load and are enforced on every row: the
//   resident code and the My Number of `residents`, (municipality, event_id) of `change_events`,
//   and every other component's tables with all their indexes.
// - Dropped at begin() and built again by finish(), in the same transaction: the register's
//   secondary indexes, which only searches and history reads use (residents by name key, kana key,
//   date of birth and address key; change_events by resident and the move-ins by date), and those
//   the register's other components hand it for the same reason (Registry::defer_in_bulk_load: the
//   My Numbers' pending letters, the households by head). No check of the event path reads through
//   them (a resident_code_change would scan change_events: rare, and never made by the generator).
// - The whole load is one transaction held by the writer (store::Writer::hold): the first refused
//   event rolls everything back, the index drop included, and finish() answers that refusal; the
//   data directory is left as it was. A load that is not finished (destroyed, or the process
//   killed) commits nothing.
// - On SQLite the held transaction runs with a rollback journal instead of the WAL (store::Writer::hold;
//   Registry::begin_bulk_load closes the pool's idle connections first so that SQLite allows it):
//   pages beyond the writer's cache spill to the database file, so the load keeps its rate at
//   millions of residents. Meanwhile other processes cannot read the database for long (ARCHITECTURE §4.12).
//
// Only for an empty register (no resident and no change event): begin() refuses any other with
// conflict. Only one load at a time, and nothing else may write through the writer meanwhile (a
// CLI command, never `jlis serve`). Not thread-safe; the events themselves may be submitted from
// any thread, as usual.
#pragma once

#include <memory>
#include <vector>

#include "common/status.h"
#include "store/migrations.h"
#include "store/writer.h"

namespace jlis::registry {

class BulkLoad {
 public:
  // The register's own secondary indexes as the schema defines them; a test compares them with a
  // migrated database's.
  static const std::vector<store::DeferrableIndex>& secondary_indexes();

  // Holds the writer's transaction, checks that the register is empty and drops `indexes` in it;
  // finish() builds exactly these. conflict when the register holds residents or events (nothing
  // is changed), or when the writer already holds a transaction; the store's failure otherwise.
  static Result<std::unique_ptr<BulkLoad>> begin(store::Writer& writer, std::vector<store::DeferrableIndex> indexes);
  ~BulkLoad();  // not finished: rolls the load back

  // Builds the indexes and commits the load. When an event of the load was refused, answers that
  // refusal instead, and nothing of the load is committed. Call once.
  Status finish();
  // Rolls the load back (what the destructor does); ok unless the store fails.
  Status abandon();

  BulkLoad(const BulkLoad&) = delete;
  BulkLoad& operator=(const BulkLoad&) = delete;

 private:
  BulkLoad(store::Writer& writer, std::vector<store::DeferrableIndex> indexes)
      : writer_(writer), indexes_(std::move(indexes)) {}
  store::Writer& writer_;
  const std::vector<store::DeferrableIndex> indexes_;
  bool open_ = true;
};

}  // namespace jlis::registry
