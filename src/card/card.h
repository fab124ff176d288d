// The records of the My Number card lifecycle (個人番号カード): applications (交付申請), cards and
// their history, and the JSON forms the API shows.
//
// Lifecycle of an application:  accepted → shipped → delivered      (or rejected, or cancelled)
//   accepted   valid, waiting in the production queue
//   rejected   invalid: recorded with its reason (statistics count applications, valid or not)
//   shipped    the factory produced the card and shipped it to the municipality in the same batch
//              (the card's history shows both steps; "produced" is never a resting state)
//   delivered  the card was handed over (交付) at the municipal window
//   cancelled  the resident died before production
//
// Lifecycle of a card:
//   shipped ──handover──▶ active ◀──resume── suspended
//                          │  └──suspend──▶ ┘  │
//                          └──report-lost──▶ lost ◀┘
//   shipped, active, suspended, lost, invalid ──return──▶ returned
//   shipped, active, suspended ──death of the holder, or a newer card handed over──▶ invalid
// "expired" is not stored: an active or suspended card past its expires_on shows as expired.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "common/date.h"
#include "common/identifiers.h"
#include "common/status.h"

namespace jlis::card {

// How the application reached J-LIS: by post, on the web, from a photo booth, or at the window
// of the resident's municipality (申請時来庁方式).
enum class Channel { post, web, photo_booth, window };
// Express issuance (特急発行, since December 2024), due within 7 days of the application.
enum class Express { none, newborn, reissue, returnee };
enum class ApplicationStatus { accepted, rejected, shipped, delivered, cancelled };
enum class CardStatus { shipped, active, suspended, lost, returned, invalid };
// Why a card was reported lost (紛失) or stolen (盗難).
enum class LossReason { lost, stolen };

std::string_view channel_name(Channel c);  // "post", "web", "photo_booth", "window"
Result<Channel> parse_channel(std::string_view text);
std::string_view express_name(Express e);  // "" for none, "newborn", "reissue", "returnee"
Result<Express> parse_express(std::string_view text);  // "newborn", "reissue", "returnee"
std::string_view application_status_name(ApplicationStatus s);
Result<ApplicationStatus> parse_application_status(std::string_view text);
std::string_view card_status_name(CardStatus s);
Result<CardStatus> parse_card_status(std::string_view text);
// The operations on a card, as the API names them.
enum class CardAction { handover, suspend, resume, report_lost, return_, pin_reset };
// The two secrets on the card's chip: the 4-digit PIN of the user-authentication key (locked after 3
// wrong tries) and the signature key's password of 6 to 16 characters (locked after 5).
enum class CardSecret { authentication_pin, signature_password };
std::string_view card_secret_name(CardSecret s);  // "authentication_pin", "signature_password"
Result<CardSecret> parse_card_secret(std::string_view text);

std::string_view loss_reason_name(LossReason r);  // "lost", "stolen"
Result<LossReason> parse_loss_reason(std::string_view text);
// "handover", "suspend", "resume", "report-lost", "return", "pin-reset"
std::string_view card_action_name(CardAction a);
Result<CardAction> parse_card_action(std::string_view text);

// An application as submitted.
struct ApplicationRequest {
  ResidentCode resident_code = {};
  Channel channel = Channel::post;
  bool photo = false;
  Express express = Express::none;
  // Where to send expiry notices while the resident lives abroad (optional).
  std::optional<std::string> email = {};
};

struct Application {
  int64_t application_id = 0;
  ResidentCode resident_code = {};
  LocalGovernmentCode municipality_code = {};  // the resident's municipality when applying
  Channel channel = Channel::post;
  bool photo = false;
  Express express = Express::none;
  ApplicationStatus status = ApplicationStatus::accepted;
  Code reason_code = Code::ok;  // rejected or cancelled: the kind of refusal
  std::string reason = {};      // rejected or cancelled: why
  Date applied_on = {};
  std::optional<Date> due_on = {};  // express only: applied_on + 7 days
  std::optional<Date> shipped_on = {};
  std::optional<Date> delivered_on = {};
  std::optional<std::string> card_id = {};  // once produced
  std::string submitted_by = {};            // "municipality:131016", "card-centre:..."

