#include "card/card_system.h"

#include <algorithm>
#include <chrono>

#include <nlohmann/json.hpp>

#include "card/ledger.h"
#include "card/validity.h"
#include "common/clock.h"
#include "store/migrations.h"

namespace jlis::card {
namespace {

using auth::Role;
using store::Connection;
using store::Row;

std::string actor_of(const auth::Principal& p) { return std::string(auth::role_name(p.role)) + ":" + p.subject; }

bool valid_email(const std::string& e) {
  if (e.size() < 3 || e.size() > 254) return false;
  size_t at = e.find('@');
  if (at == 0 || at == std::string::npos || e.find('@', at + 1) != std::string::npos) return false;
  if (e.find('.', at) == std::string::npos || e.back() == '.') return false;
  return std::none_of(e.begin(), e.end(), [](unsigned char c) { return c <= ' ' || c == 0x7f; });
}

Status check_card_id(const std::string& id) {
  if (!internal::is_card_id(id)) return invalid_argument("a card id is 16 lower-case hexadecimal digits");
  return Status::ok();
}

// The card's holder as `conn`'s transaction sees the register; for a municipality, its own resident.
Result<registry::Resident> holder_in(Connection& conn, registry::Registry& registry, const auth::Principal& by,
                                     const std::string& card_id) {
  JLIS_ASSIGN_OR_RETURN(auto card, internal::load_card(conn, card_id, false));
  if (!card) return not_found("no card has the id " + card_id);
  JLIS_ASSIGN_OR_RETURN(auto resident, registry.get(conn, card->resident_code));
  if (by.role == Role::municipality && resident.municipality_code.str() != by.subject)
    return permission_denied("the resident is registered in another municipality");
  return resident;
}

}  // namespace

std::string_view notice_kind_name(NoticeKind kind) { return kind == NoticeKind::letter ? "letter" : "email"; }

Status CardSystem::migrate(Connection& conn) { return store::migrate(conn, "card", internal::kMigrations); }

CardSystem::CardSystem(store::Pool& pool, store::Writer& writer, registry::Registry& registry, CardSystemOptions options)
    : pool_(pool), writer_(writer), registry_(registry), options_(std::move(options)) {
  if (options_.production_batch == 0) options_.production_batch = 1;
}

using store::Params;

void CardSystem::attach(registry::Registry& registry) {
  registry.add_listener([this](Connection& conn, const registry::ChangeEvent& event,
                               const std::optional<registry::Resident>& before, const registry::Resident& after) {
    // A new resident code (住民票コードの変更): the holder's applications and cards follow it.
    if (event.type == registry::EventType::resident_code_change && before) {
      const Params codes = {static_cast<int64_t>(after.resident_code.body()),
                            static_cast<int64_t>(before->resident_code.body())};
      JLIS_RETURN_IF_ERROR(conn.execute("UPDATE card_applications SET resident_code = ? WHERE resident_code = ?", codes).status());
      return conn.execute("UPDATE card_cards SET resident_code = ? WHERE resident_code = ?", codes).status();
    }
    // A move abroad keeps the card only after the holder's continued-use procedure (since May 2024).
    if (event.type == registry::EventType::move_out && event.to == "abroad") {
      const internal::Stamp stamp{event.date, "registry", now_iso8601(), &listeners_};
      return internal::on_move_abroad(conn, after.resident_code, stamp);
    }
    if (event.type != registry::EventType::death) return Status::ok();
    Status s = internal::on_death(conn, after.resident_code, {event.date, "registry", now_iso8601(), &listeners_});
    if (s.is_ok()) ++invalidated_;
    return s;
  });
}

Date CardSystem::today() const { return options_.clock ? options_.clock() : Date::today(); }

Result<ApplicationOutcome> CardSystem::apply(const auth::Principal& by, const ApplicationRequest& req,
                                             KeyedRequest* keyed) {
  if (by.role == Role::card_centre) {
    if (req.channel == Channel::window)
      return permission_denied("an application at the window is taken by the resident's municipality");
  } else if (by.role != Role::municipality) {
    return permission_denied("only a municipality or the card centre may submit applications");
  }
  if (req.email && !valid_email(*req.email)) return invalid_argument("email is not an e-mail address");
  const std::string caller = actor_of(by);
  // A retry is answered first, before the resident is looked up again (it may have moved since);
  // the writer's transaction looks again, for a retry that raced its first request.
  if (keyed) {
    JLIS_ASSIGN_OR_RETURN(auto conn, pool_.acquire());
    JLIS_ASSIGN_OR_RETURN(const bool replay, internal::replay_keyed(*conn, caller, *keyed));
    if (replay) return ApplicationOutcome{};
  }
  // A municipality gets the same answer for an unknown code and another municipality's resident.
  // (A first read, for the express returnee's history; the writer's transaction reads again.)
  JLIS_ASSIGN_OR_RETURN(registry::Resident resident,
                        by.role == Role::municipality ? registry_.get_for_municipality(req.resident_code, by.subject)
                                                      : registry_.get(req.resident_code));
  internal::Holder holder = internal::holder_of(resident);
  if (req.express == Express::returnee) {
    JLIS_ASSIGN_OR_RETURN(auto history, registry_.history(req.resident_code));
    for (const auto& h : history) {
      if (h.type != registry::EventType::move_in) continue;
      auto e = nlohmann::json::parse(h.event_json, nullptr, false);
      if (e.is_object() && e.value("from", "") == "abroad") holder.returned_from_abroad_on = h.date;
    }
  }
  const internal::Stamp stamp{today(), caller, now_iso8601()};
  auto out = store::run_for<ApplicationOutcome>(writer_, [&](Connection& c) -> Result<ApplicationOutcome> {
    if (keyed) {
      JLIS_ASSIGN_OR_RETURN(const bool replay, internal::replay_keyed(c, caller, *keyed));
      if (replay) return ApplicationOutcome{};
    }
    // The holder again, as this transaction sees it: a death or a move committed since the read
    // above is judged here, where the application is written.
    JLIS_ASSIGN_OR_RETURN(registry::Resident now, registry_.get(c, req.resident_code));
    if (by.role == Role::municipality && now.municipality_code.str() != by.subject) return registry::unknown_resident();
    internal::Holder current = internal::holder_of(now);
    current.returned_from_abroad_on = holder.returned_from_abroad_on;
    JLIS_ASSIGN_OR_RETURN(ApplicationOutcome outcome, internal::apply(c, current, req, stamp));
    if (keyed) {
      keyed->answer = to_json(outcome.application, stamp.on).dump();
      JLIS_RETURN_IF_ERROR(internal::record_keyed_answer(c, caller, *keyed, "", keyed->answer, stamp.recorded_at));
    }
    return outcome;
  });
  if (out.ok() && !(keyed && keyed->replay)) ++(out->rejection.is_ok() ? accepted_ : rejected_);
  return out;
}

Status CardSystem::request_continued_use(const auth::Principal& by, const ResidentCode& resident, Date departure_on) {
  if (by.role != Role::municipality && by.role != Role::call_centre)
    return permission_denied("the continued-use procedure is taken by the resident's municipality or the call centre");
  if (by.role == Role::municipality) {
    JLIS_RETURN_IF_ERROR(registry_.get_for_municipality(resident, by.subject).status());
  }
  const internal::Stamp stamp{today(), actor_of(by), now_iso8601()};
  return writer_.run([&](Connection& c) { return internal::request_continued_use(c, resident, departure_on, stamp); });
}

Result<Application> CardSystem::application(const auth::Principal& by, int64_t id) {
  if (by.role != Role::card_centre && by.role != Role::municipality)
    return permission_denied("only a municipality or the card centre may read applications");
  std::optional<Application> a;
  {
    JLIS_ASSIGN_OR_RETURN(auto conn, pool_.acquire());
    JLIS_ASSIGN_OR_RETURN(a, internal::load_application(*conn, id));
  }
  if (!a) return not_found("no application has the id " + std::to_string(id));
  if (by.role == Role::municipality && a->municipality_code.str() != by.subject) {
    JLIS_ASSIGN_OR_RETURN(auto resident, registry_.get(a->resident_code));
    if (resident.municipality_code.str() != by.subject)
      return permission_denied("the resident is registered in another municipality");
  }
  return std::move(*a);
}

namespace {

// The applications with the ids `sql` selects (its parameters `params`), in that order.
Result<std::vector<Application>> applications_where(Connection& conn, const std::string& sql, const store::Params& params) {
  std::vector<int64_t> ids;
  JLIS_RETURN_IF_ERROR(conn.query(sql, params, [&](const Row& r) {
    ids.push_back(r.int64(0));
    return true;
  }));
  std::vector<Application> out;
  for (int64_t id : ids) {
    JLIS_ASSIGN_OR_RETURN(auto a, internal::load_application(conn, id));
    if (a) out.push_back(std::move(*a));
  }
  return out;
}

constexpr const char* kLate =
    "FROM card_applications WHERE status IN ('accepted', 'shipped') AND due_on IS NOT NULL AND due_on < ?";

}  // namespace

Result<std::vector<Application>> CardSystem::late_applications(const auth::Principal& by, size_t limit) {
  if (by.role != Role::card_centre) return permission_denied("the list of late applications is the card centre's");
  if (limit < 1 || limit > 1000) return invalid_argument("limit must be between 1 and 1000");
  JLIS_ASSIGN_OR_RETURN(auto conn, pool_.acquire());
  return applications_where(*conn, std::string("SELECT application_id ") + kLate + " ORDER BY due_on, application_id LIMIT ?",
                            {today().to_iso(), static_cast<int64_t>(limit)});
}

Result<ProductionQueue> CardSystem::production_queue(size_t limit) {
  if (limit < 1 || limit > 1000) return invalid_argument("limit must be between 1 and 1000");
  JLIS_ASSIGN_OR_RETURN(auto conn, pool_.acquire());
  ProductionQueue q;
  const std::string today_iso = today().to_iso();
  JLIS_RETURN_IF_ERROR(conn->query(
      "SELECT COUNT(*), COUNT(express) FROM card_applications WHERE status = 'accepted'", {}, [&](const Row& r) {
        q.waiting = r.int64(0);
        q.express = r.int64(1);
        return false;
      }));
  JLIS_ASSIGN_OR_RETURN(auto late, conn->query_int64(std::string("SELECT COUNT(*) ") + kLate, {today_iso}));
  q.late = late.value_or(0);
  JLIS_ASSIGN_OR_RETURN(q.head, applications_where(*conn,
                                                   "SELECT application_id FROM card_applications WHERE status = "
                                                   "'accepted' ORDER BY queue_rank, application_id LIMIT ?",
                                                   {static_cast<int64_t>(limit)}));
  JLIS_ASSIGN_OR_RETURN(q.late_applications,
                        applications_where(*conn, std::string("SELECT application_id ") + kLate +
                                                      " ORDER BY due_on, application_id LIMIT ?",
                                           {today_iso, static_cast<int64_t>(limit)}));
  return q;
}

Result<ProductionReport> CardSystem::produce(size_t max_applications, const std::function<void(int64_t)>& progress) {
  const auto started = std::chrono::steady_clock::now();
  const Date on = today();
  ProductionReport report;
  while (static_cast<size_t>(report.produced) < max_applications) {
    const size_t n = std::min(options_.production_batch, max_applications - static_cast<size_t>(report.produced));
    int64_t made = 0, express = 0;
    JLIS_RETURN_IF_ERROR(writer_.run([&](Connection& conn) {
      made = express = 0;  // the writer may run a job twice
      const internal::Stamp stamp{on, "factory", now_iso8601()};
      JLIS_ASSIGN_OR_RETURN(auto queued, internal::queue_head(conn, n));
      for (const auto& q : queued) {
        JLIS_RETURN_IF_ERROR(internal::produce(conn, q, stamp).status());
        ++made;
        if (q.express != Express::none) ++express;
      }
      return Status::ok();
    }));
    if (made == 0) break;
    report.produced += made;
    report.express += express;
    ++report.batches;
    produced_ += static_cast<uint64_t>(made);
    if (progress) progress(report.produced);
    if (static_cast<size_t>(made) < n) break;  // the queue is empty
  }
  JLIS_ASSIGN_OR_RETURN(auto conn, pool_.acquire());
  JLIS_ASSIGN_OR_RETURN(auto remaining,
                        conn->query_int64("SELECT COUNT(*) FROM card_applications WHERE status = 'accepted'"));
  report.remaining = remaining.value_or(0);
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return report;
}

Result<std::pair<Card, registry::Resident>> CardSystem::card_and_holder(const std::string& card_id) {
  JLIS_RETURN_IF_ERROR(check_card_id(card_id));
  std::optional<Card> card;
  {
    JLIS_ASSIGN_OR_RETURN(auto conn, pool_.acquire());
    JLIS_ASSIGN_OR_RETURN(card, internal::load_card(*conn, card_id, true));
  }
  if (!card) return not_found("no card has the id " + card_id);
  JLIS_ASSIGN_OR_RETURN(auto resident, registry_.get(card->resident_code));
  return std::pair{std::move(*card), std::move(resident)};
}

Result<Card> CardSystem::card(const auth::Principal& by, const std::string& card_id) {
  if (by.role != Role::card_centre && by.role != Role::call_centre && by.role != Role::municipality)
    return permission_denied("this role may not read cards");
  JLIS_ASSIGN_OR_RETURN(auto found, card_and_holder(card_id));
  if (by.role == Role::municipality && found.second.municipality_code.str() != by.subject)
    return permission_denied("the resident is registered in another municipality");
  return std::move(found.first);
}

Result<Card> CardSystem::card(store::Connection& conn, const std::string& card_id) {
  JLIS_RETURN_IF_ERROR(check_card_id(card_id));
  JLIS_ASSIGN_OR_RETURN(auto card, internal::load_card(conn, card_id, false));
  if (!card) return not_found("no card has the id " + card_id);
  return std::move(*card);
}

Result<Card> CardSystem::keyed_write(const auth::Principal& by, const std::string& card_id, KeyedRequest* keyed,
                                     std::atomic<uint64_t>& counter,
                                     const std::function<Result<Card>(Connection&)>& action) {
  const std::string caller = actor_of(by);
  const Date on = today();
  auto out = store::run_for<Card>(writer_, [&](Connection& c) -> Result<Card> {
    if (keyed) {
      JLIS_ASSIGN_OR_RETURN(const bool replay, internal::replay_keyed(c, caller, *keyed));
      if (replay) return Card{};
    }
    JLIS_ASSIGN_OR_RETURN(auto card, action(c));
    if (!keyed) return card;
    JLIS_ASSIGN_OR_RETURN(auto after, internal::load_card(c, card_id, true));
    if (!after) return internal_error("the card " + card_id + " vanished in its own transaction");
    keyed->answer = to_json(*after, on).dump();
    JLIS_RETURN_IF_ERROR(internal::record_keyed_answer(c, caller, *keyed, card_id, keyed->answer, now_iso8601()));
    return std::move(*after);
  });
  if (!out.ok()) return out;
  if (keyed) {
    if (!keyed->replay) ++counter;
    return out;
  }
  ++counter;
  return with_history(card_id);
}

Result<Card> CardSystem::handover(const auth::Principal& by, const std::string& card_id, bool identity_checked,
                                  const std::optional<CardKeys>& keys, KeyedRequest* keyed) {
  if (by.role != Role::municipality) return permission_denied("only the resident's municipality hands a card over");
  JLIS_RETURN_IF_ERROR(check_card_id(card_id));
  if (!identity_checked)
    return invalid_argument("the holder's identity must be checked before the handover (identity_checked: true)");
  const internal::Stamp stamp{today(), actor_of(by), now_iso8601(), &listeners_};
  const auto prepared = prepare_handover(card_id, stamp.on, keys ? &*keys : nullptr);
  return keyed_write(by, card_id, keyed, handed_over_, [&](Connection& c) -> Result<Card> {
    JLIS_ASSIGN_OR_RETURN(auto holder, holder_in(c, registry_, by, card_id));
    return internal::handover(c, card_id, internal::holder_of(holder), stamp, keys ? &*keys : nullptr,
                              prepared.get());
  });
}

std::shared_ptr<const HandoverPreparation> CardSystem::prepare_handover(const std::string& card_id, Date on,
                                                                        const CardKeys* keys) {
  if (!preparer_ || keys == nullptr) return nullptr;
  auto conn = pool_.acquire();
  if (!conn.ok()) return nullptr;
  auto card = internal::load_card(**conn, card_id, false);
  if (!card.ok() || !*card || (*card)->status != CardStatus::shipped) return nullptr;
  auto holder = registry_.get(**conn, (*card)->resident_code);
  if (!holder.ok()) return nullptr;
  conn->reset();  // not held while signing
  const CertificateValidity cert = certificate_validity(holder->person.date_of_birth, on, (*card)->expires_on);
  CardChange expected;
  expected.kind = CardChange::Kind::handed_over;
  expected.card_id = card_id;
  expected.resident_code = holder->resident_code;
  expected.on = on;
  expected.cert_expires_on = cert.expires_on;
  expected.signature_certificate_allowed = cert.signature_certificate_allowed;
  expected.keys = keys;
  return preparer_(expected, *holder);
}

Result<Card> CardSystem::act(const auth::Principal& by, const std::string& card_id, CardAction action,
                             const std::string& note, KeyedRequest* keyed) {
  const Role needed = action == CardAction::return_ ? Role::municipality : Role::call_centre;
  if (by.role != needed)
    return permission_denied(action == CardAction::return_ ? "cards are returned at the resident's municipality"
                                                           : "suspensions and loss reports go through the call centre");
  JLIS_RETURN_IF_ERROR(check_card_id(card_id));
  std::atomic<uint64_t>& counter = action == CardAction::suspend  ? suspended_
                                   : action == CardAction::resume ? resumed_
                                   : action == CardAction::report_lost ? lost_
                                                                       : returned_;
  const internal::Stamp stamp{today(), actor_of(by), now_iso8601(), &listeners_};
  return keyed_write(by, card_id, keyed, counter, [&](Connection& c) -> Result<Card> {
    if (needed == Role::municipality) JLIS_RETURN_IF_ERROR(holder_in(c, registry_, by, card_id).status());
    return internal::transition(c, card_id, action, stamp, note);
  });
}

Result<Card> CardSystem::with_history(const std::string& card_id) {
  JLIS_ASSIGN_OR_RETURN(auto conn, pool_.acquire());
  JLIS_ASSIGN_OR_RETURN(auto card, internal::load_card(*conn, card_id, true));
  if (!card) return not_found("no card has the id " + card_id);
  return std::move(*card);
}

Result<Card> CardSystem::suspend(const auth::Principal& by, const std::string& card_id, bool smartphone_too,
                                 KeyedRequest* keyed) {
  return act(by, card_id, CardAction::suspend, smartphone_too ? kSuspendSmartphoneToo : "", keyed);
}

Result<Card> CardSystem::resume(const auth::Principal& by, const std::string& card_id, KeyedRequest* keyed) {
  return act(by, card_id, CardAction::resume, "", keyed);
}

Result<Card> CardSystem::report_lost(const auth::Principal& by, const std::string& card_id, LossReason reason,
                                     KeyedRequest* keyed) {
  return act(by, card_id, CardAction::report_lost, std::string(loss_reason_name(reason)), keyed);
}

Result<Card> CardSystem::reset_pin(const auth::Principal& by, const std::string& card_id, CardSecret secret,
                                   KeyedRequest* keyed) {
  if (by.role != Role::municipality) return permission_denied("a card's secrets are reset at the holder's municipality");
  JLIS_RETURN_IF_ERROR(check_card_id(card_id));
  const internal::Stamp stamp{today(), actor_of(by), now_iso8601(), &listeners_};
  return keyed_write(by, card_id, keyed, pin_resets_, [&](Connection& c) -> Result<Card> {
    JLIS_RETURN_IF_ERROR(holder_in(c, registry_, by, card_id).status());
    return internal::reset_pin(c, card_id, secret, stamp);
  });
}

Result<Card> CardSystem::return_card(const auth::Principal& by, const std::string& card_id, KeyedRequest* keyed) {
  return act(by, card_id, CardAction::return_, "", keyed);
}

Result<std::vector<std::pair<std::string, int64_t>>> CardSystem::count_by_status() {
  JLIS_ASSIGN_OR_RETURN(auto conn, pool_.acquire());
  std::vector<std::pair<std::string, int64_t>> out;
  JLIS_RETURN_IF_ERROR(conn->query("SELECT status, COUNT(*) FROM card_cards GROUP BY status ORDER BY status", {},
                                   [&](const store::Row& r) {
                                     out.emplace_back(r.text(0), r.int64(1));
                                     return true;
                                   }));
  return out;
}

Result<std::vector<Card>> CardSystem::shipped_to(const LocalGovernmentCode& municipality,
                                                 std::optional<CardStatus> status, size_t limit) {
  JLIS_ASSIGN_OR_RETURN(auto conn, pool_.acquire());
  return internal::cards_shipped_to(*conn, municipality, status, limit);
}

Result<std::optional<std::string>> CardSystem::current_card_id(const ResidentCode& resident) {
  JLIS_ASSIGN_OR_RETURN(auto conn, pool_.acquire());
  return internal::current_card_id(*conn, resident, today());
}

void CardSystem::decorate(store::Connection& conn, const registry::Resident& resident, nlohmann::json& json) {
  auto id = internal::current_card_id(conn, resident.resident_code, today());
  json["card_id"] = id.ok() && *id ? nlohmann::json(**id) : nlohmann::json(nullptr);
}

Result<NoticeRun> CardSystem::expiry_notices(const std::string& month) {
  JLIS_ASSIGN_OR_RETURN(const Date first, Date::parse_month(month));
  NoticeRun run;
  run.covers_from = add_months(first, 2);
  run.covers_until = add_months(first, 3).add_days(-1);
  const store::Params range = {run.covers_from.to_iso(), run.covers_until.to_iso()};
  std::vector<ExpiryNotice> candidates;
  {
    JLIS_ASSIGN_OR_RETURN(auto conn, pool_.acquire());
    JLIS_RETURN_IF_ERROR(conn->query(
        "SELECT c.card_id, c.resident_code, c.expires_on, c.email FROM card_cards c "
        "WHERE c.expires_on >= ? AND c.expires_on <= ? AND c.delivered_on IS NOT NULL "
        "AND c.status IN ('active', 'suspended') AND NOT EXISTS "
        "(SELECT 1 FROM card_notices n WHERE n.card_id = c.card_id AND n.expires_on = c.expires_on) "
        "ORDER BY c.expires_on, c.card_id",
        range, [&](const Row& r) {
          ExpiryNotice n;
          n.card_id = r.text(0);
          n.resident_code = ResidentCode::from_body(static_cast<uint64_t>(r.int64(1)));
          n.expires_on = Date::parse_iso(r.text(2)).value();
          n.email = r.optional_text(3);
          candidates.push_back(std::move(n));
          return true;
        }));
  }
  for (auto& n : candidates) {
    JLIS_ASSIGN_OR_RETURN(auto resident, registry_.get(n.resident_code));
    n.municipality_code = resident.municipality_code;
    if (resident.status == registry::ResidentStatus::abroad) {
      n.kind = NoticeKind::email;
      n.email_missing = !n.email;
    } else {
      n.kind = NoticeKind::letter;
      n.name = resident.person.name;
      n.address = resident.person.address;
      n.email.reset();
    }
  }
  // Recording decides: a notice that another run recorded in the meantime is not sent twice.
  const std::string at = now_iso8601();
  std::vector<bool> fresh(candidates.size(), false);
  JLIS_RETURN_IF_ERROR(writer_.run([&](Connection& conn) {
    for (size_t i = 0; i < candidates.size(); ++i) {
      const auto& n = candidates[i];
      JLIS_ASSIGN_OR_RETURN(auto changed, conn.execute(
          "INSERT INTO card_notices (card_id, expires_on, month, kind, recorded_at) VALUES (?, ?, ?, ?, ?) "
          "ON CONFLICT (card_id, expires_on) DO NOTHING",
          {n.card_id, n.expires_on.to_iso(), month, std::string(notice_kind_name(n.kind)), at}));
      fresh[i] = changed == 1;
    }
    return Status::ok();
  }));
  for (size_t i = 0; i < candidates.size(); ++i)
    if (fresh[i]) run.notices.push_back(std::move(candidates[i]));
  JLIS_ASSIGN_OR_RETURN(auto conn, pool_.acquire());
  JLIS_ASSIGN_OR_RETURN(auto total, conn->query_int64(
      "SELECT COUNT(*) FROM card_notices WHERE expires_on >= ? AND expires_on <= ?", range));
  run.already_recorded = total.value_or(0) - static_cast<int64_t>(run.notices.size());
  notices_ += run.notices.size();
  return run;
}

std::string CardSystem::metrics() const {
  auto line = [](const char* op, const std::atomic<uint64_t>& n) {
    return std::string("jlis_card_operations_total{operation=\"") + op + "\"} " + std::to_string(n.load()) + "\n";
  };
  return "# TYPE jlis_card_operations_total counter\n" + line("application_accepted", accepted_) +
         line("application_rejected", rejected_) + line("produced", produced_) + line("handover", handed_over_) +
         line("suspend", suspended_) + line("resume", resumed_) + line("report_lost", lost_) +
         line("return", returned_) + line("death", invalidated_) + line("expiry_notice", notices_) +
         line("pin_reset", pin_resets_);
}

}  // namespace jlis::card
