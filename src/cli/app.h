// Everything a command needs, opened from a data directory: the database, its single writer, the
// components, and the reference data. One App per process.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "auth/directory.h"
#include "common/reference_data.h"
#include "linkage/message_log.h"
#include "linkage/platform.h"
#include "card/card_system.h"
#include "municipal/household.h"
#include "municipal/issuance.h"
#include "municipal/seal_registration.h"
#include "numbering/numbering.h"
#include "pki/ca.h"
#include "pki/document_seal.h"
#include "pki/lgpki.h"
#include "registry/registry.h"
#include "store/database.h"
#include "store/data_dir.h"
#include "store/writer.h"

namespace jlis::cli {

class App {
 public:
  // Creates (or upgrades) the data directory and its schema, and creates the My Number key
  // (DIR/keys/my-number.key, mode 0600) unless it exists.
  // `simulation`: a simulation's directory; `store`: "" (SQLite) or a PostgreSQL URI (store::init_data_dir).
  // `sqlite_sync`, when given, is recorded as the directory's SQLite durability (store::SqliteSync),
  // a new directory's or an existing one's; refused, before anything is created, on PostgreSQL.
  static Status init(const std::string& data_dir, bool simulation = false, const std::string& store = "",
                     std::optional<store::SqliteSync> sqlite_sync = std::nullopt);
  // The operator's secrets for the CA keys, from the environment: JLIS_CA_PASSPHRASE (encrypted key
  // files) and JLIS_PKCS11_PIN (a PKCS#11 token).
  static pki::CaSecrets ca_secrets();
  // Opens an existing data directory; applies pending migrations and refuses a newer schema.
  // When DIR has a CA (jlis ca init), opens it too and joins it to the register and the cards.
  // Refuses a directory whose My Number key is missing or not 32 bytes. Residents without a My
  // Number (registered before numbering existed) get one here, with progress on stderr if many.
  // `reference_dir` empty means ReferenceData::default_dir().
  static Result<std::unique_ptr<App>> open(const std::string& data_dir, const std::string& reference_dir = "");
  ~App();

  // The read paths' connections: on the centre's read store when DIR names one (store/centre.h),
  // else on the store. Writes never go through it.
  store::Pool& pool() { return *pool_; }
  store::Writer& writer() { return *writer_; }
  auth::Directory& directory() { return *directory_; }
  registry::Registry& registry() { return *registry_; }
  numbering::Numbering& numbering() { return *numbering_; }
  card::CardSystem& cards() { return *cards_; }
  municipal::Households& households() { return *households_; }
  municipal::SealRegistrations& seals() { return *seals_; }
  municipal::IssuanceServer& issuance() { return *issuance_; }
  // The JPKI CA; null when the data directory has none.
  pki::CertificateAuthority* ca() { return ca_.get(); }
  // The key store of the keys other than the JPKI CA's own (LGPKI's, pki/lgpki.h; the linkage
  // platform's code key), opened on first use: the JPKI CA's (its keys loaded, so a PKCS#11 token
  // is shared) when DIR has a CA, else encrypted files in DIR/pki/keys under JLIS_CA_PASSPHRASE.
  // Lives as long as this App.
  Result<pki::KeyStore*> key_store(const std::string& data_dir);
  // The information-linkage platform (linkage/platform.h) with its code key from key_store,
  // opened on first use. Lives as long as this App.
  Result<linkage::Platform*> linkage(const std::string& data_dir);
  // LGPKI (pki/lgpki.h) with the keys of key_store, opened on first use with `options` (later
  // calls' options are ignored); null when DIR has none (no `jlis lgpki init`). Lives as long as
  // this App.
  Result<pki::LgpkiAuthority*> lgpki(const std::string& data_dir, const pki::LgpkiOptions& options = {});
  // J-LIS's time-stamp authority (LGPKI's, in-process, at the current time): what stamps the
  // linkage message log. invalid_argument when DIR has no LGPKI.
  Result<linkage::TimeStampService> time_stamps(const std::string& data_dir);
  // When DIR has an LGPKI: from now on every document the issuance server makes leaves with its
  // municipality's electronic seal (pki/document_seal.h), time-stamped by LGPKI's time-stamp
  // authority, once the municipality holds a document-signing or position certificate whose key is
  // in the key store. The keys are opened now (their errors are this call's). Call before serving.
  Status seal_documents(const std::string& data_dir);
  const ReferenceData& reference() const { return *reference_; }
  std::shared_ptr<const ReferenceData> reference_ptr() const { return reference_; }

 private:
  App() = default;
  std::shared_ptr<store::Database> db_;
  std::shared_ptr<store::Database> read_db_;  // db_, or the centre's read store
  std::unique_ptr<store::Pool> pool_;
  std::unique_ptr<store::Writer> writer_;
  std::shared_ptr<const ReferenceData> reference_;
  std::unique_ptr<auth::Directory> directory_;
  std::unique_ptr<numbering::Numbering> numbering_;
  std::unique_ptr<registry::Registry> registry_;
  std::unique_ptr<municipal::Households> households_;
  std::unique_ptr<municipal::SealRegistrations> seals_;
  std::unique_ptr<municipal::IssuanceServer> issuance_;
  std::unique_ptr<card::CardSystem> cards_;
  std::unique_ptr<pki::CertificateAuthority> ca_;
  std::unique_ptr<pki::KeyStore> key_store_;  // without a JPKI CA only
  std::unique_ptr<pki::LgpkiAuthority> lgpki_;
  std::unique_ptr<pki::DocumentSeal> document_seal_;
  std::unique_ptr<linkage::Platform> linkage_;
};

}  // namespace jlis::cli
