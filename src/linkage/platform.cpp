#include "linkage/platform.h"

#include "pki/openssl.h"

#include "common/digest.h"

namespace jlis::linkage {

Result<std::unique_ptr<Platform>> Platform::open(store::Pool& pool, store::Writer& writer, auth::Directory& directory,
                                                 pki::KeyStore& keys) {
  JLIS_ASSIGN_OR_RETURN(const LegalTable* table, LegalTable::shipped());
  JLIS_ASSIGN_OR_RETURN(const DataLayouts* layouts, DataLayouts::shipped());
  auto key = keys.load(kCodeKeyLabel);  // a wrong passphrase fails here, at start
  if (!key.ok() && key.status().code() != Code::not_found) return key.status();
  pki::EvpPkeyPtr loaded = key.ok() ? std::move(*key) : nullptr;  // none yet: made by the first code
  return std::unique_ptr<Platform>(new Platform(pool, writer, directory, keys, std::move(loaded), *table, *layouts));
}

Result<std::string> Platform::code_key_fingerprint() {
  JLIS_ASSIGN_OR_RETURN(EVP_PKEY* key, codes_.key());
  JLIS_ASSIGN_OR_RETURN(std::string der, pki::der_of<i2d_PUBKEY>(key));  // SubjectPublicKeyInfo
  return sha256_hex(der);
}

}  // namespace jlis::linkage
