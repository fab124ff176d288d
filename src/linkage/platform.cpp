#include "linkage/platform.h"

#include "pki/openssl.h"

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
  JLIS_ASSIGN_OR_RETURN(std::string der, pki::der_of<i2d_PUBKEY>(key_.get()));  // SubjectPublicKeyInfo
  return sha256_hex(der);
}

}  // namespace jlis::linkage
