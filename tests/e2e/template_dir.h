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
// A template is built from a copy of the template of its steps but the last (template_of), so
// fixtures that begin alike share the CA and LGPKI key generations of their common steps.
//
// On PostgreSQL (JLIS_TEST_STORE) the template's store is the database jlis_tpl_<key> on the test
// server (a copy of its shorter template's), and each copy gets a copy of that database (CREATE
// DATABASE … TEMPLATE), dropped when the test process ends; a template whose database is gone
// (another run's server) is rebuilt.
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
#include <optional>
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
// day in Japan (`day`, what the commands made never spans a change of date).
inline std::string key_of(const std::vector<std::vector<std::string>>& steps, int64_t day) {
  std::string k = JLIS_BINARY;
  k += "|day " + std::to_string(day);
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

// One template, found or built, with its lock held until destruction.
struct Template {
  std::filesystem::path path;  // <root>/<key>: data/, outputs.json, done
  std::string key;
  std::vector<Output> outputs;
  int lock = -1;
  Template() = default;
  Template(const Template&) = delete;
  Template& operator=(const Template&) = delete;
  ~Template() {
    if (lock >= 0) ::close(lock);  // releases the flock
  }
  bool kept() const { return fresh(path / "done", key); }
};

// The template of `steps` (made on `day`): read when one is kept, else built. A build starts from a
// copy of the template of all the steps but the last (found or built the same way, under its own
// lock: locks are taken from the longest steps to the shortest, so never in a cycle) and runs the
// last step, so fixtures that begin alike (`init`, `ca init`, ...) make those steps, and their keys,
// once. A template made from another is as old as it: its done file takes the other's time.
inline void template_of(Template& t, const std::vector<std::vector<std::string>>& steps, int64_t day) {
  namespace fs = std::filesystem;
  using nlohmann::json;
  const fs::path root = JLIS_TEST_TEMPLATES;
  t.key = key_of(steps, day);
  t.path = root / t.key;
  std::error_code ec;
  fs::create_directories(root, ec);
  t.lock = ::open((root / (t.key + ".lock")).c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (t.lock >= 0) ::flock(t.lock, LOCK_EX);
  if (t.lock >= 0 && t.kept()) {
    std::ifstream in(t.path / "outputs.json");
    const json recorded = json::parse(in, nullptr, false);
    if (recorded.is_array() && recorded.size() == steps.size())
      for (const auto& o : recorded)
        t.outputs.push_back({o["exit_code"].get<int>(), o["out"].get<std::string>(), o["err"].get<std::string>()});
  }
  if (!t.outputs.empty() || steps.empty()) return;
  // No usable template: build it.
  fs::remove_all(t.path, ec);
  const fs::path data = t.path / "data";
  fs::create_directories(t.path, ec);
  const bool postgresql = store::testing::testing_on_postgresql();
  const std::string db = database_of(t.key);
  if (postgresql)
    (void)store::testing::test_server_admin()->execute_script("DROP DATABASE IF EXISTS " + db + " WITH (FORCE)");
  std::optional<fs::file_time_type> made;
  if (steps.size() > 1) {
    Template prefix;
    template_of(prefix, {steps.begin(), steps.end() - 1}, day);
    t.outputs = prefix.outputs;
    fs::copy(prefix.path / "data", data, fs::copy_options::recursive, ec);
    if (!prefix.kept() || ec) return;  // the shorter steps failed: so do these, and nothing is kept
    if (postgresql) {
      store::testing::create_test_database(db, database_of(prefix.key));
      write_file(data / "store", store::testing::test_database_url(db) + "\n");
    }
    made = fs::last_write_time(prefix.path / "done", ec);
  } else if (postgresql) {
    store::testing::create_test_database(db);
  }
  t.outputs.push_back(jlis(as_run(steps.back(), data.string(), t.key)));
  if (t.lock < 0 || t.outputs.back().exit_code != 0) return;
  json o = json::array();
  for (const auto& out : t.outputs) o.push_back({{"exit_code", out.exit_code}, {"out", out.out}, {"err", out.err}});
  std::ofstream(t.path / "outputs.json") << o.dump();
  std::ofstream(t.path / "done") << t.key << "\n";
  if (made) fs::last_write_time(t.path / "done", *made, ec);
}

}  // namespace template_detail

// Makes `dir` the data directory that running `steps` (jlis arguments; "{dir}" stands for the data
// directory) in order would make, and answers each step's Output as it was when the template was
// built. The steps stop at the first one that exits non-zero (its Output is the last answered, and
// nothing is kept as a template); the caller asserts on the outputs as it would on its own runs.
inline std::vector<Output> prepared_dir(const std::string& dir, const std::vector<std::vector<std::string>>& steps) {
  namespace fs = std::filesystem;
  const int64_t day = (static_cast<int64_t>(std::time(nullptr)) + 9 * 3600) / 86400;  // in Japan
  template_detail::Template t;
  template_detail::template_of(t, steps, day);
  std::error_code ec;
  fs::remove_all(dir, ec);
  fs::copy(t.path / "data", dir, fs::copy_options::recursive, ec);
  if (ec) ADD_FAILURE() << "copying the template " << t.path << " to " << dir << ": " << ec.message();
  const bool kept = t.kept();
  if (kept && store::testing::testing_on_postgresql())  // the copy's own copy of the database
    write_file(fs::path(dir) / "store", kept_test_store(template_detail::database_of(t.key)).url() + "\n");
  if (!kept) fs::remove_all(t.path, ec);  // a failed build is not kept
  return t.outputs;
}

}  // namespace jlis::e2e
