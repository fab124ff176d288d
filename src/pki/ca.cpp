#include "pki/ca.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "card/validity.h"
#include "common/clock.h"
#include "common/digest.h"
#include "common/files.h"
#include "pki/ca_internal.h"
#include "pki/key_policy.h"
#include "pki/request.h"
#include "store/migrations.h"

namespace jlis::pki {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using store::Connection;
using store::Row;


fs::path pki_dir(const std::string& data_dir) { return fs::path(data_dir) / "pki"; }
fs::path config_path(const std::string& data_dir) { return pki_dir(data_dir) / "ca.json"; }
std::string label(CertificateKind kind, const char* role) { return std::string(kind_name(kind)) + "-" + role; }
// The file name stem of generation `n`: the first keeps the names it had before generations
// existed ("signature-ca"), the next are "signature-ca-2" (its key: key_label, ca_internal.h).
std::string file_stem(CertificateKind kind, const char* role, int n) {
  return n <= 1 ? label(kind, role) : label(kind, role) + "-" + std::to_string(n);
}
std::string link_stem(CertificateKind kind, int from, int to) {
  return std::string(kind_name(kind)) + "-link-" + std::to_string(from) + "-" + std::to_string(to);
}

const std::vector<store::Migration> kCaMigrations = {
    {1, R"sql(
CREATE TABLE pki_certificates (
  serial TEXT PRIMARY KEY,           -- 32 lower-case hex digits
  ca TEXT NOT NULL,                  -- signature | authentication
  device TEXT NOT NULL,              -- card | smartphone
  resident_code BIGINT NOT NULL,
  card_id TEXT NOT NULL,
  not_before BIGINT NOT NULL,       -- seconds since the epoch
  not_after BIGINT NOT NULL,
  issued_at TEXT NOT NULL,
  revoked_at BIGINT,
  reason BIGINT,                    -- RFC 5280 CRLReason
  revocation_seq BIGINT UNIQUE,     -- order of revocations: responders follow it
  next_serial TEXT,                  -- 新旧紐付け
  der TEXT NOT NULL                  -- base64
);
CREATE INDEX pki_certificates_resident ON pki_certificates (resident_code);
CREATE INDEX pki_certificates_card ON pki_certificates (card_id);
CREATE TABLE pki_crls (
  ca TEXT NOT NULL,
  crl_number BIGINT NOT NULL,
  this_update BIGINT NOT NULL,
  next_update BIGINT NOT NULL,
  entries BIGINT NOT NULL,
  revocation_seq BIGINT NOT NULL,   -- the newest revocation it includes
  PRIMARY KEY (ca, crl_number)
);
CREATE TABLE pki_verifiers (
  verifier_id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  consent_provision BIGINT NOT NULL,
  registered_at TEXT NOT NULL
);
CREATE TABLE pki_challenges (
  challenge_id TEXT PRIMARY KEY,
  verifier_id TEXT NOT NULL,
  challenge TEXT NOT NULL,
  expires_at BIGINT NOT NULL,
  used BIGINT NOT NULL DEFAULT 0
);
)sql"},
    // A CRL number is committed before its file is published; published says it was.
    {2, R"sql(
ALTER TABLE pki_crls ADD COLUMN published BIGINT NOT NULL DEFAULT 1;
)sql"},
    {3, R"sql(
ALTER TABLE pki_certificates ADD COLUMN spki_sha256 TEXT;  -- SHA-256 of the certified SubjectPublicKeyInfo
CREATE INDEX pki_certificates_key ON pki_certificates (spki_sha256);
)sql"},
    {4, R"sql(
CREATE TABLE pki_issuance_challenges (
  challenge_id TEXT PRIMARY KEY,
  municipality TEXT NOT NULL,        -- who asked
  card_id TEXT NOT NULL,             -- the card it is for
  challenge TEXT NOT NULL,           -- 64 hex digits, the requests' challengePassword
  expires_at BIGINT NOT NULL,
  used BIGINT NOT NULL DEFAULT 0
);
)sql"},
    // Each row's CRL entry, encoded by OpenSSL when its status changes, so that a CRL is the
    // concatenation of stored entries (crl.h, assemble_crl). Rows revoked before this migration
    // get theirs on the next CRL generation (publication.cpp). Delta CRLs name their base.
    {5, R"sql(
ALTER TABLE pki_certificates ADD COLUMN crl_entry TEXT;  -- base64 DER: revoked, or removeFromCRL once released
ALTER TABLE pki_crls ADD COLUMN delta_base BIGINT;       -- a delta CRL's base CRL number; NULL for a full CRL
-- A CRL reads its rows in serial order from this index alone (the certificates' DER, a long
-- column before crl_entry, is never read).
CREATE INDEX pki_certificates_crl ON pki_certificates (ca, serial, revocation_seq, revoked_at, not_after, reason,
  crl_entry) WHERE revocation_seq IS NOT NULL;
)sql"},
    // Certificate expiry notices (notices.h): one per card and expiry day, recorded so it is never
    // sent twice; the certificates found by their expiry.
    {6, R"sql(
CREATE TABLE pki_expiry_notices (
  card_id TEXT NOT NULL,
  expires_on TEXT NOT NULL,          -- YYYY-MM-DD: the certificates' last day of validity, in Japan
  month TEXT NOT NULL,               -- YYYY-MM: the run that recorded it
  kind TEXT NOT NULL,                -- letter | email
  serials TEXT NOT NULL,             -- the certificates it names, space-separated
  recorded_at TEXT NOT NULL,
  PRIMARY KEY (card_id, expires_on)
);
CREATE INDEX pki_expiry_notices_expiry ON pki_expiry_notices (expires_on);
CREATE INDEX pki_certificates_expiry ON pki_certificates (not_after);
)sql"},
    // CRL partitions (profile.h, publication.cpp): the municipality a signature certificate names
    // (its localities and its CRL distribution point), recorded at issuance and never changed by a
    // move. A partition reads its rows, in serial order, from the second index alone; the first
    // finds the municipalities that have certificates. Partition CRLs are numbered per partition,
    // apart from the full CRLs (pki_crls), with the same published flag.
    {7, R"sql(
ALTER TABLE pki_certificates ADD COLUMN municipality TEXT;  -- 6 digits; NULL: authentication, or issued before
CREATE INDEX pki_certificates_municipality ON pki_certificates (ca, municipality, not_after);
CREATE INDEX pki_certificates_partition ON pki_certificates (ca, municipality, serial, revocation_seq, revoked_at,
  not_after, reason, crl_entry) WHERE revocation_seq IS NOT NULL;
CREATE TABLE pki_crl_partitions (
  ca TEXT NOT NULL,                  -- signature
  municipality TEXT NOT NULL,        -- 6 digits
  crl_number BIGINT NOT NULL,        -- increasing per partition
  this_update BIGINT NOT NULL,
  next_update BIGINT NOT NULL,
  entries BIGINT NOT NULL,
  revocation_seq BIGINT NOT NULL,    -- the newest change of status it includes
  published BIGINT NOT NULL,
  PRIMARY KEY (ca, municipality, crl_number)
);
)sql"},
    // CA generations (new_generation): which generation signed each certificate, and the record of
    // each generation of each CA (the first is recorded by the first renewal). Each generation has
    // its own CRLs: their covering indexes lead with (ca, generation).
    {8, R"sql(
ALTER TABLE pki_certificates ADD COLUMN generation BIGINT NOT NULL DEFAULT 1;
DROP INDEX pki_certificates_crl;
CREATE INDEX pki_certificates_crl ON pki_certificates (ca, generation, serial, revocation_seq, revoked_at, not_after,
  reason, crl_entry) WHERE revocation_seq IS NOT NULL;
DROP INDEX pki_certificates_partition;
CREATE INDEX pki_certificates_partition ON pki_certificates (ca, generation, municipality, serial, revocation_seq,
  revoked_at, not_after, reason, crl_entry) WHERE revocation_seq IS NOT NULL;
DROP INDEX pki_certificates_municipality;
CREATE INDEX pki_certificates_municipality ON pki_certificates (ca, generation, municipality, not_after);
CREATE TABLE pki_ca_generations (
  ca TEXT NOT NULL,                  -- signature | authentication
  generation BIGINT NOT NULL,        -- 1, 2, ...
  subject_key_id TEXT NOT NULL,      -- hex: what tells the generations apart
  not_before BIGINT NOT NULL,
  not_after BIGINT NOT NULL,
  certificate TEXT NOT NULL,         -- PEM
  responder TEXT NOT NULL,           -- PEM: its delegated OCSP responder
  link_from_previous TEXT,           -- PEM: the previous key certifies this one (NULL for the first)
  link_to_previous TEXT,             -- PEM: this key certifies the previous one
  created_at TEXT NOT NULL,
  PRIMARY KEY (ca, generation)
);
)sql"}};


// The unexpired certificates matching a WHERE clause that are good (unrevoked), or with `held`
// good or on hold (not yet revoked for good: what a permanent revocation applies to).
Result<std::vector<std::string>> matching_serials(Connection& conn, const std::string& where,
                                                  const store::Params& params, int64_t now, bool held) {
  std::vector<std::string> out;
  store::Params p = params;
  p.push_back(now);
  const std::string state = held ? " AND (revoked_at IS NULL OR reason = " +
                                       std::to_string(static_cast<int>(RevocationReason::certificate_hold)) + ")"
                                 : " AND revoked_at IS NULL";
  JLIS_RETURN_IF_ERROR(conn.query("SELECT serial FROM pki_certificates WHERE " + where + state + " AND not_after >= ?",
                                  p, [&](const Row& r) {
                                    out.push_back(r.text(0));
                                    return true;
                                  }));
  return out;
}

Result<std::vector<std::string>> good_serials(Connection& conn, const std::string& where, const store::Params& params,
                                              int64_t now) {
  return matching_serials(conn, where, params, now, false);
}
Result<std::vector<std::string>> live_serials(Connection& conn, const std::string& where, const store::Params& params,
                                              int64_t now) {
  return matching_serials(conn, where, params, now, true);
}

}  // namespace

// The card's certificates signed before its handover was queued, by kind.
struct CertificateAuthority::PreparedHandover : card::HandoverPreparation {
  std::array<std::optional<PreparedCertificate>, 2> certificates;
};

bool CertificateRecord::on_hold() const { return revoked_at && reason == RevocationReason::certificate_hold; }

std::string_view CertificateRecord::status(int64_t now) const {
  if (on_hold()) return "onHold";
  if (revoked_at) return "revoked";
  return now > not_after ? "expired" : "good";
}

int64_t CertificateAuthority::Impl::now() const {
  return options.clock ? options.clock() : static_cast<int64_t>(std::time(nullptr));
}
Date CertificateAuthority::Impl::today() const { return Date::from_days((now() + 9 * 3600) / 86400); }

CertificateRecord read_certificate(const Row& r) {
  CertificateRecord c;
  c.serial = r.text(0);
  c.kind = parse_kind(r.text(1)).value();
  c.device = r.text(2) == "smartphone" ? Device::smartphone : Device::card;
  c.resident_code = ResidentCode::from_body(static_cast<uint64_t>(r.int64(3)));
  c.card_id = r.text(4);
  c.not_before = r.int64(5);
  c.not_after = r.int64(6);
  c.issued_at = r.text(7);
  if (!r.is_null(8)) c.revoked_at = r.int64(8);
  c.reason = static_cast<RevocationReason>(r.int64(9));
  c.next_serial = r.optional_text(10);
  c.der = base64_decode(r.text(11)).value();
  return c;
}

Result<std::optional<CertificateRecord>> load_certificate(Connection& conn, const std::string& serial) {
  std::optional<CertificateRecord> out;
  JLIS_RETURN_IF_ERROR(conn.query(std::string("SELECT ") + kCertificateColumns + " FROM pki_certificates WHERE serial = ?",
                                  {serial}, [&](const Row& r) {
                                    out = read_certificate(r);
                                    return false;
                                  }));
  return out;
}

Result<CertificateRecord> CertificateAuthority::Impl::find(std::string_view serial_text) {
  JLIS_ASSIGN_OR_RETURN(std::string serial, normalise_serial(serial_text));
  JLIS_ASSIGN_OR_RETURN(auto conn, pool.acquire());
  JLIS_ASSIGN_OR_RETURN(auto rec, load_certificate(*conn, serial));
  if (!rec) return not_found("no certificate has the serial " + serial);
  return std::move(*rec);
}

Result<CertificateRecord> CertificateAuthority::find_in(Connection& conn, std::string_view serial_text) {
  auto serial = normalise_serial(serial_text);
  if (!serial.ok()) return not_found("no certificate has this serial");
  JLIS_ASSIGN_OR_RETURN(auto rec, load_certificate(conn, *serial));
  if (!rec) return not_found("no certificate has the serial " + *serial);
  return std::move(*rec);
}

Status CertificateAuthority::Impl::check_holder(const auth::Principal& by, const CertificateRecord& rec) {
  if (by.role != auth::Role::municipality) return Status::ok();
  JLIS_ASSIGN_OR_RETURN(auto resident, registry.get(rec.resident_code));
  if (resident.municipality_code.str() != by.subject)
    return permission_denied("the holder is registered in another municipality");
  return Status::ok();
}

Result<std::string> normalise_serial(std::string_view text) {
  if (text.empty() || text.size() > 40 || text.find_first_not_of("0123456789abcdefABCDEF") != std::string_view::npos)
    return invalid_argument("a serial number is 1 to 40 hexadecimal digits");
  std::string s(text);
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  size_t first = s.find_first_not_of('0');
  return first == std::string::npos ? std::string("0") : s.substr(first);
}

Status CertificateAuthority::migrate(Connection& conn) { return store::migrate(conn, "pki", kCaMigrations); }

bool CertificateAuthority::exists(const std::string& data_dir) {
  std::error_code ec;
  return fs::exists(config_path(data_dir), ec);
}

Status CertificateAuthority::init(const std::string& data_dir, const CaInitOptions& options) {
  if (exists(data_dir)) return conflict("the CA of " + data_dir + " exists already");
  std::error_code ec;
  fs::create_directories(pki_dir(data_dir) / "crl", ec);
  if (ec) return internal_error("cannot create " + pki_dir(data_dir).string());
  ::chmod(pki_dir(data_dir).c_str(), 0700);
  KeyStoreConfig keys = options.keys;
  if (keys.kind == KeyStoreConfig::Kind::file) keys.directory = (pki_dir(data_dir) / "keys").string();
  JLIS_ASSIGN_OR_RETURN(auto store, KeyStore::open(keys));
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  constexpr int64_t kYear = 365 * 86400 + 21600;
  for (CertificateKind kind : kCardCertificateKinds) {
    JLIS_ASSIGN_OR_RETURN(auto ca_key, store->generate(label(kind, "ca")));
    JLIS_ASSIGN_OR_RETURN(auto ca, make_ca_certificate({kind, ca_key.get(), now - 3600, now + 20 * kYear,
                                                        options.simulation}));
    JLIS_ASSIGN_OR_RETURN(auto responder_key, store->generate(label(kind, "ocsp")));
    JLIS_ASSIGN_OR_RETURN(std::string serial, new_serial());
    JLIS_ASSIGN_OR_RETURN(auto responder, make_responder_certificate({ca.get(), ca_key.get(), responder_key.get(),
                                                                      now - 3600, now + 10 * kYear, serial}));
    JLIS_ASSIGN_OR_RETURN(std::string ca_pem, x509_pem(ca.get()));
    JLIS_ASSIGN_OR_RETURN(std::string responder_pem, x509_pem(responder.get()));
    JLIS_RETURN_IF_ERROR(write_file_atomically(pki_dir(data_dir) / (label(kind, "ca") + ".pem"), ca_pem, 0644));
    JLIS_RETURN_IF_ERROR(write_file_atomically(pki_dir(data_dir) / (label(kind, "ocsp") + ".pem"), responder_pem, 0644));
  }
  json config = {{"format", 1},
                 {"keys", keys.kind == KeyStoreConfig::Kind::file ? "file" : "pkcs11"},
                 {"public_url", options.public_url},
                 {"simulation", options.simulation}};
  if (keys.kind == KeyStoreConfig::Kind::pkcs11) {
    config["pkcs11_module"] = keys.module;
    config["pkcs11_token"] = keys.token_label;
  }
  // Written last: its presence says the hierarchy is complete.
  return write_file_atomically(config_path(data_dir), config.dump(2) + "\n", 0600);
}

CertificateAuthority::CertificateAuthority(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
CertificateAuthority::~CertificateAuthority() = default;

Result<std::unique_ptr<CertificateAuthority>> CertificateAuthority::open(const std::string& data_dir, store::Pool& pool,
                                                                       store::Writer& writer,
                                                                       registry::Registry& registry,
                                                                       CaSecrets secrets, CaOptions options) {
  JLIS_ASSIGN_OR_RETURN(std::string text, read_file(config_path(data_dir)));
  json config = json::parse(text, nullptr, false);
  if (!config.is_object() || !config.contains("keys"))
    return internal_error(config_path(data_dir).string() + " is damaged");
  auto impl = std::make_unique<Impl>(pool, writer, registry);
  impl->dir = data_dir;
  impl->secrets = std::move(secrets);
  impl->options = std::move(options);
  impl->key_kind = config.value("keys", "file") == "pkcs11" ? KeyStoreConfig::Kind::pkcs11 : KeyStoreConfig::Kind::file;
  impl->pkcs11_module = config.value("pkcs11_module", "");
  impl->pkcs11_token = config.value("pkcs11_token", "");
  impl->public_url = config.value("public_url", "http://127.0.0.1:8080");
  impl->simulation = config.value("simulation", false);
  for (CertificateKind kind : kCardCertificateKinds) {
    int count = 1;
    if (config.contains("generations") && config["generations"].is_object())
      count = config["generations"].value(std::string(kind_name(kind)), 1);
    if (count < 1 || count > 99) return internal_error(config_path(data_dir).string() + " is damaged (generations)");
    for (int n = 1; n <= count; ++n) {
      auto a = std::make_unique<Impl::Authority>();
      a->generation = n;
      JLIS_ASSIGN_OR_RETURN(std::string ca_pem, read_file(pki_dir(data_dir) / (file_stem(kind, "ca", n) + ".pem")));
      JLIS_ASSIGN_OR_RETURN(std::string responder_pem,
                            read_file(pki_dir(data_dir) / (file_stem(kind, "ocsp", n) + ".pem")));
      JLIS_ASSIGN_OR_RETURN(a->cert, x509_from_pem(ca_pem));
      JLIS_ASSIGN_OR_RETURN(a->responder_cert, x509_from_pem(responder_pem));
      if (n > 1) {
        JLIS_ASSIGN_OR_RETURN(std::string from, read_file(pki_dir(data_dir) / (link_stem(kind, n - 1, n) + ".pem")));
        JLIS_ASSIGN_OR_RETURN(std::string to, read_file(pki_dir(data_dir) / (link_stem(kind, n, n - 1) + ".pem")));
        JLIS_ASSIGN_OR_RETURN(a->link_from_previous, x509_from_pem(from));
        JLIS_ASSIGN_OR_RETURN(a->link_to_previous, x509_from_pem(to));
      }
      impl->generations[static_cast<size_t>(kind)].push_back(std::move(a));
    }
  }
  {
    JLIS_ASSIGN_OR_RETURN(auto conn, pool.acquire());
    JLIS_ASSIGN_OR_RETURN(auto seq, conn->query_int64("SELECT MAX(revocation_seq) FROM pki_certificates"));
    impl->seen_revocation_seq = seq.value_or(0);
    JLIS_ASSIGN_OR_RETURN(auto crl_at, conn->query_int64("SELECT MIN(t) FROM (SELECT MAX(this_update) AS t FROM pki_crls WHERE published = 1 GROUP BY ca) x"));
    JLIS_ASSIGN_OR_RETURN(auto crl_seq, conn->query_int64("SELECT MIN(revocation_seq) FROM (SELECT MAX(revocation_seq) AS revocation_seq FROM pki_crls WHERE published = 1 GROUP BY ca) x"));
    impl->last_crl_at = crl_at.value_or(0);
    impl->crl_pending = crl_seq.value_or(0) < impl->seen_revocation_seq;
  }
  return std::unique_ptr<CertificateAuthority>(new CertificateAuthority(std::move(impl)));
}

Status CertificateAuthority::Impl::open_key_store() {
  if (keystore) return Status::ok();
  KeyStoreConfig config;
  config.kind = key_kind;
  if (key_kind == KeyStoreConfig::Kind::file) {
    if (secrets.passphrase.empty())
      return unavailable("the CA keys are encrypted: set JLIS_CA_PASSPHRASE to the passphrase given to jlis ca init");
    config.directory = (pki_dir(dir) / "keys").string();
    config.passphrase = secrets.passphrase;
  } else {
    if (secrets.pin.empty()) return unavailable("the CA keys are on a PKCS#11 token: set JLIS_PKCS11_PIN");
    config.module = pkcs11_module;
    config.token_label = pkcs11_token;
    config.pin = secrets.pin;
  }
  JLIS_ASSIGN_OR_RETURN(keystore, KeyStore::open(config));
  return Status::ok();
}

Result<KeyStore*> CertificateAuthority::key_store() {
  std::lock_guard lock(impl_->mu);
  JLIS_RETURN_IF_ERROR(impl_->open_key_store());
  return impl_->keystore.get();
}

Status CertificateAuthority::load_keys() {
  Impl& d = *impl_;
  std::lock_guard lock(d.mu);
  if (d.keys_loaded) return Status::ok();
  JLIS_RETURN_IF_ERROR(d.open_key_store());
  for (CertificateKind kind : kCardCertificateKinds) {
    for (auto& a : d.generations[static_cast<size_t>(kind)]) {
      JLIS_ASSIGN_OR_RETURN(a->key, d.keystore->load(key_label(kind, "ca", a->generation)));
      if (X509_check_private_key(a->cert.get(), a->key.get()) != 1 && d.key_kind == KeyStoreConfig::Kind::file)
        return openssl_error("the " + key_label(kind, "ca", a->generation) + " key does not match its certificate");
    }
  }
  d.keys_loaded = true;
  return Status::ok();
}

void CertificateAuthority::set_public_url(std::string url) {
  std::lock_guard lock(impl_->mu);
  while (!url.empty() && url.back() == '/') url.pop_back();
  impl_->public_url = std::move(url);
}

std::string CertificateAuthority::public_url() const {
  std::lock_guard lock(impl_->mu);
  return impl_->public_url;
}

std::vector<CertificateAuthority::Published> CertificateAuthority::published() const {
  std::vector<Published> out;
  for (CertificateKind kind : kCardCertificateKinds) {
    for (const auto& a : impl_->generations[static_cast<size_t>(kind)]) {
      const int n = a->generation;
      out.push_back({file_stem(kind, "ca", n), x509_pem(a->cert.get()).value()});
      out.push_back({file_stem(kind, "ocsp", n), x509_pem(a->responder_cert.get()).value()});
      if (a->link_from_previous) {
        out.push_back({link_stem(kind, n - 1, n), x509_pem(a->link_from_previous.get()).value()});
        out.push_back({link_stem(kind, n, n - 1), x509_pem(a->link_to_previous.get()).value()});
      }
    }
  }
  return out;
}

namespace {

std::string subject_key_id_hex(X509* cert) {
  const ASN1_OCTET_STRING* ski = X509_get0_subject_key_id(cert);
  if (ski == nullptr) return "";
  std::string hex = to_hex(std::string_view(reinterpret_cast<const char*>(ASN1_STRING_get0_data(ski)),
                                            static_cast<size_t>(ASN1_STRING_length(ski))));
  for (char& c : hex) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return hex;
}

int64_t not_after_of(X509* cert) {
  int days = 0, secs = 0;
  Asn1TimePtr epoch(ASN1_TIME_set(nullptr, 0));
  if (!epoch || ASN1_TIME_diff(&days, &secs, epoch.get(), X509_get0_notAfter(cert)) != 1) return 0;
  return static_cast<int64_t>(days) * 86400 + secs;
}

int64_t not_before_of(X509* cert) {
  int days = 0, secs = 0;
  Asn1TimePtr epoch(ASN1_TIME_set(nullptr, 0));
  if (!epoch || ASN1_TIME_diff(&days, &secs, epoch.get(), X509_get0_notBefore(cert)) != 1) return 0;
  return static_cast<int64_t>(days) * 86400 + secs;
}

}  // namespace

Result<CertificateAuthority::Generation> CertificateAuthority::new_generation(CertificateKind kind) {
  Impl& d = *impl_;
  JLIS_RETURN_IF_ERROR(load_keys());
  std::unique_lock lock(d.mu);
  if (d.responder)
    return conflict("this process serves OCSP already: renew the CA with jlis ca renew, then restart jlis serve");
  Impl::Authority& old = d.authority(kind);
  const int n = old.generation + 1;
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  constexpr int64_t kYear = 365 * 86400 + 21600;
  auto next = std::make_unique<Impl::Authority>();
  next->generation = n;
  JLIS_ASSIGN_OR_RETURN(next->key, d.keystore->generate(key_label(kind, "ca", n)));
  JLIS_ASSIGN_OR_RETURN(next->cert, make_ca_certificate({kind, next->key.get(), now - 3600, now + 20 * kYear, d.simulation}));
  if (X509_NAME_cmp(X509_get_subject_name(next->cert.get()), X509_get_subject_name(old.cert.get())) != 0)
    return conflict("the new generation's name would differ from the CA's (a simulation's CA stays one)");
  // The links live as long as the previous generation: past it, nothing it signed is valid.
  const int64_t link_until = not_after_of(old.cert.get());
  JLIS_ASSIGN_OR_RETURN(next->link_from_previous,
                        make_link_certificate({old.cert.get(), old.key.get(), next->cert.get(), now - 3600, link_until}));
  JLIS_ASSIGN_OR_RETURN(next->link_to_previous,
                        make_link_certificate({next->cert.get(), next->key.get(), old.cert.get(), now - 3600, link_until}));
  JLIS_ASSIGN_OR_RETURN(next->responder_key, d.keystore->generate(key_label(kind, "ocsp", n)));
  JLIS_ASSIGN_OR_RETURN(std::string serial, new_serial());
  JLIS_ASSIGN_OR_RETURN(next->responder_cert,
                        make_responder_certificate({next->cert.get(), next->key.get(), next->responder_key.get(),
                                                    now - 3600, now + 10 * kYear, serial}));
  JLIS_ASSIGN_OR_RETURN(std::string ca_pem, x509_pem(next->cert.get()));
  JLIS_ASSIGN_OR_RETURN(std::string responder_pem, x509_pem(next->responder_cert.get()));
  JLIS_ASSIGN_OR_RETURN(std::string from_pem, x509_pem(next->link_from_previous.get()));
  JLIS_ASSIGN_OR_RETURN(std::string to_pem, x509_pem(next->link_to_previous.get()));
  const fs::path dir = pki_dir(d.dir);
  if (n == 2) {
    JLIS_ASSIGN_OR_RETURN(std::string first, x509_pem(old.cert.get()));
    JLIS_RETURN_IF_ERROR(write_file_atomically(dir / (label(kind, "ca") + "-1.pem"), first, 0644));
  }
  JLIS_RETURN_IF_ERROR(write_file_atomically(dir / (file_stem(kind, "ca", n) + ".pem"), ca_pem, 0644));
  JLIS_RETURN_IF_ERROR(write_file_atomically(dir / (file_stem(kind, "ocsp", n) + ".pem"), responder_pem, 0644));
  JLIS_RETURN_IF_ERROR(write_file_atomically(dir / (link_stem(kind, n - 1, n) + ".pem"), from_pem, 0644));
  JLIS_RETURN_IF_ERROR(write_file_atomically(dir / (link_stem(kind, n, n - 1) + ".pem"), to_pem, 0644));
  // Recorded in the store (the first generation with the first renewal), then named in ca.json,
  // last: a renewal that fails before leaves the CA as it was (its new key labels stay used).
  std::vector<Impl::Authority*> record;
  if (n == 2) record.push_back(&old);
  record.push_back(next.get());
  const std::string ca(kind_name(kind));
  // Not under d.mu: a job ahead in the writer may be an issuance, which reads the public URL.
  lock.unlock();
  JLIS_RETURN_IF_ERROR(d.writer.run([&](Connection& conn) {
    for (Impl::Authority* a : record) {
      JLIS_ASSIGN_OR_RETURN(std::string cert_pem, x509_pem(a->cert.get()));
      JLIS_ASSIGN_OR_RETURN(std::string resp_pem, x509_pem(a->responder_cert.get()));
      store::Value from = store::Value(), to = store::Value();
      if (a->link_from_previous) {
        JLIS_ASSIGN_OR_RETURN(std::string f, x509_pem(a->link_from_previous.get()));
        JLIS_ASSIGN_OR_RETURN(std::string t, x509_pem(a->link_to_previous.get()));
        from = store::Value(f);
        to = store::Value(t);
      }
      JLIS_RETURN_IF_ERROR(conn.execute("INSERT INTO pki_ca_generations (ca, generation, subject_key_id, not_before, "
                                        "not_after, certificate, responder, link_from_previous, link_to_previous, "
                                        "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                        {ca, static_cast<int64_t>(a->generation), subject_key_id_hex(a->cert.get()),
                                         not_before_of(a->cert.get()), not_after_of(a->cert.get()), cert_pem, resp_pem,
                                         from, to, now_iso8601()})
                               .status());
    }
    return Status::ok();
  }));
  JLIS_ASSIGN_OR_RETURN(std::string text, read_file(config_path(d.dir)));
  json config = json::parse(text, nullptr, false);
  if (!config.is_object()) return internal_error(config_path(d.dir).string() + " is damaged");
  if (!config.contains("generations") || !config["generations"].is_object()) config["generations"] = json::object();
  config["generations"][ca] = n;
  JLIS_RETURN_IF_ERROR(write_file_atomically(config_path(d.dir), config.dump(2) + "\n", 0600));
  {
    std::lock_guard spare(d.spare_mu);  // handles of the previous generation's key
    d.spare_keys[static_cast<size_t>(kind)].clear();
  }
  Generation g;
  g.kind = kind;
  g.generation = n;
  g.subject_key_id = subject_key_id_hex(next->cert.get());
  g.not_before = not_before_of(next->cert.get());
  g.not_after = not_after_of(next->cert.get());
  g.current = true;
  lock.lock();
  d.generations[static_cast<size_t>(kind)].push_back(std::move(next));
  return g;
}

Result<std::vector<CertificateAuthority::Generation>> CertificateAuthority::generations() {
  Impl& d = *impl_;
  std::vector<Generation> out;
  JLIS_ASSIGN_OR_RETURN(auto conn, d.pool.acquire());
  const int64_t now = d.now();
  for (CertificateKind kind : kCardCertificateKinds) {
    const auto& list = d.generations[static_cast<size_t>(kind)];
    for (const auto& a : list) {
      Generation g;
      g.kind = kind;
      g.generation = a->generation;
      g.subject_key_id = subject_key_id_hex(a->cert.get());
      g.not_before = not_before_of(a->cert.get());
      g.not_after = not_after_of(a->cert.get());
      g.current = a.get() == list.back().get();
      const store::Params p = {std::string(kind_name(kind)), static_cast<int64_t>(a->generation)};
      JLIS_ASSIGN_OR_RETURN(auto all, conn->query_int64("SELECT COUNT(*) FROM pki_certificates WHERE ca = ? AND generation = ?", p));
      JLIS_ASSIGN_OR_RETURN(auto live, conn->query_int64("SELECT COUNT(*) FROM pki_certificates WHERE ca = ? AND generation = ? "
                                                         "AND not_after >= ?",
                                                         {p[0], p[1], now}));
      g.certificates = all.value_or(0);
      g.unexpired = live.value_or(0);
      out.push_back(std::move(g));
    }
  }
  return out;
}

namespace {

// The card's (or smartphone's) public key as the JPKI profile takes it: RSA-2048 and the key policy.
Result<RsaPublicKeyDer> certifiable_key(CertificateKind kind, const std::string& public_key_pem) {
  auto key = rsa_public_key_der_from_pem(public_key_pem, 2048);
  if (!key.ok())
    return invalid_argument("the " + std::string(kind_name(kind)) +
                            " public key must be an RSA-2048 key as PEM SubjectPublicKeyInfo (the JPKI profile)");
  if (Status s = check_key_policy(key->rsa_public_key); !s.is_ok())
    return invalid_argument("the " + std::string(kind_name(kind)) + " public key is refused: " + s.message());
  return key;
}

}  // namespace

Result<PreparedCertificate::Terms> CertificateAuthority::terms(CertificateKind kind, Device device,
                                                               const registry::Resident& resident,
                                                               std::string_view rsa_public_key, int64_t not_before,
                                                               int64_t not_after) {
  if (kind == CertificateKind::signature && resident.status == registry::ResidentStatus::deceased)
    return conflict("the resident is deceased");
  PreparedCertificate::Terms t{kind, device, std::string(rsa_public_key), not_before, not_after, std::nullopt,
                               public_url(), std::nullopt, {}, impl_->authority(kind).generation};
  if (kind == CertificateKind::signature) {
    JLIS_ASSIGN_OR_RETURN(t.basic_four, basic_four_values(resident));
    // Where the certificate is issued: the municipality that holds the record (for a resident
    // abroad, the one they left, which hands their card over).
    JLIS_ASSIGN_OR_RETURN(t.locality, romaji_locality(impl_->registry.reference(), resident.municipality_code));
    t.municipality_code = resident.municipality_code.str();
  }
  return t;
}

Result<EvpPkeyPtr> CertificateAuthority::Impl::borrow_ca_key(CertificateKind kind) {
  if (key_kind == KeyStoreConfig::Kind::file) return EvpPkeyPtr();
  const int generation = authority(kind).generation;
  {
    std::lock_guard lock(spare_mu);
    auto& spare = spare_keys[static_cast<size_t>(kind)];
    if (!spare.empty()) {
      EvpPkeyPtr key = std::move(spare.back());
      spare.pop_back();
      return key;
    }
  }
  std::lock_guard lock(mu);
  return keystore->load(key_label(kind, "ca", generation));
}

void CertificateAuthority::Impl::give_back_ca_key(CertificateKind kind, EvpPkeyPtr key) {
  if (!key) return;
  std::lock_guard lock(spare_mu);
  spare_keys[static_cast<size_t>(kind)].push_back(std::move(key));
}

Status CertificateAuthority::sign(PreparedCertificate& prepared) {
  Impl& d = *impl_;
  JLIS_RETURN_IF_ERROR(load_keys());
  const PreparedCertificate::Terms& t = prepared.terms_;
  JLIS_ASSIGN_OR_RETURN(EvpPkeyPtr own_key, d.borrow_ca_key(t.kind));
  JLIS_ASSIGN_OR_RETURN(prepared.serial_, new_serial());
  EndEntityParams p;
  p.kind = t.kind;
  p.device = t.device;
  Impl::Authority* signer = d.authority(t.kind, t.generation);
  if (signer == nullptr) return internal_error("no such CA generation");
  p.ca = signer->cert.get();
  p.ca_key = own_key ? own_key.get() : signer->key.get();
  p.crl_name = crl_name(t.kind, t.generation);
  p.rsa_public_key = t.rsa_public_key;
  p.serial_hex = prepared.serial_;
  p.not_before = t.not_before;
  p.not_after = t.not_after;
  p.public_url = t.public_url;
  p.basic_four = t.basic_four ? &*t.basic_four : nullptr;
  p.locality = t.locality ? &*t.locality : nullptr;
  p.municipality_code = t.municipality_code;
  auto der = make_end_entity_der(p);
  d.give_back_ca_key(t.kind, std::move(own_key));
  if (!der.ok()) return der.status();
  prepared.der_ = std::move(*der);
  return Status::ok();
}

Result<PreparedCertificate> CertificateAuthority::prepare(CertificateKind kind, Device device,
                                                          const registry::Resident& resident,
                                                          const std::string& public_key_pem, int64_t not_before,
                                                          int64_t not_after) {
  JLIS_ASSIGN_OR_RETURN(auto key, certifiable_key(kind, public_key_pem));
  PreparedCertificate prepared;
  JLIS_ASSIGN_OR_RETURN(prepared.terms_, terms(kind, device, resident, key.rsa_public_key, not_before, not_after));
  prepared.key_hash_ = sha256_hex(key.spki);
  JLIS_RETURN_IF_ERROR(sign(prepared));
  return prepared;
}

Result<CertificateRecord> CertificateAuthority::issue(Connection& conn, CertificateKind kind, Device device,
                                                      const registry::Resident& resident, const std::string& card_id,
                                                      const std::string& public_key_pem, int64_t not_before,
                                                      int64_t not_after) {
  JLIS_ASSIGN_OR_RETURN(auto prepared, prepare(kind, device, resident, public_key_pem, not_before, not_after));
  return issue(conn, prepared, resident, card_id, not_before, not_after);
}

Result<CertificateRecord> CertificateAuthority::issue(Connection& conn, const PreparedCertificate& prepared,
                                                      const registry::Resident& resident, const std::string& card_id,
                                                      int64_t not_before, int64_t not_after) {
  Impl& d = *impl_;
  const CertificateKind kind = prepared.kind();
  const Device device = prepared.device();
  // A key is certified once: a key seen before was copied or shared (another card, another holder,
  // or the card's other certificate). A simulation's shared key pool is the one exception.
  const std::string& key_hash = prepared.key_hash_;
  if (!d.simulation) {
    JLIS_ASSIGN_OR_RETURN(auto seen, conn.query_int64("SELECT COUNT(*) FROM pki_certificates WHERE spki_sha256 = ?",
                                                      {key_hash}));
    if (seen.value_or(0) > 0)
      return invalid_argument("the " + std::string(kind_name(kind)) +
                              " public key is refused: it was certified before (each certificate needs its own new key)");
  }
  // What this transaction says the certificate must carry (refuses a deceased holder's signature).
  JLIS_ASSIGN_OR_RETURN(auto now_terms,
                        terms(kind, device, resident, prepared.terms_.rsa_public_key, not_before, not_after));
  const PreparedCertificate::Terms& signed_terms = prepared.terms_;
  const bool same = signed_terms.basic_four == now_terms.basic_four && signed_terms.locality == now_terms.locality &&
                    signed_terms.municipality_code == now_terms.municipality_code &&
                    signed_terms.generation == now_terms.generation &&
                    signed_terms.not_after == now_terms.not_after &&
                    signed_terms.public_url == now_terms.public_url &&
                    std::llabs(signed_terms.not_before - now_terms.not_before) <= kPreparedSlackSeconds;
  std::optional<PreparedCertificate> resigned;
  if (!same) {
    // The state changed since the signature (rare): the prepared certificate is discarded unseen.
    resigned.emplace();
    resigned->terms_ = std::move(now_terms);
    resigned->key_hash_ = key_hash;
    JLIS_RETURN_IF_ERROR(sign(*resigned));
    ++d.resigned;
  }
  const PreparedCertificate& cert = resigned ? *resigned : prepared;
  const std::string& serial = cert.serial_;
  CertificateRecord rec;
  rec.serial = serial;
  rec.kind = kind;
  rec.device = device;
  rec.resident_code = resident.resident_code;
  rec.card_id = card_id;
  rec.not_before = cert.terms_.not_before;
  rec.not_after = cert.terms_.not_after;
  rec.issued_at = now_iso8601();
  rec.der = cert.der_;
  // The serial's uniqueness is the table's primary key, checked by this insert.
  JLIS_RETURN_IF_ERROR(conn.execute(
      "INSERT INTO pki_certificates (serial, ca, device, resident_code, card_id, not_before, not_after, issued_at, der, "
      "spki_sha256, municipality, generation) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      {serial, std::string(kind_name(kind)), std::string(device_name(device)),
       static_cast<int64_t>(resident.resident_code.body()), card_id, rec.not_before, rec.not_after, rec.issued_at,
       base64_encode(rec.der), key_hash,
       cert.terms_.municipality_code.empty() ? store::Value() : store::Value(cert.terms_.municipality_code),
       static_cast<int64_t>(cert.terms_.generation)}).status());
  if (kind == CertificateKind::signature) {
    // 新旧紐付け: the newest earlier signature certificate revoked by a change or superseded. A holder
    // has a few; the newest is chosen here, since an ORDER BY would sort them in a temporary B-tree.
    std::optional<std::string> previous;
    int64_t newest = 0;
    JLIS_RETURN_IF_ERROR(conn.query(
        "SELECT serial, revocation_seq FROM pki_certificates WHERE resident_code = ? AND ca = 'signature' "
        "AND serial <> ? AND next_serial IS NULL AND revoked_at IS NOT NULL AND (reason = ? OR reason = ?)",
        {static_cast<int64_t>(resident.resident_code.body()), serial,
         static_cast<int64_t>(RevocationReason::affiliation_changed), static_cast<int64_t>(RevocationReason::superseded)},
        [&](const Row& r) {
          if (!previous || r.int64(1) > newest) {
            previous = r.text(0);
            newest = r.int64(1);
          }
          return true;
        }));
    if (previous) {
      JLIS_RETURN_IF_ERROR(
          conn.execute("UPDATE pki_certificates SET next_serial = ? WHERE serial = ?", {serial, *previous}).status());
    }
  }
  ++d.issued;
  return rec;
}

