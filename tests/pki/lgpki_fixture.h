// The fixture of the LGPKI tests (pki/lgpki.h): a fresh store (SQLite, or PostgreSQL under
// JLIS_TEST_STORE) in a scratch directory, encrypted key files there, an LGPKI hierarchy made by
// init() on the real clock (the tools check validity against it), and helpers that issue from
// PKCS#10 requests, read extensions with OpenSSL and hand files to the tools (openssl, certtool,
// NSS).
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <ctime>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "../store/test_store.h"
#include "http/server.h"
#include "pki/keys.h"
#include "pki/lgpki.h"
#include "pki/routes.h"
#include "requests.h"
#include "store/database.h"
#include "store/writer.h"
#include "test_ca.h"

namespace jlis::pki::testing {

inline constexpr const char* kLgpkiUrl = "http://lgpki.example.jp";
inline constexpr const char* kLgpkiPassphrase = "an LGPKI test passphrase";

class LgpkiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/jlis-lgpki-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    tmp_ = tmpl;
    now_ = static_cast<int64_t>(std::time(nullptr));
    auto db = store_.open_data_dir((tmp_ / "data").string());
    ASSERT_TRUE(db.ok()) << db.status().to_string();
    db_ = std::move(*db);
    {
      auto conn = db_->connect().value();
      Status s = LgpkiAuthority::migrate(*conn);
      ASSERT_TRUE(s.is_ok()) << s.to_string();
    }
    pool_ = std::make_unique<store::Pool>(db_);
    writer_ = store::Writer::start(*db_).value();
    auto keys = KeyStore::open(key_store_config());
    ASSERT_TRUE(keys.ok()) << keys.status().to_string();
    keys_ = std::move(*keys);
    open();
    Status s = lgpki_->init();
    ASSERT_TRUE(s.is_ok()) << s.to_string();
  }
  void TearDown() override {
    if (server_) server_->stop();
    server_.reset();
    lgpki_.reset();
    keys_.reset();
    writer_.reset();
    pool_.reset();
    db_.reset();
    std::filesystem::remove_all(tmp_);
  }
  // Where the CA keys are: encrypted files in DIR/pki/keys, where JPKI's are.
  virtual KeyStoreConfig key_store_config() {
    KeyStoreConfig keys;
    keys.directory = (tmp_ / "data" / "pki" / "keys").string();
    keys.passphrase = kLgpkiPassphrase;
    return keys;
  }
  // (Re)opens the LGPKI of the store, as a new process would.
  void open() {
    lgpki_.reset();
    LgpkiOptions options;
    options.clock = [this] { return now_.load(); };
    options.public_url = public_url_;
    auto opened = LgpkiAuthority::open(*pool_, *writer_, *keys_, options);
    ASSERT_TRUE(opened.ok()) << opened.status().to_string();
    lgpki_ = std::move(*opened);
  }

  // Serves the LGPKI's public routes (CRLs, CA certificates, OCSP: add_lgpki_routes) on
  // 127.0.0.1 at url(), the LGPKI reopened first with that public URL: the certificates it issues
  // from now on name this server (their OCSP URL); the CA certificates init() made keep kLgpkiUrl.
  // The routes hold this LGPKI object: no open() after serve().
  void serve() {
    http::ServerOptions o;
    o.io_threads = 1;
    o.worker_threads = 2;
    {
      // A free port, taken and let go: the URL is needed before the routes can be bound.
      http::Server probe(o);
      ASSERT_TRUE(probe.start().is_ok());
      o.port = probe.port();
      probe.stop();
    }
    public_url_ = "http://127.0.0.1:" + std::to_string(o.port);
    open();
    server_ = std::make_unique<http::Server>(o);
    add_lgpki_routes(*server_, *lgpki_);
    Status s = server_->start();
    ASSERT_TRUE(s.is_ok()) << s.to_string();
  }
  std::string url() const { return public_url_; }

  static LgpkiSubject kiyose() { return {"132217", "清瀬市", "総務部情報政策課", "", "清瀬市 情報政策課"}; }
  static LgpkiSubject subject_for(LgpkiProfile profile) {
    LgpkiSubject s = kiyose();
    if (profile == LgpkiProfile::position) {
      s.unit.clear();
      s.position = "市長";
      s.common_name = "清瀬市長";
    }
    if (profile == LgpkiProfile::application_server) {
      s.common_name.clear();
      s.dns_names = {"www.city.kiyose.lg.jp", "kiyose.lgwan.lg.jp"};
    }
    if (profile == LgpkiProfile::document_signing) s.common_name = "清瀬市 電子公印";
    return s;
  }
  // A certificate of `profile` for a fresh key (kept in keys_ by its serial).
  Result<LgpkiCertificate> issue(LgpkiProfile profile, const LgpkiSubject& subject) {
    EvpPkeyPtr key = make_key();
    LgpkiIssuance in;
    in.profile = profile;
    in.request = request_pem({key.get()});
    in.subject = subject;
    auto out = lgpki_->issue(in);
    if (out.ok()) subscriber_keys_[out->serial] = std::move(key);
    return out;
  }
  LgpkiCertificate issued(LgpkiProfile profile) {
    auto out = issue(profile, subject_for(profile));
    EXPECT_TRUE(out.ok()) << out.status().to_string();
    return out.ok() ? *out : LgpkiCertificate{};
  }

  // Every published CA certificate as DIR/<name>.pem; answers them by name.
  std::map<std::string, X509Ptr> save_ca_certificates() {
    std::map<std::string, X509Ptr> out;
    auto list = lgpki_->ca_certificates();
    EXPECT_TRUE(list.ok()) << list.status().to_string();
    if (!list.ok()) return out;
    for (const auto& c : *list) {
      save(c.name + ".pem", c.pem);
      out[c.name] = x509_from_pem(c.pem).value();
    }
    return out;
  }
  // An NSS database DIR/nssdb trusting DIR/<root>.pem alone (as a CA, for every use).
  void nss_trusting(const std::string& root) {
    int rc = -1;
    const std::string out = cmd("rm -rf nssdb && mkdir nssdb && certutil -N -d sql:nssdb --empty-password && "
                                "certutil -A -d sql:nssdb -n root -t C,C,C -a -i " + root + ".pem",
                                &rc);
    ASSERT_EQ(rc, 0) << out;
  }
  void save(const std::string& name, const std::string& data) { write_file((tmp_ / name).string(), data); }
  void save_cert(const LgpkiCertificate& c, const std::string& name) {
    save(name + ".pem", x509_pem(x509_from_der(c.der).value().get()).value());
  }
  // DIR/<name>.crl (DER) and DIR/<name>.crl.pem (PEM, what certtool --load-crl reads).
  void save_crl(const std::string& der, const std::string& name) {
    save(name + ".crl", der);
    int rc = -1;
    const std::string out = cmd("openssl crl -inform DER -in " + name + ".crl -out " + name + ".crl.pem", &rc);
    EXPECT_EQ(rc, 0) << out;
  }
  std::string cmd(const std::string& line, int* rc) { return run("cd " + tmp_.string() + " && " + line + " 2>&1", rc); }
  // The keys the file key store holds (J-LIS's own keys are made there).
  int64_t key_files() {
    const std::filesystem::directory_iterator files(key_store_config().directory);
    return std::distance(begin(files), end(files));
  }
  int64_t count(const std::string& sql) {
    auto conn = pool_->acquire().value();
    return conn->query_int64(sql).value().value_or(-1);
  }

  store::testing::TestStore store_;
  std::filesystem::path tmp_;
  std::atomic<int64_t> now_{0};
  std::shared_ptr<store::Database> db_;
  std::unique_ptr<store::Pool> pool_;
  std::unique_ptr<store::Writer> writer_;
  std::unique_ptr<KeyStore> keys_;
  std::unique_ptr<LgpkiAuthority> lgpki_;
  std::map<std::string, EvpPkeyPtr> subscriber_keys_;
  std::string public_url_ = kLgpkiUrl;
  std::unique_ptr<http::Server> server_;  // serve()
};

