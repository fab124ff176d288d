// LGPKI issuance (pki/lgpki.h, lgpki_profile.h): the hierarchy init() makes, each profile's
// certificate with its exact extensions, the store rows, and bad input refused with a clear Status.
#include <gtest/gtest.h>

#include <openssl/rsa.h>

#include "lgpki_fixture.h"

namespace jlis::pki::testing {
namespace {

constexpr int64_t kLgpkiDay = 86400;

struct ProfileExpectation {
  LgpkiProfile profile;
  const char* issuer_ou;
  const char* subject;
  uint32_t key_usage;
  std::vector<std::string> eku;
  const char* policy;
  const char* crl;  // the issuing CA's CRL name
  int64_t days;
  std::vector<std::string> dns;
};

TEST_F(LgpkiTest, TheHierarchyIsARootAndThreeIssuingCasUnderIt) {
  EXPECT_EQ(lgpki_->generation(), 1);
  auto certs = save_ca_certificates();
  ASSERT_EQ(certs.size(), 4u);
  X509* root = certs["root"].get();
  EXPECT_EQ(lgpki_name_text(X509_get_subject_name(root)), "OU=Root CA,O=LGPKI,C=JP");
  EXPECT_EQ(X509_NAME_cmp(X509_get_subject_name(root), X509_get_issuer_name(root)), 0);
  EXPECT_EQ(X509_verify(root, X509_get0_pubkey(root)), 1);
  EXPECT_TRUE(lgpki_critical(root, NID_basic_constraints));
  EXPECT_EQ(X509_get_key_usage(root), static_cast<uint32_t>(KU_KEY_CERT_SIGN | KU_CRL_SIGN));
  const std::map<std::string, std::string> ous = {
      {"organisation", "Organization CA"}, {"position", "Position CA"}, {"application", "Application CA"}};
  for (const auto& [name, ou] : ous) {
    X509* ca = certs[name].get();
    ASSERT_NE(ca, nullptr) << name;
    EXPECT_EQ(lgpki_name_text(X509_get_subject_name(ca)), "OU=" + ou + ",O=LGPKI,C=JP");
    EXPECT_EQ(X509_NAME_cmp(X509_get_issuer_name(ca), X509_get_subject_name(root)), 0);
    EXPECT_EQ(X509_verify(ca, X509_get0_pubkey(root)), 1) << name;
    EXPECT_EQ(lgpki_key_id(X509_get0_authority_key_id(ca)), lgpki_key_id(X509_get0_subject_key_id(root)));
    EXPECT_TRUE(lgpki_critical(ca, NID_basic_constraints));
    EXPECT_EQ(X509_get_pathlen(ca), 0);
    EXPECT_TRUE(lgpki_critical(ca, NID_key_usage));
    EXPECT_EQ(X509_get_key_usage(ca), static_cast<uint32_t>(KU_KEY_CERT_SIGN | KU_CRL_SIGN));
    EXPECT_EQ(lgpki_crl_dps(ca), (std::vector<std::string>{std::string(kLgpkiUrl) + "/lgpki/crl/arl.crl"}));
    EXPECT_EQ(lgpki_aia(ca), (std::vector<std::string>{"caIssuers " + std::string(kLgpkiUrl) + "/lgpki/ca/root.cer"}));
  }
  // Keys in the key store (encrypted files beside JPKI's), certificates in the store.
  for (const char* label : {"lgpki-root-g1", "lgpki-organisation-g1", "lgpki-position-g1", "lgpki-application-g1"})
    EXPECT_TRUE(std::filesystem::exists(tmp_ / "data" / "pki" / "keys" / (std::string(label) + ".key.pem"))) << label;
  EXPECT_EQ(count("SELECT COUNT(*) FROM lgpki_authorities WHERE generation = 1"), 4);
  EXPECT_EQ(lgpki_->init().code(), Code::conflict);
  // A new process finds the same hierarchy and issues from it.
  open();
  EXPECT_EQ(lgpki_->generation(), 1);
  auto again = lgpki_->ca_certificates();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)[0].pem, x509_pem(root).value());
  issued(LgpkiProfile::organisation);
}