Status CertificateAuthority::revoke_in(Connection& conn, const std::string& serial, RevocationReason reason,
                                       int64_t at) {
  // The CRL entry is encoded now (OpenSSL's DER, kept with the row): a CRL is then only the
  // concatenation of its entries. It is written only where the row changes.
  JLIS_ASSIGN_OR_RETURN(std::string entry, encode_crl_entry({serial_bytes(serial), at, reason}));
  JLIS_ASSIGN_OR_RETURN(auto changed, conn.execute(
      "UPDATE pki_certificates SET revoked_at = ?, reason = ?, crl_entry = ?, revocation_seq = "
      "(SELECT COALESCE(MAX(revocation_seq), 0) + 1 FROM pki_certificates) WHERE serial = ? "
      "AND (revoked_at IS NULL OR (reason = ? AND ? <> ?))",
      {at, static_cast<int64_t>(reason), base64_encode(entry), serial,
       static_cast<int64_t>(RevocationReason::certificate_hold), static_cast<int64_t>(reason),
       static_cast<int64_t>(RevocationReason::certificate_hold)}));
  if (changed > 0) ++impl_->revoked;
  return Status::ok();
}

Result<bool> CertificateAuthority::release_in(Connection& conn, const std::string& serial) {
  // A release is a change of status like a revocation: it takes the next sequence number, so the
  // responders (tick) and the CRL see it. Its entry is the delta CRL's removeFromCRL (RFC 5280
  // §5.3.1), dated at the release.
  JLIS_ASSIGN_OR_RETURN(std::string entry,
                        encode_crl_entry({serial_bytes(serial), impl_->now(), RevocationReason::remove_from_crl}));
  JLIS_ASSIGN_OR_RETURN(auto changed, conn.execute(
      "UPDATE pki_certificates SET revoked_at = NULL, reason = NULL, crl_entry = ?, revocation_seq = "
      "(SELECT COALESCE(MAX(revocation_seq), 0) + 1 FROM pki_certificates) WHERE serial = ? "
      "AND revoked_at IS NOT NULL AND reason = ?",
      {base64_encode(entry), serial, static_cast<int64_t>(RevocationReason::certificate_hold)}));
  return changed > 0;
}

