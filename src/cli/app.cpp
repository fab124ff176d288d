#include "cli/app.h"

#include <cstdio>
#include <cstdlib>
#include <ctime>

#include "kiosk/service_hours.h"
#include "kiosk/terminals.h"
#include "linkage/bodies.h"
#include "linkage/bulk_jobs.h"
#include "linkage/codes.h"
#include "linkage/message_log.h"
#include "linkage/queries.h"
#include "linkage/replicas.h"
#include "portal/portal.h"
#include "store/centre.h"
#include "store/data_dir.h"
#include "municipal/document_content.h"
#include "municipal/fuhyo.h"
#include "municipal/koseki.h"
#include "municipal/tax.h"
#include "pki/lgpki_commands.h"
#include "store/migrations.h"

namespace jlis::cli {
namespace {

Status migrate_all(store::Connection& conn) {
  JLIS_RETURN_IF_ERROR(auth::Directory::migrate(conn));
  JLIS_RETURN_IF_ERROR(registry::Registry::migrate(conn));
  JLIS_RETURN_IF_ERROR(numbering::Numbering::migrate(conn));
  JLIS_RETURN_IF_ERROR(card::CardSystem::migrate(conn));
  JLIS_RETURN_IF_ERROR(pki::CertificateAuthority::migrate(conn));
  JLIS_RETURN_IF_ERROR(pki::LgpkiAuthority::migrate(conn));
  JLIS_RETURN_IF_ERROR(municipal::Households::migrate(conn));
  JLIS_RETURN_IF_ERROR(municipal::Koseki::migrate(conn));
  JLIS_RETURN_IF_ERROR(municipal::TaxRecords::migrate(conn));
  JLIS_RETURN_IF_ERROR(municipal::SealRegistrations::migrate(conn));
  JLIS_RETURN_IF_ERROR(municipal::IssuanceServer::migrate(conn));
  JLIS_RETURN_IF_ERROR(kiosk::Terminals::migrate(conn));
  JLIS_RETURN_IF_ERROR(kiosk::ServiceHours::migrate(conn));
  JLIS_RETURN_IF_ERROR(linkage::LinkageCodes::migrate(conn));
  JLIS_RETURN_IF_ERROR(linkage::Bodies::migrate(conn));
  JLIS_RETURN_IF_ERROR(linkage::migrate_message_log(conn));
  JLIS_RETURN_IF_ERROR(linkage::Replicas::migrate(conn));
  JLIS_RETURN_IF_ERROR(linkage::Queries::migrate(conn));
  JLIS_RETURN_IF_ERROR(linkage::BulkJobs::migrate(conn));
  JLIS_RETURN_IF_ERROR(portal::Portal::migrate(conn));
  return Status::ok();
}

}  // namespace

pki::CaSecrets App::ca_secrets() {
  auto env = [](const char* name) {
    const char* v = std::getenv(name);
    return std::string(v ? v : "");
  };
  return {env("JLIS_CA_PASSPHRASE"), env("JLIS_PKCS11_PIN")};
}

Status App::init(const std::string& data_dir, bool simulation, const std::string& store,
                 std::optional<store::SqliteSync> sqlite_sync) {
  if (sqlite_sync && !(store.empty() && store::data_dir_store(data_dir).empty()))
    return invalid_argument("--sqlite-synchronous is the SQLite store's setting; on PostgreSQL a commit is as durable "
                            "as the server's synchronous_commit and fsync make it");
  JLIS_RETURN_IF_ERROR(store::init_data_dir(data_dir, simulation, store));
  if (sqlite_sync) JLIS_RETURN_IF_ERROR(store::set_data_dir_sqlite_sync(data_dir, *sqlite_sync));
  JLIS_ASSIGN_OR_RETURN(auto db, store::open_data_dir_database(data_dir, /*create=*/true));
  JLIS_ASSIGN_OR_RETURN(auto conn, db->connect());
  JLIS_RETURN_IF_ERROR(migrate_all(*conn));
  JLIS_RETURN_IF_ERROR(municipal::IssuanceServer::create_key_file(data_dir));
  return numbering::Numbering::create_key_file(data_dir);
}

Result<std::unique_ptr<App>> App::open(const std::string& data_dir, const std::string& reference_dir) {
  JLIS_RETURN_IF_ERROR(store::check_data_dir(data_dir));
  std::unique_ptr<App> app(new App());
  JLIS_ASSIGN_OR_RETURN(app->numbering_, numbering::Numbering::open(data_dir));
  JLIS_ASSIGN_OR_RETURN(auto db, store::open_data_dir_database(data_dir, /*create=*/false));
  app->db_ = std::move(db);
  // One connection checks and migrates the schemas, then writes (each is a server process on PostgreSQL).
  JLIS_ASSIGN_OR_RETURN(auto conn, app->db_->connect());
  // A directory made before households existed: its residents get one.
  JLIS_ASSIGN_OR_RETURN(int household_version, store::schema_version(*conn, "municipal_household"));
  const bool before_households = household_version == 0;
  JLIS_RETURN_IF_ERROR(migrate_all(*conn));
  JLIS_ASSIGN_OR_RETURN(app->reference_,
                        ReferenceData::load(reference_dir.empty() ? ReferenceData::default_dir() : reference_dir));
  JLIS_ASSIGN_OR_RETURN(auto read_db, store::open_data_dir_read_database(data_dir));
  app->read_db_ = read_db ? std::shared_ptr<store::Database>(std::move(read_db)) : app->db_;
  app->pool_ = std::make_unique<store::Pool>(app->read_db_);
  JLIS_ASSIGN_OR_RETURN(app->writer_, store::Writer::start(std::move(conn)));
  app->directory_ = std::make_unique<auth::Directory>(*app->pool_, *app->writer_);
  app->registry_ = std::make_unique<registry::Registry>(*app->pool_, *app->writer_, app->reference_,
                                                        app->numbering_.get());
  app->households_ = std::make_unique<municipal::Households>(*app->pool_, *app->writer_, *app->registry_);
  app->households_->attach();  // first: a placement that does not fit refuses the event before the rest
  municipal::Fuhyo::attach(*app->registry_);  // the 附票 of a register member follows their moves
  app->seals_ = std::make_unique<municipal::SealRegistrations>(*app->pool_, *app->writer_, *app->registry_);
  app->seals_->attach();  // a death or a move-out abolishes the seal in the same transaction
  JLIS_ASSIGN_OR_RETURN(app->issuance_,
                        municipal::IssuanceServer::open(data_dir, reference_dir.empty() ? ReferenceData::default_dir()
                                                                                        : reference_dir,
                                                        *app->pool_, *app->writer_, *app->registry_,
                                                        *app->households_, *app->seals_));
  app->cards_ = std::make_unique<card::CardSystem>(*app->pool_, *app->writer_, *app->registry_);
  app->cards_->attach(*app->registry_);  // before any event: a death must reach the cards
  if (pki::CertificateAuthority::exists(data_dir)) {
    JLIS_ASSIGN_OR_RETURN(app->ca_, pki::CertificateAuthority::open(data_dir, *app->pool_, *app->writer_,
                                                                     *app->registry_, ca_secrets()));
    app->ca_->attach(*app->registry_, *app->cards_);  // revocation and issuance join the changes
  }
  // Residents registered before My Numbers existed get theirs now (a no-op once done).
  JLIS_ASSIGN_OR_RETURN(int64_t numbered, app->registry_->assign_missing_my_numbers([](int64_t done, int64_t total) {
    if (total >= 10000) std::fprintf(stderr, "assigning My Numbers to existing residents: %lld/%lld\n",
                                     static_cast<long long>(done), static_cast<long long>(total));
  }));
  if (numbered > 0) std::fprintf(stderr, "assigned My Numbers to %lld existing residents\n", static_cast<long long>(numbered));
  if (before_households) {
    JLIS_ASSIGN_OR_RETURN(int64_t adopted, app->households_->adopt_unplaced());
    if (adopted > 0)
      std::fprintf(stderr, "households: %lld residents registered before households existed now each head a "
                   "household of one, until their municipality's household notices regroup them\n",
                   static_cast<long long>(adopted));
  }
  return app;
}

Result<pki::KeyStore*> App::key_store(const std::string& data_dir) {
  if (ca_) return ca_->key_store();
  if (!key_store_) {
    const pki::CaSecrets secrets = ca_secrets();
    if (secrets.passphrase.empty())
      return invalid_argument("set JLIS_CA_PASSPHRASE: the keys of LGPKI and the linkage platform are encrypted with it (with no JPKI CA in the "
                              "data directory they are files in DIR/pki/keys; for keys on a PKCS#11 token, create the "
                              "JPKI CA on the token first: jlis ca init --pkcs11-module ...)");
    pki::KeyStoreConfig config;
    config.directory = data_dir + "/pki/keys";
    config.passphrase = secrets.passphrase;
    JLIS_ASSIGN_OR_RETURN(key_store_, pki::KeyStore::open(config));
  }
  return key_store_.get();
}

Result<linkage::TimeStampService> App::time_stamps(const std::string& data_dir) {
  JLIS_ASSIGN_OR_RETURN(pki::LgpkiAuthority * authority, lgpki(data_dir));
  if (authority == nullptr)
    return invalid_argument("the data directory has no LGPKI, whose time-stamp authority stamps the log: jlis lgpki init");
  // The authority is asked at each stamp: it makes its key at the first (a log never stamped needs
  // none) and renews its certificate when that runs out.
  return linkage::TimeStampService([authority](std::string_view query) -> Result<std::string> {
    JLIS_ASSIGN_OR_RETURN(auto tsa, authority->time_stamp_authority());
    return tsa->respond(query, static_cast<int64_t>(std::time(nullptr)));
  });
}

Result<linkage::Platform*> App::linkage(const std::string& data_dir) {
  if (!linkage_) {
    JLIS_ASSIGN_OR_RETURN(pki::KeyStore * keys, key_store(data_dir));
    JLIS_ASSIGN_OR_RETURN(linkage_, linkage::Platform::open(*pool_, *writer_, *directory_, *keys));
  }
  return linkage_.get();
}

Result<pki::LgpkiAuthority*> App::lgpki(const std::string& data_dir, const pki::LgpkiOptions& options) {
  if (!lgpki_ && pki::lgpki_configured(data_dir)) {
    JLIS_ASSIGN_OR_RETURN(pki::KeyStore * keys, key_store(data_dir));
    JLIS_ASSIGN_OR_RETURN(lgpki_, pki::open_lgpki(data_dir, *pool_, *writer_, *keys, options));
  }
  return lgpki_.get();
}

Status App::seal_documents(const std::string& data_dir) {
  JLIS_ASSIGN_OR_RETURN(pki::LgpkiAuthority * lgpki, this->lgpki(data_dir));
  if (lgpki == nullptr || document_seal_) return Status::ok();
  JLIS_ASSIGN_OR_RETURN(pki::KeyStore * keys, key_store(data_dir));
  document_seal_ = std::make_unique<pki::DocumentSeal>(*lgpki, *keys);
  issuance_->seal_with([seal = document_seal_.get()](const municipal::SealRequest& r,
                                                     std::string pdf) -> Result<std::string> {
    JLIS_ASSIGN_OR_RETURN(auto sealed, seal->seal(r.municipality.str(), std::move(pdf),
                                                  std::string(municipal::document_title(r.type)) + " " +
                                                      r.issuance_number,
                                                  static_cast<int64_t>(std::time(nullptr))));
    return std::move(sealed.pdf);
  });
  return Status::ok();
}

App::~App() {
  // Components first, then the writer (which finishes its queue), then the connections.
  linkage_.reset();  // its key handle before the key store
  document_seal_.reset();
  lgpki_.reset();
  ca_.reset();
  key_store_.reset();
  cards_.reset();
  issuance_.reset();
  seals_.reset();
  households_.reset();
  registry_.reset();
  directory_.reset();
  writer_.reset();
  numbering_.reset();
  pool_.reset();
}

}  // namespace jlis::cli
