// Linkage codes (linkage/codes.h, issue 11 §1): each body its own code for a person, the same on
// every ask, kept across a resident-code change and a restart; different under another key (so no
// code can be computed from a resident code without the platform's key); converted between bodies
// only through the platform; made once under concurrent asks. On SQLite and PostgreSQL.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <set>
#include <thread>

#include "../pki/test_ca.h"
#include "../store/test_store.h"
#include "linkage/codes.h"
#include "store/database.h"
#include "store/writer.h"

namespace jlis::linkage {
namespace {

class LinkageCodesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/jlis-linkage-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    tmp_ = tmpl;
    auto db = store_.open_data_dir((tmp_ / "data").string());
    ASSERT_TRUE(db.ok()) << db.status().to_string();
    db_ = std::move(*db);
    {
      auto conn = db_->connect().value();
      Status s = LinkageCodes::migrate(*conn);
      ASSERT_TRUE(s.is_ok()) << s.to_string();
    }
    pool_ = std::make_unique<store::Pool>(db_);
    writer_ = store::Writer::start(*db_).value();
    key_ = pki::testing::make_key();
    codes_ = std::make_unique<LinkageCodes>(*pool_, *writer_, key_.get());
  }
  void TearDown() override {
    codes_.reset();
    writer_.reset();
    pool_.reset();
    db_.reset();
    std::filesystem::remove_all(tmp_);
  }
  std::string code(const std::string& body, uint64_t resident) {
    auto out = codes_->code_for(body, ResidentCode::from_body(resident));
    EXPECT_TRUE(out.ok()) << out.status().to_string();
    return out.ok() ? *out : "";
  }
  int64_t count(const std::string& sql) {
    auto conn = pool_->acquire().value();
    return conn->query_int64(sql).value().value_or(-1);
  }

  store::testing::TestStore store_;
  std::filesystem::path tmp_;
  std::shared_ptr<store::Database> db_;
  std::unique_ptr<store::Pool> pool_;
  std::unique_ptr<store::Writer> writer_;
  pki::EvpPkeyPtr key_;
  std::unique_ptr<LinkageCodes> codes_;
};

// Rule: a body's code for a person is 32 hex digits, the same on every ask; two bodies' codes for
// the same person differ, as do one body's codes for two persons; neither contains the resident code.
TEST_F(LinkageCodesTest, EachBodyHasItsOwnStableCodeForAPerson) {
  const std::string pension = code("nenkin", 1234567);
  const std::string city = code("city-131016", 1234567);
  ASSERT_EQ(pension.size(), 32u);
  EXPECT_EQ(pension.find_first_not_of("0123456789abcdef"), std::string::npos) << pension;
  EXPECT_EQ(code("nenkin", 1234567), pension);
  EXPECT_NE(city, pension);
  EXPECT_NE(code("nenkin", 7654321), pension);
  const std::string rc = ResidentCode::from_body(1234567).str();
  EXPECT_EQ(pension.find(rc), std::string::npos);
  EXPECT_EQ(count("SELECT COUNT(*) FROM linkage_persons"), 2);
  EXPECT_EQ(count("SELECT COUNT(*) FROM linkage_codes"), 3);
}

// Rule: the codes come from the platform's key: another key gives every body other codes for the
// same people, so nobody can compute a code from a resident code without it; a restart with the
// same key answers the recorded codes.
TEST_F(LinkageCodesTest, TheCodesDependOnThePlatformsKeyAndSurviveARestart) {
  const std::string pension = code("nenkin", 1234567);
  codes_ = std::make_unique<LinkageCodes>(*pool_, *writer_, key_.get());
  EXPECT_EQ(code("nenkin", 1234567), pension);
  // Another platform (another key, another store) for the same person and body.
  pki::EvpPkeyPtr other_key = pki::testing::make_key();
  store::testing::TestStore other_store;
  auto other_db = std::shared_ptr<store::Database>(other_store.open_data_dir((tmp_ / "other").string()).value());
  ASSERT_TRUE(LinkageCodes::migrate(*other_db->connect().value()).is_ok());
  store::Pool other_pool(other_db);
  auto other_writer = store::Writer::start(*other_db).value();
  LinkageCodes other(other_pool, *other_writer, other_key.get());
  auto elsewhere = other.code_for("nenkin", ResidentCode::from_body(1234567));
  ASSERT_TRUE(elsewhere.ok()) << elsewhere.status().to_string();
  EXPECT_NE(*elsewhere, pension);
}

// Rule: a resident-code change moves the person's anchor: every body keeps its code, and the old
// resident code, if it ever came back, would be a new person.
TEST_F(LinkageCodesTest, AResidentCodeChangeKeepsEveryBodysCode) {
  const std::string pension = code("nenkin", 1234567);
  const std::string city = code("city-131016", 1234567);
  ASSERT_TRUE(writer_
                  ->run([](store::Connection& conn) {
                    return LinkageCodes::move_resident(conn, ResidentCode::from_body(1234567),
                                                       ResidentCode::from_body(2222222));
                  })
                  .is_ok());
  EXPECT_EQ(code("nenkin", 2222222), pension);
  EXPECT_EQ(code("city-131016", 2222222), city);
  EXPECT_EQ(codes_->resident_of("nenkin", pension).value(), ResidentCode::from_body(2222222));
  EXPECT_NE(code("nenkin", 1234567), pension);
}

// Rule: the platform converts one body's code to another's (the same person), and refuses a code
// the body does not have, a malformed code and a malformed body id.
TEST_F(LinkageCodesTest, ConversionGoesThroughThePlatformOnly) {
  const std::string pension = code("nenkin", 1234567);
  const std::string city = code("city-131016", 1234567);
  EXPECT_EQ(codes_->convert("nenkin", pension, "city-131016").value(), city);
  EXPECT_EQ(codes_->convert("city-131016", city, "nenkin").value(), pension);
  // The pension service's code means nothing to the city: it is not the city's code.
  EXPECT_EQ(codes_->convert("city-131016", pension, "nenkin").status().code(), Code::not_found);
  EXPECT_EQ(codes_->convert("nenkin", "not-a-code", "city-131016").status().code(), Code::invalid_argument);
  EXPECT_EQ(codes_->code_for("Nenkin Kikou", ResidentCode::from_body(1)).status().code(), Code::invalid_argument);
  // A new body's code is made on conversion, for that body only.
  const std::string school = codes_->convert("nenkin", pension, "school-aid").value();
  EXPECT_NE(school, pension);
  EXPECT_NE(school, city);
  EXPECT_EQ(count("SELECT COUNT(*) FROM linkage_codes"), 3);
}

// Rule: eight concurrent first asks for one person and body make one anchor and one code, and
// every ask answers it.
TEST_F(LinkageCodesTest, ConcurrentFirstAsksMakeOneCode) {
  std::vector<std::string> answers(8);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < answers.size(); ++i)
    threads.emplace_back([&, i] { answers[i] = code("nenkin", 42); });
  for (auto& t : threads) t.join();
  EXPECT_EQ(std::set<std::string>(answers.begin(), answers.end()).size(), 1u);
  EXPECT_EQ(count("SELECT COUNT(*) FROM linkage_persons"), 1);
  EXPECT_EQ(count("SELECT COUNT(*) FROM linkage_codes"), 1);
}

}  // namespace
}  // namespace jlis::linkage