void CertificateAuthority::attach(registry::Registry& registry, card::CardSystem& cards) {
  impl_->cards = &cards;
  registry.add_listener([this](Connection& conn, const registry::ChangeEvent& event,
                               const std::optional<registry::Resident>& before, const registry::Resident& after) {
    if (!before) return Status::ok();
    const int64_t code = static_cast<int64_t>(before->resident_code.body());
    if (event.type == registry::EventType::resident_code_change) {
      return conn.execute("UPDATE pki_certificates SET resident_code = ? WHERE resident_code = ?",
                          {static_cast<int64_t>(after.resident_code.body()), code}).status();
    }
    const int64_t now = impl_->now();
    if (after.status == registry::ResidentStatus::deceased && before->status != registry::ResidentStatus::deceased) {
      JLIS_ASSIGN_OR_RETURN(auto serials, live_serials(conn, "resident_code = ?", {code}, now));
      for (const auto& s : serials)
        JLIS_RETURN_IF_ERROR(revoke_in(conn, s, RevocationReason::cessation_of_operation, now));
      return Status::ok();
    }
    const registry::Person &a = before->person, &b = after.person;
    if (a.name == b.name && a.sex == b.sex && a.date_of_birth == b.date_of_birth &&
        certified_address(*before) == certified_address(after))
      return Status::ok();
    JLIS_ASSIGN_OR_RETURN(auto serials, live_serials(conn, "resident_code = ? AND ca = 'signature'", {code}, now));
    for (const auto& s : serials) JLIS_RETURN_IF_ERROR(revoke_in(conn, s, RevocationReason::affiliation_changed, now));
    return Status::ok();
  });

  cards.add_listener([this](Connection& conn, const card::CardChange& change) -> Status {
    Impl& d = *impl_;
    const int64_t now = d.now();
    // The moment of a back-dated change (generated populations): noon of its day in Japan.
    const int64_t at = change.on < d.today() ? start_of_day_jst(change.on) + 12 * 3600 : now;
    using Kind = card::CardChange::Kind;
    // Permanent revocations apply to the certificates good or on hold.
    auto revoke_card = [&](RevocationReason reason) -> Status {
      JLIS_ASSIGN_OR_RETURN(auto serials, live_serials(conn, "card_id = ?", {change.card_id}, at));
      for (const auto& s : serials) JLIS_RETURN_IF_ERROR(revoke_in(conn, s, reason, at));
      return Status::ok();
    };
    // 一時保留: the card's good certificates, and the smartphone's when the holder asked.
    auto hold = [&]() -> Status {
      const bool smartphone = change.note == card::kSuspendSmartphoneToo;
      JLIS_ASSIGN_OR_RETURN(auto serials, good_serials(conn, smartphone ? "card_id = ?" : "card_id = ? AND device = 'card'",
                                                       {change.card_id}, at));
      for (const auto& s : serials) JLIS_RETURN_IF_ERROR(revoke_in(conn, s, RevocationReason::certificate_hold, at));
      return Status::ok();
    };
    // A card's hold is never released: when the card is found and resumed, the certificates on
    // hold are revoked for good (cessationOfOperation: the card no longer uses those keys; no
    // compromise is known) and new ones are issued on request, from new keys. The smartphone's
    // stay on hold until the holder releases them from the smartphone (release_hold).
    auto end_hold = [&]() -> Status {
      std::vector<std::string> serials;
      JLIS_RETURN_IF_ERROR(conn.query(
          "SELECT serial FROM pki_certificates WHERE card_id = ? AND device = 'card' AND reason = ? "
          "AND revoked_at IS NOT NULL",
          {change.card_id, static_cast<int64_t>(RevocationReason::certificate_hold)}, [&](const Row& r) {
            serials.push_back(r.text(0));
            return true;
          }));
      for (const auto& s : serials)
        JLIS_RETURN_IF_ERROR(revoke_in(conn, s, RevocationReason::cessation_of_operation, at));
      return Status::ok();
    };
    switch (change.kind) {
      case Kind::lost:
      case Kind::stolen: return revoke_card(RevocationReason::key_compromise);
      case Kind::returned: return revoke_card(RevocationReason::cessation_of_operation);
      case Kind::invalidated:
        return revoke_card(change.note.rfind("replaced", 0) == 0 ? RevocationReason::superseded
                                                                 : RevocationReason::cessation_of_operation);
      case Kind::suspended: return hold();
      case Kind::resumed: return end_hold();
      case Kind::handed_over: break;
    }
    if (change.keys == nullptr || change.cert_expires_on < d.today()) return Status::ok();
    // On the writer's connection: a change of the basic four earlier in this group commit is seen.
    JLIS_ASSIGN_OR_RETURN(registry::Resident resident, d.registry.get(conn, change.resident_code));
    const auto [not_before, not_after] = handover_validity(change);
    // Signed before the handover was queued (prepare_handover), when the card could be read then;
    // issue() checks again here and signs again if the terms changed.
    const auto* ready = dynamic_cast<const PreparedHandover*>(change.prepared);
    auto issue_kind = [&](CertificateKind kind, const std::string& pem) -> Status {
      const auto* prepared = ready ? &ready->certificates[static_cast<size_t>(kind)] : nullptr;
      if (prepared && *prepared && (*prepared)->kind() == kind)
        return issue(conn, **prepared, resident, change.card_id, not_before, not_after).status();
      return issue(conn, kind, Device::card, resident, change.card_id, pem, not_before, not_after).status();
    };
    JLIS_RETURN_IF_ERROR(issue_kind(CertificateKind::authentication, change.keys->authentication));
    if (change.signature_certificate_allowed && !change.keys->signature.empty())
      JLIS_RETURN_IF_ERROR(issue_kind(CertificateKind::signature, change.keys->signature));
    return Status::ok();
  });

  cards.set_handover_preparer([this](const card::CardChange& expected, const registry::Resident& holder) {
    return prepare_handover(expected, holder);
  });
}

