#include "registry/bulk_load.h"

#include <string>
#include <vector>

namespace jlis::registry {

const std::vector<store::DeferrableIndex>& BulkLoad::secondary_indexes() {
  // As the registry's migration 1 creates them (registry.cpp).
  static const std::vector<store::DeferrableIndex> indexes = {
      {"residents_name_key", "CREATE INDEX residents_name_key ON residents (name_key)"},
      {"residents_kana_key", "CREATE INDEX residents_kana_key ON residents (kana_key)"},
      {"residents_date_of_birth", "CREATE INDEX residents_date_of_birth ON residents (date_of_birth)"},
      {"residents_address_key", "CREATE INDEX residents_address_key ON residents (address_key)"},
      {"change_events_resident", "CREATE INDEX change_events_resident ON change_events (resident_code, seq)"},
      {"change_events_move_ins",
       "CREATE INDEX change_events_move_ins ON change_events (event_date) WHERE type = 'move_in'"},
  };
  return indexes;
}

Result<std::unique_ptr<BulkLoad>> BulkLoad::begin(store::Writer& writer,
                                                  std::vector<store::DeferrableIndex> indexes) {
  JLIS_RETURN_IF_ERROR(writer.hold());
  std::unique_ptr<BulkLoad> load(new BulkLoad(writer, std::move(indexes)));
  Status s = writer.run([&indexes = load->indexes_](store::Connection& conn) -> Status {
    JLIS_ASSIGN_OR_RETURN(auto residents, conn.query_int64("SELECT COUNT(*) FROM residents"));
    JLIS_ASSIGN_OR_RETURN(auto events, conn.query_int64("SELECT COUNT(*) FROM change_events"));
    if (residents.value_or(0) > 0 || events.value_or(0) > 0)
      return conflict("a bulk load needs an empty register; this one holds " +
                      std::to_string(residents.value_or(0)) + " residents and " + std::to_string(events.value_or(0)) +
                      " change events (load without the bulk mode)");
    for (const store::DeferrableIndex& index : indexes)
      JLIS_RETURN_IF_ERROR(conn.execute_script(std::string("DROP INDEX ") + index.name));
    return Status::ok();
  });
  if (!s.is_ok()) return s;  // the held transaction was rolled back; the destructor releases it
  return load;
}

Status BulkLoad::finish() {
  if (!open_) return conflict("the bulk load is already finished");
  // Skipped (answering the rollback) when an event of the load failed: the writer refuses every job
  // after the first failure.
  Status built = writer_.run([this](store::Connection& conn) -> Status {
    for (const store::DeferrableIndex& index : indexes_) JLIS_RETURN_IF_ERROR(conn.execute_script(index.create));
    return Status::ok();
  });
  open_ = false;
  Status released = writer_.release(/*commit=*/true);
  // The first failure of the load is what release answers; a failure of the build itself too.
  return released.is_ok() ? built : released;
}

Status BulkLoad::abandon() {
  if (!open_) return Status::ok();
  open_ = false;
  return writer_.release(/*commit=*/false);
}

BulkLoad::~BulkLoad() { (void)abandon(); }

}  // namespace jlis::registry
