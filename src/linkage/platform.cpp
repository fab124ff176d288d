#include "linkage/platform.h"

#include <openssl/x509.h>

#include "common/digest.h"

namespace jlis::linkage {

Result<std::unique_ptr<Platform>> Platform::open(store::Pool& pool, store::Writer& writer, auth::Directory& directory,
                                                 pki::KeyStore& keys) {
  JLIS_ASSIGN_OR_RETURN(const LegalTable* table, LegalTable::shipped());
  JLIS_ASSIGN_OR_RETURN(const DataLayouts* layouts, DataLayouts::shipped());
  auto key = keys.load(kCodeKeyLabel);
  if (!key.ok() && key.status().code() == Code::not_found) {
    key = keys.generate(kCodeKeyLabel);
    // Another process generated it between the two calls: its key is the platform's.
    if (!key.ok() && key.status().code() == Code::conflict) key = keys.load(kCodeKeyLabel);
  }
  if (!key.ok()) return key.status();
  return std::unique_ptr<Platform>(new Platform(pool, writer, directory, std::move(*key), *table, *layouts));
}

Result<std::string> Platform::code_key_fingerprint() const {
  unsigned char* der = nullptr;
  const int length = i2d_PUBKEY(key_.get(), &der);
  if (length <= 0) return pki::openssl_error("encoding the linkage code key's public key");
  std::string fingerprint = sha256_hex(std::string_view(reinterpret_cast<const char*>(der), length));
  OPENSSL_free(der);
  return fingerprint;
}

}  // namespace jlis::linkage
