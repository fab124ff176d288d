// `jlis init --sqlite-synchronous normal|full`: the durability of the SQLite register and provision
// record, recorded in the data directory and applied by every command that opens it (run on SQLite
// only: it is the SQLite store's setting).
#include <filesystem>

#include "../e2e/jlis_process.h"
#include "store/data_dir.h"
#include "store/database.h"

namespace jlis::durability {
namespace {

using e2e::jlis;
namespace fs = std::filesystem;

// PRAGMA synchronous of the register (main) and of the provision record (audit), as the data
// directory's store opens them: 1 is NORMAL, 2 is FULL.
std::pair<int64_t, int64_t> synchronous_of(const std::string& dir) {
  auto db = store::open_data_dir_database(dir, /*create=*/false);
  EXPECT_TRUE(db.ok()) << db.status().to_string();
  if (!db.ok()) return {-1, -1};
  auto conn = (*db)->connect().value();
  return {conn->query_int64("PRAGMA main.synchronous").value().value_or(-1),
          conn->query_int64("PRAGMA audit.synchronous").value().value_or(-1)};
}

class SqliteSynchronous : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = (fs::temp_directory_path() / ("jlis-sync-" + std::to_string(::getpid()))).string();
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string dir_;
};

TEST_F(SqliteSynchronous, NormalByDefaultFullWhenInitSaysSoForTheRegisterAndTheProvisionRecord) {
  ASSERT_EQ(jlis({"init", "--data", dir_}).exit_code, 0);
  EXPECT_EQ(synchronous_of(dir_), std::make_pair(int64_t{1}, int64_t{1}));

  // An operator turns FULL on for an existing directory (init upgrades it), and back.
  auto full = jlis({"init", "--data", dir_, "--sqlite-synchronous", "full"});
  ASSERT_EQ(full.exit_code, 0) << full.err;
  EXPECT_EQ(synchronous_of(dir_), std::make_pair(int64_t{2}, int64_t{2}));
  // Another command that opens the directory keeps it (the setting is the directory's).
  ASSERT_EQ(jlis({"municipality", "token", "--data", dir_, "--code", "131016"}).exit_code, 0);
  EXPECT_EQ(synchronous_of(dir_), std::make_pair(int64_t{2}, int64_t{2}));
  ASSERT_EQ(jlis({"init", "--data", dir_}).exit_code, 0);  // init without the option changes nothing
  EXPECT_EQ(synchronous_of(dir_), std::make_pair(int64_t{2}, int64_t{2}));
  ASSERT_EQ(jlis({"init", "--data", dir_, "--sqlite-synchronous", "normal"}).exit_code, 0);
  EXPECT_EQ(synchronous_of(dir_), std::make_pair(int64_t{1}, int64_t{1}));
}

TEST_F(SqliteSynchronous, ANewDirectoryCreatedWithFull) {
  auto full = jlis({"init", "--data", dir_, "--sqlite-synchronous", "full"});
  ASSERT_EQ(full.exit_code, 0) << full.err;
  EXPECT_EQ(synchronous_of(dir_), std::make_pair(int64_t{2}, int64_t{2}));
}

TEST_F(SqliteSynchronous, ABadValueIsRefusedAndNothingIsCreated) {
  for (const char* bad : {"sometimes", "FULLY", "", "2"}) {
    auto out = jlis({"init", "--data", dir_, "--sqlite-synchronous", bad});
    EXPECT_NE(out.exit_code, 0) << bad;
    EXPECT_NE(out.err.find("--sqlite-synchronous"), std::string::npos) << out.err;
    EXPECT_FALSE(fs::exists(dir_)) << bad;
  }
}

TEST_F(SqliteSynchronous, APostgresqlStoreRefusesIt) {
  // Refused before anything is opened: the URI names no running server.
  auto out = jlis({"init", "--data", dir_, "--store", "postgresql://nobody@127.0.0.1:1/none", "--sqlite-synchronous", "full"});
  EXPECT_NE(out.exit_code, 0);
  EXPECT_NE(out.err.find("synchronous_commit"), std::string::npos) << out.err;
  EXPECT_FALSE(fs::exists(dir_));
}

}  // namespace
}  // namespace jlis::durability
