// 個人番号カード管理システム: applications, production, handover, suspension, loss, return, the
// reaction to deaths in the register, and expiry notices. Records are in card.h, validity rules
// in validity.h, the HTTP API in routes.h, population generation in population.h.
//
// Who may do what (each refusal is permission_denied):
//   apply            the resident's municipality (any channel); the card centre for post, web and
//                    photo-booth applications (it runs the processing centre for them; an
//                    application at the window is the municipality's)
//   read application the municipality it was made to or that holds the resident now; the card
//                    centre
//   late listing     the card centre
//   read card        the resident's municipality, the card centre, the call centre
//   handover, return the resident's municipality ("the resident's" always means the municipality
//                    that holds the resident in the register now)
//   suspend, resume,
//   report lost      the call centre (24 hours)
//   produce, notices the operator (no principal: CLI on the data directory)
//
// Rules an application must meet; one that does not is recorded as rejected with its reason
// (ApplicationOutcome::rejection) and changes nothing else:
//   - the resident lives in Japan or abroad (since May 2024 people abroad keep and obtain cards;
//     their card goes to the municipality they left, which hands it over); not deceased, and not
//     in the middle of a move between municipalities (apply after the move-in);
//   - a photo, except for a child under 1 (cards of infants carry no photo);
//   - express newborn: under 1 year old; returnee: a move-in from abroad within the last year;
//     reissue: the resident's newest card was reported lost (report the loss first);
//   - no application already waiting for production, no card waiting for handover, and no
//     active or suspended card unless it expires within three months (renewal) or has expired.
// Requests that are not applications of a known resident at all (unknown resident: not_found,
// a caller who may not apply: permission_denied) are refused without a record.
//
// Decisions:
//   - Production ships in the same batch: an application goes accepted → shipped; the card is
//     created with status shipped, its history has "produced" and "shipped". Express applications
//     go first, then the oldest; the card goes to the municipality that held the resident when
//     they applied (a resident who moved since is handed it by the new one).
//   - A card id is 16 hex digits: 8 of the card's production sequence and 8 random. It is not
//     derived from anyone's data and cannot be enumerated; its ordered prefix keeps production
//     appending to the index (with fully random ids every new card dirtied a random index page).
//   - The card's validity counts from production (発行日, the day J-LIS makes the card, as the
//     rules and municipalities state it); the certificates' from the handover (see validity.h).
//   - A card reported lost is invalid at once and for good (its holder may apply for an express
//     reissue). A card that is found is returned to the municipality.
//   - When a new card is handed over, any other card of the resident still shipped, active or
//     suspended becomes invalid ("replaced by card ...").
//   - A death in the register invalidates the resident's shipped, active and suspended cards and
//     cancels an application waiting for production, in the death's own transaction. A move
//     abroad keeps the card only after the holder's continued-use procedure recorded on or before
//     the move date (request_continued_use); without it the move invalidates the current cards in
//     the move's own transaction (continued use abroad since May 2024).
//   - A change of name or address does not touch the card here (the card face update, 券面事項
//     変更, is the municipality's; the certificates' revocation is the CA's).
//   - Expiry notices of month M cover the active and suspended cards expiring in month M+2, so a
//     notice run at the start of a month reaches its holders two to three months ahead, inside
//     the renewal window. A letter to the registered address for residents in Japan, an e-mail
//     for residents abroad (to the address given when applying; noted missing when none was).
//     Each card and expiry gets one notice, however often the month is run.
//   - A resident who dies between the registry check and the commit of an application leaves an
//     accepted application behind; handover re-checks the register, so no card reaches anyone.
//
// Thread-safe. Reads use pooled connections; every change goes through the Writer and is
// committed before the call returns.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "auth/directory.h"
#include "card/card.h"
#include "registry/registry.h"
#include "store/database.h"
#include "store/writer.h"