std::pair<int64_t, int64_t> CertificateAuthority::handover_validity(const card::CardChange& change) {
  Impl& d = *impl_;
  const int64_t not_before = change.on < d.today() ? start_of_day_jst(change.on) : d.now() - 60;
  return {not_before, start_of_day_jst(change.cert_expires_on.add_days(1)) - 1};
}

std::shared_ptr<const card::HandoverPreparation> CertificateAuthority::prepare_handover(
    const card::CardChange& expected, const registry::Resident& holder) {
  Impl& d = *impl_;
  if (expected.keys == nullptr || expected.cert_expires_on < d.today()) return nullptr;
  const auto [not_before, not_after] = handover_validity(expected);
  auto out = std::make_shared<PreparedHandover>();
  auto prepare_kind = [&](CertificateKind kind, const std::string& pem) {
    auto ready = prepare(kind, Device::card, holder, pem, not_before, not_after);
    if (!ready.ok()) return;
    out->certificates[static_cast<size_t>(kind)] = std::move(*ready);
    ++d.prepared;
  };
  prepare_kind(CertificateKind::authentication, expected.keys->authentication);
  if (expected.signature_certificate_allowed && !expected.keys->signature.empty())
    prepare_kind(CertificateKind::signature, expected.keys->signature);
  return out;
}

