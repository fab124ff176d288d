// `jlis` refuses unknown and contradictory options in every subcommand: a message on stderr, a
// non-zero exit, and nothing written to the data directory.
#include <algorithm>
#include <set>
#include <sstream>

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
    const std::string before = fingerprint();
    refused_unchecked(args, expect);
    EXPECT_EQ(fingerprint(), before) << args_shown(args) << " wrote to the data directory";
  }
  // The same without the data directory's fingerprint (the caller takes one around many).
  static void refused_unchecked(const std::vector<std::string>& args, const std::string& expect) {
    auto r = jlis(args);
    EXPECT_NE(r.exit_code, 0) << args_shown(args);
    EXPECT_NE(r.err.find(expect), std::string::npos) << args_shown(args) << "\nstderr: " << r.err;
  }
  static std::string args_shown(const std::vector<std::string>& args) {
    std::string shown;
    for (const auto& a : args) shown += a + " ";
    return shown;
  }

  static inline std::string dir_;
};

// The subcommands `jlis PATH... --help` lists: after "Subcommands:", a line each, "  name[, alias]  what".
std::vector<std::string> listed_subcommands(const std::vector<std::string>& path) {
  auto args = path;
  args.push_back("--help");
  const auto r = jlis(args);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::string> names;
  const auto at = r.out.find("\nSubcommands:\n");
  if (at == std::string::npos) return names;
  std::istringstream lines(r.out.substr(at + 14));
  for (std::string line; std::getline(lines, line) && line.rfind("  ", 0) == 0 && line[2] != ' ';)
    names.push_back(line.substr(2, line.find_first_of(", ", 2) - 2));
  return names;
}

// Every subcommand, found by walking the help tree from the root (so one added tomorrow is in it).
void walk_subcommands(const std::vector<std::string>& path, std::vector<std::vector<std::string>>& out) {
  for (const auto& name : listed_subcommands(path)) {
    auto child = path;
    child.push_back(name);
    out.push_back(child);
    walk_subcommands(child, out);
  }
}

TEST_F(CliRefusals, EverySubcommandRefusesAnUnknownOptionWithAMessageAndWritesNothing) {
  std::vector<std::vector<std::string>> commands;
  walk_subcommands({}, commands);
  // The walk reaches every component's commands, the nested ones too.
  for (const auto& known : std::initializer_list<std::vector<std::string>>{
           {"init"}, {"serve"}, {"ca", "crl"}, {"token", "revoke"}, {"mynumber", "letters"}, {"cards", "pin-reset"},
           {"documents", "render"}, {"lgpki", "rollover"}, {"kiosk", "terminal", "disable"}, {"kiosk", "screen"},
           {"linkage", "key"}, {"linkage", "body", "certificate"}})
    EXPECT_NE(std::find(commands.begin(), commands.end(), known), commands.end()) << known.back();
  // The unknown option is named even where a required option is missing too (`--dta DIR`, a mistyped
  // --data, must not be answered "--data is required"), and a subcommand without --data names both.
  // None of them writes: the data directory's fingerprint is the same after all of them.
  const std::string before = fingerprint();
  for (auto args : commands) {
    args.insert(args.end(), {"--data", dir_, "--frobnicate"});
    refused_unchecked(args, "frobnicate");
  }
  EXPECT_EQ(fingerprint(), before) << "a refused subcommand wrote to the data directory";
  refused({"token", "create", "--dta", dir_, "--role", "operator"}, "--dta");
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
