// Replicas (副本, issue 11 §2): what a providing body has registered of its residents' items, so the
// platform answers queries (queries.h) without asking the body each time. A replica belongs to the
// provider's own linkage code for the person (codes.h), never to a resident code, and holds item code
// → value: resident-register items (household composition, relationship) and local-tax items
// (taxable income, tax amounts).
//
// A registration is validated whole against the data standard layout in force on its day
// (DataLayouts::validate_items): one item that breaks a rule refuses it all, naming the item, the
// rule and the version, and nothing is written. It replaces the items it names and keeps the others;
// an empty value withdraws an item. Every check (the provider active, its code known) runs in the
// writer's transaction that writes. Thread-safe.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/date.h"
#include "common/status.h"
#include "linkage/layouts.h"
#include "store/database.h"
#include "store/writer.h"

namespace jlis::linkage {

using ItemValues = std::map<std::string, std::string>;  // item code → value
struct SignedMessage;  // signatures.h

class Replicas {
 public:
  static Status migrate(store::Connection& conn);

  // Not owned; all must outlive this.
  Replicas(store::Pool& pool, store::Writer& writer, const DataLayouts& layouts)
      : pool_(pool), writer_(writer), layouts_(layouts) {}

  // Registers `items` of the person `code` of `provider` on `today`; answers the layout version
  // that validated them. invalid_argument with the layout's message ("layout 2026.07: item TX001 is
  // not an integer (digits only)") and the rule's name in brackets ("[wrong-type]") for a bad item or
  // no items; not_found when `provider` has no such code or is not registered; permission_denied
  // when it was removed. `signed_by`: the registration as the provider signed it (signatures.h),
  // its signer checked and the message logged (kind "replica") in the transaction that writes.
  Result<std::string> put(const std::string& provider, const std::string& code, const ItemValues& items, Date today,
                          const SignedMessage* signed_by = nullptr);

  // Marks the person `code` of `provider` as answered live (自動応答不可: a DV case, a record under
  // review), or no longer: the platform then forwards each allowed query about the person to the
  // provider's own system (its endpoint, bodies.h) instead of reading the replica (queries.h).
  // conflict when `live` and the provider has no endpoint; not_found when it has no such
  // code or is not registered; permission_denied when removed. `signed_by` as put's (kind
  // "replica-live").
  Status set_live(const std::string& provider, const std::string& code, bool live,
                  const SignedMessage* signed_by = nullptr);
  // Whether `provider` answers the person `person_id` live, read on `conn`.
  static Result<bool> answered_live(store::Connection& conn, const std::string& provider, const std::string& person_id);

  // The registered `items` of the person `person_id` at `provider`, read on `conn` (the caller's
  // transaction); items not registered are absent.
  static Result<ItemValues> read(store::Connection& conn, const std::string& provider, const std::string& person_id,
                                 const std::vector<std::string>& items);

  // Sets the `owned` items of the person `person_id` at `provider` to `values` (an owned item absent
  // from `values` is withdrawn), validated by `version` (whose id is recorded), in the caller's
  // transaction `conn`; writes only what differs. Answers whether anything changed. For the platform's
  // own writers (record_replicas.h): no body or code is checked.
  static Result<bool> replace_owned(store::Connection& conn, const std::string& provider, const std::string& person_id,
                                    const ItemValues& values, const std::vector<std::string>& owned,
                                    const std::string& version, const std::string& now);
  // The providers holding items of the person, read on `conn`.
  static Result<std::vector<std::string>> providers_of(store::Connection& conn, const std::string& person_id);

  // Every item registered for the person `code` of `provider`.
  Result<ItemValues> get(const std::string& provider, const std::string& code);

 private:
  store::Pool& pool_;
  store::Writer& writer_;
  const DataLayouts& layouts_;
};

}  // namespace jlis::linkage