namespace {

// The card and its holder as the window needs them for a renewal or a smartphone, read on the
// writer's connection inside the issuing job: the resident's municipality, the card usable today,
// the holder alive.
Result<std::pair<card::Card, registry::Resident>> usable_card(Connection& conn, card::CardSystem& cards,
                                                             registry::Registry& registry, const auth::Principal& by,
                                                             const std::string& card_id, Date today) {
  JLIS_ASSIGN_OR_RETURN(card::Card card, cards.card(conn, card_id));
  JLIS_ASSIGN_OR_RETURN(registry::Resident resident, registry.get(conn, card.resident_code));
  if (resident.municipality_code.str() != by.subject)
    return permission_denied("the resident is registered in another municipality");
  if (!card.usable(today)) return conflict("the card is " + std::string(card.display_status(today)) + ", not usable");
  if (resident.status == registry::ResidentStatus::deceased) return conflict("the resident is deceased");
  return std::pair{std::move(card), std::move(resident)};
}

// The last second of validity of a new certificate for `device` of a usable card.
Result<int64_t> renewed_not_after(Device device, const card::Card& card, const registry::Resident& resident,
                                  Date today) {
  Date expires_on;
  if (device == Device::card) {
    expires_on = card::certificate_validity(resident.person.date_of_birth, today, card.expires_on).expires_on;
  } else {
    if (!card.cert_expires_on) return conflict("the card has not been handed over");
    expires_on = *card.cert_expires_on;
  }
  return start_of_day_jst(expires_on.add_days(1)) - 1;
}

}  // namespace

