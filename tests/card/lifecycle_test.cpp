// Every state transition of applications and cards, and every refusal leaving the records unchanged.
#include <chrono>
#include <future>
#include <thread>

#include <nlohmann/json.hpp>

#include "fixture.h"
#include "store/migrations.h"

namespace jlis::card::testing {
namespace {

using registry::EventType;

TEST_F(CardTest, ApplyProduceShipHandover) {
  auto r = born("b1", "1990-04-01");
  auto a = accepted(request(r.resident_code));
  EXPECT_GT(a.application_id, 0);
  EXPECT_EQ(a.status, ApplicationStatus::accepted);
  EXPECT_EQ(a.applied_on, today_);
  EXPECT_FALSE(a.due_on.has_value());
  EXPECT_EQ(a.municipality_code, lg(kChiyoda));
  EXPECT_EQ(a.submitted_by, "card-centre:centre");

  today_ = date("2025-06-20");
  auto report = cards_->produce(SIZE_MAX);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->produced, 1);
  EXPECT_EQ(report->remaining, 0);
  auto shipped = cards_->application(card_centre(), a.application_id).value();
  EXPECT_EQ(shipped.status, ApplicationStatus::shipped);
  EXPECT_EQ(shipped.shipped_on, today_);
  ASSERT_TRUE(shipped.card_id.has_value());
  EXPECT_EQ(shipped.card_id->size(), 16u);
  Card c = card(*shipped.card_id);
  EXPECT_EQ(c.status, CardStatus::shipped);
  EXPECT_EQ(c.resident_code, r.resident_code);
  EXPECT_EQ(c.issued_on, today_);
  EXPECT_EQ(c.expires_on, date("2035-04-01"));
  ASSERT_EQ(c.history.size(), 2u);
  EXPECT_EQ(c.history[0].action, "produced");
  EXPECT_EQ(c.history[1].action, "shipped");
  EXPECT_EQ(c.history[1].actor, "factory");
  // Shipped is not yet the resident's card.
  EXPECT_FALSE(cards_->current_card_id(r.resident_code)->has_value());

  today_ = date("2025-06-25");
  auto active = cards_->handover(municipality(), c.card_id, true);
  ASSERT_TRUE(active.ok()) << active.status().to_string();
  EXPECT_EQ(active->status, CardStatus::active);
  EXPECT_EQ(active->delivered_on, today_);
  EXPECT_EQ(active->history.back().action, "handed_over");
  EXPECT_EQ(active->history.back().actor, "municipality:131016");
  EXPECT_TRUE(active->usable(today_));
  auto delivered = cards_->application(municipality(), a.application_id).value();
  EXPECT_EQ(delivered.status, ApplicationStatus::delivered);
  EXPECT_EQ(delivered.delivered_on, today_);
  EXPECT_EQ(cards_->current_card_id(r.resident_code)->value_or(""), c.card_id);

