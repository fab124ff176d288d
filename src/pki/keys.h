// Where the CA's private keys live, and the only way to get at them: a KeyStore hands out EVP_PKEY
// handles that sign (X509_sign, X509_CRL_sign, OCSP_basic_sign, EVP_DigestSign) without the caller
// ever seeing key material.
//
// Two kinds:
//   file    DIR/pki/keys/<label>.key.pem: PKCS#8 EncryptedPrivateKeyInfo (PEM "ENCRYPTED PRIVATE
//           KEY"), PBES2 with AES-256-CBC under a key derived from the passphrase by scrypt
//           (N = 2^14, r = 8, p = 1, a 16-byte random salt shared by the files one store writes,
//           a random IV each; `openssl pkey` reads it: passphrase_cipher.h). The file is
//           created 0600 (in a directory created 0700 when missing), written to a temporary name,
//           synced and then linked to its name, so it appears whole or not at all and an existing
//           label is never overwritten (also across processes). The passphrase comes from the
//           operator (JLIS_CA_PASSPHRASE); it is never written anywhere by this code.
//   pkcs11  keys generated on and never leaving a PKCS#11 token (an HSM; SoftHSM2 in the tests),
//           found by their label (CKA_LABEL), used through libp11 0.4.12. The user PIN comes from
//           the operator (JLIS_PKCS11_PIN). generate() runs C_GenerateKeyPair on the token with
//           libp11's template: the private key is CKA_TOKEN, CKA_PRIVATE, CKA_SENSITIVE, CKA_SIGN
//           (and CKA_DECRYPT, CKA_UNWRAP), with a random 8-byte CKA_ID shared with its public key.
//           libp11 does not set CKA_EXTRACTABLE, so the token's default applies: false on SoftHSM2
//           (the tests check it); check the default or the policy of a production HSM.
//           A module can be open in one KeyStore per process at a time (open() answers conflict
//           otherwise): closing a store finalises the module, which would end every other session
//           on it, so components sharing an HSM share one KeyStore.
// Keys, passphrases and PINs never appear in a Status message, a log line or the database.
//
// Every key is RSA-2048 (the JPKI profile).
// Threads: a KeyStore is thread-safe; its libp11 calls are serialised by a mutex. A file key is an
// ordinary OpenSSL key that many threads may sign with at once. A PKCS#11 key handle is used by one
// thread at a time: threads that sign in parallel each load() their own handle. (libp11 0.4.12
// locks its per-slot state and takes a session from a per-slot pool for each operation, so separate
// handles sign in parallel; concurrent use of one handle is not relied upon or tested.)
// Lifetime: PKCS#11 handles refer to the store's libp11 context; free every handle before the
// KeyStore is destroyed. File handles are independent of their store.
#pragma once

#include <memory>
#include <string>

#include "common/status.h"
#include "pki/openssl.h"

namespace jlis::pki {

struct KeyStoreConfig {
  enum class Kind { file, pkcs11 };
  Kind kind = Kind::file;
  // file: the directory holding <label>.key.pem (created 0700 when missing).
  std::string directory = {};
  std::string passphrase = {};  // file: at least 8 characters
  // pkcs11: the module (e.g. /usr/lib/softhsm/libsofthsm2.so), the token label and the user PIN.
  std::string module = {};
  std::string token_label = {};
  std::string pin = {};
};

class KeyStore {
 public:
  // Opens the store: for file, creates the directory (0700) when missing; for pkcs11, loads the
  // module, finds the token by label and logs in. Errors: invalid_argument (bad configuration,
  // short passphrase, no such module file), not_found (no such token), permission_denied (wrong
  // or locked PIN), conflict (the module is already open in another KeyStore of this process),
  // internal (the module or the file system failed).
  static Result<std::unique_ptr<KeyStore>> open(const KeyStoreConfig& config);
  virtual ~KeyStore() = default;

  // Generates a new RSA-2048 key pair under `label` ([a-z0-9-]{1,64}) and answers its private key
  // handle. Fails with conflict when the label exists (for pkcs11, checked under the store's mutex:
  // two processes generating one label on one token at the same moment are not excluded). A file
  // store that has read no key yet reads one of its directory's first, so that the new file shares
  // its salt (passphrase_cipher.h): permission_denied when the passphrase does not decrypt it.
  virtual Result<EvpPkeyPtr> generate(const std::string& label) = 0;
  // The private key handle of `label`. A file store decrypts a label once and answers handles on
  // the same key after that (also for a key it generated). Errors: invalid_argument (bad label),
  // not_found (no such key), permission_denied (wrong passphrase: the file cannot be decrypted),
  // internal (a damaged key file, or the token failed).
  virtual Result<EvpPkeyPtr> load(const std::string& label) = 0;
};

}  // namespace jlis::pki
