// A card system on a fresh database (SQLite, or PostgreSQL under JLIS_TEST_STORE) in a temporary directory, with the real reference data
// and a real registry (its death listener attached), and a clock the test sets.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <future>
#include <thread>
#include <utility>
#include <vector>

#include "auth/directory.h"
#include "card/card_system.h"
#include "registry/registry.h"
#include "store/data_dir.h"
#include "../store/test_store.h"
#include "store/database.h"
#include "store/writer.h"

namespace jlis::card::testing {

inline std::shared_ptr<const ReferenceData> reference() {
  static auto ref = ReferenceData::load(JLIS_REFERENCE_DIR).value();
  return ref;
}

inline LocalGovernmentCode lg(const char* code) { return LocalGovernmentCode::parse(code).value(); }
inline Date date(const char* iso) { return Date::parse_iso(iso).value(); }

inline const char* kChiyoda = "131016";
inline const char* kChuo = "131024";

class CardTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("jlis-card-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    db_ = test_store_->open_data_dir(dir_.string()).value();
    auto conn = db_->connect().value();
    Status rs = registry::Registry::migrate(*conn);
    ASSERT_TRUE(rs.is_ok()) << rs.to_string();
    ASSERT_TRUE(auth::Directory::migrate(*conn).is_ok());
    Status s = CardSystem::migrate(*conn);
    ASSERT_TRUE(s.is_ok()) << s.to_string();
    pool_ = std::make_unique<store::Pool>(db_);
    writer_ = store::Writer::start(*db_).value();
    registry_ = std::make_unique<registry::Registry>(*pool_, *writer_, reference());
    directory_ = std::make_unique<auth::Directory>(*pool_, *writer_);
    CardSystemOptions options;
    options.clock = [this] { return today_; };
    cards_ = std::make_unique<CardSystem>(*pool_, *writer_, *registry_, options);
    cards_->attach(*registry_);
  }
  void TearDown() override {
    cards_.reset();
    directory_.reset();
    registry_.reset();
    writer_.reset();
    pool_.reset();
    db_.reset();
    std::filesystem::remove_all(dir_);
  }

  static auth::Principal municipality(const char* code = kChiyoda) {
    return {auth::Role::municipality, code, code, {}};
  }
  static auth::Principal card_centre() { return {auth::Role::card_centre, "centre", "card centre", {}}; }
  static auth::Principal call_centre() { return {auth::Role::call_centre, "calls", "call centre", {}}; }

