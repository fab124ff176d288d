// The encryption of the file key store's private keys under its passphrase (keys.h): PKCS#8
// EncryptedPrivateKeyInfo, PBES2 with scrypt (N = 2^14, r = 8, p = 1: `openssl pkcs8 -scrypt`'s) and
// AES-256-CBC, readable by the stock openssl tool with the passphrase.
//
// scrypt is the cost of the scheme (about 45 ms of CPU and 16 MiB a derivation), so a cipher derives
// once per salt and keeps the result: the files it writes share the salt it derived last (a salt
// is drawn at random when it has none yet), each with a random IV of its own. A process that opens
// `jlis serve`'s dozen keys derives once per salt among them, not once per file. Files written with
// another salt (an older store, openssl's own) read as before, at a derivation each; files of
// another PBES2 scheme go to OpenSSL's PKCS8_decrypt.
//
// Thread-safe. The derived keys are wiped when the cipher goes.
#pragma once

#include <openssl/x509.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "common/status.h"
#include "pki/openssl.h"

namespace jlis::pki {

using P8InfoPtr = std::unique_ptr<PKCS8_PRIV_KEY_INFO, OpensslDeleter<PKCS8_PRIV_KEY_INFO_free>>;
using X509SigPtr = std::unique_ptr<X509_SIG, OpensslDeleter<X509_SIG_free>>;

struct ScryptSetting;  // a derivation's salt and cost (passphrase_cipher.cpp)

class PassphraseCipher {
 public:
  explicit PassphraseCipher(std::string passphrase) : passphrase_(std::move(passphrase)) {}
  ~PassphraseCipher();
  PassphraseCipher(const PassphraseCipher&) = delete;
  PassphraseCipher& operator=(const PassphraseCipher&) = delete;

  // `key` encrypted.
  Result<X509SigPtr> encrypt(const PKCS8_PRIV_KEY_INFO* key);
  // `sig` decrypted; permission_denied when the passphrase does not decrypt it.
  Result<P8InfoPtr> decrypt(const X509_SIG* sig);

  // Whether the files written next have a salt already (one derived, or one written): a store
  // whose cipher has none reads one of its files first, so that a new key shares its salt.
  bool has_salt() const;
  // How many scrypt derivations this cipher has made (what the cache saves is tested by it).
  int derivations() const;

 private:
  Result<std::string> derived(const ScryptSetting& s);  // under mu_

  std::string passphrase_;
  mutable std::mutex mu_;
  std::map<std::string, std::string> keys_;  // by the setting's encoding
  std::string last_salt_;                    // the salt of the files written next
  int derivations_ = 0;
};

}  // namespace jlis::pki