  nlohmann::json j = registry::to_json(r);
  cards_->decorate(*pool_->acquire().value(), r, j);
  EXPECT_EQ(j["card_id"], c.card_id);
}

TEST_F(CardTest, HandoverRefusals) {
  auto r = born("b1", "1990-04-01");
  std::string id = produced(accepted(request(r.resident_code)).application_id);
  const std::string before = state();
  EXPECT_EQ(cards_->handover(municipality(), id, false).status().code(), Code::invalid_argument);
  EXPECT_EQ(cards_->handover(municipality(kChuo), id, true).status().code(), Code::permission_denied);
  EXPECT_EQ(cards_->handover(call_centre(), id, true).status().code(), Code::permission_denied);
  EXPECT_EQ(cards_->handover(card_centre(), id, true).status().code(), Code::permission_denied);
  EXPECT_EQ(cards_->handover(municipality(), "0123456789abcdef", true).status().code(), Code::not_found);
  EXPECT_EQ(cards_->handover(municipality(), "not-a-card", true).status().code(), Code::invalid_argument);
  EXPECT_EQ(state(), before);
  ASSERT_TRUE(cards_->handover(municipality(), id, true).ok());
  const std::string after = state();
  auto again = cards_->handover(municipality(), id, true);
  EXPECT_EQ(again.status().code(), Code::conflict);
  EXPECT_NE(again.status().message().find("active"), std::string::npos) << again.status().message();
  EXPECT_EQ(state(), after);
}

TEST_F(CardTest, AResidentWhoMovedIsHandedTheCardByTheNewMunicipality) {
  auto r = born("b1", "1990-04-01");
  std::string id = produced(accepted(request(r.resident_code)).application_id);
  auto out = event("m1", EventType::move_out, "2025-06-01", r.resident_code);
  out.to = kChuo;
  ASSERT_TRUE(change(kChiyoda, out).is_ok());
  // Mid-move: nobody hands it over.
  auto moving = cards_->handover(municipality(), id, true);
  EXPECT_EQ(moving.status().code(), Code::conflict) << moving.status().to_string();
  auto in = event("m2", EventType::move_in, "2025-06-02", r.resident_code);
  in.from = kChiyoda;
  in.address = "東京都中央区銀座一丁目2番3号";
  in.name = "山田　花子";
  in.date_of_birth = date("1990-04-01");
  in.sex = registry::Sex::female;
  ASSERT_TRUE(change(kChuo, in).is_ok());
  EXPECT_EQ(cards_->handover(municipality(), id, true).status().code(), Code::permission_denied);
  EXPECT_TRUE(cards_->handover(municipality(kChuo), id, true).ok());
}

TEST_F(CardTest, SuspendResumeLossAndReturn) {
  auto r = born("b1", "1990-04-01");
  Card c = issued(r);
  const std::string id = c.card_id;

  // Only the call centre suspends; refusals change nothing.
  std::string before = state();
  EXPECT_EQ(cards_->suspend(municipality(), id).status().code(), Code::permission_denied);
  EXPECT_EQ(cards_->resume(call_centre(), id).status().code(), Code::conflict);  // not suspended
  EXPECT_EQ(cards_->suspend(call_centre(), "ffffffffffffffff").status().code(), Code::not_found);
  EXPECT_EQ(state(), before);

  auto suspended = cards_->suspend(call_centre(), id);
  ASSERT_TRUE(suspended.ok()) << suspended.status().to_string();
  EXPECT_EQ(suspended->status, CardStatus::suspended);
  EXPECT_EQ(suspended->history.back().action, "suspended");
  EXPECT_EQ(suspended->history.back().actor, "call-centre:calls");
  EXPECT_FALSE(suspended->usable(today_));
  EXPECT_EQ(cards_->current_card_id(r.resident_code)->value_or(""), id);  // still the resident's card
  before = state();
  EXPECT_EQ(cards_->suspend(call_centre(), id).status().code(), Code::conflict);
  EXPECT_EQ(state(), before);

  auto resumed = cards_->resume(call_centre(), id);
  ASSERT_TRUE(resumed.ok());
  EXPECT_EQ(resumed->status, CardStatus::active);
  EXPECT_EQ(cards_->resume(municipality(), id).status().code(), Code::permission_denied);

  auto stolen = cards_->report_lost(call_centre(), id, LossReason::stolen);
  ASSERT_TRUE(stolen.ok());
  EXPECT_EQ(stolen->status, CardStatus::lost);
  EXPECT_EQ(stolen->history.back().action, "reported_lost");
  EXPECT_EQ(stolen->history.back().note, "stolen");
  EXPECT_FALSE(cards_->current_card_id(r.resident_code)->has_value());
  before = state();
  EXPECT_EQ(cards_->resume(call_centre(), id).status().code(), Code::conflict);
  EXPECT_EQ(cards_->suspend(call_centre(), id).status().code(), Code::conflict);
  EXPECT_EQ(cards_->report_lost(call_centre(), id, LossReason::lost).status().code(), Code::conflict);
  EXPECT_EQ(cards_->report_lost(municipality(), id, LossReason::lost).status().code(), Code::permission_denied);
  EXPECT_EQ(cards_->return_card(call_centre(), id).status().code(), Code::permission_denied);
  EXPECT_EQ(cards_->return_card(municipality(kChuo), id).status().code(), Code::permission_denied);
  EXPECT_EQ(state(), before);

  // A lost card that is found comes back to the municipality.
  auto returned = cards_->return_card(municipality(), id);
  ASSERT_TRUE(returned.ok()) << returned.status().to_string();
  EXPECT_EQ(returned->status, CardStatus::returned);
  before = state();
  EXPECT_EQ(cards_->return_card(municipality(), id).status().code(), Code::conflict);
  EXPECT_EQ(state(), before);
  std::vector<std::string> actions;
  for (const auto& e : card(id).history) actions.push_back(e.action);
  EXPECT_EQ(actions, (std::vector<std::string>{"produced", "shipped", "handed_over", "suspended", "resumed",
                                               "reported_lost", "returned"}));
}

TEST_F(CardTest, ReturnOfAnActiveCard) {
  auto r = born("b1", "1990-04-01");
  Card c = issued(r);
  auto returned = cards_->return_card(municipality(), c.card_id);
  ASSERT_TRUE(returned.ok());
  EXPECT_EQ(returned->status, CardStatus::returned);
  EXPECT_FALSE(cards_->current_card_id(r.resident_code)->has_value());
  // With no card, a new ordinary application is accepted.
  accepted(request(r.resident_code));
}

TEST_F(CardTest, ReissueAfterALossReport) {
  auto r = born("b1", "1990-04-01");
  Card old = issued(r);
  // Reissue while the card is active: rejected, recorded, nothing else changes.
  rejected(request(r.resident_code, Express::reissue), Code::conflict);
  // An ordinary application too: the card is valid for years.
  rejected(request(r.resident_code), Code::conflict);
  EXPECT_EQ(count("SELECT COUNT(*) FROM card_applications WHERE status = 'rejected'"), 2);
  ASSERT_TRUE(cards_->suspend(call_centre(), old.card_id).ok());
  rejected(request(r.resident_code, Express::reissue), Code::conflict);  // suspended, not reported lost
  ASSERT_TRUE(cards_->report_lost(call_centre(), old.card_id, LossReason::lost).ok());

  today_ = date("2025-07-01");
  auto a = accepted(request(r.resident_code, Express::reissue));
  EXPECT_EQ(a.express, Express::reissue);
  EXPECT_EQ(a.due_on, date("2025-07-08"));
  // A second application while one waits is rejected.
  rejected(request(r.resident_code, Express::reissue), Code::conflict);
  std::string id = produced(a.application_id);
  EXPECT_EQ(card(id).express, Express::reissue);
  // While the new card waits for handover, no other application.
  rejected(request(r.resident_code), Code::conflict);
  ASSERT_TRUE(cards_->handover(municipality(), id, true).ok());
  EXPECT_EQ(card(old.card_id).status, CardStatus::lost);
  EXPECT_EQ(cards_->current_card_id(r.resident_code)->value_or(""), id);
}

TEST_F(CardTest, RejectedApplicationsAreRecordedWithTheirReason) {
  auto r = born("b1", "1990-04-01");
  auto no_photo = rejected(request(r.resident_code, Express::none, false), Code::invalid_argument);
  EXPECT_NE(no_photo.reason.find("photo"), std::string::npos) << no_photo.reason;
  auto stored = cards_->application(card_centre(), no_photo.application_id).value();
  EXPECT_EQ(stored.status, ApplicationStatus::rejected);
  EXPECT_EQ(stored.reason_code, Code::invalid_argument);
  EXPECT_EQ(stored.reason, no_photo.reason);
  EXPECT_FALSE(stored.due_on.has_value());
  // Rejected applications are never produced.
  EXPECT_EQ(cards_->produce(SIZE_MAX)->produced, 0);

  rejected(request(r.resident_code, Express::newborn), Code::conflict);   // 35 years old
  rejected(request(r.resident_code, Express::returnee), Code::conflict);  // never abroad
  EXPECT_EQ(count("SELECT COUNT(*) FROM card_applications WHERE status = 'rejected'"), 3);
  EXPECT_EQ(count("SELECT COUNT(*) FROM card_cards"), 0);

  // Not applications at all: refused without a record.
  const std::string before = state();
  auto other = cards_->apply(municipality(kChuo), request(r.resident_code));
  EXPECT_EQ(other.status().code(), Code::not_found);  // as an unknown code
  EXPECT_EQ(cards_->apply(call_centre(), request(r.resident_code)).status().code(), Code::permission_denied);
  EXPECT_EQ(cards_->apply(card_centre(), request(r.resident_code, Express::none, true, Channel::window)).status().code(),
            Code::permission_denied);
  EXPECT_EQ(cards_->apply(card_centre(), request(ResidentCode::from_body(1234567890))).status().code(),
            Code::not_found);
  auto bad_mail = request(r.resident_code);
  bad_mail.email = "not an address";
  EXPECT_EQ(cards_->apply(card_centre(), bad_mail).status().code(), Code::invalid_argument);
  EXPECT_EQ(state(), before);

  // The municipality takes applications at its window.
  auto window = cards_->apply(municipality(), request(r.resident_code, Express::none, true, Channel::window));
  ASSERT_TRUE(window.ok());
  EXPECT_TRUE(window->rejection.is_ok());
  EXPECT_EQ(window->application.submitted_by, "municipality:131016");
}

TEST_F(CardTest, InfantsApplyWithoutAPhotoAndExpressNewborn) {
  auto baby = born("b1", "2025-05-20");
  auto a = accepted(request(baby.resident_code, Express::newborn, false));
  EXPECT_EQ(a.due_on, today_.add_days(7));
  // On the first birthday, no longer a newborn, and a photo is needed.
  auto one = born("b2", "2024-06-02");
  rejected(request(one.resident_code, Express::newborn), Code::conflict);
  rejected(request(one.resident_code, Express::none, false), Code::invalid_argument);
  auto almost = born("b3", "2024-06-03");
  accepted(request(almost.resident_code, Express::newborn, false));
}

TEST_F(CardTest, ReturneesFromAbroad) {
  auto r = born("b1", "1990-04-01");
  auto out = event("a1", EventType::move_out, "2024-01-10", r.resident_code);
  out.to = "abroad";
  out.address_abroad = "1 Rue de Rivoli, Paris";
  ASSERT_TRUE(change(kChiyoda, out).is_ok());
  // Abroad: a returnee application is too early.
  rejected(request(r.resident_code, Express::returnee), Code::conflict);
  auto back = event("a2", EventType::move_in, "2025-05-30", r.resident_code);
  back.from = "abroad";
  back.address = "東京都中央区銀座一丁目1番1号";
  back.name = "山田　花子";
  back.date_of_birth = date("1990-04-01");
  back.sex = registry::Sex::female;
  ASSERT_TRUE(change(kChuo, back).is_ok());
  auto a = cards_->apply(municipality(kChuo), request(r.resident_code, Express::returnee));
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(a->rejection.is_ok()) << a->rejection.to_string();
  EXPECT_EQ(a->application.due_on, today_.add_days(7));
  // A year after the return, it is no longer express.
  auto r2 = born("b2", "1990-04-01");
  auto out2 = event("a3", EventType::move_out, "2022-01-10", r2.resident_code);
  out2.to = "abroad";
  out2.address_abroad = "Berlin";
  ASSERT_TRUE(change(kChiyoda, out2).is_ok());
  auto back2 = event("a4", EventType::move_in, "2024-05-01", r2.resident_code);
  back2.from = "abroad";
  back2.address = "東京都千代田区丸の内一丁目1番1号";
  back2.name = "山田　花子";
  back2.date_of_birth = date("1990-04-01");
  back2.sex = registry::Sex::female;
  ASSERT_TRUE(change(kChiyoda, back2).is_ok());
  rejected(request(r2.resident_code, Express::returnee), Code::conflict);
}

TEST_F(CardTest, ResidentsAbroadMayApplyAndKeepTheirCard) {
  auto r = born("b1", "1990-04-01");
  Card c = issued(r);
  // The continued-use procedure before departure (since May 2024) keeps the card through the move.
  today_ = date("2025-04-25");
  ASSERT_TRUE(cards_->request_continued_use(municipality(), r.resident_code, date("2025-05-01")).is_ok());
  today_ = date("2025-06-02");
  auto out = event("a1", EventType::move_out, "2025-05-01", r.resident_code);
  out.to = "abroad";
  out.address_abroad = "1 Rue de Rivoli, Paris";
  ASSERT_TRUE(change(kChiyoda, out).is_ok());
  // The move abroad leaves the card active.
  Card after = card(c.card_id);
  EXPECT_EQ(after.status, CardStatus::active);
  EXPECT_EQ(after.history.size(), c.history.size());
  EXPECT_EQ(cards_->current_card_id(r.resident_code)->value_or(""), c.card_id);

  auto other = born("b2", "1985-01-01");
  auto out2 = event("a2", EventType::move_out, "2025-05-01", other.resident_code);
  out2.to = "abroad";
  out2.address_abroad = "Berlin";
  ASSERT_TRUE(change(kChiyoda, out2).is_ok());
  auto req = request(other.resident_code);
  req.email = "hanako@example.com";
  auto a = accepted(req);
  std::string id = produced(a.application_id);
  EXPECT_EQ(card(id).email, "hanako@example.com");
  // The municipality the resident left hands it over.
  EXPECT_TRUE(cards_->handover(municipality(), id, true).ok());
}

TEST_F(CardTest, ResidentsInTheMiddleOfAMoveOrDeceasedAreRejected) {
  auto r = born("b1", "1990-04-01");
  auto out = event("m1", EventType::move_out, "2025-05-01", r.resident_code);
  out.to = kChuo;
  ASSERT_TRUE(change(kChiyoda, out).is_ok());
  auto moving = rejected(request(r.resident_code), Code::conflict);
  EXPECT_NE(moving.reason.find("move-in"), std::string::npos) << moving.reason;

  auto d = born("b2", "1950-04-01");
  ASSERT_TRUE(change(kChiyoda, event("d1", EventType::death, "2025-05-01", d.resident_code)).is_ok());
  auto dead = rejected(request(d.resident_code), Code::conflict);
  EXPECT_EQ(dead.reason, "the resident is deceased");
}

TEST_F(CardTest, DeathInvalidatesCardsAndCancelsWaitingApplications) {
  auto r = born("b1", "1950-04-01");
  Card c = issued(r);
  auto shipped_holder = born("b3", "1950-04-01");
  std::string shipped = produced(accepted(request(shipped_holder.resident_code)).application_id);
  auto waiting_holder = born("b2", "1950-04-01");
  auto waiting = accepted(request(waiting_holder.resident_code));

  ASSERT_TRUE(change(kChiyoda, event("d1", EventType::death, "2025-05-20", r.resident_code)).is_ok());
  Card dead = card(c.card_id);
  EXPECT_EQ(dead.status, CardStatus::invalid);
  EXPECT_EQ(dead.history.back().action, "invalidated");
  EXPECT_EQ(dead.history.back().actor, "registry");
  EXPECT_EQ(dead.history.back().date, date("2025-05-20"));
  EXPECT_EQ(dead.history.back().note, "the holder died");
  EXPECT_FALSE(cards_->current_card_id(r.resident_code)->has_value());
  EXPECT_EQ(cards_->suspend(call_centre(), c.card_id).status().code(), Code::conflict);

  ASSERT_TRUE(change(kChiyoda, event("d2", EventType::death, "2025-05-20", waiting_holder.resident_code)).is_ok());
  auto cancelled = cards_->application(card_centre(), waiting.application_id).value();
  EXPECT_EQ(cancelled.status, ApplicationStatus::cancelled);
  EXPECT_EQ(cards_->produce(SIZE_MAX)->produced, 0);

  ASSERT_TRUE(change(kChiyoda, event("d3", EventType::death, "2025-05-20", shipped_holder.resident_code)).is_ok());
  EXPECT_EQ(card(shipped).status, CardStatus::invalid);
  EXPECT_EQ(cards_->handover(municipality(), shipped, true).status().code(), Code::conflict);
  // The municipality takes the invalid card back from the family.
  EXPECT_TRUE(cards_->return_card(municipality(), c.card_id).ok());
}

TEST_F(CardTest, ARefusedDeathEventLeavesTheCardAlone) {
  auto r = born("b1", "1990-04-01");
  Card c = issued(r);
  // Dated before the birth: the registry refuses it, and the listener's work is rolled back with it.
  auto bad = event("d1", EventType::death, "1980-01-01", r.resident_code);
  EXPECT_FALSE(change(kChiyoda, bad).is_ok());
  EXPECT_EQ(card(c.card_id).status, CardStatus::active);
}

TEST_F(CardTest, RenewalFromThreeMonthsBeforeExpiry) {
  auto r = born("b1", "2010-09-15");
  today_ = date("2020-01-10");
  Card c = issued(r);  // issued at 9: five birthdays, 2024-09-15
  EXPECT_EQ(c.expires_on, date("2024-09-15"));
  today_ = date("2024-06-14");
  auto early = rejected(request(r.resident_code), Code::conflict);
  EXPECT_NE(early.reason.find("2024-06-15"), std::string::npos) << early.reason;
  today_ = date("2024-06-15");
  auto renewal = accepted(request(r.resident_code));
  today_ = date("2024-07-01");
  std::string id = produced(renewal.application_id);
  EXPECT_EQ(cards_->current_card_id(r.resident_code)->value_or(""), c.card_id);  // the old one, until handover
  ASSERT_TRUE(cards_->handover(municipality(), id, true).ok());
  Card old = card(c.card_id);
  EXPECT_EQ(old.status, CardStatus::invalid);
  EXPECT_EQ(old.history.back().note, "replaced by card " + id);
  EXPECT_EQ(cards_->current_card_id(r.resident_code)->value_or(""), id);
}

TEST_F(CardTest, AnExpiredCardShowsExpiredAndMayBeRenewed) {
  auto r = born("b1", "2010-09-15");
  today_ = date("2020-01-10");
  Card c = issued(r);
  today_ = date("2024-09-15");  // the last valid day
  EXPECT_EQ(card(c.card_id).display_status(today_), "active");
  EXPECT_TRUE(cards_->current_card_id(r.resident_code)->has_value());
  today_ = date("2024-09-16");
  Card expired = card(c.card_id);
  EXPECT_EQ(expired.display_status(today_), "expired");
  EXPECT_FALSE(expired.usable(today_));
  EXPECT_FALSE(cards_->current_card_id(r.resident_code)->has_value());
  const std::string before = state();
  EXPECT_EQ(cards_->suspend(call_centre(), c.card_id).status().code(), Code::conflict);
  EXPECT_EQ(state(), before);
  accepted(request(r.resident_code));
  EXPECT_TRUE(cards_->return_card(municipality(), c.card_id).ok());
}

TEST_F(CardTest, ExpressFirstThenOldestFirstInBatches) {
  CardSystemOptions options;
  options.clock = [this] { return today_; };
  options.production_batch = 2;
  CardSystem factory(*pool_, *writer_, *registry_, options);
  std::vector<Application> ordinary;
  for (int i = 0; i < 3; ++i)
    ordinary.push_back(accepted(request(born("o" + std::to_string(i), "1990-01-01").resident_code)));
  auto baby = born("n1", "2025-05-01");
  auto express = accepted(request(baby.resident_code, Express::newborn, false));
  auto r = born("o9", "1990-01-01");
  auto late_ordinary = accepted(request(r.resident_code));

  auto first = factory.produce(1);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->produced, 1);
  EXPECT_EQ(first->express, 1);
  EXPECT_EQ(first->remaining, 4);
  EXPECT_EQ(cards_->application(card_centre(), express.application_id)->status, ApplicationStatus::shipped);
  EXPECT_EQ(cards_->application(card_centre(), ordinary[0].application_id)->status, ApplicationStatus::accepted);

