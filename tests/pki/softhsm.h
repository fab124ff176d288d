// A SoftHSM2 token for the tests that keep CA keys on PKCS#11 (keys_test, lgpki_pkcs11_test).
// Header-only. SoftHSM reads SOFTHSM2_CONF when the module is initialised (each KeyStore::open),
// so the variable stays set for the suite that made the token.
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace jlis::pki::testing {

// The SoftHSM2 module's path, or "" when it is not installed.
inline std::string find_softhsm_module() {
  for (const char* path : {"/usr/lib/softhsm/libsofthsm2.so", "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
                           "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so", "/usr/lib64/softhsm/libsofthsm2.so",
                           "/usr/lib64/pkcs11/libsofthsm2.so", "/usr/local/lib/softhsm/libsofthsm2.so"}) {
    if (::access(path, R_OK) == 0) return path;
  }
  return {};
}

// Makes a token store under `root` (DIR/tokens, DIR/softhsm2.conf), points SOFTHSM2_CONF at it
// and initialises a token `label` with the SO PIN and user PIN given. True when it succeeded.
inline bool init_softhsm_token(const std::string& root, const std::string& label, const std::string& so_pin,
                               const std::string& pin) {
  std::filesystem::create_directories(root + "/tokens");
  const std::string conf = root + "/softhsm2.conf";
  std::ofstream(conf) << "directories.tokendir = " << root << "/tokens\n"
                      << "objectstore.backend = file\n"
                      << "log.level = ERROR\n";
  ::setenv("SOFTHSM2_CONF", conf.c_str(), 1);
  const std::string init = "softhsm2-util --init-token --free --label " + label + " --so-pin " + so_pin + " --pin " +
                           pin + " >/dev/null 2>&1";
  return std::system(init.c_str()) == 0;
}

}  // namespace jlis::pki::testing