namespace {

// The holder's authorisation of smartphone certificates: a signature by the key of one of the
// card's good certificates (read on the issuing transaction's connection).
Status check_authorisation(Connection& conn, const std::string& card_id, const std::string& message,
                           const std::string& signature, int64_t now) {
  if (signature.empty()) return permission_denied("smartphone certificates need the holder's authorisation");
  std::vector<std::string> ders;
  JLIS_RETURN_IF_ERROR(conn.query(
      "SELECT der FROM pki_certificates WHERE card_id = ? AND device = 'card' AND revoked_at IS NULL AND not_after >= ?",
      {card_id, now}, [&](const Row& r) {
        ders.push_back(r.text(0));
        return true;
      }));
  for (const auto& b64 : ders) {
    JLIS_ASSIGN_OR_RETURN(std::string der, base64_decode(b64));
    JLIS_ASSIGN_OR_RETURN(auto cert, x509_from_der(der));
    EvpPkeyPtr key(X509_get_pubkey(cert.get()));
    EvpMdCtxPtr ctx(EVP_MD_CTX_new());
    if (!key || !ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get()) != 1)
      return openssl_error("preparing the verification");
    const int ok = EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                                    signature.size(), reinterpret_cast<const unsigned char*>(message.data()),
                                    message.size());
    (void)openssl_error("verifying");  // clears the queue
    if (ok == 1) return Status::ok();
  }
  return permission_denied("the authorisation does not verify with a good certificate of the card");
}

}  // namespace

