// The numbering register on a real SQLite database: pools, My Number issue and reissue, letters,
// the key file.
#include "numbering/numbering.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "numbering/my_number_generator.h"
#include "store/data_dir.h"
#include "../store/test_store.h"
#include "store/writer.h"

namespace jlis::numbering {
namespace {

LocalGovernmentCode lg(const char* code) { return LocalGovernmentCode::parse(code).value(); }
Date day(const char* iso) { return Date::parse_iso(iso).value(); }

class NumberingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("jlis-numbering-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    db_ = test_store_.open_data_dir(dir_.string()).value();
    conn_ = db_->connect().value();
    ASSERT_TRUE(Numbering::migrate(*conn_).is_ok());
    ASSERT_TRUE(Numbering::create_key_file(dir_.string()).is_ok());
    numbering_ = Numbering::open(dir_.string()).value();
  }
  void TearDown() override {
    numbering_.reset();
    conn_.reset();
    db_.reset();
    std::filesystem::remove_all(dir_);
  }
  int64_t count(const std::string& sql) { return conn_->query_int64(sql).value().value_or(0); }

  store::testing::TestStore test_store_;  // SQLite, or a fresh PostgreSQL database (JLIS_TEST_STORE)
  std::filesystem::path dir_;
  std::shared_ptr<store::Database> db_;
  std::unique_ptr<store::Connection> conn_;
  std::unique_ptr<Numbering> numbering_;
};

TEST_F(NumberingTest, KeyFileIsCreatedPrivateAndKeptAndRefusedWhenMissingOrWrongSize) {
  const std::string path = Numbering::key_path(dir_.string());
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(st.st_size, 32);
  ASSERT_EQ(::stat(std::filesystem::path(path).parent_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  auto key = Numbering::load_key(dir_.string()).value();
  ASSERT_TRUE(Numbering::create_key_file(dir_.string()).is_ok());  // an existing key is kept
  EXPECT_EQ(Numbering::load_key(dir_.string()).value(), key);

  std::filesystem::resize_file(path, 31);
  auto short_key = Numbering::open(dir_.string());
  ASSERT_FALSE(short_key.ok());
  EXPECT_EQ(short_key.status().code(), Code::invalid_argument);
  EXPECT_NE(short_key.status().message().find("32 bytes"), std::string::npos);
  std::filesystem::remove(path);
  auto missing = Numbering::open(dir_.string());
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("jlis init"), std::string::npos);
}

TEST_F(NumberingTest, DerivationZeroIsTheMyNumberGeneratorAndEveryDerivationIsValid) {
  // Derivation 0 is exactly the statutory generator (my_number_generator.h) under the same key,
  // for every code tried, not merely the same Numbering twice.
  auto key = Numbering::load_key(dir_.string()).value();
  auto generator = MyNumberGenerator::create(key).value();
  for (uint64_t body : {uint64_t{0}, uint64_t{1}, uint64_t{1234567890}, uint64_t{9999999999}, uint64_t{4711000042}}) {
    const ResidentCode c = ResidentCode::from_body(body);
    EXPECT_EQ(numbering_->derive(c, 0), generator.generate(c)) << c.str();
  }
  const ResidentCode code = ResidentCode::from_body(1234567890);
  std::set<MyNumber> seen;
  for (uint32_t k = 0; k < 20; ++k) {
    MyNumber n = numbering_->derive(code, k);
    EXPECT_TRUE(MyNumber::parse(n.str()).ok());
    seen.insert(n);
  }
  EXPECT_EQ(seen.size(), 20u);  // the tweak changes the permutation
}

TEST_F(NumberingTest, PoolsHandOutDistinctValidCodesAndGrowInBatches) {
  std::set<ResidentCode> codes;
  const auto chiyoda = lg("131016"), chuo = lg("131024");
  for (int i = 0; i < 1500; ++i) {
    auto c = numbering_->take_code(*conn_, i % 3 ? chiyoda : chuo);
    ASSERT_TRUE(c.ok()) << c.status().to_string();
    EXPECT_TRUE(ResidentCode::parse(c->str()).ok());
    EXPECT_TRUE(codes.insert(*c).second) << "code handed out twice";
    EXPECT_EQ(numbering_->code_state(*conn_, *c).value(), CodeState::issued);
  }
  EXPECT_EQ(count("SELECT COUNT(*) FROM numbering_resident_codes WHERE state = 'issued'"), 1500);
  // The first refill is small; pools never hold more than a few batches.
  EXPECT_LE(count("SELECT COUNT(*) FROM numbering_resident_codes WHERE state = 'pooled'"), 2 * 1000);
  EXPECT_EQ(numbering_->code_state(*conn_, ResidentCode::from_body(42)).value(), CodeState::unknown);
}

TEST_F(NumberingTest, RetiredAndAdoptedCodesNeverComeBack) {
  const auto chiyoda = lg("131016");
  ResidentCode old = numbering_->take_code(*conn_, chiyoda).value();
  auto fresh = numbering_->change_code(*conn_, old, chiyoda, day("2025-01-01"), std::nullopt);
  ASSERT_TRUE(fresh.ok()) << fresh.status().to_string();
  EXPECT_NE(*fresh, old);
  EXPECT_EQ(numbering_->code_state(*conn_, old).value(), CodeState::retired);
  EXPECT_EQ(numbering_->change_code(*conn_, old, chiyoda, day("2025-01-02"), std::nullopt).status().code(),
            Code::conflict);
  // An adopted code (issued before pools) is not pooled again; nor is the retired one.
  const ResidentCode legacy = ResidentCode::from_body(5555555555);
  ASSERT_TRUE(numbering_->adopt_code(*conn_, legacy, chiyoda).is_ok());
  EXPECT_EQ(numbering_->code_state(*conn_, legacy).value(), CodeState::issued);
  for (int i = 0; i < 3000; ++i) {
    ResidentCode c = numbering_->take_code(*conn_, chiyoda).value();
    ASSERT_NE(c, old);
    ASSERT_NE(c, legacy);
  }
  EXPECT_EQ(count("SELECT COUNT(*) FROM numbering_resident_codes WHERE resident_code = " +
                  std::to_string(old.body()) + " AND state = 'retired'"), 1);
}

TEST_F(NumberingTest, IssueTakesTheNextDerivationWhenTheFirstIsTaken) {
  const auto chiyoda = lg("131016");
  const ResidentCode a = ResidentCode::from_body(1111111111), b = ResidentCode::from_body(2222222222);
  // Someone (a reissue, say) already holds the number b's first derivation would give.
  ASSERT_TRUE(conn_->execute("INSERT INTO numbering_my_numbers (my_number, resident_code, derivation, issued_on, "
                             "issue_reason, letter_municipality, letter_created_at, letter_state) "
                             "VALUES (?, ?, 5, '2020-01-01', 'leak', '131016', '2020-01-01T00:00:00Z', 'printed')",
                             {static_cast<int64_t>(numbering_->derive(b, 0).body()),
                              static_cast<int64_t>(a.body())}).ok());
  MyNumber nb = numbering_->issue_my_number(*conn_, b, chiyoda, day("2025-01-01"), "first_registration").value();
  EXPECT_NE(nb, numbering_->derive(b, 0));
  EXPECT_EQ(nb, numbering_->derive(b, 1));
  auto rec = numbering_->find_my_number(*conn_, nb).value();
  ASSERT_TRUE(rec.has_value());
  EXPECT_EQ(rec->resident_code, b);
  EXPECT_FALSE(rec->retired);
}

TEST_F(NumberingTest, ReissueForLeakIsFreshAndKeepsTheOldNumberRetired) {
  const auto chiyoda = lg("131016");
  std::set<MyNumber> issued;
  std::vector<std::pair<ResidentCode, MyNumber>> people;
  for (int i = 0; i < 200; ++i) {
    ResidentCode c = numbering_->take_code(*conn_, chiyoda).value();
    MyNumber n = numbering_->issue_my_number(*conn_, c, chiyoda, day("2020-01-01"), "first_registration").value();
    ASSERT_TRUE(issued.insert(n).second);
    people.emplace_back(c, n);
  }
  auto [code, first] = people[7];
  EXPECT_EQ(numbering_->reissue_my_number(*conn_, code, first, chiyoda, day("2025-01-01"), "lost").status().code(),
            Code::invalid_argument);
  MyNumber current = first;
  for (int round = 0; round < 5; ++round) {
    auto next = numbering_->reissue_my_number(*conn_, code, current, chiyoda, day("2025-01-01"), "leak");
    ASSERT_TRUE(next.ok()) << next.status().to_string();
    EXPECT_TRUE(MyNumber::parse(next->str()).ok());
    EXPECT_TRUE(issued.insert(*next).second) << "a reissued number equals one issued before";
    auto old = numbering_->find_my_number(*conn_, current).value();
    ASSERT_TRUE(old.has_value());
    EXPECT_TRUE(old->retired);
    EXPECT_EQ(old->retire_reason, "leak");
    current = *next;
  }
  // The retired number can no longer be reissued; another resident's number cannot be used.
  EXPECT_EQ(numbering_->reissue_my_number(*conn_, code, first, chiyoda, day("2025-01-02"), "leak").status().code(),
            Code::conflict);
  EXPECT_EQ(numbering_->reissue_my_number(*conn_, code, people[8].second, chiyoda, day("2025-01-02"), "leak")
                .status().code(), Code::conflict);
  EXPECT_EQ(count("SELECT COUNT(*) FROM numbering_my_numbers WHERE resident_code = " + std::to_string(code.body())), 6);
  EXPECT_EQ(count("SELECT COUNT(*) FROM numbering_my_numbers WHERE retired_on IS NULL AND resident_code = " +
                  std::to_string(code.body())), 1);
  EXPECT_EQ(count("SELECT COUNT(DISTINCT my_number) FROM numbering_my_numbers"), 205);
}

TEST_F(NumberingTest, LettersArePendingUntilPrintedAndALeakedNumbersLetterIsWithdrawn) {
  const auto chiyoda = lg("131016"), chuo = lg("131024");
  ResidentCode c1 = numbering_->take_code(*conn_, chiyoda).value();
  ResidentCode c2 = numbering_->take_code(*conn_, chiyoda).value();
  ResidentCode c3 = numbering_->take_code(*conn_, chuo).value();
  MyNumber n1 = numbering_->issue_my_number(*conn_, c1, chiyoda, day("2020-01-01"), "first_registration").value();
  MyNumber n2 = numbering_->issue_my_number(*conn_, c2, chiyoda, day("2020-01-01"), "first_registration").value();
  ASSERT_TRUE(numbering_->issue_my_number(*conn_, c3, chuo, day("2020-01-01"), "backfill").ok());
  auto pending = numbering_->pending_letters(*conn_, chiyoda).value();
  ASSERT_EQ(pending.size(), 2u);
  if (pending[0].my_number != n1) std::swap(pending[0], pending[1]);  // ordered by number
  EXPECT_EQ(pending[0].my_number, n1);
  EXPECT_EQ(pending[0].resident_code, c1);
  EXPECT_EQ(pending[0].reason, "first_registration");
  ASSERT_TRUE(numbering_->mark_printed(*conn_, {n1}).is_ok());
  pending = numbering_->pending_letters(*conn_, chiyoda).value();
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].my_number, n2);
  // n2 leaks before its letter was printed: only the new number's letter remains.
  MyNumber n2b = numbering_->reissue_my_number(*conn_, c2, n2, chiyoda, day("2025-01-01"), "leak").value();
  pending = numbering_->pending_letters(*conn_, chiyoda).value();
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].my_number, n2b);
  EXPECT_EQ(pending[0].reason, "leak");
  EXPECT_EQ(numbering_->pending_letters(*conn_, chuo).value().size(), 1u);
}

}  // namespace
}  // namespace jlis::numbering
