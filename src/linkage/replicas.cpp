#include "linkage/replicas.h"

#include <ctime>

#include "common/clock.h"
#include "linkage/bodies.h"
#include "linkage/codes.h"
#include "linkage/signatures.h"
#include "store/migrations.h"

namespace jlis::linkage {

using store::Connection;
using store::Row;

namespace {

const std::vector<store::Migration> kReplicaMigrations = {{1, R"sql(
CREATE TABLE linkage_replicas (
  provider TEXT NOT NULL,              -- a body id
  person_id TEXT NOT NULL,             -- linkage_persons; the provider knows the person by its code only
  item TEXT NOT NULL,                  -- an item code of the data standard layout
  value TEXT NOT NULL,
  layout_version TEXT NOT NULL,        -- the version that validated it
  updated_at TEXT NOT NULL,
  PRIMARY KEY (provider, person_id, item)
);
)sql"},
                                                           {2, R"sql(
-- The providers of a person's items (record_replicas.h withdraws what a municipality left holds).
CREATE INDEX linkage_replicas_person ON linkage_replicas (person_id);
)sql"},
                                                           {3, R"sql(
-- The persons whose queries the provider answers itself (自動応答不可): forwarded, never read here.
CREATE TABLE linkage_live_answers (
  provider TEXT NOT NULL,
  person_id TEXT NOT NULL,
  since TEXT NOT NULL,
  PRIMARY KEY (provider, person_id)
);
)sql"}};

// On `conn`, for a write by `provider` about the person it knows by `code`: the provider active (into
// `body`), its signed message accepted and logged as `kind`, the person's anchor. not_found when the
// provider has no such code.
Result<std::string> own_person(Connection& conn, const std::string& provider, const std::string& code,
                               std::string_view kind, const SignedMessage* signed_by, const std::string& logged_at,
                               Body& body) {
  JLIS_ASSIGN_OR_RETURN(body, Bodies::active(conn, provider));
  if (signed_by) {
    LogAppender log(conn);
    JLIS_RETURN_IF_ERROR(accept_signed(conn, log, provider, kind, *signed_by, logged_at));
    JLIS_RETURN_IF_ERROR(log.finish());
  }
  JLIS_ASSIGN_OR_RETURN(auto person, LinkageCodes::person_of(conn, provider, code));
  if (!person) return not_found("body " + provider + " has no such linkage code");
  return *person;
}

}  // namespace

Status Replicas::migrate(Connection& conn) { return store::migrate(conn, "linkage_replicas", kReplicaMigrations); }

Result<std::string> Replicas::put(const std::string& provider, const std::string& code, const ItemValues& items,
                                  Date today, const SignedMessage* signed_by) {
  if (items.empty()) return invalid_argument("a replica registers at least one item");
  JLIS_ASSIGN_OR_RETURN(const LayoutVersion* version, layouts_.version_in_force(today));
  ItemValues present;
  for (const auto& [item, value] : items)
    if (!value.empty()) present.emplace(item, value);
  const Validation v = DataLayouts::validate_items(*version, present);
  if (!v.ok()) return invalid_argument(v.message + " [" + std::string(layout_rule_name(v.rule)) + "]");
  for (const auto& [item, value] : items)  // a withdrawal names an item of the version too
    if (!version->items.count(item))
      return invalid_argument("layout " + version->version + ": item " + item + " is not an item of this version [" +
                              std::string(layout_rule_name(LayoutRule::unknown_item)) + "]");
  const std::string now = now_iso8601();
  const std::string logged_at = iso8601_seconds(static_cast<int64_t>(std::time(nullptr)));
  JLIS_RETURN_IF_ERROR(writer_.run([&](Connection& conn) -> Status {
    Body body;
    JLIS_ASSIGN_OR_RETURN(std::string person, own_person(conn, provider, code, "replica", signed_by, logged_at, body));
    for (const auto& [item, value] : items) {
      JLIS_RETURN_IF_ERROR(conn.execute("DELETE FROM linkage_replicas WHERE provider = ? AND person_id = ? AND item = ?",
                                        {provider, person, item})
                               .status());
      if (value.empty()) continue;
      JLIS_RETURN_IF_ERROR(conn.execute("INSERT INTO linkage_replicas (provider, person_id, item, value, "
                                        "layout_version, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                                        {provider, person, item, value, version->version, now})
                               .status());
    }
    return Status::ok();
  }));
  return version->version;
}

Status Replicas::set_live(const std::string& provider, const std::string& code, bool live,
                          const SignedMessage* signed_by) {
  const std::string logged_at = iso8601_seconds(static_cast<int64_t>(std::time(nullptr)));
  return writer_.run([&](Connection& conn) -> Status {
    Body body;
    JLIS_ASSIGN_OR_RETURN(std::string person,
                          own_person(conn, provider, code, "replica-live", signed_by, logged_at, body));
    if (live && body.endpoint.empty())
      return conflict("body " + provider + " has no endpoint to forward queries to (jlis linkage body endpoint)");
    JLIS_RETURN_IF_ERROR(conn.execute("DELETE FROM linkage_live_answers WHERE provider = ? AND person_id = ?",
                                      {provider, person})
                             .status());
    if (!live) return Status::ok();
    return conn.execute("INSERT INTO linkage_live_answers (provider, person_id, since) VALUES (?, ?, ?)",
                        {provider, person, now_iso8601()})
        .status();
  });
}

Result<bool> Replicas::answered_live(Connection& conn, const std::string& provider, const std::string& person_id) {
  bool live = false;
  JLIS_RETURN_IF_ERROR(conn.query("SELECT 1 FROM linkage_live_answers WHERE provider = ? AND person_id = ?",
                                  {provider, person_id}, [&](const Row&) {
                                    live = true;
                                    return false;
                                  }));
  return live;
}

Result<ItemValues> Replicas::read(Connection& conn, const std::string& provider, const std::string& person_id,
                                  const std::vector<std::string>& items) {
  ItemValues out;
  JLIS_RETURN_IF_ERROR(conn.query("SELECT item, value FROM linkage_replicas WHERE provider = ? AND person_id = ?",
                                  {provider, person_id}, [&](const Row& r) {
                                    std::string item = r.text(0);
                                    if (std::find(items.begin(), items.end(), item) != items.end())
                                      out.emplace(std::move(item), r.text(1));
                                    return true;
                                  }));
  return out;
}

Result<bool> Replicas::replace_owned(Connection& conn, const std::string& provider, const std::string& person_id,
                                     const ItemValues& values, const std::vector<std::string>& owned,
                                     const std::string& version, const std::string& now) {
  JLIS_ASSIGN_OR_RETURN(ItemValues held, read(conn, provider, person_id, owned));
  bool changed = false;
  for (const std::string& item : owned) {
    auto want = values.find(item);
    auto have = held.find(item);
    if (want == values.end() ? have == held.end() : have != held.end() && have->second == want->second) continue;
    changed = true;
    if (have != held.end())
      JLIS_RETURN_IF_ERROR(conn.execute("DELETE FROM linkage_replicas WHERE provider = ? AND person_id = ? AND item = ?",
                                        {provider, person_id, item})
                               .status());
    if (want != values.end())
      JLIS_RETURN_IF_ERROR(conn.execute("INSERT INTO linkage_replicas (provider, person_id, item, value, "
                                        "layout_version, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                                        {provider, person_id, item, want->second, version, now})
                               .status());
  }
  return changed;
}

Result<std::vector<std::string>> Replicas::providers_of(Connection& conn, const std::string& person_id) {
  std::vector<std::string> out;
  JLIS_RETURN_IF_ERROR(conn.query("SELECT DISTINCT provider FROM linkage_replicas WHERE person_id = ? ORDER BY provider",
                                  {person_id}, [&](const Row& r) {
                                    out.push_back(r.text(0));
                                    return true;
                                  }));
  return out;
}

Result<ItemValues> Replicas::get(const std::string& provider, const std::string& code) {
  JLIS_ASSIGN_OR_RETURN(auto conn, pool_.acquire());
  JLIS_ASSIGN_OR_RETURN(auto person, LinkageCodes::person_of(*conn, provider, code));
  if (!person) return not_found("body " + provider + " has no such linkage code");
  ItemValues out;
  JLIS_RETURN_IF_ERROR(conn->query("SELECT item, value FROM linkage_replicas WHERE provider = ? AND person_id = ?",
                                   {provider, *person}, [&](const Row& r) {
                                     out.emplace(r.text(0), r.text(1));
                                     return true;
                                   }));
  return out;
}

}  // namespace jlis::linkage