  auto two = factory.produce(2);
  EXPECT_EQ(two->produced, 2);
  EXPECT_EQ(cards_->application(card_centre(), ordinary[1].application_id)->status, ApplicationStatus::shipped);
  EXPECT_EQ(cards_->application(card_centre(), ordinary[2].application_id)->status, ApplicationStatus::accepted);

  std::vector<int64_t> progress;
  auto rest = factory.produce(SIZE_MAX, [&](int64_t n) { progress.push_back(n); });
  EXPECT_EQ(rest->produced, 2);
  EXPECT_EQ(rest->batches, 1);
  EXPECT_EQ(rest->remaining, 0);
  EXPECT_EQ(progress, std::vector<int64_t>{2});
  EXPECT_EQ(cards_->application(card_centre(), late_ordinary.application_id)->status, ApplicationStatus::shipped);
  EXPECT_EQ(cards_->produce(SIZE_MAX)->produced, 0);
  EXPECT_EQ(count("SELECT COUNT(DISTINCT card_id) FROM card_cards"), 5);
}

TEST_F(CardTest, LateExpressApplications) {
  auto baby = born("n1", "2025-05-01");
  auto a = accepted(request(baby.resident_code, Express::newborn, false));
  auto r = born("b1", "1990-01-01");
  accepted(request(r.resident_code));  // ordinary: never late
  EXPECT_EQ(a.due_on, date("2025-06-09"));
  today_ = date("2025-06-09");  // the due day: not late yet
  EXPECT_TRUE(cards_->late_applications(card_centre())->empty());
  today_ = date("2025-06-10");
  auto late = cards_->late_applications(card_centre());
  ASSERT_TRUE(late.ok());
  ASSERT_EQ(late->size(), 1u);
  EXPECT_EQ((*late)[0].application_id, a.application_id);
  EXPECT_TRUE((*late)[0].late(today_));
  EXPECT_EQ(cards_->late_applications(municipality()).status().code(), Code::permission_denied);
  EXPECT_EQ(cards_->late_applications(card_centre(), 0).status().code(), Code::invalid_argument);
  // Shipped but not handed over: still late. Handed over: done.
  std::string id = produced(a.application_id);
  EXPECT_EQ(cards_->late_applications(card_centre())->size(), 1u);
  ASSERT_TRUE(cards_->handover(municipality(), id, true).ok());
  EXPECT_TRUE(cards_->late_applications(card_centre())->empty());
  EXPECT_FALSE(cards_->application(card_centre(), a.application_id)->late(today_));
}