std::string CertificateAuthority::authorisation_message(const std::string& challenge,
                                                        const std::string& signature_request_der,
                                                        const std::string& authentication_request_der) {
  auto length = [](const std::string& s) {
    std::string n = std::to_string(s.size());
    return std::string(8 - std::min<size_t>(8, n.size()), '0') + n;
  };
  return "jlis-smartphone-authorisation\n" + challenge + "\n" + length(signature_request_der) + signature_request_der +
         length(authentication_request_der) + authentication_request_der;
}

Result<CertificateAuthority::IssuanceChallenge> CertificateAuthority::new_issuance_challenge(
    const auth::Principal& by, const std::string& card_id) {
  Impl& d = *impl_;
  if (d.cards == nullptr) return internal_error("the CA is not attached to the card system");
  if (by.role != auth::Role::municipality) return permission_denied("only the resident's municipality may do this");
  JLIS_RETURN_IF_ERROR(d.cards->card(by, card_id).status());  // exists, and is of the caller's resident
  JLIS_ASSIGN_OR_RETURN(std::string id, random_hex(16));
  JLIS_ASSIGN_OR_RETURN(std::string challenge, random_hex(32));
  IssuanceChallenge c{"ic-" + id, challenge, d.now() + kIssuanceChallengeSeconds};
  JLIS_RETURN_IF_ERROR(d.writer.run([&](Connection& conn) {
    return conn.execute("INSERT INTO pki_issuance_challenges (challenge_id, municipality, card_id, challenge, expires_at) "
                        "VALUES (?, ?, ?, ?, ?)",
                        {c.challenge_id, by.subject, card_id, c.challenge, c.expires_at}).status();
  }));
  return c;
}

