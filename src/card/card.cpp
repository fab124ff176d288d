#include "card/card.h"

#include <array>

#include <nlohmann/json.hpp>

#include "common/enum_names.h"

namespace jlis::card {
namespace {

using nlohmann::json;

// One table per enum: the names in enum order.
constexpr std::array<std::string_view, 4> kChannels = {"post", "web", "photo_booth", "window"};
constexpr std::array<std::string_view, 4> kExpress = {"", "newborn", "reissue", "returnee"};
constexpr std::array<std::string_view, 5> kApplicationStatuses = {"accepted", "rejected", "shipped", "delivered",
                                                                  "cancelled"};
constexpr std::array<std::string_view, 6> kCardStatuses = {"shipped", "active", "suspended",
                                                           "lost",    "returned", "invalid"};
constexpr std::array<std::string_view, 2> kLossReasons = {"lost", "stolen"};
constexpr std::array<std::string_view, 6> kActions = {"handover", "suspend", "resume",
                                                     "report-lost", "return",  "pin-reset"};
constexpr std::array<std::string_view, 2> kSecrets = {"authentication_pin", "signature_password"};


json opt_date(const std::optional<Date>& d) { return d ? json(d->to_iso()) : json(nullptr); }
json express_json(Express e) { return e == Express::none ? json(nullptr) : json(express_name(e)); }

}  // namespace

std::string_view channel_name(Channel c) { return kChannels[static_cast<size_t>(c)]; }
Result<Channel> parse_channel(std::string_view t) { return parse_enum_name<Channel>(kChannels, t, "channel"); }
std::string_view express_name(Express e) { return kExpress[static_cast<size_t>(e)]; }
Result<Express> parse_express(std::string_view t) { return parse_enum_name<Express>(kExpress, t, "express"); }
std::string_view application_status_name(ApplicationStatus s) { return kApplicationStatuses[static_cast<size_t>(s)]; }
Result<ApplicationStatus> parse_application_status(std::string_view t) {
  return parse_enum_name<ApplicationStatus>(kApplicationStatuses, t, "application status");
}
std::string_view card_status_name(CardStatus s) { return kCardStatuses[static_cast<size_t>(s)]; }
Result<CardStatus> parse_card_status(std::string_view t) { return parse_enum_name<CardStatus>(kCardStatuses, t, "card status"); }
std::string_view loss_reason_name(LossReason r) { return kLossReasons[static_cast<size_t>(r)]; }
Result<LossReason> parse_loss_reason(std::string_view t) { return parse_enum_name<LossReason>(kLossReasons, t, "reason"); }
std::string_view card_action_name(CardAction a) { return kActions[static_cast<size_t>(a)]; }
Result<CardAction> parse_card_action(std::string_view t) { return parse_enum_name<CardAction>(kActions, t, "action"); }
std::string_view card_secret_name(CardSecret s) { return kSecrets[static_cast<size_t>(s)]; }
Result<CardSecret> parse_card_secret(std::string_view t) { return parse_enum_name<CardSecret>(kSecrets, t, "secret"); }

bool Application::late(Date today) const {
  return due_on && today > *due_on &&
         (status == ApplicationStatus::accepted || status == ApplicationStatus::shipped);
}

std::string_view Card::display_status(Date today) const {
  if ((status == CardStatus::active || status == CardStatus::suspended) && today > expires_on) return "expired";
  return card_status_name(status);
}

Result<ApplicationRequest> application_request_from_json(const json& j) {
  if (!j.is_object()) return invalid_argument("the application must be a JSON object");
  ApplicationRequest r;
  bool has_code = false, has_channel = false, has_photo = false;
  for (const auto& [k, v] : j.items()) {
    if (k == "photo") {
      if (!v.is_boolean()) return invalid_argument("photo must be true or false");
      r.photo = v.get<bool>();
      has_photo = true;
      continue;
    }
    if (v.is_null() && (k == "express" || k == "email")) continue;
    if (!v.is_string()) return invalid_argument(k + " must be a string");
    const std::string s = v.get<std::string>();
    if (k == "resident_code") {
      auto code = ResidentCode::parse(s);
      if (!code.ok()) return invalid_argument("resident_code must be 11 digits with a valid check digit");
      r.resident_code = *code;
      has_code = true;
    } else if (k == "channel") {
      JLIS_ASSIGN_OR_RETURN(r.channel, parse_channel(s));
      has_channel = true;
    } else if (k == "express") {
      JLIS_ASSIGN_OR_RETURN(r.express, parse_express(s));
    } else if (k == "email") {
      r.email = s;
    } else {
      return invalid_argument("unknown application field '" + k + "'");
    }
  }
  if (!has_code) return invalid_argument("resident_code is required");
  if (!has_channel) return invalid_argument("channel is required");
  if (!has_photo) return invalid_argument("photo is required (true or false)");
  return r;
}

json to_json(const Application& a, Date today) {
  json j = {{"application_id", a.application_id},
            {"resident_code", a.resident_code.str()},
            {"municipality_code", a.municipality_code.str()},
            {"channel", channel_name(a.channel)},
            {"photo", a.photo},
            {"express", express_json(a.express)},
            {"status", application_status_name(a.status)},
            {"applied_on", a.applied_on.to_iso()},
            {"due_on", opt_date(a.due_on)},
            {"shipped_on", opt_date(a.shipped_on)},
            {"delivered_on", opt_date(a.delivered_on)},
            {"card_id", a.card_id ? json(*a.card_id) : json(nullptr)},
            {"submitted_by", a.submitted_by}};
  if (a.express != Express::none) j["late"] = a.late(today);
  if (a.status == ApplicationStatus::rejected || a.status == ApplicationStatus::cancelled)
    j["reason"] = {{"code", code_name(a.reason_code)}, {"message", a.reason}};
  return j;
}

json to_json(const Card& c, Date today) {
  json history = json::array();
  for (const auto& e : c.history) {
    history.push_back({{"action", e.action}, {"date", e.date.to_iso()}, {"actor", e.actor},
                       {"note", e.note}, {"recorded_at", e.recorded_at}});
  }
  return {{"card_id", c.card_id},
          {"application_id", c.application_id},
          {"resident_code", c.resident_code.str()},
          {"municipality_code", c.municipality_code.str()},
          {"status", c.display_status(today)},
          {"express", express_json(c.express)},
          {"issued_on", c.issued_on.to_iso()},
          {"expires_on", c.expires_on.to_iso()},
          {"delivered_on", opt_date(c.delivered_on)},
          {"cert_expires_on", opt_date(c.cert_expires_on)},
          {"signature_certificate_allowed", c.signature_certificate_allowed},
          {"history", history}};
}

Result<CardKeys> card_keys_from_json(const json& j) {
  if (!j.is_object()) return invalid_argument("public_keys must be an object {\"signature\", \"authentication\"}");
  CardKeys keys;
  for (const auto& [k, v] : j.items()) {
    if (k != "signature" && k != "authentication")
      return invalid_argument("unknown field '" + k + "' in public_keys (signature, authentication)");
    if (!v.is_string() || v.get<std::string>().empty())
      return invalid_argument("public_keys." + k + " must be a PEM public key");
    (k == "signature" ? keys.signature : keys.authentication) = v.get<std::string>();
  }
  if (keys.signature.empty() && keys.authentication.empty()) return invalid_argument("public_keys is empty");
  return keys;
}

}  // namespace jlis::card