// Rule: the console's view of the queue: the counts (waiting, of which express, late express not
// handed over), the head in production order (express first, then the oldest), and the late ones
// (a shipped late one too, until it is handed over), as of the injected today.
TEST_F(CardTest, ProductionQueueShowsExpressFirstAndTheLateOnes) {
  auto first = born("q1", "1990-01-01");
  auto ordinary = accepted(request(first.resident_code));
  auto baby1 = born("q2", "2025-05-01");
  auto early = accepted(request(baby1.resident_code, Express::newborn, false));
  today_ = today_.add_days(3);
  auto baby2 = born("q3", "2025-05-02");
  auto later = accepted(request(baby2.resident_code, Express::newborn, false));
  EXPECT_EQ(cards_->production_queue(0).status().code(), Code::invalid_argument);
  EXPECT_EQ(cards_->production_queue(1001).status().code(), Code::invalid_argument);

  auto q = cards_->production_queue(10);
  ASSERT_TRUE(q.ok()) << q.status().message();
  EXPECT_EQ(q->waiting, 3);
  EXPECT_EQ(q->express, 2);
  EXPECT_EQ(q->late, 0);
  std::vector<int64_t> head;
  for (const auto& a : q->head) head.push_back(a.application_id);
  EXPECT_EQ(head, (std::vector<int64_t>{early.application_id, later.application_id, ordinary.application_id}));
  EXPECT_TRUE(q->late_applications.empty());
  EXPECT_EQ(cards_->production_queue(1)->head.size(), 1u);

  today_ = *early.due_on;  // the due day: not late yet
  EXPECT_EQ(cards_->production_queue(10)->late, 0);
  today_ = early.due_on->add_days(1);
  q = cards_->production_queue(10);
  EXPECT_EQ(q->late, 1);
  ASSERT_EQ(q->late_applications.size(), 1u);
  EXPECT_EQ(q->late_applications[0].application_id, early.application_id);

  // Produced and shipped (with the rest of the queue): out of it, still late until handed over.
  std::string id = produced(early.application_id);
  q = cards_->production_queue(10);
  EXPECT_EQ(q->waiting, 0);
  EXPECT_EQ(q->express, 0);
  EXPECT_TRUE(q->head.empty());
  EXPECT_EQ(q->late, 1);
  ASSERT_EQ(q->late_applications.size(), 1u);
  EXPECT_EQ(q->late_applications[0].status, ApplicationStatus::shipped);
  ASSERT_TRUE(cards_->handover(municipality(), id, true).ok());
  EXPECT_EQ(cards_->production_queue(10)->late, 0);
}

