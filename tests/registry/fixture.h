// A registry on a fresh database (SQLite, or PostgreSQL under JLIS_TEST_STORE) in a temporary directory, with the real reference data.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cctype>
#include <filesystem>
#include <string>

#include "auth/directory.h"
#include "numbering/numbering.h"
#include "registry/registry.h"
#include "store/data_dir.h"
#include "../store/test_store.h"
#include "store/database.h"
#include "store/writer.h"

namespace jlis::registry::testing {

inline std::shared_ptr<const ReferenceData> reference() {
  static auto ref = ReferenceData::load(JLIS_REFERENCE_DIR).value();
  return ref;
}

inline LocalGovernmentCode lg(const char* code) { return LocalGovernmentCode::parse(code).value(); }
inline Date date(const char* iso) { return Date::parse_iso(iso).value(); }

// The municipalities the tests submit from (千代田区, 中央区, 台東区).
inline const LocalGovernmentCode kChiyoda = lg("131016");
inline const LocalGovernmentCode kChuo = lg("131024");
inline const LocalGovernmentCode kTaito = lg("131067");
// Addresses in them (real towns of towns.csv).
inline constexpr const char* kChiyodaAddress = "東京都千代田区丸の内一丁目1番1号";
inline constexpr const char* kChiyodaOtherAddress = "東京都千代田区永田町一丁目7番1号";
inline constexpr const char* kChuoAddress = "東京都中央区銀座一丁目1番1号";

class RegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("jlis-registry-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    db_ = test_store_.open_data_dir(dir_.string()).value();
    auto conn = db_->connect().value();
    Status migrated = Registry::migrate(*conn);
    ASSERT_TRUE(migrated.is_ok()) << migrated.to_string();
    ASSERT_TRUE(auth::Directory::migrate(*conn).is_ok());
    ASSERT_TRUE(numbering::Numbering::migrate(*conn).is_ok());
    pool_ = std::make_unique<store::Pool>(db_);
    writer_ = store::Writer::start(*db_).value();
    ASSERT_TRUE(numbering::Numbering::create_key_file(dir_.string()).is_ok());
    numbering_ = numbering::Numbering::open(dir_.string()).value();
    registry_ = std::make_unique<Registry>(*pool_, *writer_, reference(), numbering_.get());
  }
  void TearDown() override {
    registry_.reset();
    writer_.reset();
    numbering_.reset();
    pool_.reset();
    db_.reset();
    std::filesystem::remove_all(dir_);
  }

  static ChangeEvent birth(const std::string& id, const char* name, const char* kana, const char* dob,
                           const char* address, Sex sex = Sex::female) {
    ChangeEvent e;
    e.event_id = id;
    e.type = EventType::birth;
    e.date = date(dob);
    e.person = Person{name, kana, date(dob), sex, address};
    return e;
  }
  static ChangeEvent on(const std::string& id, EventType type, const char* when, const ResidentCode& code) {
    ChangeEvent e;
    e.event_id = id;
    e.type = type;
    e.date = date(when);
    e.resident_code = code;
    return e;
  }
  // A resident of 千代田区 born in 1990.
  Resident born_in_chiyoda(const std::string& id = "b1") {
    auto r = registry_->submit(lg("131016"), birth(id, "山田　花子", "ヤマダ　ハナコ", "1990-04-01",
                                                   "東京都千代田区丸の内一丁目1番1号"));
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    return r->resident;
  }
  int64_t count(const char* sql) {
    auto conn = pool_->acquire().value();
    return conn->query_int64(sql).value().value_or(0);
  }
  // The definition of index `name` as the store holds it, its runs of white space made one space;
  // "" when there is no such index.
  std::string index_definition(const std::string& name) {
    auto conn = pool_->acquire().value();
    const char* sql = conn->dialect() == "sqlite"
                          ? "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?"
                          : "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() AND indexname = ?";
    std::string out;
    for (char c : conn->query_text(sql, {name}).value().value_or("")) {
      const bool space = std::isspace(static_cast<unsigned char>(c));
      if (space && (out.empty() || out.back() == ' ')) continue;
      out += space ? ' ' : c;
    }
    return out;
  }

  store::testing::TestStore test_store_;  // SQLite, or a fresh PostgreSQL database (JLIS_TEST_STORE)
  std::filesystem::path dir_;
  std::shared_ptr<store::Database> db_;
  std::unique_ptr<store::Pool> pool_;
  std::unique_ptr<store::Writer> writer_;
  std::unique_ptr<numbering::Numbering> numbering_;
  std::unique_ptr<Registry> registry_;
};

}  // namespace jlis::registry::testing