TEST_F(LgpkiTest, EachProfileCarriesExactlyItsExtensions) {
  const std::string url = kLgpkiUrl;
  const std::vector<ProfileExpectation> expected = {
      {LgpkiProfile::organisation, "Organization CA",
       "CN=清瀬市 情報政策課,OU=総務部情報政策課,OU=清瀬市,OU=132217,O=LGPKI,C=JP",
       KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT, {"1.3.6.1.5.5.7.3.2", "1.3.6.1.5.5.7.3.4"},
       "1.2.392.200149.8.6.1.1", "organisation", 3 * 365, {}},
      {LgpkiProfile::position, "Position CA", "CN=清瀬市長,title=市長,OU=清瀬市,OU=132217,O=LGPKI,C=JP",
       KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION, {"1.3.6.1.5.5.7.3.36", "1.3.6.1.5.5.7.3.4", "1.3.6.1.5.5.7.3.2"},
       "1.2.392.200149.8.6.1.2", "position", 3 * 365, {}},
      {LgpkiProfile::application_server, "Application CA",
       "CN=www.city.kiyose.lg.jp,OU=総務部情報政策課,OU=清瀬市,OU=132217,O=LGPKI,C=JP",
       KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT, {"1.3.6.1.5.5.7.3.1"}, "1.2.392.200149.8.6.1.3", "application",
       397, {"www.city.kiyose.lg.jp", "kiyose.lgwan.lg.jp"}},
      {LgpkiProfile::document_signing, "Organization CA",
       "CN=清瀬市 電子公印,OU=総務部情報政策課,OU=清瀬市,OU=132217,O=LGPKI,C=JP",
       KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION, {"1.3.6.1.5.5.7.3.36", "1.3.6.1.5.5.7.3.4"},
       "1.2.392.200149.8.6.1.4", "organisation", 3 * 365, {}},
  };
  auto cas = save_ca_certificates();
  for (const auto& e : expected) {
    SCOPED_TRACE(std::string(lgpki_profile_name(e.profile)));
    const LgpkiCertificate c = issued(e.profile);
    ASSERT_FALSE(c.der.empty());
    auto cert = x509_from_der(c.der).value();
    X509* x = cert.get();
    X509* ca = cas[e.crl].get();
    EXPECT_EQ(c.ca, lgpki_issuer_of(e.profile));
    EXPECT_EQ(c.generation, 1);
    EXPECT_EQ(c.serial.size(), 32u);
    EXPECT_EQ(serial_hex(X509_get0_serialNumber(x)), c.serial);
    EXPECT_EQ(lgpki_name_text(X509_get_issuer_name(x)), std::string("OU=") + e.issuer_ou + ",O=LGPKI,C=JP");
    EXPECT_EQ(X509_verify(x, X509_get0_pubkey(ca)), 1);
    EXPECT_EQ(lgpki_key_id(X509_get0_authority_key_id(x)), lgpki_key_id(X509_get0_subject_key_id(ca)));
    EXPECT_FALSE(lgpki_key_id(X509_get0_subject_key_id(x)).empty());
    EXPECT_EQ(lgpki_name_text(X509_get_subject_name(x)), e.subject);
    EXPECT_EQ(c.subject, e.subject);
    // The subscriber's key, from the request.
    EXPECT_EQ(EVP_PKEY_eq(X509_get0_pubkey(x), subscriber_keys_[c.serial].get()), 1);
    EXPECT_TRUE(lgpki_critical(x, NID_basic_constraints));
    EXPECT_EQ(X509_check_ca(x), 0);
    EXPECT_TRUE(lgpki_critical(x, NID_key_usage));
    EXPECT_EQ(X509_get_key_usage(x), e.key_usage);
    EXPECT_FALSE(lgpki_critical(x, NID_ext_key_usage));
    EXPECT_EQ(lgpki_eku(x), e.eku);
    EXPECT_EQ(lgpki_policies(x), (std::vector<std::string>{e.policy}));
    EXPECT_EQ(lgpki_crl_dps(x), (std::vector<std::string>{url + "/lgpki/crl/" + e.crl + ".crl"}));
    EXPECT_EQ(lgpki_aia(x), (std::vector<std::string>{"caIssuers " + url + "/lgpki/ca/" + e.crl + ".cer",
                                                      "OCSP " + url + "/lgpki/ocsp"}));
    EXPECT_EQ(lgpki_dns_names(x), e.dns);
    EXPECT_EQ(X509_get_ext_by_NID(x, NID_subject_alt_name, -1) >= 0, !e.dns.empty());
    EXPECT_EQ(X509_get_ext_count(x), e.dns.empty() ? 8 : 9);  // nothing else
    EXPECT_EQ(c.not_before, now_.load());
    EXPECT_EQ(c.not_after - c.not_before, e.days * kLgpkiDay);
    EXPECT_EQ(unix_seconds(X509_get0_notAfter(x)).value(), c.not_after);
    // The tools agree: a chain to the root.
    save_cert(c, "leaf");
    int rc = -1;
    const std::string out = cmd(std::string("openssl verify -CAfile root.pem -untrusted ") + e.crl + ".pem leaf.pem", &rc);
    EXPECT_EQ(rc, 0) << out;
    // Recorded, and read back.
    auto read = lgpki_->certificate(c.serial);
    ASSERT_TRUE(read.ok()) << read.status().to_string();
    EXPECT_EQ(read->der, c.der);
    EXPECT_EQ(read->profile, e.profile);
    EXPECT_EQ(read->municipality_code, "132217");
    EXPECT_FALSE(read->revoked_at.has_value());
  }
  EXPECT_EQ(count("SELECT COUNT(*) FROM lgpki_certificates"), 4);
  // The server certificate is one openssl accepts for its names and not for others.
  const LgpkiCertificate server = issued(LgpkiProfile::application_server);
  save_cert(server, "server");
  int rc = -1;
  std::string out = cmd("openssl verify -purpose sslserver -verify_hostname kiyose.lgwan.lg.jp -CAfile root.pem "
                        "-untrusted application.pem server.pem", &rc);
  EXPECT_EQ(rc, 0) << out;
  out = cmd("openssl verify -purpose sslserver -verify_hostname www.city.chiyoda.lg.jp -CAfile root.pem "
            "-untrusted application.pem server.pem", &rc);
  EXPECT_NE(rc, 0) << out;
  // A requested validity, cut to the issuing CA's.
  LgpkiIssuance in;
  EvpPkeyPtr key = make_key();
  in.profile = LgpkiProfile::organisation;
  in.request = request_der({key.get()});
  in.subject = subject_for(in.profile);
  in.validity_days = 30;
  auto short_lived = lgpki_->issue(in);
  ASSERT_TRUE(short_lived.ok()) << short_lived.status().to_string();
  EXPECT_EQ(short_lived->not_after - short_lived->not_before, 30 * kLgpkiDay);
}