namespace jlis::card {

// Hears every change to a card inside the transaction that makes it, on the writer's connection,
// so another component (the JPKI CA) acts atomically with it: a failure refuses the change. Runs
// for the API's operations and for generated populations alike.
using CardListener = std::function<Status(store::Connection& conn, const CardChange& change)>;
// Runs before a handover with keys is queued, on the caller's thread, outside any transaction,
// with the change the handover would make as a pooled connection reads the card and its holder
// (`expected`, whose `prepared` is null) and that holder. What it answers (possibly null) reaches
// the listeners as CardChange::prepared in the handover's transaction, which judges everything
// again. So the CA signs the card's certificates on the caller's thread, not in the writer.
using HandoverPreparer = std::function<std::shared_ptr<const HandoverPreparation>(
    const CardChange& expected, const registry::Resident& holder)>;

struct CardSystemOptions {
  // Today in Japan; Date::today when empty. Tests set it.
  std::function<Date()> clock = {};
  // Applications produced per writer job (one factory batch; the writer commits each batch, or
  // a few together). Large batches matter: each commit rewrites every page it dirtied, and new
  // cards land on random pages of the card-id index.
  size_t production_batch = 10000;
};

// The result of an application: recorded either way.
struct ApplicationOutcome {
  Application application = {};  // status accepted or rejected
  Status rejection = {};          // why it was rejected; ok when accepted
};

struct ProductionReport {
  int64_t produced = 0;   // cards produced and shipped
  int64_t express = 0;    // of which express
  int64_t batches = 0;    // writer transactions
  int64_t remaining = 0;  // applications still waiting
  double seconds = 0;
};

// The production queue as the operator console shows it.
struct ProductionQueue {
  int64_t waiting = 0;  // accepted applications waiting for production
  int64_t express = 0;  // of which express
  int64_t late = 0;     // express applications past their due date, not yet handed over
  std::vector<Application> head = {};  // the next to be produced, in production order
  std::vector<Application> late_applications = {};  // the late ones, oldest due first
};

enum class NoticeKind { letter, email };
std::string_view notice_kind_name(NoticeKind kind);  // "letter", "email"

// One expiry notice (有効期限通知書) to send.
struct ExpiryNotice {
  std::string card_id = {};
  ResidentCode resident_code = {};
  LocalGovernmentCode municipality_code = {};
  Date expires_on = {};
  NoticeKind kind = NoticeKind::letter;
  std::string name = {};     // letter: the addressee
  std::string address = {};  // letter: the registered address
  std::optional<std::string> email = {};  // e-mail: the address, when one was given
  bool email_missing = false;             // e-mail notice without an address to send it to
};

struct NoticeRun {
  Date covers_from = {}, covers_until = {};  // expiries in [from, until]
  std::vector<ExpiryNotice> notices = {};    // recorded by this run, to be sent
  int64_t already_recorded = 0;              // expiring cards noticed by an earlier run
};

// A card action or an application sent with an idempotency key (HTTP header Idempotency-Key),
// unique per caller. The first request under a key is performed and its answer recorded in the same
// transaction; the same request again (same fingerprint) is answered with that answer, whatever happened to the card since,
// and performs nothing; another request under the key is refused (conflict). Refused actions are not
// recorded: their retry is judged afresh.
struct KeyedRequest {
  std::string key = {};          // as the caller sent it: 1-128 printable ASCII characters
  std::string fingerprint = {};  // of the request: the card, the action and its canonical body
  // Set by the action: the answer (the card right after the first request, its JSON with history,
  // as the route answers it; for an application, the application's JSON as recorded, accepted or
  // rejected) and whether it is a replay (then the Card or the outcome returned is empty).
  std::string answer = {};
  bool replay = false;
};

class CardSystem {
 public:
  // Applies the card component's migrations (tables card_*).
  static Status migrate(store::Connection& conn);

  // All references must outlive the CardSystem.
  CardSystem(store::Pool& pool, store::Writer& writer, registry::Registry& registry, CardSystemOptions options = {});

  // Adds the registry listener that invalidates cards on death. Call once, before events flow.
  void attach(registry::Registry& registry);

  Date today() const;

  // Submits an application on behalf of `by`. Fails without a record for callers who may not
  // apply (permission_denied), unknown residents (not_found), a malformed e-mail
  // (invalid_argument); otherwise records it, accepted or rejected. With `keyed`, a retry of a
  // recorded application is answered with the first answer (keyed->replay), whatever changed since.
  Result<ApplicationOutcome> apply(const auth::Principal& by, const ApplicationRequest& request,
                                   KeyedRequest* keyed = nullptr);
  Result<Application> application(const auth::Principal& by, int64_t application_id);
  // Express applications past due and not handed over, oldest due first (card centre).
  Result<std::vector<Application>> late_applications(const auth::Principal& by, size_t limit = 100);
  // The queue's counts, its first `limit` applications (express first, then the oldest: the order
  // produce() takes) and the first `limit` late ones (the operator console; 1..1000). The counts
  // read the queue's and the due dates' partial indexes, not the whole table.
  Result<ProductionQueue> production_queue(size_t limit);

  // Produces up to `max_applications` accepted applications, express first, then oldest first,
  // `production_batch` per transaction; a new card per application, shipped to the municipality.
  // `progress` (optional) hears the count produced after each batch.
  Result<ProductionReport> produce(size_t max_applications,
                                   const std::function<void(int64_t produced)>& progress = {});