  // Holds the writer busy until release(): jobs queued meanwhile run together in the next batch, in
  // the order they were queued, after their callers' checks.
  void hold_writer() {
    release_ = std::promise<void>();
    held_ = writer_->enqueue({[f = release_.get_future().share()](store::Connection&) {
      f.wait();
      return Status::ok();
    }});
    wait_queued(0);  // the writer has taken the holding job
  }
  void release() {
    release_.set_value();
    held_.wait();
  }
  // Polls (generously bounded) until `n` jobs wait in the writer's queue.
  void wait_queued(size_t n) {
    for (int i = 0; i < 10000 && writer_->queued() != n; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    ASSERT_EQ(writer_->queued(), n);
  }

  // A resident born on `dob` in 千代田区 (or 中央区).
  registry::Resident born(const std::string& id, const char* dob, const char* municipality_code = kChiyoda) {
    registry::ChangeEvent e;
    e.event_id = id;
    e.type = registry::EventType::birth;
    e.date = date(dob);
    const bool chiyoda = std::string(municipality_code) == kChiyoda;
    e.person = registry::Person{"山田　花子", "ヤマダ　ハナコ", date(dob), registry::Sex::female,
                                chiyoda ? "東京都千代田区丸の内一丁目1番1号" : "東京都中央区銀座一丁目1番1号"};
    auto r = registry_->submit(lg(municipality_code), e);
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    return r->resident;
  }
  // Submits a change of an existing resident.
  Status change(const char* municipality_code, registry::ChangeEvent e) {
    return registry_->submit(lg(municipality_code), e).status();
  }
  static registry::ChangeEvent event(const std::string& id, registry::EventType type, const char* when,
                                     const ResidentCode& code) {
    registry::ChangeEvent e;
    e.event_id = id;
    e.type = type;
    e.date = date(when);
    e.resident_code = code;
    return e;
  }

  static ApplicationRequest request(const ResidentCode& code, Express express = Express::none, bool photo = true,
                                    Channel channel = Channel::web) {
    ApplicationRequest r;
    r.resident_code = code;
    r.channel = channel;
    r.photo = photo;
    r.express = express;
    return r;
  }
  // Applies through the card centre and expects acceptance.
  Application accepted(const ApplicationRequest& req) {
    auto out = cards_->apply(card_centre(), req);
    EXPECT_TRUE(out.ok()) << out.status().to_string();
    EXPECT_TRUE(out->rejection.is_ok()) << out->rejection.to_string();
    return out->application;
  }
  // Applies and expects a recorded rejection of `code`.
  Application rejected(const ApplicationRequest& req, Code code, const auth::Principal& by = card_centre()) {
    auto out = cards_->apply(by, req);
    EXPECT_TRUE(out.ok()) << out.status().to_string();
    EXPECT_EQ(out->rejection.code(), code) << out->rejection.to_string();
    EXPECT_EQ(out->application.status, ApplicationStatus::rejected);
    return out->application;
  }
  // Produces everything queued and answers the card of `application_id`.
  std::string produced(int64_t application_id) {
    auto report = cards_->produce(SIZE_MAX);
    EXPECT_TRUE(report.ok()) << report.status().to_string();
    auto a = cards_->application(card_centre(), application_id);
    EXPECT_TRUE(a.ok() && a->card_id) << a.status().to_string();
    return a.ok() && a->card_id ? *a->card_id : "";
  }
  // Apply, produce and hand over a card to the resident (of 千代田区 unless said otherwise).
  Card issued(const registry::Resident& r, Express express = Express::none) {
    std::string id = produced(accepted(request(r.resident_code, express)).application_id);
    auto card = cards_->handover(municipality(r.municipality_code.str().c_str()), id, true);
    EXPECT_TRUE(card.ok()) << card.status().to_string();
    return card.ok() ? *card : Card{};
  }
  Card card(const std::string& id) { return cards_->card(card_centre(), id).value(); }

  // Every row of the card tables, to show that a refusal changed nothing.
  std::string state() {
    auto conn = pool_->acquire().value();
    std::string out;
    const std::pair<const char*, std::vector<const char*>> tables[] = {
        {"card_applications", {"application_id", "resident_code", "status", "reason", "due_on", "shipped_on",
                               "delivered_on", "card_id"}},
        {"card_cards", {"card_id", "status", "issued_on", "expires_on", "delivered_on", "cert_expires_on",
                        "signature_certificate_allowed"}},
        {"card_events", {"seq", "card_seq", "action", "event_date", "note"}},
        {"card_notices", {"card_id", "expires_on", "month", "kind"}}};
    for (const auto& [table, columns] : tables) {
      std::string sql = "SELECT ";
      for (size_t i = 0; i < columns.size(); ++i) sql += std::string(i ? ", " : "") + columns[i];
      sql += std::string(" FROM ") + table + " ORDER BY 1";
      out += std::string(table) + ":\n";
      EXPECT_TRUE(conn->query(sql, {}, [&](const store::Row& r) {
        for (size_t c = 0; c < columns.size(); ++c) out += (r.is_null(static_cast<int>(c)) ? "~" : r.text(static_cast<int>(c))) + "|";
        out += "\n";
        return true;
      }).is_ok());
    }
    return out;
  }
  int64_t count(const std::string& sql) {
    auto conn = pool_->acquire().value();
    return conn->query_int64(sql).value().value_or(0);
  }

  Date today_ = date("2025-06-02");
  // SQLite, or a fresh PostgreSQL database (JLIS_TEST_STORE); a test may start over on a new one:
  // TearDown(), a new test_store_, SetUp().
  std::unique_ptr<store::testing::TestStore> test_store_ = std::make_unique<store::testing::TestStore>();
  std::filesystem::path dir_;
  std::shared_ptr<store::Database> db_;
  std::unique_ptr<store::Pool> pool_;
  std::unique_ptr<store::Writer> writer_;
  std::unique_ptr<registry::Registry> registry_;
  std::unique_ptr<auth::Directory> directory_;
  std::unique_ptr<CardSystem> cards_;
  std::promise<void> release_;  // hold_writer()
  store::Writer::Ticket held_;
};

}  // namespace jlis::card::testing
