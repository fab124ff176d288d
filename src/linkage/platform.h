// The information-linkage platform as a server runs it (issue 11): its bodies, linkage codes,
// replicas, queries and bulk jobs over one store, with the platform's code key and the shipped
// legal table and data standard layouts. The code key (codes.h, kCodeKeyLabel) lives in the key store given (the
// JPKI CA's, so a PKCS#11 token is shared, or encrypted files under the operator's passphrase): loaded
// when the platform opens (a wrong passphrase fails there), and generated there by the key ceremony
// (`jlis linkage key`) or else when the platform makes its first code, then loaded ever after; a
// `jlis serve` that makes no code makes no key.
// Every code made is recorded, so the key is needed only for codes not made yet.
#pragma once

#include <memory>

#include "auth/directory.h"
#include "common/status.h"
#include "linkage/bodies.h"
#include "linkage/bulk_jobs.h"
#include "linkage/codes.h"
#include "linkage/queries.h"
#include "linkage/replicas.h"
#include "pki/keys.h"
#include "store/database.h"
#include "store/writer.h"

namespace jlis::linkage {

class Platform {
 public:
  // Not owned; all must outlive the platform (and `keys` its key handle). Errors: the key store's
  // (permission_denied for a wrong passphrase), internal when the shipped tables do not load.
  static Result<std::unique_ptr<Platform>> open(store::Pool& pool, store::Writer& writer, auth::Directory& directory,
                                                pki::KeyStore& keys);

  Bodies& bodies() { return bodies_; }
  LinkageCodes& codes() { return codes_; }
  Replicas& replicas() { return replicas_; }
  Queries& queries() { return queries_; }
  BulkJobs& bulk_jobs() { return bulk_jobs_; }
  const LegalTable& legal_table() const { return table_; }
  const DataLayouts& layouts() const { return layouts_; }
  // SHA-256 of the code key's public key (SubjectPublicKeyInfo DER), as lower-case hex: what a key
  // ceremony records (`jlis linkage key`) and a later one compares.
  // Generates the key when the store has none yet (the ceremony).
  Result<std::string> code_key_fingerprint();

 private:
  Platform(store::Pool& pool, store::Writer& writer, auth::Directory& directory, pki::KeyStore& keys,
           pki::EvpPkeyPtr loaded_key, const LegalTable& table, const DataLayouts& layouts)
      : table_(table),
        layouts_(layouts),
        bodies_(pool, writer, directory),
        codes_(pool, writer, keys, std::move(loaded_key)),
        replicas_(pool, writer, layouts),
        queries_(pool, writer, table, layouts),
        bulk_jobs_(pool, writer, queries_) {}

  const LegalTable& table_;
  const DataLayouts& layouts_;
  Bodies bodies_;
  LinkageCodes codes_;
  Replicas replicas_;
  Queries queries_;
  BulkJobs bulk_jobs_;
};

}  // namespace jlis::linkage