// A key pair whose public exponent is 3: a well-formed request the key policy refuses.
EvpPkeyPtr lgpki_exponent_three_key() {
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_id(EVP_PKEY_RSA, nullptr));
  BignumPtr e(BN_new());
  BN_set_word(e.get(), 3);
  EVP_PKEY* raw = nullptr;
  if (EVP_PKEY_keygen_init(ctx.get()) != 1 || EVP_PKEY_CTX_set_rsa_keygen_bits(ctx.get(), 2048) != 1 ||
      EVP_PKEY_CTX_set1_rsa_keygen_pubexp(ctx.get(), e.get()) != 1 || EVP_PKEY_keygen(ctx.get(), &raw) != 1)
    return nullptr;
  return EvpPkeyPtr(raw);
}

TEST_F(LgpkiTest, BadInputIsRefusedWithAClearStatus) {
  auto expect = [](const Status& s, Code code, const std::string& says) {
    EXPECT_EQ(s.code(), code) << s.to_string();
    EXPECT_NE(s.message().find(says), std::string::npos) << s.to_string();
  };
  EvpPkeyPtr key = make_key();
  LgpkiIssuance in;
  in.profile = LgpkiProfile::position;
  in.subject = subject_for(in.profile);
  // Malformed requests.
  for (const std::string& bad : {std::string(), std::string("not a request"),
                                std::string("-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n"),
                                request_der({key.get()}).substr(0, 100)}) {
    in.request = bad;
    expect(lgpki_->issue(in).status(), Code::invalid_argument, "request");
  }
  // Signed by another key: no proof of possession.
  EvpPkeyPtr other = make_key();
  in.request = request_pem({key.get(), other.get()});
  expect(lgpki_->issue(in).status(), Code::invalid_argument, "");
  // A weak key: RSA-1024 (the request parser), exponent 3 (the key policy).
  EvpPkeyPtr small = generate_rsa(1024).value();
  in.request = request_pem({small.get()});
  expect(lgpki_->issue(in).status(), Code::invalid_argument, "");
  EvpPkeyPtr three = lgpki_exponent_three_key();
  ASSERT_NE(three, nullptr);
  in.request = request_pem({three.get()});
  expect(lgpki_->issue(in).status(), Code::invalid_argument, "exponent");
  // An unknown profile, and subjects that do not suit the profile.
  expect(parse_lgpki_profile("mayor").status(), Code::invalid_argument, "no LGPKI profile is named \"mayor\"");
  expect(parse_lgpki_ca("bridge").status(), Code::invalid_argument, "issuing CA");
  in.request = request_pem({key.get()});
  in.profile = static_cast<LgpkiProfile>(7);
  expect(lgpki_->issue(in).status(), Code::invalid_argument, "unknown LGPKI profile");
  in.profile = LgpkiProfile::position;
  in.request = request_pem({key.get()});
  LgpkiSubject s = subject_for(LgpkiProfile::position);
  s.position.clear();
  in.subject = s;
  expect(lgpki_->issue(in).status(), Code::invalid_argument, "position");
  s = subject_for(LgpkiProfile::position);
  s.municipality_code = "132218";  // wrong check digit
  in.subject = s;
  expect(lgpki_->issue(in).status(), Code::invalid_argument, "municipality_code");
  in.profile = LgpkiProfile::application_server;
  for (const char* dns : {"WWW.city.kiyose.lg.jp", "*.city.kiyose.lg.jp", "localhost", "a..b.jp", "-a.jp"}) {
    s = subject_for(in.profile);
    s.dns_names = {dns};
    in.subject = s;
    expect(lgpki_->issue(in).status(), Code::invalid_argument, "DNS name");
  }
  s = subject_for(in.profile);
  s.dns_names.clear();
  in.subject = s;
  expect(lgpki_->issue(in).status(), Code::invalid_argument, "DNS name");
  in.profile = LgpkiProfile::organisation;
  s = subject_for(in.profile);
  s.position = "市長";
  in.subject = s;
  expect(lgpki_->issue(in).status(), Code::invalid_argument, "only a position certificate");
  s = subject_for(in.profile);
  s.common_name = "a\nb";
  in.subject = s;
  expect(lgpki_->issue(in).status(), Code::invalid_argument, "control characters");
  in.subject = subject_for(in.profile);
  in.validity_days = 5000;
  expect(lgpki_->issue(in).status(), Code::invalid_argument, "validity_days");
  in.validity_days = -1;
  expect(lgpki_->issue(in).status(), Code::invalid_argument, "validity_days");
  // Revocations that cannot be.
  expect(lgpki_->revoke("0123456789abcdef0123456789abcdef", RevocationReason::key_compromise).status(),
         Code::not_found, "no LGPKI certificate");
  expect(lgpki_->revoke("not hex", RevocationReason::key_compromise).status(), Code::invalid_argument, "serial");
  const LgpkiCertificate c = issued(LgpkiProfile::organisation);
  expect(lgpki_->revoke(c.serial, RevocationReason::certificate_hold).status(), Code::invalid_argument,
         "certificateHold");
  expect(lgpki_->revoke(c.serial, RevocationReason::ca_compromise).status(), Code::invalid_argument, "cACompromise");
  ASSERT_TRUE(lgpki_->revoke(c.serial, RevocationReason::superseded).ok());
  expect(lgpki_->revoke(c.serial, RevocationReason::superseded).status(), Code::conflict, "revoked already");
  expect(lgpki_->revoke_ca(LgpkiCa::position, 2, RevocationReason::ca_compromise), Code::not_found, "generation 2");
  expect(lgpki_->make_crl(LgpkiCa::position, 2).status(), Code::not_found, "generation 2");
  expect(lgpki_->make_arl(0).status(), Code::not_found, "generation 0");
  expect(lgpki_->certificate("ffff").status(), Code::not_found, "no LGPKI certificate");
  // Nothing of the refused issuances was recorded.
  EXPECT_EQ(count("SELECT COUNT(*) FROM lgpki_certificates"), 1);
}

TEST(LgpkiStore, IssuanceBeforeInitIsAConflict) {
  store::testing::TestStore store;
  char tmpl[] = "/tmp/jlis-lgpki-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::filesystem::path dir = tmpl;
  {
    std::shared_ptr<store::Database> db = store.open_data_dir((dir / "data").string()).value();
    ASSERT_TRUE(LgpkiAuthority::migrate(*db->connect().value()).is_ok());
    store::Pool pool(db);
    auto writer = store::Writer::start(*db).value();
    KeyStoreConfig config;
    config.directory = (dir / "keys").string();
    config.passphrase = kLgpkiPassphrase;
    auto keys = KeyStore::open(config).value();
    auto lgpki = LgpkiAuthority::open(pool, *writer, *keys).value();
    EXPECT_FALSE(lgpki->exists());
    EXPECT_EQ(lgpki->generation(), 0);
    EvpPkeyPtr key = make_key();
    LgpkiIssuance in;
    in.request = request_pem({key.get()});
    in.subject = {"132217", "清瀬市", "", "", "清瀬市"};
    EXPECT_EQ(lgpki->issue(in).status().code(), Code::conflict);
    EXPECT_TRUE(lgpki->ca_certificates().value().empty());
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace jlis::pki::testing