TEST_F(CardTest, ReadingIsForTheRightRoles) {
  auto r = born("b1", "1990-04-01");
  auto a = accepted(request(r.resident_code));
  std::string id = produced(a.application_id);
  EXPECT_TRUE(cards_->card(municipality(), id).ok());
  EXPECT_TRUE(cards_->card(call_centre(), id).ok());
  EXPECT_EQ(cards_->card(municipality(kChuo), id).status().code(), Code::permission_denied);
  auth::Principal agency{auth::Role::agency, "a1", "agency", {"pension"}};
  EXPECT_EQ(cards_->card(agency, id).status().code(), Code::permission_denied);
  EXPECT_EQ(cards_->card(card_centre(), "0000000000000000").status().code(), Code::not_found);
  EXPECT_TRUE(cards_->application(municipality(), a.application_id).ok());
  EXPECT_EQ(cards_->application(municipality(kChuo), a.application_id).status().code(), Code::permission_denied);
  EXPECT_EQ(cards_->application(call_centre(), a.application_id).status().code(), Code::permission_denied);
  EXPECT_EQ(cards_->application(card_centre(), 999999).status().code(), Code::not_found);
}

TEST_F(CardTest, MigrationsAreIdempotentAndVersioned) {
  auto conn = db_->connect().value();
  EXPECT_TRUE(CardSystem::migrate(*conn).is_ok());
  // 2: card_continued_use; 3: card_requests; 4: card_cards_resident
  EXPECT_EQ(store::schema_version(*conn, "card").value(), 4);
}

}  // namespace
}  // namespace jlis::card::testing