// What a certificate's extensions say, read with OpenSSL's parsers.
inline std::string lgpki_oid_text(const ASN1_OBJECT* oid) {
  char buf[128];
  OBJ_obj2txt(buf, sizeof buf, oid, 1);
  return buf;
}
inline bool lgpki_critical(X509* cert, int nid) {
  const int i = X509_get_ext_by_NID(cert, nid, -1);
  return i >= 0 && X509_EXTENSION_get_critical(X509_get_ext(cert, i)) == 1;
}
inline std::vector<std::string> lgpki_eku(X509* cert) {
  std::vector<std::string> out;
  using EkuPtr = std::unique_ptr<EXTENDED_KEY_USAGE, OpensslDeleter<EXTENDED_KEY_USAGE_free>>;
  EkuPtr eku(static_cast<EXTENDED_KEY_USAGE*>(X509_get_ext_d2i(cert, NID_ext_key_usage, nullptr, nullptr)));
  for (int i = 0; eku && i < sk_ASN1_OBJECT_num(eku.get()); ++i)
    out.push_back(lgpki_oid_text(sk_ASN1_OBJECT_value(eku.get(), i)));
  return out;
}
inline std::vector<std::string> lgpki_policies(X509* cert) {
  std::vector<std::string> out;
  using PoliciesPtr = std::unique_ptr<CERTIFICATEPOLICIES, OpensslDeleter<CERTIFICATEPOLICIES_free>>;
  PoliciesPtr p(static_cast<CERTIFICATEPOLICIES*>(X509_get_ext_d2i(cert, NID_certificate_policies, nullptr, nullptr)));
  for (int i = 0; p && i < sk_POLICYINFO_num(p.get()); ++i)
    out.push_back(lgpki_oid_text(sk_POLICYINFO_value(p.get(), i)->policyid));
  return out;
}
inline std::string lgpki_uri(const GENERAL_NAME* name) {
  if (name->type != GEN_URI) return "(not a URI)";
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(name->d.uniformResourceIdentifier)),
                     static_cast<size_t>(ASN1_STRING_length(name->d.uniformResourceIdentifier)));
}
inline std::vector<std::string> lgpki_crl_dps(X509* cert) {
  std::vector<std::string> out;
  using DpsPtr = std::unique_ptr<CRL_DIST_POINTS, OpensslDeleter<CRL_DIST_POINTS_free>>;
  DpsPtr dps(static_cast<CRL_DIST_POINTS*>(X509_get_ext_d2i(cert, NID_crl_distribution_points, nullptr, nullptr)));
  for (int i = 0; dps && i < sk_DIST_POINT_num(dps.get()); ++i) {
    const DIST_POINT* dp = sk_DIST_POINT_value(dps.get(), i);
    if (dp->distpoint == nullptr || dp->distpoint->type != 0) continue;
    for (int j = 0; j < sk_GENERAL_NAME_num(dp->distpoint->name.fullname); ++j)
      out.push_back(lgpki_uri(sk_GENERAL_NAME_value(dp->distpoint->name.fullname, j)));
  }
  return out;
}
// "caIssuers <uri>", "OCSP <uri>"
inline std::vector<std::string> lgpki_aia(X509* cert) {
  std::vector<std::string> out;
  using AiaPtr = std::unique_ptr<AUTHORITY_INFO_ACCESS, OpensslDeleter<AUTHORITY_INFO_ACCESS_free>>;
  AiaPtr aia(static_cast<AUTHORITY_INFO_ACCESS*>(X509_get_ext_d2i(cert, NID_info_access, nullptr, nullptr)));
  for (int i = 0; aia && i < sk_ACCESS_DESCRIPTION_num(aia.get()); ++i) {
    const ACCESS_DESCRIPTION* ad = sk_ACCESS_DESCRIPTION_value(aia.get(), i);
    const int nid = OBJ_obj2nid(ad->method);
    out.push_back(std::string(nid == NID_ad_ca_issuers ? "caIssuers " : nid == NID_ad_OCSP ? "OCSP " : "? ") +
                  lgpki_uri(ad->location));
  }
  return out;
}
inline std::vector<std::string> lgpki_dns_names(X509* cert) {
  std::vector<std::string> out;
  GeneralNamesPtr names(static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
  for (int i = 0; names && i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* n = sk_GENERAL_NAME_value(names.get(), i);
    if (n->type == GEN_DNS)
      out.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(n->d.dNSName)),
                       static_cast<size_t>(ASN1_STRING_length(n->d.dNSName)));
    else
      out.push_back("(not a DNS name)");
  }
  return out;
}
inline std::string lgpki_key_id(const ASN1_OCTET_STRING* id) {
  return id == nullptr ? "" : std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(id)),
                                          static_cast<size_t>(ASN1_STRING_length(id)));
}

}  // namespace jlis::pki::testing
