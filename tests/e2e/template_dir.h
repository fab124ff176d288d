// Prepared data directories for the end-to-end and security fixtures. Every test case is its own
// process (gtest_discover_tests), so a fixture that runs `jlis init`, `jlis ca init` (CA key
// generation) and its token commands would do so once per case. prepared_dir() runs the fixture's
// setup commands ONCE per build and copies the result for every later process.
//
// The template is keyed by the commands, JLIS_CA_PASSPHRASE, the jlis binary (path, size, mtime)
// and the date in Japan: a rebuilt jlis, a changed fixture, another passphrase or another day gets
// a fresh template. It lives
// under the build directory (JLIS_TEST_TEMPLATES), is built under an exclusive flock (parallel test
// processes wait for the first), and is rebuilt when older than kTemplateMaxAge (tokens and CA
// certificates made long ago would make the tests depend on an old clock).
//
// On PostgreSQL (JLIS_TEST_STORE) the template's store is the database jlis_tpl_<key> on the test
// server, and each copy gets a copy of that database (CREATE DATABASE … TEMPLATE), dropped when the
// test process ends; a template whose database is gone (another run's server) is rebuilt.
#pragma once

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "jlis_process.h"

namespace jlis::e2e {

inline constexpr auto kTemplateMaxAge = std::chrono::hours(6);

namespace template_detail {

inline uint64_t fnv1a(const std::string& s, uint64_t h = 1469598103934665603ull) {
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

// The template's key: the steps, the CA passphrase in the environment, the jlis binary, and the
// day in Japan (what the commands made never spans a change of date).
inline std::string key_of(const std::vector<std::vector<std::string>>& steps) {
  std::string k = JLIS_BINARY;
  k += "|day " + std::to_string((static_cast<int64_t>(std::time(nullptr)) + 9 * 3600) / 86400);
  struct stat st{};
  if (::stat(JLIS_BINARY, &st) == 0)
    k += "|" + std::to_string(st.st_size) + "|" + std::to_string(st.st_mtim.tv_sec) + "." +
         std::to_string(st.st_mtim.tv_nsec);
  if (store::testing::testing_on_postgresql()) k += "|postgresql";
  const char* pass = std::getenv("JLIS_CA_PASSPHRASE");
  k += std::string("|") + (pass ? pass : "");
  for (const auto& step : steps) {
    k += "|";
    for (const auto& a : step) k += a + '\x1f';
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(fnv1a(k)));
  return hex;
}

inline std::vector<std::string> with_dir(const std::vector<std::string>& step, const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& a : step) out.push_back(a == "{dir}" ? dir : a);
  return out;
}

// The template's database on the PostgreSQL test server.
inline std::string database_of(const std::string& key) { return "jlis_tpl_" + key; }

inline bool fresh(const std::filesystem::path& done, const std::string& key) {
  std::error_code ec;
  auto t = std::filesystem::last_write_time(done, ec);
  if (ec || std::filesystem::file_time_type::clock::now() - t >= kTemplateMaxAge) return false;
  return !store::testing::testing_on_postgresql() || store::testing::test_database_exists(database_of(key));
}

// The template's steps as run: "{dir}" replaced, and on PostgreSQL init given the template's database.
inline std::vector<std::string> as_run(const std::vector<std::string>& step, const std::string& dir, const std::string& key) {
  std::vector<std::string> out = with_dir(step, dir);
  if (!out.empty() && out[0] == "init" && store::testing::testing_on_postgresql())
    out.insert(out.end(), {"--store", store::testing::test_database_url(database_of(key))});
  return out;
}

}  // namespace template_detail

// Makes `dir` the data directory that running `steps` (jlis arguments; "{dir}" stands for the data
// directory) in order would make, and answers each step's Output as it was when the template was
// built. The steps stop at the first one that exits non-zero (its Output is the last answered, and
// nothing is kept as a template); the caller asserts on the outputs as it would on its own runs.
inline std::vector<Output> prepared_dir(const std::string& dir, const std::vector<std::vector<std::string>>& steps) {
  namespace fs = std::filesystem;
  using nlohmann::json;
  const fs::path root = JLIS_TEST_TEMPLATES;
  const std::string key = template_detail::key_of(steps);
  const fs::path tpl = root / key;
  std::error_code ec;
  fs::create_directories(root, ec);
  fs::remove_all(dir, ec);

  const int lock = ::open((root / (key + ".lock")).c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock >= 0) ::flock(lock, LOCK_EX);
  std::vector<Output> outputs;
  if (lock >= 0 && template_detail::fresh(tpl / "done", key)) {
    std::ifstream in(tpl / "outputs.json");
    const json recorded = json::parse(in, nullptr, false);
    if (recorded.is_array() && recorded.size() == steps.size())
      for (const auto& o : recorded)
        outputs.push_back({o["exit_code"].get<int>(), o["out"].get<std::string>(), o["err"].get<std::string>()});
  }
  if (outputs.empty()) {  // no usable template: build it
    fs::remove_all(tpl, ec);
    const fs::path data = tpl / "data";
    fs::create_directories(tpl, ec);
    if (store::testing::testing_on_postgresql()) {
      const std::string db = template_detail::database_of(key);
      (void)store::testing::test_server_admin()->execute_script("DROP DATABASE IF EXISTS " + db + " WITH (FORCE)");
      store::testing::create_test_database(db);
    }
    for (const auto& step : steps) {
      outputs.push_back(jlis(template_detail::as_run(step, data.string(), key)));
      if (outputs.back().exit_code != 0) break;
    }
    if (lock >= 0 && outputs.size() == steps.size() && outputs.back().exit_code == 0) {
      json o = json::array();
      for (const auto& out : outputs) o.push_back({{"exit_code", out.exit_code}, {"out", out.out}, {"err", out.err}});
      std::ofstream(tpl / "outputs.json") << o.dump();
      std::ofstream(tpl / "done") << key << "\n";
    }
  }
  fs::copy(tpl / "data", dir, fs::copy_options::recursive, ec);
  if (ec) ADD_FAILURE() << "copying the template " << tpl << " to " << dir << ": " << ec.message();
  const bool kept = template_detail::fresh(tpl / "done", key);
  if (kept && store::testing::testing_on_postgresql())  // the copy's own copy of the database
    write_file(fs::path(dir) / "store", kept_test_store(template_detail::database_of(key)).url() + "\n");
  if (!kept) fs::remove_all(tpl, ec);  // a failed build is not kept
  if (lock >= 0) ::close(lock);  // releases the flock
  return outputs;
}

}  // namespace jlis::e2e