  Result<Card> card(const auth::Principal& by, const std::string& card_id);
  // The card as `conn`'s transaction sees it (no access check, no history): for a check that
  // guards a write of another component, inside that write's writer job. not_found when unknown.
  Result<Card> card(store::Connection& conn, const std::string& card_id);
  // Hands a shipped card over (交付): `identity_checked` is the municipality's confirmation that it
  // checked the holder's identity; without it the handover is refused (invalid_argument). `keys`
  // are the public keys the card generated for its certificates; listeners decide what they need.
  // Every check of the holder (alive, in Japan, registered in the caller's municipality) runs inside
  // the transaction that hands over. `keyed` (optional): see KeyedRequest.
  Result<Card> handover(const auth::Principal& by, const std::string& card_id, bool identity_checked,
                        const std::optional<CardKeys>& keys = std::nullopt, KeyedRequest* keyed = nullptr);
  // Suspension (一時停止); with `smartphone_too` the holder asked that the smartphone certificates
  // the card authorised be held as well (the CA puts the certificates on hold).
  Result<Card> suspend(const auth::Principal& by, const std::string& card_id, bool smartphone_too = false,
                       KeyedRequest* keyed = nullptr);
  Result<Card> resume(const auth::Principal& by, const std::string& card_id, KeyedRequest* keyed = nullptr);
  Result<Card> report_lost(const auth::Principal& by, const std::string& card_id, LossReason reason,
                           KeyedRequest* keyed = nullptr);
  // At the holder's municipality: checked inside the transaction that returns the card.
  Result<Card> return_card(const auth::Principal& by, const std::string& card_id, KeyedRequest* keyed = nullptr);

  // A secret of the chip set anew (暗証番号の再設定) at the holder's municipality, after the window
  // checked the holder's identity and its terminal wrote the new secret to the card: the card must be
  // active and unexpired, its holder the caller's resident (both checked in the transaction that
  // records it). A locked secret is unlocked only this way.
  Result<Card> reset_pin(const auth::Principal& by, const std::string& card_id, CardSecret secret,
                         KeyedRequest* keyed = nullptr);

  // The continued-use procedure of a resident about to move abroad, taken by the resident's
  // municipality or the call centre before departure, with the planned departure date. Without it,
  // the move abroad invalidates the card inside the move event's transaction.
  Status request_continued_use(const auth::Principal& by, const ResidentCode& resident, Date departure_on);

  // The card register of a municipality, for its operators: the cards shipped to it, oldest first,
  // at most `limit` (of `status` only, when given). Without history.
  Result<std::vector<Card>> shipped_to(const LocalGovernmentCode& municipality, std::optional<CardStatus> status,
                                       size_t limit);
  // How many cards are in each state (the operator console's figure): a count of the whole
  // register, so not for a path that runs often.
  Result<std::vector<std::pair<std::string, int64_t>>> count_by_status();
  // The resident's current card: active or suspended, not expired; nullopt when none.
  Result<std::optional<std::string>> current_card_id(const ResidentCode& resident);
  // Adds "card_id" (the current card, or null) to a resident's JSON; a registry::ResidentDecorator.
  void decorate(store::Connection& conn, const registry::Resident& resident, nlohmann::json& json);

  // Records and answers the expiry notices of `month` ("YYYY-MM"); see the decisions above.
  Result<NoticeRun> expiry_notices(const std::string& month);

  // Adds a listener for card changes (not thread-safe: call before serving).
  void add_listener(CardListener listener) { listeners_.push_back(std::move(listener)); }
  // Sets the one handover preparer (not thread-safe: call before serving).
  void set_handover_preparer(HandoverPreparer preparer) { preparer_ = std::move(preparer); }

  // Counters for /metrics.
  std::string metrics() const;

 private:
  friend struct Population;
  Result<Card> act(const auth::Principal& by, const std::string& card_id, CardAction action, const std::string& note,
                   KeyedRequest* keyed);
  // Runs `action` (on the writer's connection, in its transaction) for `by` under `keyed`: the replay
  // check first, then the action, then the answer recorded. Counts `counter` when performed.
  Result<Card> keyed_write(const auth::Principal& by, const std::string& card_id, KeyedRequest* keyed,
                           std::atomic<uint64_t>& counter,
                           const std::function<Result<Card>(store::Connection&)>& action);
  Result<Card> with_history(const std::string& card_id);
  // What the preparer makes for a handover of `card_id` on `on`, from a pooled reading; null when
  // there is no preparer or no keys, or the reading fails (the transaction then judges alone).
  std::shared_ptr<const HandoverPreparation> prepare_handover(const std::string& card_id, Date on,
                                                              const CardKeys* keys);
  // The card with its history, and its holder as the register has it now.
  Result<std::pair<Card, registry::Resident>> card_and_holder(const std::string& card_id);

  store::Pool& pool_;
  store::Writer& writer_;
  registry::Registry& registry_;
  CardSystemOptions options_;
  std::vector<CardListener> listeners_;
  HandoverPreparer preparer_;
  std::atomic<uint64_t> accepted_{0}, rejected_{0}, produced_{0}, handed_over_{0}, suspended_{0}, resumed_{0},
      lost_{0}, returned_{0}, invalidated_{0}, notices_{0}, pin_resets_{0};
};

}  // namespace jlis::card
