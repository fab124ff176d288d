// 住基ネット: the identity store of residents, its change flow from municipalities, its provision of
// identity information to agencies, and the disclosure record of every provision.
//
// The municipalities are the source of truth: every change arrives as a ChangeEvent from the
// municipality that holds the resident (or, for a move-in, the destination of a pending move), is
// checked against the record, and is applied together with its history entry in one transaction.
// A refused event changes nothing. Every event carries an idempotency key (event_id, unique per
// municipality): a retry of the same event is answered as before and applied once; the same key for
// a different event is refused.
//
// Thread-safe. Reads use pooled connections; writes go through the process's single Writer, so a
// caller hears "done" only after the change is committed.
#pragma once

#include <array>
#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/reference_data.h"
#include "common/status.h"
#include "http/labelled_counter.h"
#include "numbering/numbering.h"
#include "registry/bulk_load.h"
#include "registry/resident.h"
#include "store/database.h"
#include "store/writer.h"

namespace jlis::registry {

// The outcome of a submitted event.
struct Applied {
  Resident resident;   // the record after the event
  bool replay = false;  // true when this was a retry of an event applied before
};

// One entry of a resident's history (異動履歴).
struct HistoryEntry {
  int64_t seq;  // global order of changes
  std::string event_id;
  EventType type;
  Date date;
  std::string recorded_at;          // ISO 8601 UTC
  LocalGovernmentCode municipality;  // who submitted it
  std::string event_json;           // the event as submitted (canonical JSON)
  std::string resident_json;        // the record after it
};

// What a provision gave: 本人確認情報 (the basic four, My Number, resident code and their changes), or
// 附票本人確認情報 (the 附票's: name, date of birth, sex, address, abroad included, 旧氏).
inline constexpr std::string_view kIdentityInformation = "identity";
inline constexpr std::string_view kFuhyoInformation = "fuhyo_identity";

// One provision of a resident's identity information (提供状況), as the resident may see it.
struct Provision {
  std::string agency_id;
  std::string agency_name;
  std::string purpose;
  std::string provided_at;  // ISO 8601 UTC
  std::string request_id;         // the server's own id of the request that provided it
  std::string client_request_id;  // the client's X-Request-Id, when it sent one ("" otherwise)
  std::string information = std::string(kIdentityInformation);  // what was provided (below)
};

// A basic-four search (基本4情報検索); any subset, at least one of name, name_kana, date_of_birth or
// address. Matching folds width, kana, spacing and variant characters; address is a prefix.
struct SearchQuery {
  std::optional<std::string> name = {};
  std::optional<std::string> name_kana = {};
  std::optional<std::string> address = {};
  std::optional<Date> date_of_birth = {};
  std::optional<Sex> sex = {};
  int limit = 20;  // 1..100
};
// The search as POST /v1/residents/search sends it: an object of name, name_kana, address,
// date_of_birth (YYYY-MM-DD), sex (strings), limit (1..100) and purpose (skipped: the route reads
// it); invalid_argument on any other field or a value of the wrong kind. Never throws
// (search_query.cpp, which needs nothing else of the registry: the fuzz target links it alone).
Result<SearchQuery> search_query_from_json(const nlohmann::json& json);
struct SearchResult {
  std::vector<Resident> residents;
  bool truncated = false;  // more matched than the limit
};

// Move-ins of one month per municipality (住民基本台帳人口移動報告).
struct MigrationCount {
  LocalGovernmentCode municipality;
  int64_t from_municipalities = 0;
  int64_t from_abroad = 0;
};

// Called for every applied change, inside the transaction that applies it, so that another component
// (cards, the CA) reacts atomically with the change: a failure refuses the whole event. `before` is
// empty for a first registration. Listeners are added before serving starts; they run on the writer
// thread with its connection and must only touch their own component's tables.
using ChangeListener = std::function<Status(store::Connection& conn, const ChangeEvent& event,
                                            const std::optional<Resident>& before, const Resident& after)>;

// The one answer a municipality gets for a resident code it may not act on, whether no resident has
// the code or the resident is another municipality's (no existence oracle): not_found, same message.
// Every municipality route that takes a resident code (registry, cards, certificates) answers it.
Status unknown_resident();

class Registry {
 public:
  // Applies the registry's schema migrations.
  static Status migrate(store::Connection& conn);

  // With `numbering` (not owned; must outlive the Registry), first registrations take their
  // resident code from the municipality's pool and get a My Number and a notification letter in the
  // same transaction, and resident_code_change / my_number_reissue events are accepted. Without it
  // (tests of other components only) codes are random, no My Number is assigned, and those two
  // event types are refused with `internal`.
  Registry(store::Pool& pool, store::Writer& writer, std::shared_ptr<const ReferenceData> reference,
           numbering::Numbering* numbering = nullptr);

  // Applies `event` submitted by `municipality`. The event_id is looked up first: a retry of an
  // applied event answers as the first time (replay) whatever changed since, and the key reused for
  // another event answers conflict, even when that event is invalid. Then errors: invalid_argument
  // (malformed: bad address, future date, over-long field, ...), not_found (unknown_resident(): an
  // unknown code or someone else's resident alike), conflict (contradicts the record, e.g. a move-in
  // whose basic four do not match).
  Result<Applied> submit(const LocalGovernmentCode& municipality, const ChangeEvent& event);
  // The same for many events of possibly many municipalities, in as few transactions as possible;
  // one result per event, in order. For bulk loads.
  std::vector<Result<Applied>> submit_all(
      const std::vector<std::pair<LocalGovernmentCode, ChangeEvent>>& events);

