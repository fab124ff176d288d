// `jlis` refuses unknown and contradictory options in every subcommand: a message on stderr, a
// non-zero exit, and nothing written to the data directory.
#include <set>

#include "data_dir_store.h"
#include "jlis_process.h"

namespace jlis::e2e {
namespace {

namespace fs = std::filesystem;

class CliRefusals : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = (fs::temp_directory_path() / ("jlis-e2e-cli-refusals-" + std::to_string(::getpid()))).string();
    fs::remove_all(dir_);
    ASSERT_EQ(jlis({"init", "--data", dir_}).exit_code, 0);
    ASSERT_EQ(jlis({"municipality", "token", "--data", dir_, "--code", "131016"}).exit_code, 0);
    ASSERT_EQ(jlis({"population", "generate", "--data", dir_, "--count", "20", "--seed", "5"}).exit_code, 0);
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }

  // Every row count of every table of the store, and the names of the files in the data
  // directory (a refused `ca init` must not leave a pki/ behind, a refused export no file).
  static std::string fingerprint() {
    std::string out;
    auto conn = connect_data_dir(dir_);
    if (!conn) return "";
    for (const auto& [schema, table] : store_tables(*conn))
      out += schema + "." + table + "=" +
             std::to_string(conn->query_int64("SELECT COUNT(*) FROM " + schema + ".\"" + table + "\"").value().value_or(-1)) + "\n";
    std::set<std::string> names;
    for (const auto& e : fs::recursive_directory_iterator(dir_)) {
      const std::string name = e.path().filename().string();
      if (name.find("-wal") == std::string::npos && name.find("-shm") == std::string::npos)
        names.insert(fs::relative(e.path(), dir_).string());
    }
    for (const auto& n : names) out += n + "\n";
    return out;
  }

  // Runs a command that must be refused with a message containing `expect`.
  static void refused(const std::vector<std::string>& args, const std::string& expect) {
    std::string shown;
    for (const auto& a : args) shown += a + " ";
    const std::string before = fingerprint();
    auto r = jlis(args);
    EXPECT_NE(r.exit_code, 0) << shown;
    EXPECT_NE(r.err.find(expect), std::string::npos) << shown << "\nstderr: " << r.err;
    EXPECT_EQ(fingerprint(), before) << shown << " wrote to the data directory";
  }

  static inline std::string dir_;
};

TEST_F(CliRefusals, EverySubcommandRefusesAnUnknownOptionWithAMessageAndWritesNothing) {
  const std::string out_file = (fs::path(dir_) / "export.csv").string();
  const std::vector<std::vector<std::string>> commands = {
      {"init", "--data", dir_},
      {"centre", "status", "--data", dir_},
      {"serve", "--data", dir_, "--listen", "127.0.0.1:0"},
      {"population", "generate", "--data", dir_, "--count", "5"},
      {"ca", "init", "--data", dir_},
      {"ca", "crl", "--data", dir_},
      {"verifier", "add", "--data", dir_, "--name", "shop"},
      {"verifier", "list", "--data", dir_},
      {"agency", "add", "--data", dir_, "--name", "国税庁", "--purposes", "tax"},
      {"agency", "list", "--data", dir_},
      {"agency", "purposes", "--data", dir_, "--agency", "ag-1", "--add", "tax"},
      {"municipality", "token", "--data", dir_, "--code", "131024"},
      {"token", "create", "--data", dir_, "--role", "operator"},
      {"token", "list", "--data", dir_},
      {"token", "revoke", "--data", dir_, "--id", "tk-1"},
      {"token", "log", "--data", dir_},
      {"cards", "produce", "--data", dir_},
      {"cards", "notices", "--data", dir_, "--month", "2031-01"},
      {"certificates", "notices", "--data", dir_, "--month", "2031-01"},
      {"stats", "migration", "--data", dir_, "--month", "2025-01"},
      {"residents", "export", "--data", dir_, "--output", out_file},
      {"residents", "new-code", "--data", dir_, "--resident", "00000000019"},
      {"mynumber", "reissue", "--data", dir_, "--resident", "00000000019", "--reason", "leak"},
      {"mynumber", "letters", "--data", dir_, "--municipality", "131016", "--mark-printed"},
  };
  for (auto args : commands) {
    args.push_back("--frobnicate");
    refused(args, "frobnicate");
    EXPECT_FALSE(fs::exists(out_file));
  }
  // An unexpected positional argument too.
  refused({"token", "create", "--data", dir_, "--role", "operator", "extra"}, "extra");
}

TEST_F(CliRefusals, ContradictoryOrInvalidOptionValuesAreRefusedWithTheirReasonAndWriteNothing) {
  ::setenv("JLIS_CA_PASSPHRASE", "correct horse battery staple", 1);
  // Two centres need a PostgreSQL store (on one, both commands are the second centre's set-up and
  // its status); a read store needs a centre (docs/OPERATIONS.md).
  if (!store::testing::testing_on_postgresql()) {
    refused({"init", "--data", dir_, "--centre", "east"}, "needs a PostgreSQL store");
    refused({"centre", "status", "--data", dir_}, "embedded SQLite store");
  }
  refused({"init", "--data", dir_, "--read-store", "postgresql://jlis@127.0.0.1:1/jlis"}, "goes with --centre");
  refused({"ca", "init", "--data", dir_, "--pkcs11-module", "/usr/lib/softhsm/libsofthsm2.so"}, "go together");
  refused({"ca", "init", "--data", dir_, "--pkcs11-token", "jlis"}, "go together");
  ::unsetenv("JLIS_CA_PASSPHRASE");
  refused({"serve", "--data", dir_, "--listen", "127.0.0.1:0", "--components", "registry,bogus"}, "unknown component");
  refused({"serve", "--data", dir_, "--listen", "127.0.0.1:0", "--components", "registry,pki"}, "no CA");
  refused({"serve", "--data", dir_, "--listen", "127.0.0.1:0", "--sqlite-memory", "-1"}, "sqlite-memory");
  refused({"mynumber", "reissue", "--data", dir_, "--resident", "00000000019", "--reason", "lost"}, "leak");
  refused({"token", "create", "--data", dir_, "--role", "agency"}, "role");
  refused({"population", "generate", "--data", dir_, "--count", "-5"}, "count");
  refused({"cards", "produce", "--data", dir_, "--max", "many"}, "max");
  refused({"cards", "notices", "--data", dir_, "--month", "2031-13"}, "month");
  refused({"certificates", "notices", "--data", dir_, "--month", "2031-13"}, "the month must be YYYY-MM");
  refused({"certificates", "notices", "--data", dir_, "--month", "2031-01"}, "no CA");  // this directory has none
  refused({"agency", "add", "--data", dir_, "--name", "x", "--purposes", "Bad Purpose"}, "purpose");
  refused({"municipality", "token", "--data", dir_, "--code", "131017"}, "local government code");
}

// The bulk load is for an empty register only: this directory holds the suite's 20 residents.
TEST_F(CliRefusals, ABulkLoadOfARegisterThatIsNotEmptyIsRefusedAndWritesNothing) {
  refused({"population", "generate", "--data", dir_, "--count", "5", "--bulk"}, "a bulk load needs an empty register");
  refused({"population", "generate", "--data", dir_, "--count", "5", "--bulk", "--register-only"},
          "holds 20 residents");
}

}  // namespace
}  // namespace jlis::e2e