namespace jlis::card::testing {
namespace {

// Rule: the holder checks of an application run inside the writer's transaction that records it:
// a death committed after the application first read the holder, and before its write, gets the
// application rejected (the holder is deceased), not accepted for a dead person.
TEST_F(CardTest, ADeathCommittedBetweenTheHoldersFirstReadAndTheWriteRejectsTheApplication) {
  auto r = born("b1", "1990-04-01");
  hold_writer();
  std::thread death([&] {
    EXPECT_TRUE(change(kChiyoda, event("d1", registry::EventType::death, "2025-06-01", r.resident_code)).is_ok());
  });
  wait_queued(1);
  Result<ApplicationOutcome> outcome = internal_error("not run");
  std::thread application([&] { outcome = cards_->apply(card_centre(), request(r.resident_code)); });
  wait_queued(2);  // it read the holder (alive) before it queued
  release();
  death.join();
  application.join();
  ASSERT_TRUE(outcome.ok()) << outcome.status().to_string();
  EXPECT_EQ(outcome->application.status, ApplicationStatus::rejected);
  EXPECT_EQ(outcome->rejection.code(), Code::conflict) << outcome->rejection.to_string();
  EXPECT_EQ(count("SELECT COUNT(*) FROM card_applications WHERE status = 'accepted'"), 0);
}

}  // namespace
}  // namespace jlis::card::testing
