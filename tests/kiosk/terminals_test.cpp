// The centre's operators and terminals (kiosk/terminals.h), on SQLite and PostgreSQL (_pg): a
// terminal authenticates with its own credential only, a disabled one is refused from the next
// request on, and the register keeps no secret.
#include "kiosk/terminals.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "../store/test_store.h"
#include "common/digest.h"

namespace jlis::kiosk {
namespace {

class TerminalsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("jlis-kiosk-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    db_ = test_store_.open_data_dir(dir_.string()).value();
    ASSERT_TRUE(Terminals::migrate(*db_->connect().value()).is_ok());
    pool_ = std::make_unique<store::Pool>(db_);
    writer_ = store::Writer::start(*db_).value();
    terminals_ = std::make_unique<Terminals>(*pool_, *writer_);
  }
  void TearDown() override {
    terminals_.reset();
    writer_.reset();
    pool_.reset();
    db_.reset();
    std::filesystem::remove_all(dir_);
  }
  Result<Terminal> authenticate(const std::string& secret) {
    auto conn = pool_->acquire().value();
    return Terminals::authenticate(*conn, secret);
  }

  store::testing::TestStore test_store_;
  std::filesystem::path dir_;
  std::shared_ptr<store::Database> db_;
  std::unique_ptr<store::Pool> pool_;
  std::unique_ptr<store::Writer> writer_;
  std::unique_ptr<Terminals> terminals_;
};

TEST_F(TerminalsTest, EachTerminalAuthenticatesWithItsOwnCredentialOnly) {
  ASSERT_TRUE(terminals_->add_operator("セブン-イレブン").is_ok());
  ASSERT_TRUE(terminals_->add_operator("ローソン").is_ok());
  auto a = terminals_->add_terminal("セブン-イレブン", "S-0001").value();
  auto b = terminals_->add_terminal("ローソン", "L-0001").value();
  EXPECT_NE(a.terminal.terminal_id, b.terminal.terminal_id);
  EXPECT_NE(a.secret, b.secret);
  auto who = authenticate(a.secret);
  ASSERT_TRUE(who.ok()) << who.status().to_string();
  EXPECT_EQ(who->terminal_id, a.terminal.terminal_id);
  EXPECT_EQ(who->operator_name, "セブン-イレブン");
  EXPECT_EQ(who->store_id, "S-0001");
  EXPECT_EQ(authenticate(b.secret)->terminal_id, b.terminal.terminal_id);
  for (const std::string& wrong : {std::string(""), a.secret.substr(0, 67), a.secret + "0", "kts-" + std::string(64, '0'),
                                   sha256_hex(a.secret)})
    EXPECT_EQ(authenticate(wrong).status().code(), Code::unauthenticated) << wrong;
  // The register keeps the secret's digest, never the secret.
  auto conn = pool_->acquire().value();
  auto plain = conn->query_int64("SELECT COUNT(*) FROM kiosk_terminals WHERE secret_sha256 = ? OR secret_sha256 = ?",
                                 {a.secret, b.secret});
  EXPECT_EQ(plain->value_or(-1), 0);
}

TEST_F(TerminalsTest, ADisabledTerminalIsRefusedAtOnceAndForGood) {
  ASSERT_TRUE(terminals_->add_operator("ファミリーマート").is_ok());
  auto t = terminals_->add_terminal("ファミリーマート", "F-0042").value();
  auto other = terminals_->add_terminal("ファミリーマート", "F-0043").value();
  ASSERT_TRUE(authenticate(t.secret).ok());
  ASSERT_TRUE(terminals_->disable_terminal(t.terminal.terminal_id).is_ok());
  EXPECT_EQ(authenticate(t.secret).status().code(), Code::unauthenticated);
  EXPECT_TRUE(authenticate(other.secret).ok());
  EXPECT_EQ(terminals_->disable_terminal(t.terminal.terminal_id).code(), Code::conflict);
  EXPECT_EQ(terminals_->disable_terminal("kt-0000000000000000").code(), Code::not_found);
  auto all = terminals_->terminals().value();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].terminal_id, t.terminal.terminal_id);
  EXPECT_TRUE(all[0].disabled_at.has_value());
  EXPECT_FALSE(all[1].disabled_at.has_value());
}

TEST_F(TerminalsTest, OperatorsAndStoresAreChecked) {
  EXPECT_EQ(terminals_->add_terminal("nobody", "S-1").status().code(), Code::not_found);
  ASSERT_TRUE(terminals_->add_operator("ミニストップ").is_ok());
  EXPECT_EQ(terminals_->add_operator("ミニストップ").code(), Code::conflict);
  for (const std::string& bad : {std::string(""), std::string(101, 'x'), std::string("a\nb")})
    EXPECT_EQ(terminals_->add_operator(bad).code(), Code::invalid_argument);
  for (const std::string& bad : {std::string(""), std::string(65, 'x'), std::string("S 1"), std::string("店舗")})
    EXPECT_EQ(terminals_->add_terminal("ミニストップ", bad).status().code(), Code::invalid_argument) << bad;
  EXPECT_EQ(terminals_->operators().value(), std::vector<std::string>{"ミニストップ"});
  EXPECT_TRUE(terminals_->terminals().value().empty());
}

TEST_F(TerminalsTest, ACredentialFileIsNewAndPrivate) {
  ASSERT_TRUE(terminals_->add_operator("ローソン").is_ok());
  auto t = terminals_->add_terminal("ローソン", "L-7").value();
  const std::string path = (dir_ / "terminal.json").string();
  ASSERT_TRUE(write_credential(path, t).is_ok());
  EXPECT_EQ(std::filesystem::status(path).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  EXPECT_EQ(write_credential(path, t).code(), Code::invalid_argument);  // never overwritten
  auto back = read_credential(path).value();
  EXPECT_EQ(back.secret, t.secret);
  EXPECT_EQ(back.terminal.terminal_id, t.terminal.terminal_id);
  EXPECT_TRUE(authenticate(back.secret).ok());
}

}  // namespace
}  // namespace jlis::kiosk