Result<std::vector<CertificateRecord>> CertificateAuthority::replace_certificates(const auth::Principal& by,
                                                                                  Device device,
                                                                                  const std::string& card_id,
                                                                                  const CertificateRequests& requests) {
  Impl& d = *impl_;
  if (d.cards == nullptr) return internal_error("the CA is not attached to the card system");
  if (by.role != auth::Role::municipality) return permission_denied("only the resident's municipality may do this");
  if (requests.signature.empty() && requests.authentication.empty())
    return invalid_argument("no certification request given");
  if (requests.challenge_id.empty()) return invalid_argument("challenge_id is required");
  // Parsing and the proof of possession need nothing from the database: done before queuing.
  std::optional<CertificationRequest> parsed[2];
  for (CertificateKind kind : kCardCertificateKinds) {
    const std::string& text = kind == CertificateKind::signature ? requests.signature : requests.authentication;
    if (text.empty()) continue;
    auto r = parse_certification_request(text);
    if (!r.ok()) return invalid_argument("the " + std::string(kind_name(kind)) + " request: " + r.status().message());
    parsed[static_cast<size_t>(kind)] = std::move(*r);
  }
  auto der_of = [&](CertificateKind kind) {
    const auto& p = parsed[static_cast<size_t>(kind)];
    return p ? p->der : std::string();
  };
  const int64_t now = d.now();
  const Date today = d.today();
  const auto prepared = prepare_renewal(by, device, card_id, parsed, now, today);
  using Records = std::vector<CertificateRecord>;
  // Every check that guards the issuance runs here, in the issuing transaction: a loss, a death or
  // a change committed after the request arrived is seen, and the challenge is spent with it.
  return store::run_for<Records>(d.writer, [&](Connection& conn) -> Result<Records> {
    std::string challenge, owner, for_card;
    int64_t expires = 0, used = 0;
    bool found = false;
    JLIS_RETURN_IF_ERROR(conn.query(
        "SELECT municipality, card_id, challenge, expires_at, used FROM pki_issuance_challenges WHERE challenge_id = ?",
        {requests.challenge_id}, [&](const Row& r) {
          found = true;
          owner = r.text(0);
          for_card = r.text(1);
          challenge = r.text(2);
          expires = r.int64(3);
          used = r.int64(4);
          return false;
        }));
    if (!found || owner != by.subject) return not_found("no such challenge");
    if (for_card != card_id) return invalid_argument("the challenge was given for another card");
    if (used) return conflict("the challenge was used already; ask for a new one");
    if (now > expires) return conflict("the challenge expired; ask for a new one");
    for (const auto& p : parsed)
      if (p && p->challenge_password != challenge)
        return invalid_argument("a request's challengePassword is not the challenge (a request is used once)");
    JLIS_RETURN_IF_ERROR(
        conn.execute("UPDATE pki_issuance_challenges SET used = 1 WHERE challenge_id = ?", {requests.challenge_id})
            .status());
    JLIS_ASSIGN_OR_RETURN(auto found_card, usable_card(conn, *d.cards, d.registry, by, card_id, today));
    auto& [card, resident] = found_card;
    if (parsed[static_cast<size_t>(CertificateKind::signature)] && age_on(resident.person.date_of_birth, today) < 15)
      return invalid_argument("no signature certificate is issued to a holder under 15");
    JLIS_ASSIGN_OR_RETURN(const int64_t not_after, renewed_not_after(device, card, resident, today));
    if (device == Device::smartphone) {
      JLIS_RETURN_IF_ERROR(check_authorisation(
          conn, card_id,
          authorisation_message(challenge, der_of(CertificateKind::signature), der_of(CertificateKind::authentication)),
          requests.authorisation, now));
    }
    Records out;
    for (CertificateKind kind : kCardCertificateKinds) {
      const auto& p = parsed[static_cast<size_t>(kind)];
      if (!p) continue;
      // One card, and one smartphone, at a time: a good certificate of the kind is superseded.
      JLIS_ASSIGN_OR_RETURN(auto serials, good_serials(conn, "card_id = ? AND ca = ? AND device = ?",
                                                       {card_id, std::string(kind_name(kind)),
                                                        std::string(device_name(device))},
                                                       now));
      for (const auto& s : serials) JLIS_RETURN_IF_ERROR(revoke_in(conn, s, RevocationReason::superseded, now));
      // Signed before queuing when the card could be read then; every check above and in issue()
      // ran again here, and a certificate whose terms changed is signed again.
      const auto& ready = prepared[static_cast<size_t>(kind)];
      JLIS_ASSIGN_OR_RETURN(auto rec, ready ? issue(conn, *ready, resident, card_id, now - 60, not_after)
                                            : issue(conn, kind, device, resident, card_id, spki_pem(p->key.spki),
                                                    now - 60, not_after));
      out.push_back(std::move(rec));
    }
    return out;
  });
}

std::array<std::optional<PreparedCertificate>, 2> CertificateAuthority::prepare_renewal(
    const auth::Principal& by, Device device, const std::string& card_id,
    const std::optional<CertificationRequest> (&requests)[2], int64_t now, Date today) {
  Impl& d = *impl_;
  std::array<std::optional<PreparedCertificate>, 2> out;
  // A reading through a pooled connection, only to sign early: the issuing job judges again. When
  // it would refuse now, nothing is signed here and the job answers (or signs) itself.
  auto conn = d.pool.acquire();
  if (!conn.ok()) return out;
  auto found = usable_card(**conn, *d.cards, d.registry, by, card_id, today);
  conn->reset();  // not held while signing
  if (!found.ok()) return out;
  const auto& [card, resident] = *found;
  auto not_after = renewed_not_after(device, card, resident, today);
  if (!not_after.ok()) return out;
  for (CertificateKind kind : kCardCertificateKinds) {
    const auto& request = requests[static_cast<size_t>(kind)];
    if (!request) continue;
    auto ready = prepare(kind, device, resident, spki_pem(request->key.spki), now - 60, *not_after);
    if (!ready.ok()) continue;
    out[static_cast<size_t>(kind)] = std::move(*ready);
    ++d.prepared;
  }
  return out;
}

Result<std::vector<CertificateRecord>> CertificateAuthority::renew(const auth::Principal& by,
                                                                   const std::string& card_id,
                                                                   const CertificateRequests& requests) {
  return replace_certificates(by, Device::card, card_id, requests);
}

Result<std::vector<CertificateRecord>> CertificateAuthority::issue_smartphone(const auth::Principal& by,
                                                                              const std::string& card_id,
                                                                              const CertificateRequests& requests) {
  return replace_certificates(by, Device::smartphone, card_id, requests);
}

Result<CertificateRecord> CertificateAuthority::revoke(const auth::Principal& by, const std::string& serial_text,
                                                       RevocationReason reason) {
  Impl& d = *impl_;
  if (by.role != auth::Role::municipality && by.role != auth::Role::call_centre)
    return permission_denied("revocation on request goes through the resident's municipality or the call centre");
  if (reason != RevocationReason::unspecified && reason != RevocationReason::key_compromise)
    return invalid_argument("a holder's revocation reason is unspecified or keyCompromise");
  JLIS_ASSIGN_OR_RETURN(CertificateRecord rec, d.find(serial_text));
  JLIS_RETURN_IF_ERROR(d.check_holder(by, rec));
  if (rec.revoked_at && !rec.on_hold()) return conflict("the certificate is already revoked");
  const int64_t now = d.now();
  JLIS_RETURN_IF_ERROR(d.writer.run([&](Connection& conn) { return revoke_in(conn, rec.serial, reason, now); }));
  return d.find(rec.serial);
}

std::string CertificateAuthority::metrics() const {
  const Impl& d = *impl_;
  auto line = [](const char* op, const std::atomic<uint64_t>& n) {
    return std::string("jlis_pki_operations_total{operation=\"") + op + "\"} " + std::to_string(n.load()) + "\n";
  };
  // The responder's own jlis_ocsp_ lines come from add_ocsp_routes, which serves it: not again here.
  return "# TYPE jlis_pki_operations_total counter\n" + line("issued", d.issued) +
         line("issuance_prepared", d.prepared) + line("issuance_resigned", d.resigned) + line("revoked", d.revoked) +
         line("crl_generated", d.crls) + line("consent_provision", d.consents) +
         line("expiry_notice", d.notices);
}

}  // namespace jlis::pki
