// Private to the card component: the lifecycle rules and their SQL, run on the writer's connection
// inside one job. CardSystem (the API: callers, clock, register reads) and the population generator
// (back-dated histories) both change records only through these functions, so every record obeys
// the same rules whoever made it.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "card/card_system.h"
#include "registry/resident.h"
#include "store/database.h"
#include "store/migrations.h"

namespace jlis::card::internal {

extern const std::vector<store::Migration> kMigrations;

// What the rules need to know of a resident, read from the register before the job.
struct Holder {
  ResidentCode resident_code = {};
  Date date_of_birth = {};
  LocalGovernmentCode municipality_code = {};
  registry::ResidentStatus status = registry::ResidentStatus::resident;
  std::optional<Date> returned_from_abroad_on = {};  // latest move-in from abroad (express returnee)
};
Holder holder_of(const registry::Resident& resident);

// When (the day the rules apply to) and by whom an operation happens.
struct Stamp {
  Date on = {};
  std::string actor = {};
  std::string recorded_at = {};  // ISO 8601 UTC
  const std::vector<CardListener>* listeners = nullptr;  // who hears the changes made (may be null)
};

// Checks the application against the holder and the resident's cards and records it, accepted or
// rejected. Fails only when the database does.
Result<ApplicationOutcome> apply(store::Connection& conn, const Holder& holder, const ApplicationRequest& request,
                                 const Stamp& stamp);

// An accepted application as production needs it.
struct Queued {
  int64_t application_id = 0;
  ResidentCode resident_code = {};
  LocalGovernmentCode municipality_code = {};
  Express express = Express::none;
  Date date_of_birth = {};
  Date applied_on = {};
  std::optional<std::string> email = {};
};
// The next `limit` accepted applications in production order: express first, then oldest first.
Result<std::vector<Queued>> queue_head(store::Connection& conn, size_t limit);
// Produces the card of a queued application and ships it; answers the new card id.
Result<std::string> produce(store::Connection& conn, const Queued& queued, const Stamp& stamp);

// The card operations answer the card as it is after them, without its history.
Result<Card> handover(store::Connection& conn, const std::string& card_id, const Holder& holder, const Stamp& stamp,
                      const CardKeys* keys = nullptr, const HandoverPreparation* prepared = nullptr);
// suspend, resume, report_lost (note: the loss reason), return_.
Result<Card> transition(store::Connection& conn, const std::string& card_id, CardAction action, const Stamp& stamp,
                        const std::string& note);
// A secret of the chip set anew at the holder's municipality: an active, unexpired card only;
// recorded as the card's event "pin_reset" with the secret's name as its note. The status is unchanged.
Result<Card> reset_pin(store::Connection& conn, const std::string& card_id, CardSecret secret, const Stamp& stamp);
// The death of the holder: invalidates current cards, cancels a waiting application.
Status on_death(store::Connection& conn, const ResidentCode& resident, const Stamp& stamp);
// The holder's continued-use procedure before a move abroad (国外転出者による継続利用): records the
// planned departure date. conflict when the resident no longer lives in Japan or the date has passed.
Status request_continued_use(store::Connection& conn, const ResidentCode& resident, Date departure_on,
                             const Stamp& stamp);
// A move abroad dated stamp.on: without a procedure recorded on or before that date, the current cards
// are invalidated (and their listeners, the CA, revoke the certificates).
Status on_move_abroad(store::Connection& conn, const ResidentCode& resident, const Stamp& stamp);

// Idempotency first: when `caller` made the same request (key and fingerprint) before, sets
// keyed.answer to the answer recorded then, keyed.replay, and answers true; false (replay unset)
// when the key is new; conflict when the key was used for another request.
Result<bool> replay_keyed(store::Connection& conn, const std::string& caller, KeyedRequest& keyed);
// Records the answer given to a keyed request (in the transaction of the action it answers);
// `card_id` is the card acted on, "" for an application.
Status record_keyed_answer(store::Connection& conn, const std::string& caller, const KeyedRequest& keyed,
                           const std::string& card_id, const std::string& answer, const std::string& recorded_at);

Result<std::optional<Application>> load_application(store::Connection& conn, int64_t application_id);
Result<std::optional<Card>> load_card(store::Connection& conn, const std::string& card_id, bool with_history);
// The cards shipped to `municipality`, oldest first, at most `limit`; of `status` only when given.
Result<std::vector<Card>> cards_shipped_to(store::Connection& conn, const LocalGovernmentCode& municipality,
                                           std::optional<CardStatus> status, size_t limit);
Result<std::optional<std::string>> current_card_id(store::Connection& conn, const ResidentCode& resident, Date today);

// True for 16 lower-case hex digits.
bool is_card_id(const std::string& text);

}  // namespace jlis::card::internal
