// RSA keys and a JPKI CA hierarchy that every test process would otherwise generate again: RSA-2048
// key generation is most of a pki test's time (about 0.2 s of CPU a key, four for a CA, two for a
// card), and ctest runs each test case in a process of its own. They are kept in the build's test
// cache (JLIS_TEST_CACHE, tests/CMakeLists.txt; one per build of a test binary), made by the first process that needs one: written
// under a temporary name and then linked (a file) or renamed (a directory) into place, so a
// process racing it sees all of it or none and never overwrites it. Without JLIS_TEST_CACHE (the
// benchmarks include this) everything is generated fresh.
//
// Within a process the keys are distinct (the n-th key asked for is cache entry n), so a test that
// needs two different keys gets them; across processes the same keys recur, each test with a store
// of its own. Keys that a test checks for being weak or malformed are made by the test itself.
#pragma once

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "pki/openssl.h"

namespace jlis::pki::testing {

// The cache of this test binary as built: named by the binary's modification time, so a rebuild
// (whose library changes may change what a CA's init makes) never reads what an older one cached.
inline std::filesystem::path test_cache_dir() {
#ifdef JLIS_TEST_CACHE
  std::error_code ec;
  const auto built = std::filesystem::last_write_time("/proc/self/exe", ec);
  if (ec) return {};
  return std::filesystem::path(JLIS_TEST_CACHE) /
         (std::filesystem::path(std::filesystem::read_symlink("/proc/self/exe", ec)).filename().string() + "-" +
          std::to_string(built.time_since_epoch().count()));
#else
  return {};
#endif
}

inline std::string unique_suffix() {
  return std::to_string(::getpid()) + "-" + std::to_string(std::random_device{}());
}

// The `slot`-th cached RSA-2048 key (made on first use).
inline EvpPkeyPtr cached_rsa_key(int slot) {
  const std::filesystem::path dir = test_cache_dir();
  if (dir.empty()) return generate_rsa(2048).value();
  const std::filesystem::path path = dir / ("rsa-" + std::to_string(slot) + ".pem");
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::ifstream in(path, std::ios::binary);
    if (in) {
      const std::string pem((std::istreambuf_iterator<char>(in)), {});
      auto key = private_key_from_pem(pem);
      if (key.ok()) return std::move(*key);
    }
    if (attempt == 1) break;
    auto key = generate_rsa(2048).value();
    std::filesystem::create_directories(dir);
    const std::filesystem::path tmp = dir / ("rsa-" + std::to_string(slot) + "." + unique_suffix() + ".tmp");
    std::ofstream(tmp, std::ios::binary) << private_key_pem(key.get()).value();
    const bool linked = ::link(tmp.c_str(), path.c_str()) == 0;  // never over another process's
    std::filesystem::remove(tmp);
    if (linked) return key;
  }
  std::abort();  // the cache cannot be written or read: fail loudly
}

// A fresh key of this process: the next slot of the cache.
inline EvpPkeyPtr next_cached_rsa_key() {
  static std::atomic<int> next{0};
  return cached_rsa_key(next++);
}

// Makes the directory `target` a copy of the cached directory `name`; when there is none yet, runs
// `make(target)` and caches what it made. Answers make's failure, if any.
template <typename Make>
Status cached_directory(const std::string& name, const std::filesystem::path& target, Make make) {
  const std::filesystem::path dir = test_cache_dir();
  if (dir.empty()) return make(target);
  const std::filesystem::path cached = dir / name;
  std::error_code ec;
  if (std::filesystem::exists(cached / ".complete")) {
    std::filesystem::create_directories(target.parent_path());
    std::filesystem::copy(cached, target, std::filesystem::copy_options::recursive, ec);
    std::filesystem::remove(target / ".complete", ec);
    if (ec) return internal_error("cannot copy the cached " + name + ": " + ec.message());
    return Status::ok();
  }
  JLIS_RETURN_IF_ERROR(make(target));
  const std::filesystem::path tmp = dir / (name + "." + unique_suffix() + ".tmp");
  std::filesystem::create_directories(dir, ec);
  std::filesystem::copy(target, tmp, std::filesystem::copy_options::recursive, ec);
  std::ofstream(tmp / ".complete") << "";
  if (ec || ::rename(tmp.c_str(), cached.c_str()) != 0) std::filesystem::remove_all(tmp, ec);  // another won
  return Status::ok();
}

}  // namespace jlis::pki::testing