  // An express application past its due date and not yet handed over.
  bool late(Date today) const;
};

// One entry of a card's history.
struct CardEvent {
  std::string action = {};  // produced, shipped, handed_over, suspended, resumed, reported_lost,
                            // returned, invalidated
  Date date = {};
  std::string actor = {};        // "factory", "municipality:131016", "call-centre:...", "registry"
  std::string note = {};         // "stolen", "replaced by card ...", ...
  std::string recorded_at = {};  // ISO 8601 UTC
};

struct Card {
  // 16 lower-case hex digits: 8 of the production sequence, 8 random; derived from no one's data.
  std::string card_id = {};
  int64_t application_id = 0;
  ResidentCode resident_code = {};
  LocalGovernmentCode municipality_code = {};  // where it was shipped
  CardStatus status = CardStatus::shipped;
  Express express = Express::none;
  std::optional<std::string> email = {};  // from the application, for notices abroad
  // 発行日: the day J-LIS produced the card. The card's validity counts from it.
  Date issued_on = {};
  Date expires_on = {};  // valid through this day (see validity.h)
  // 交付日 and what the JPKI CA needs: set at handover, when the certificates are written.
  std::optional<Date> delivered_on = {};
  std::optional<Date> cert_expires_on = {};
  bool signature_certificate_allowed = false;  // 15 or over at handover
  std::vector<CardEvent> history = {};

  // The status as shown: "expired" for an active or suspended card past expires_on.
  std::string_view display_status(Date today) const;
  // Active and not expired: the card works.
  bool usable(Date today) const { return status == CardStatus::active && today <= expires_on; }
};

// The public keys that a card's chip generated at the window for its JPKI certificates, as PEM
// SubjectPublicKeyInfo (the private keys never leave the card). The signature key is absent for a
// holder under 15, who gets no signature certificate.
struct CardKeys {
  std::string signature = {};
  std::string authentication = {};
};
// {"signature": PEM, "authentication": PEM}: the card's public keys, at least one (the signature
// key is absent for a holder under 15). Only the shape is checked here; the CA parses them.
Result<CardKeys> card_keys_from_json(const nlohmann::json& json);

// A change to a card, as a CardListener (card_system.h) hears it.
// The note of a suspension that also holds the smartphone certificates the card authorised.
inline constexpr const char* kSuspendSmartphoneToo = "smartphone certificates too";

// What a listener made for a handover before it was queued (the CA's certificates, signed outside
// the single writer), handed back to it inside the handover's transaction as CardChange::prepared.
// Opaque to the card component; the listener judges in the transaction whether it still fits.
struct HandoverPreparation {
  virtual ~HandoverPreparation() = default;
};

struct CardChange {
  enum class Kind { handed_over, suspended, resumed, lost, stolen, returned, invalidated };
  Kind kind = Kind::handed_over;
  std::string card_id = {};
  ResidentCode resident_code = {};
  Date on = {};             // the day it happened
  std::string actor = {};   // as in CardEvent
  std::string note = {};    // invalidated: why ("replaced by card ...", "the holder died");
                            // suspended: kSuspendSmartphoneToo when the holder asked for it
  // handed_over only: what the CA needs to write the certificates onto the card.
  Date cert_expires_on = {};
  bool signature_certificate_allowed = false;
  const CardKeys* keys = nullptr;  // null when the handover carried no keys
  // What the handover preparer (CardSystem::set_handover_preparer) made before the handover was
  // queued; null when there is none. Never a substitute for a check inside the transaction.
  const HandoverPreparation* prepared = nullptr;
};

// JSON forms of the API.
// {"resident_code", "channel", "photo", "express" (optional), "email" (optional)}; no other fields.
Result<ApplicationRequest> application_request_from_json(const nlohmann::json& json);
nlohmann::json to_json(const Application& application, Date today);
nlohmann::json to_json(const Card& card, Date today);

}  // namespace jlis::card