  // A retired resident code (changed at the resident's request) answers conflict
  // "the resident code ... was changed"; the new code is not revealed.
  Result<Resident> get(const ResidentCode& code);
  // The same read on `conn`: inside a writer job, the record as this transaction sees it (an event
  // applied earlier in the same group commit included). Checks that guard a write use this one.
  Result<Resident> get(store::Connection& conn, const ResidentCode& code);
  // The resident for a municipality (`municipality`: its code as text, e.g. a principal's subject)
  // that holds the record, or to which the resident is moving when `or_moving_in`; otherwise
  // unknown_resident(), whether or not the code exists. The shared check of every municipality
  // route that takes a resident code.
  Result<Resident> get_for_municipality(const ResidentCode& code, std::string_view municipality,
                                        bool or_moving_in = false);
  Result<Resident> get_for_municipality(store::Connection& conn, const ResidentCode& code,
                                        std::string_view municipality, bool or_moving_in = false);
  // The read connections (a request's reads share one read transaction: store::Pool::read).
  store::Pool& pool() { return pool_; }
  // A My Number retired after a leak answers conflict "this My Number was changed" (the new number
  // is not revealed); a number never issued answers not_found.
  Result<Resident> find_by_my_number(const MyNumber& number);
  Result<SearchResult> search(const SearchQuery& query);
  Result<std::vector<HistoryEntry>> history(const ResidentCode& code);

  // Records that `residents` were provided to an agency for `purpose`; committed before it returns,
  // so no data leaves unrecorded. `request_id` is the server's own id of the request
  // (http::Request::server_request_id), never a client-supplied one; the client's goes beside it.
  // The log is append-only.
  // `information` is kIdentityInformation or kFuhyoInformation.
  Status record_provision(const std::string& agency_id, const std::string& agency_name,
                          const std::string& purpose, const std::vector<ResidentCode>& residents,
                          const std::string& request_id, const std::string& client_request_id = "",
                          std::string_view information = kIdentityInformation);
  // The same without waiting: `then` runs on the writer's thread with the outcome once the record is
  // committed (or failed), and only then may the data leave (store::Writer::submit says what
  // `then` may do). An empty `residents` calls `then` at once.
  void record_provision_then(const std::string& agency_id, const std::string& agency_name, const std::string& purpose,
                             const std::vector<ResidentCode>& residents, const std::string& request_id,
                             const std::string& client_request_id, std::function<void(Status)> then,
                             std::string_view information = kIdentityInformation);
  // The provisions of the resident, including those made under its earlier resident codes.
  Result<std::vector<Provision>> provisions(const ResidentCode& code);

  // How many residents live in Japan (status resident): the front page's figure. A count of the
  // whole register: not for a request path that runs often.
  Result<int64_t> population();

  // Move-ins dated in [first, first + 1 month), per destination municipality, by code.
  Result<std::vector<MigrationCount>> migration_stats(int year, int month);
  // Calls `on_resident` for every resident with status resident (of one municipality when given),
  // ordered by resident code.
  Status for_each_resident(const std::optional<LocalGovernmentCode>& municipality,
                           const std::function<void(const Resident&)>& on_resident);

  // Gives a My Number (and a letter) to every resident without one: the residents registered before
  // the numbering component existed. Their resident codes are adopted into the numbering register
  // so no pool hands them out. Runs in batches through the writer; `progress` (optional) is called
  // after each batch. Answers how many were numbered (0 without numbering, or when none lacks one).
  Result<int64_t> assign_missing_my_numbers(const std::function<void(int64_t done, int64_t total)>& progress = {});

  numbering::Numbering* numbering() const { return numbering_; }

  // Starts a bulk load of this register through its writer (registry/bulk_load.h): conflict unless
  // the register is empty. Events are then submitted as usual and the load ends with finish().
  Result<std::unique_ptr<BulkLoad>> begin_bulk_load() {
    pool_.close_idle();  // see store::Writer::hold
    return BulkLoad::begin(writer_, bulk_load_indexes_);
  }
  // Adds indexes of a component that follows the register (a listener's tables) to those a bulk load
  // drops and builds after: only indexes that neither the component's listener nor any check reads
  // while events are applied. Not thread-safe: call before a load, as add_listener.
  void defer_in_bulk_load(const std::vector<store::DeferrableIndex>& indexes) {
    bulk_load_indexes_.insert(bulk_load_indexes_.end(), indexes.begin(), indexes.end());
  }
  // What a bulk load drops and builds after: the register's secondary indexes, the numbering's
  // (numbering::Numbering::deferrable_indexes) and the components' added above.
  const std::vector<store::DeferrableIndex>& bulk_load_indexes() const { return bulk_load_indexes_; }

  // Adds a listener for applied changes (not thread-safe: call before submitting events).
  void add_listener(ChangeListener listener) { listeners_.push_back(std::move(listener)); }

  // Counters for /metrics.
  std::string metrics() const;

  const ReferenceData& reference() const { return *reference_; }

 private:
  struct Apply;
  store::Pool& pool_;
  store::Writer& writer_;
  std::shared_ptr<const ReferenceData> reference_;
  numbering::Numbering* numbering_ = nullptr;
  std::vector<ChangeListener> listeners_;
  std::vector<store::DeferrableIndex> bulk_load_indexes_;
  std::atomic<uint64_t> events_applied_{0}, events_refused_{0}, events_replayed_{0}, provisions_{0};
  // Applied events by EventType (jlis_registry_events_applied_total{type}).
  std::array<std::atomic<uint64_t>, static_cast<size_t>(EventType::my_number_reissue) + 1> applied_by_type_{};
  std::string applied_by_type() const;
  // Residents provided, by agency and purpose (the console's chart).
  http::LabelledCounter provided_{"jlis_registry_provisions_by_purpose_total",
                                  "Residents whose information was provided, by agency and purpose.",
                                  {"agency", "agency_name", "purpose"}};
};

}  // namespace jlis::registry
